package dbtlike

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var templateSeeds = []string{
	"SELECT 1",
	"{{ config(materialized='view') }}\nSELECT * FROM {{ ref('stream_totals') }}",
	"{{ config(materialized='incremental', unique_key='stream_id, bucket', partition_by='stream_id', lookback='2m') }}\n" +
		"SELECT stream_id, bucket FROM {{ source('sightline', 'frames') }} WHERE inserted_at >= {{ watermark() }} AND {{ is_incremental() }}",
	"{{ config(materialized='table', unique_key='a', indexes='a; a, b') }}\n{{ test('unique', 'a') }}\n{{ test('accepted_values', 'a', values=\"'x', 'y'\", severity='warn') }}\nSELECT {{ var('min_score', 0.5) }} AS a, {{ var('x', \"'1 minute'\") }} AS b FROM {{ this }}",
	"{{ test('relationships', 'stream_id', to='stream_buckets', field='stream_id') }}\n{{ test('relationships', 'id', to_source='streams', field='id') }}\nSELECT 1 AS stream_id, 1 AS id",
	"{{ test('expression', 'a > 0') }}{{ test('not_null', columns='a, b') }}SELECT 1 AS a, 2 AS b",
	"{{ config(materialized='view', unique_key='a') }}SELECT 1",
	"{{ config(materialized='table') }}{{ config(materialized='view') }}",
	"{{ ref('object_counts') }} {{",
	"}} SELECT",
	"{{ var('a', ) }}",
	"{{ config(a=) }}",
	"{{ test() }}",
	"{{ test('relationships', 'a', to='', to_source='', field='b') }}",
	"{{ config(lookback='-1s', materialized='incremental', unique_key='a') }}",
	"{{ config(materialized='incremental', unique_key='a', partition_by='b') }}",
	"{{ ref('fuzz_model') }}",
	"SELECT * FROM {{ ref('top_object_series') }}", // a cycle when it replaces a model top_object_series refs
}

// FuzzTemplate puts a fuzzed template in a folder layered over the built-in
// models, under one of their names (replacing it, which can close a cycle)
// or a new one, with a fuzzed custom test beside it, and loads, plans and
// renders the project. Nothing may panic; a project that loads must be in
// dependency order, with valid configs, and render with every var set.
func FuzzTemplate(f *testing.F) {
	base, err := Load(Models)
	if err != nil {
		f.Fatal(err)
	}
	names := append(base.Order(), "fuzz_model")
	for i, s := range templateSeeds {
		f.Add(s, uint8(i), "SELECT * FROM {{ ref('stream_totals') }}", "+stream_totals+")
	}
	f.Add("SELECT 1", uint8(0), "{{ config(severity='warn') }}SELECT * FROM {{ ref('fuzz_model') }}, {{ source('sightline', 'chunks') }} WHERE {{ var('x', 1) }}", "fuzz_model+, +object_ranking")
	f.Add("SELECT 1", uint8(3), "{{ this }}", "")
	f.Fuzz(func(t *testing.T, src string, which uint8, testSrc, sel string) {
		name := names[int(which)%len(names)]
		if _, _, err := parseTemplate(src); err != nil {
			if _, perr := parseModel(name+".sql", src); perr == nil {
				t.Fatalf("parseTemplate refused %q (%v) but parseModel took it", src, err)
			}
		}
		layer := fstest.MapFS{
			name + ".sql":          {Data: []byte(src)},
			"tests/fuzz_check.sql": {Data: []byte(testSrc)},
		}
		p, err := Load(Models, layer)
		if err != nil {
			if p != nil {
				t.Fatalf("Load failed (%v) but returned a project", err)
			}
			return
		}
		pos := map[string]int{}
		for i, n := range p.Order() {
			pos[n] = i
		}
		if len(pos) != len(p.models) {
			t.Fatalf("order %v does not list the %d models", p.Order(), len(p.models))
		}
		for _, n := range p.Order() {
			m, _ := p.Model(n)
			for _, r := range m.Refs {
				if pos[r] >= pos[n] {
					t.Fatalf("model %s comes before %s, which it refs", n, r)
				}
			}
			checkConfig(t, n, m.Config)
		}
		vars := map[string]string{}
		for _, n := range p.Order() {
			m, _ := p.Model(n)
			for _, v := range m.Vars {
				vars[v] = "1"
			}
		}
		for _, tt := range p.tests {
			if tt.custom != nil {
				for _, s := range tt.custom.segs {
					if s.kind == segVar {
						vars[s.text] = "1"
					}
				}
			}
		}
		for _, n := range p.Order() {
			if _, err := p.RenderSQL(n, vars); err != nil {
				t.Fatalf("render %s with every var set: %v", n, err)
			}
			if _, err := p.models[n].render(vars, renderCtx{incremental: true, watermark: time.Unix(0, 0)}); err != nil {
				t.Fatalf("render %s incrementally: %v", n, err)
			}
		}
		merged := map[string]bool{} // as after an incremental run of every model
		for _, n := range p.Order() {
			merged[n] = true
		}
		for _, tt := range p.tests {
			for _, incremental := range []map[string]bool{nil, merged} {
				if _, _, err := p.testSQL(tt, vars, incremental); err != nil {
					t.Fatalf("SQL of test %s: %v", tt.Name, err)
				}
			}
			if pos[tt.Model] < 0 || !slices.Contains(tt.Deps, tt.Model) {
				t.Fatalf("test %s runs after %s, not one of its deps %v", tt.Name, tt.Model, tt.Deps)
			}
		}
		plan, err := p.Plan(strings.Split(sel, ","), false)
		if err != nil {
			return
		}
		chosen := map[string]bool{}
		for _, pm := range plan.Models {
			chosen[pm.Name] = true
		}
		for _, pm := range plan.Models {
			for _, d := range pm.Deps {
				if !chosen[d] || pos[d] >= pos[pm.Name] {
					t.Fatalf("plan: %s waits for %s, not an earlier selected model", pm.Name, d)
				}
			}
		}
		for _, pt := range plan.Tests {
			if !chosen[pt.Model] {
				t.Fatalf("plan: test %s runs after %s, which is not selected", pt.Name, pt.Model)
			}
		}
	})
}

// checkConfig checks the invariants parseModel promises for a config.
func checkConfig(t *testing.T, model string, c Config) {
	t.Helper()
	cols := slices.Concat(c.UniqueKey, c.PartitionBy, slices.Concat(c.Indexes...))
	for _, col := range cols {
		if !identRE.MatchString(col) {
			t.Fatalf("model %s: config column %q", model, col)
		}
	}
	switch c.Materialized {
	case Table, View:
		if c.PartitionBy != nil || c.Lookback != 0 {
			t.Fatalf("model %s: %s with partition_by or lookback: %+v", model, c.Materialized, c)
		}
	case Incremental:
		if len(c.UniqueKey) == 0 || len(c.PartitionBy) == 0 || c.Lookback < 0 {
			t.Fatalf("model %s: incremental config %+v", model, c)
		}
		for _, p := range c.PartitionBy {
			if !slices.Contains(c.UniqueKey, p) {
				t.Fatalf("model %s: partition_by %s outside unique_key %v", model, p, c.UniqueKey)
			}
		}
	default:
		t.Fatalf("model %s: materialized %q", model, c.Materialized)
	}
}

// FuzzParseVars checks that ParseVars never panics and that what it
// accepts comes back unchanged from its own "name=value; ..." form.
func FuzzParseVars(f *testing.F) {
	for _, s := range []string{
		"", "min_score=0.5", "min_score=0.5; bucket='5 minutes'", " a = b ;; c=d=e ",
		"a=1;a=2", "=1", "a=", "A=1", "a b=1", "a=';'", "_=x", "a=\t", "a=\u00a0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vars, err := ParseVars(s)
		if err != nil {
			if vars != nil {
				t.Fatalf("ParseVars(%q) failed (%v) but returned %v", s, err, vars)
			}
			return
		}
		keys := slices.Collect(maps.Keys(vars))
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			v := vars[k]
			if !identRE.MatchString(k) || v == "" || v != strings.TrimSpace(v) || strings.Contains(v, ";") {
				t.Fatalf("ParseVars(%q) gave %q = %q", s, k, v)
			}
			parts = append(parts, k+"="+v)
		}
		again, err := ParseVars(strings.Join(parts, "; "))
		if err != nil || !maps.Equal(again, vars) {
			t.Fatalf("ParseVars(%q) = %v, but its own form parses to %v, %v", s, vars, again, err)
		}
	})
}
