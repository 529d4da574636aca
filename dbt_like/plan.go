package dbtlike

import "slices"

// Plan is what a RollupWorkflow runs: the selected models with the models
// each waits for, and the tests to run after each. It is plain data, so it
// can be computed in an activity and recorded in the workflow's history.
type Plan struct {
	Models []PlanModel `json:"models"` // in build order
	Tests  []PlanTest  `json:"tests"`  // in run order
}

// PlanModel is one model of a Plan.
type PlanModel struct {
	Name         string          `json:"name"`
	Materialized Materialization `json:"materialized"`
	// Deps are the selected models it must wait for: the models it refs,
	// or, for a ref left out of the selection, that model's own nearest
	// selected ancestors.
	Deps []string `json:"deps,omitempty"`
}

// PlanTest is one data test of a Plan; it runs once Model is built, and
// the models that depend on Model wait for it.
type PlanTest struct {
	Name     string `json:"name"`
	Model    string `json:"model"`
	Severity string `json:"severity"`
}

// Plan resolves a selection (as RunOptions.Select) into a Plan; skipTests
// leaves the tests out.
func (p *Project) Plan(sel []string, skipTests bool) (Plan, error) {
	names, err := p.selectModels(sel)
	if err != nil {
		return Plan{}, err
	}
	chosen := map[string]bool{}
	for _, n := range names {
		chosen[n] = true
	}
	var plan Plan
	for _, n := range names {
		seen := map[string]bool{}
		var deps []string
		var walk func(string)
		walk = func(m string) {
			for _, r := range p.models[m].Refs {
				if seen[r] {
					continue
				}
				seen[r] = true
				if chosen[r] {
					deps = append(deps, r)
				} else {
					walk(r)
				}
			}
		}
		walk(n)
		slices.Sort(deps)
		plan.Models = append(plan.Models, PlanModel{Name: n, Materialized: p.models[n].Config.Materialized, Deps: deps})
	}
	if !skipTests {
		after := p.testsAfter(names)
		for _, n := range names {
			for _, t := range after[n] {
				plan.Tests = append(plan.Tests, PlanTest{Name: t.Name, Model: n, Severity: t.Severity})
			}
		}
	}
	return plan, nil
}
