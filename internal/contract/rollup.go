package contract

// RollupInput starts a RollupWorkflow, for example {} (every model) or
// {"select":["object_counts+"],"full_refresh":true}.
type RollupInput struct {
	Select      []string `json:"select,omitempty"`       // models: name, +name (with upstream), name+ (with downstream)
	FullRefresh bool     `json:"full_refresh,omitempty"` // rebuild incremental models from scratch
	SkipTests   bool     `json:"skip_tests,omitempty"`   // build without running the data tests
	Parallelism int      `json:"parallelism,omitempty"`  // model builds at once (default 4)
}
