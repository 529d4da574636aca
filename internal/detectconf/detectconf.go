// Package detectconf holds a stream's or a capture's detection settings:
// which model to run and which of its detections to keep. It is a leaf, so
// the contracts that carry these settings link no vision code; the detector
// checks them against its registry and applies them.
package detectconf

import "fmt"

// Config is a stream's (or a capture's) detection settings: which model of
// the registry to run and which of its detections to keep.
type Config struct {
	Model  string  `json:"model,omitempty"` // registry name; empty: the default model
	Filter *Filter `json:"filter,omitempty"`
}

// Filter narrows what a detector reports, per stream: only the listed
// classes (all when empty), each with its own minimum score. A threshold may
// be lower or higher than the model's.
type Filter struct {
	Classes []string `json:"classes,omitempty"`
	// MinScore applies to every class without an entry in ClassMinScore;
	// 0 keeps the model's threshold.
	MinScore      float32            `json:"min_score,omitempty"`
	ClassMinScore map[string]float32 `json:"class_min_score,omitempty"`
}

// Validate checks the filter against a model's class names.
func (f Filter) Validate(classes []string) error {
	known := make(map[string]bool, len(classes))
	for _, c := range classes {
		known[c] = true
	}
	for _, c := range f.Classes {
		if !known[c] {
			return fmt.Errorf("filter: unknown class %q", c)
		}
	}
	if !(f.MinScore >= 0 && f.MinScore < 1) { // NaN too
		return fmt.Errorf("filter: min_score %v out of range [0,1)", f.MinScore)
	}
	for c, v := range f.ClassMinScore {
		if !known[c] {
			return fmt.Errorf("filter: unknown class %q in class_min_score", c)
		}
		if !(v > 0 && v < 1) {
			return fmt.Errorf("filter: class_min_score[%q] = %v out of range (0,1)", c, v)
		}
	}
	return nil
}
