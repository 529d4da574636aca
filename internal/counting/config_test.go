package counting

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func square(name string, x, y, size float64) Zone {
	return Zone{Name: name, Points: []Point{{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}}}
}

func TestValidate(t *testing.T) {
	good := Config{
		Lines:    []Line{door},
		Zones:    []Zone{bay},
		Debounce: 5,
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("empty config: %v", err)
	}
	many := func(n int) ([]Line, []Zone) {
		var ls []Line
		var zs []Zone
		for i := range n {
			ls = append(ls, Line{Name: fmt.Sprintf("l%d", i), From: Point{0, 0}, To: Point{1, 1}})
			zs = append(zs, square(fmt.Sprintf("z%d", i), 0, 0, 10))
		}
		return ls, zs
	}
	tooManyLines, maxZones := many(33)
	maxLines, tooManyZones := many(32)
	if err := (Config{Lines: maxLines, Zones: maxZones[:32]}).Validate(); err != nil {
		t.Fatalf("32 lines and 32 zones: %v", err)
	}
	longName := strings.Repeat("a", 65)
	circle := make([]Point, 101)
	for i := range circle {
		a := 2 * math.Pi * float64(i) / float64(len(circle))
		circle[i] = Point{500 + 100*math.Cos(a), 500 + 100*math.Sin(a)}
	}
	withLine := func(l Line) Config { return Config{Lines: []Line{l}} }
	withZone := func(pts ...Point) Config { return Config{Zones: []Zone{{Name: "z", Points: pts}}} }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"too many lines", Config{Lines: tooManyLines}, "33 lines, at most 32"},
		{"too many zones", Config{Zones: append(tooManyZones, square("extra", 0, 0, 1))}, "33 zones, at most 32"},
		{"debounce negative", Config{Debounce: -1}, "debounce_frames -1 out of range [0, 1000]"},
		{"debounce too big", Config{Debounce: 1001}, "debounce_frames 1001 out of range"},
		{"line without name", Config{Lines: []Line{door, {From: Point{0, 0}, To: Point{1, 1}}}}, `lines[1]: name is empty`},
		{"zone without name", Config{Zones: []Zone{{Points: bay.Points}}}, `zones[0]: name is empty`},
		{"name too long", withLine(Line{Name: longName, From: Point{0, 0}, To: Point{1, 1}}), "name is 65 bytes long, at most 64"},
		{"name with space", withLine(Line{Name: "front door", From: Point{0, 0}, To: Point{1, 1}}), `line "front door": name has ' '`},
		{"name with slash", Config{Zones: []Zone{{Name: "a/b", Points: bay.Points}}}, `zone "a/b": name has '/'`},
		{"name not ASCII", withLine(Line{Name: "tür", From: Point{0, 0}, To: Point{1, 1}}), `name has 'ü'`},
		{"duplicate line", Config{Lines: []Line{door, door}}, `line "door": name already used by another line`},
		{"zone named like a line", Config{Lines: []Line{door}, Zones: []Zone{{Name: "door", Points: bay.Points}}}, `zone "door": name already used by another line`},
		{"duplicate zone", Config{Zones: []Zone{bay, bay}}, `zone "bay": name already used by another zone`},
		{"negative coordinate", withLine(Line{Name: "l", From: Point{-1, 0}, To: Point{1, 1}}), `line "l": from: (-1, 0) is out of range: coordinates must be in [0, 100000]`},
		{"coordinate too big", withLine(Line{Name: "l", From: Point{0, 0}, To: Point{100001, 1}}), `line "l": to: (100001, 1) is out of range`},
		{"NaN", withLine(Line{Name: "l", From: Point{math.NaN(), 0}, To: Point{1, 1}}), `line "l": from: (NaN, 0) is not finite`},
		{"infinity", withZone(Point{0, 0}, Point{math.Inf(1), 0}, Point{1, 1}), `zone "z": point 2: (+Inf, 0) is not finite`},
		{"line of one point", withLine(Line{Name: "l", From: Point{3, 4}, To: Point{3, 4}}), `line "l": from and to are the same point (3, 4)`},
		{"zone of two points", withZone(Point{0, 0}, Point{1, 1}), `zone "z": 2 points, want 3 to 100`},
		{"zone of 101 points", withZone(circle...), `zone "z": 101 points, want 3 to 100`},
		{"zone repeating a point", withZone(Point{0, 0}, Point{10, 0}, Point{10, 0}, Point{0, 10}), `zone "z": points 2 and 3 are the same point (10, 0)`},
		{"zone closing on its first point", withZone(Point{0, 0}, Point{10, 0}, Point{0, 10}, Point{0, 0}), `points 4 and 1 are the same point`},
		{"flat zone", withZone(Point{0, 0}, Point{5, 5}, Point{10, 10}), `zone "z": the polygon has zero area`},
		{"bow tie", withZone(Point{0, 0}, Point{10, 10}, Point{10, 0}, Point{0, 10}), `zone "z": edge 1-2 meets edge 3-4: the polygon crosses itself`},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
			continue
		}
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New accepted the config", tc.name)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	if d := (Config{}).WithDefaults().Debounce; d != DefaultDebounce {
		t.Errorf("default debounce %d, want %d", d, DefaultDebounce)
	}
	if d := (Config{Debounce: 7}).WithDefaults().Debounce; d != 7 {
		t.Errorf("debounce 7 became %d", d)
	}
}

func TestNewCopiesConfig(t *testing.T) {
	z := Zone{Name: "z", Points: []Point{{0, 0}, {10, 0}, {10, 10}}}
	cfg := Config{Zones: []Zone{z}}
	c := mustNew(t, cfg)
	z.Points[0] = Point{500, 500}
	if got := c.Config().Zones[0].Points[0]; got != (Point{0, 0}) {
		t.Errorf("counter sees the caller's change: %v", got)
	}
	c.Config().Zones[0].Points[1] = Point{9, 9}
	if got := c.Config().Zones[0].Points[1]; got != (Point{10, 0}) {
		t.Errorf("Config shares the counter's points: %v", got)
	}
}

func TestPointJSON(t *testing.T) {
	for _, p := range []Point{{0, 0}, {1.5, 2}, {100000, 0.1}, {1e-9, 3}} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q Point
		if err := json.Unmarshal(b, &q); err != nil || q != p {
			t.Errorf("%v → %s → %v, %v", p, b, q, err)
		}
	}
	if b, _ := json.Marshal(Point{3, 4.5}); string(b) != "[3,4.5]" {
		t.Errorf("Point{3, 4.5} = %s, want [3,4.5]", b)
	}
	if _, err := json.Marshal(Point{math.NaN(), 0}); err == nil {
		t.Error("NaN marshalled")
	}
	for _, in := range []string{`[1]`, `[1,2,3]`, `[]`, `{"x":1,"y":2}`, `"1,2"`, `null`, `[1,"a"]`, `[1,null]`, `3`} {
		var p Point
		err := json.Unmarshal([]byte(in), &p)
		if err == nil || !strings.Contains(err.Error(), "want [x, y] with two numbers") {
			t.Errorf("%s: error %v", in, err)
		}
	}
	// Inside a line, too: a null point is not (0, 0).
	var l Line
	if err := json.Unmarshal([]byte(`{"name":"l","from":null,"to":[1,1]}`), &l); err == nil {
		t.Error("null point in a line accepted")
	}
}

func TestConfigJSON(t *testing.T) {
	in := `{"lines":[{"name":"door","from":[0,100],"to":[200,100]}],"zones":[{"name":"bay","points":[[100,100],[300,100],[300,300],[100,300]]}],"debounce_frames":3}`
	var cfg Config
	if err := json.Unmarshal([]byte(in), &cfg); err != nil {
		t.Fatal(err)
	}
	want := Config{Lines: []Line{door}, Zones: []Zone{bay}, Debounce: 3}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
	out, err := json.Marshal(cfg)
	if err != nil || string(out) != in {
		t.Errorf("round trip: %s, %v", out, err)
	}
	if out, _ := json.Marshal(Config{}); string(out) != "{}" {
		t.Errorf("empty config: %s", out)
	}
}

func TestParseLine(t *testing.T) {
	l, err := ParseLine("door=0,100, 200,100")
	if err != nil || l != door {
		t.Errorf("ParseLine = %+v, %v", l, err)
	}
	if l, err := ParseLine("a.b_c-1=1.5,2,3e2,4"); err != nil || l != (Line{Name: "a.b_c-1", From: Point{1.5, 2}, To: Point{300, 4}}) {
		t.Errorf("ParseLine = %+v, %v", l, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"door", "want NAME=x1,y1,x2,y2"},
		{"door=", `line "door": no coordinates`},
		{"door=1,2,3", `line "door": want 4 numbers x1,y1,x2,y2, got 3`},
		{"door=1,2,3,4,5", "got 5"},
		{"door=1,2,x,4", `line "door": value 3 "x" is not a number`},
		{"door=1,2,,4", `value 3 "" is not a number`},
		{"door=NaN,2,3,4", `value 1 "NaN" is not a number`},
		{"door=1,2,Inf,4", `value 3 "Inf" is not a number`},
		{"door=1,2,1,2", `line "door": from and to are the same point (1, 2)`},
		{"door=-1,2,3,4", "out of range"},
		{"=1,2,3,4", "name is empty"},
		{"a b=1,2,3,4", "name has ' '"},
	} {
		_, err := ParseLine(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLine(%q): error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseZone(t *testing.T) {
	z, err := ParseZone("bay=100,100,300,100,300,300,100,300")
	if err != nil || !reflect.DeepEqual(z, bay) {
		t.Errorf("ParseZone = %+v, %v", z, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"bay:1,2,3,4,5,6", "want NAME=x1,y1,x2,y2,x3,y3,..."},
		{"bay=1,2,3,4,5", `zone "bay": 5 numbers, want x,y pairs`},
		{"bay=1,2,3,4", `zone "bay": 2 points, want 3 to 100`},
		{"bay=0,0,10,10,10,0,0,10", "crosses itself"},
		{"bay=0,0,5,5,10,10", "zero area"},
		{"bay=0,0,a,0,10,10", `value 3 "a" is not a number`},
		{"=0,0,10,0,10,10", "name is empty"},
	} {
		_, err := ParseZone(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseZone(%q): error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}
