package counting

import (
	"encoding/json"
	"testing"
)

func TestSummaryJSON(t *testing.T) {
	if b, err := json.Marshal(&Summary{}); err != nil || string(b) != `{"lines":{},"zones":{}}` {
		t.Errorf("zero summary: %s, %v", b, err)
	}
	s := NewSummary(Config{Lines: []Line{door, {Name: "gate", From: Point{0, 0}, To: Point{1, 0}}}, Zones: []Zone{bay}})
	if b, _ := json.Marshal(s); string(b) != `{"lines":{"door":{"in":{},"out":{}},"gate":{"in":{},"out":{}}},"zones":{"bay":{"max":{},"dwell_s":{}}}}` {
		t.Errorf("empty summary: %s", b)
	}
	s.Add(Events{
		Crossings: []Crossing{
			{Line: "door", Direction: In, TrackID: 1, Class: "person"},
			{Line: "door", Direction: In, TrackID: 2, Class: "person"},
			{Line: "door", Direction: Out, TrackID: 3, Class: "car"},
		},
		Entries:   []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person"}},
		Occupancy: []Occupancy{{"bay", "person", 2}, {"bay", "car", 1}},
	})
	s.Add(Events{
		Exits: []ZoneVisit{
			{Zone: "bay", TrackID: 1, Class: "person", DwellMS: 1500},
			{Zone: "bay", TrackID: 2, Class: "person", DwellMS: 250},
		},
		Occupancy: []Occupancy{{"bay", "person", 1}},
	})
	want := `{"lines":{"door":{"in":{"person":2},"out":{"car":1}},"gate":{"in":{},"out":{}}},"zones":{"bay":{"max":{"car":1,"person":2},"dwell_s":{"person":1.75}}}}`
	if b, err := json.Marshal(s); err != nil || string(b) != want {
		t.Errorf("summary:\n got %s, %v\nwant %s", b, err, want)
	}
	// As a value too, and with totals the caller built by hand.
	v := Summary{Lines: map[string]*LineTotals{"x": {}, "y": nil}, Zones: map[string]*ZoneTotals{"z": {}}}
	if b, err := json.Marshal(v); err != nil || string(b) != `{"lines":{"x":{"in":{},"out":{}},"y":{"in":{},"out":{}}},"zones":{"z":{"max":{},"dwell_s":{}}}}` {
		t.Errorf("by value: %s, %v", b, err)
	}
}
