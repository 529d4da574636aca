package counting

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits on a configuration. Configurations arrive through the HTTP API, and
// these bound the work per frame and the size of a saved state.
const (
	MaxLines        = 32
	MaxZones        = 32
	MinZonePoints   = 3
	MaxZonePoints   = 100
	MaxNameLen      = 64
	MaxCoord        = 100000 // pixels
	MaxDebounce     = 1000   // frames
	DefaultDebounce = 2      // frames
)

// Line is a counting line, directed from From (A) to To (B). Crossing it
// from the left of A→B to its right, as seen on screen, is "in".
type Line struct {
	Name string `json:"name"`
	From Point  `json:"from"`
	To   Point  `json:"to"`
}

// Zone is a polygon; its last point connects back to the first.
type Zone struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Config is what a stream counts.
type Config struct {
	Lines []Line `json:"lines,omitempty"`
	Zones []Zone `json:"zones,omitempty"`
	// Debounce is how many consecutive observed frames a track must spend
	// on the other side of a line or zone boundary before it counts as
	// across; 0 means DefaultDebounce.
	Debounce int `json:"debounce_frames,omitempty"`
}

// WithDefaults fills in the defaults of unset fields.
func (c Config) WithDefaults() Config {
	if c.Debounce == 0 {
		c.Debounce = DefaultDebounce
	}
	return c
}

// Validate checks every rule a configuration must follow and reports the
// first broken one, naming the line or zone.
func (c Config) Validate() error {
	if len(c.Lines) > MaxLines {
		return fmt.Errorf("counting: %d lines, at most %d allowed", len(c.Lines), MaxLines)
	}
	if len(c.Zones) > MaxZones {
		return fmt.Errorf("counting: %d zones, at most %d allowed", len(c.Zones), MaxZones)
	}
	if c.Debounce < 0 || c.Debounce > MaxDebounce {
		return fmt.Errorf("counting: debounce_frames %d out of range [0, %d]", c.Debounce, MaxDebounce)
	}
	// Names share one namespace: events and summaries name lines and zones
	// side by side.
	used := make(map[string]string, len(c.Lines)+len(c.Zones))
	for i, l := range c.Lines {
		if err := checkLine(l); err != nil {
			return fmt.Errorf("counting: %s: %w", label("line", i, l.Name), err)
		}
		if _, dup := used[l.Name]; dup {
			return fmt.Errorf("counting: line %q: name already used by another line", l.Name)
		}
		used[l.Name] = "line"
	}
	for i, z := range c.Zones {
		if err := checkZone(z); err != nil {
			return fmt.Errorf("counting: %s: %w", label("zone", i, z.Name), err)
		}
		if kind, dup := used[z.Name]; dup {
			return fmt.Errorf("counting: zone %q: name already used by another %s", z.Name, kind)
		}
		used[z.Name] = "zone"
	}
	return nil
}

// label names a line or zone in an error; by position when it has no name.
func label(kind string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%ss[%d]", kind, i)
	}
	return fmt.Sprintf("%s %q", kind, name)
}

func checkName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("name is %d bytes long, at most %d allowed", len(name), MaxNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
		if !ok {
			return fmt.Errorf("name has %q; only letters, digits, '_', '.' and '-' are allowed", r)
		}
	}
	return nil
}

func checkPoint(p Point) error {
	if !p.finite() {
		return fmt.Errorf("%v is not finite", p)
	}
	if p.X < 0 || p.Y < 0 || p.X > MaxCoord || p.Y > MaxCoord {
		return fmt.Errorf("%v is out of range: coordinates must be in [0, %d]", p, MaxCoord)
	}
	return nil
}

func checkLine(l Line) error {
	if err := checkName(l.Name); err != nil {
		return err
	}
	if err := checkPoint(l.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := checkPoint(l.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	if l.From == l.To {
		return fmt.Errorf("from and to are the same point %v", l.From)
	}
	return nil
}

func checkZone(z Zone) error {
	if err := checkName(z.Name); err != nil {
		return err
	}
	n := len(z.Points)
	if n < MinZonePoints || n > MaxZonePoints {
		return fmt.Errorf("%d points, want %d to %d", n, MinZonePoints, MaxZonePoints)
	}
	// Points are numbered from 1 in messages, as a person counts them.
	for i, p := range z.Points {
		if err := checkPoint(p); err != nil {
			return fmt.Errorf("point %d: %w", i+1, err)
		}
	}
	for i, p := range z.Points {
		if p == z.Points[(i+1)%n] {
			return fmt.Errorf("points %d and %d are the same point %v", i+1, (i+1)%n+1, p)
		}
	}
	// All on one line, the polygon also folds over itself; zero area says
	// what is wrong more plainly.
	flat := true
	for _, p := range z.Points[2:] {
		flat = flat && orient(z.Points[0], z.Points[1], p) == 0
	}
	if flat {
		return errors.New("the polygon has zero area: its points lie on one line")
	}
	if i, j, found := selfIntersection(z.Points); found {
		return fmt.Errorf("edge %d-%d meets edge %d-%d: the polygon crosses itself", i+1, (i+1)%n+1, j+1, (j+1)%n+1)
	}
	// A simple polygon off one line has an area; this guards against
	// rounding at the extremes of the coordinate range.
	if area2(z.Points) == 0 {
		return errors.New("the polygon has zero area")
	}
	return nil
}

// ParseLine reads a line from the CLI syntax NAME=x1,y1,x2,y2 and checks it.
func ParseLine(s string) (Line, error) {
	name, v, err := parseShape("line", s, "NAME=x1,y1,x2,y2")
	if err != nil {
		return Line{}, err
	}
	if len(v) != 4 {
		return Line{}, fmt.Errorf("counting: line %q: want 4 numbers x1,y1,x2,y2, got %d", name, len(v))
	}
	l := Line{Name: name, From: Point{v[0], v[1]}, To: Point{v[2], v[3]}}
	if err := checkLine(l); err != nil {
		return Line{}, fmt.Errorf("counting: line %q: %w", name, err)
	}
	return l, nil
}

// ParseZone reads a zone from the CLI syntax NAME=x1,y1,x2,y2,x3,y3,... and
// checks it.
func ParseZone(s string) (Zone, error) {
	name, v, err := parseShape("zone", s, "NAME=x1,y1,x2,y2,x3,y3,...")
	if err != nil {
		return Zone{}, err
	}
	if len(v)%2 != 0 {
		return Zone{}, fmt.Errorf("counting: zone %q: %d numbers, want x,y pairs", name, len(v))
	}
	z := Zone{Name: name, Points: make([]Point, len(v)/2)}
	for i := range z.Points {
		z.Points[i] = Point{v[2*i], v[2*i+1]}
	}
	if err := checkZone(z); err != nil {
		return Zone{}, fmt.Errorf("counting: zone %q: %w", name, err)
	}
	return z, nil
}

// parseShape splits NAME=n1,n2,... into the name and the numbers.
func parseShape(kind, s, syntax string) (string, []float64, error) {
	name, list, ok := strings.Cut(s, "=")
	if !ok {
		return "", nil, fmt.Errorf("counting: %s %q: want %s", kind, s, syntax)
	}
	name = strings.TrimSpace(name)
	if strings.TrimSpace(list) == "" {
		return "", nil, fmt.Errorf("counting: %s %q: no coordinates; want %s", kind, name, syntax)
	}
	fields := strings.Split(list, ",")
	v := make([]float64, len(fields))
	for i, f := range fields {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return "", nil, fmt.Errorf("counting: %s %q: value %d %q is not a number", kind, name, i+1, strings.TrimSpace(f))
		}
		v[i] = x
	}
	return name, v, nil
}
