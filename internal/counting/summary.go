package counting

import "encoding/json"

// Summary totals the events of a run, for the CLI. Its JSON is
//
//	{"lines":{"NAME":{"in":{"person":N},"out":{...}}},
//	 "zones":{"NAME":{"max":{"person":N},"dwell_s":{"person":X}}}}
//
// with every map present, empty or not.
type Summary struct {
	Lines map[string]*LineTotals
	Zones map[string]*ZoneTotals
}

// LineTotals counts a line's crossings per direction and class.
type LineTotals struct {
	In, Out map[string]int
}

// ZoneTotals is a zone's highest occupancy and its total dwell, per class.
// Dwell is kept in milliseconds, which add up exactly, and written in
// seconds.
type ZoneTotals struct {
	Max     map[string]int
	DwellMS map[string]int64
}

// NewSummary returns an empty summary listing every line and zone of cfg,
// so that those with nothing to report still appear.
func NewSummary(cfg Config) *Summary {
	s := &Summary{}
	for _, l := range cfg.Lines {
		s.line(l.Name)
	}
	for _, z := range cfg.Zones {
		s.zone(z.Name)
	}
	return s
}

func (s *Summary) line(name string) *LineTotals {
	if s.Lines == nil {
		s.Lines = make(map[string]*LineTotals)
	}
	t := s.Lines[name]
	if t == nil {
		t = &LineTotals{In: map[string]int{}, Out: map[string]int{}}
		s.Lines[name] = t
	}
	return t
}

func (s *Summary) zone(name string) *ZoneTotals {
	if s.Zones == nil {
		s.Zones = make(map[string]*ZoneTotals)
	}
	t := s.Zones[name]
	if t == nil {
		t = &ZoneTotals{Max: map[string]int{}, DwellMS: map[string]int64{}}
		s.Zones[name] = t
	}
	return t
}

// Add folds e into the totals. Entries add nothing: a visit's dwell counts
// once it exits.
func (s *Summary) Add(e Events) {
	for _, c := range e.Crossings {
		t := s.line(c.Line)
		if c.Direction == In {
			t.In[c.Class]++
		} else {
			t.Out[c.Class]++
		}
	}
	for _, v := range e.Exits {
		s.zone(v.Zone).DwellMS[v.Class] += v.DwellMS
	}
	for _, o := range e.Occupancy {
		t := s.zone(o.Zone)
		t.Max[o.Class] = max(t.Max[o.Class], o.Count)
	}
}

// MarshalJSON writes the documented shape; encoding/json sorts map keys, so
// the output is the same for the same totals.
func (s Summary) MarshalJSON() ([]byte, error) {
	type lineJSON struct {
		In  map[string]int `json:"in"`
		Out map[string]int `json:"out"`
	}
	type zoneJSON struct {
		Max    map[string]int     `json:"max"`
		DwellS map[string]float64 `json:"dwell_s"`
	}
	out := struct {
		Lines map[string]lineJSON `json:"lines"`
		Zones map[string]zoneJSON `json:"zones"`
	}{
		Lines: make(map[string]lineJSON, len(s.Lines)),
		Zones: make(map[string]zoneJSON, len(s.Zones)),
	}
	for name, t := range s.Lines {
		l := lineJSON{In: map[string]int{}, Out: map[string]int{}}
		if t != nil {
			l.In, l.Out = orEmpty(t.In), orEmpty(t.Out)
		}
		out.Lines[name] = l
	}
	for name, t := range s.Zones {
		z := zoneJSON{Max: map[string]int{}, DwellS: map[string]float64{}}
		if t != nil {
			z.Max = orEmpty(t.Max)
			for class, ms := range t.DwellMS {
				z.DwellS[class] = float64(ms) / 1000
			}
		}
		out.Zones[name] = z
	}
	return json.Marshal(out)
}

// orEmpty makes a nil map marshal as {} rather than null.
func orEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}
