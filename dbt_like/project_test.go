package dbtlike

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func mustLoad(t *testing.T, files map[string]string) *Project {
	t.Helper()
	p, err := Load(mapFS(files))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error mentioning %q, got nil", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestDefaultProject(t *testing.T) {
	p, err := DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"frame_object_counts", "line_crossings", "stream_buckets", "object_counts", "stream_buckets_hourly", "object_counts_hourly",
		"stream_totals", "stream_object_ranking", "object_ranking", "object_stream_ranking", "stream_ranking", "top_object_series",
		"unique_objects", "zone_dwell", "zone_occupancy_buckets"}
	if got := p.Order(); !slices.Equal(got, want) {
		t.Fatalf("Order() = %v, want %v", got, want)
	}
	for _, name := range want {
		m, _ := p.Model(name)
		incremental := name == "frame_object_counts" || strings.HasPrefix(name, "stream_buckets") || strings.HasPrefix(name, "object_counts") ||
			name == "line_crossings" || name == "unique_objects" || strings.HasPrefix(name, "zone_")
		if incremental != (m.Config.Materialized == Incremental) || (!incremental && m.Config.Materialized != Table) {
			t.Errorf("Model(%s) materialized %s", name, m.Config.Materialized)
		}
	}
	oc, _ := p.Model("object_counts")
	if !slices.Equal(oc.Config.UniqueKey, []string{"stream_id", "object", "bucket"}) ||
		!slices.Equal(oc.Config.PartitionBy, []string{"stream_id", "bucket"}) || oc.Config.Lookback != time.Minute {
		t.Errorf("object_counts config %+v", oc.Config)
	}
	// The score threshold lives in frame_object_counts only.
	for _, name := range p.Order() {
		m, _ := p.Model(name)
		if uses := slices.Contains(m.Vars, "min_score") || strings.Contains(m.SQL, "score"); uses != (name == "frame_object_counts") {
			t.Errorf("model %s uses min_score: %v", name, uses)
		}
	}
	// Every model is tested, and the custom test is loaded from tests/.
	tested := map[string]bool{}
	for _, tc := range p.Tests() {
		tested[tc.Model] = true
	}
	for _, name := range want {
		if !tested[name] {
			t.Errorf("model %s has no data test", name)
		}
	}
	if ts := p.Tests(); !slices.ContainsFunc(ts, func(tc Test) bool { return tc.Name == "counts_add_up" && tc.Model == "stream_object_ranking" }) {
		t.Errorf("custom test counts_add_up missing or attached to the wrong model: %+v", ts)
	}
	sql, err := p.RenderSQL("frame_object_counts", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"FROM public.frames f", "JOIN public.detections d", "d.score >= 0.3", "f.inserted_at >= '-infinity'::timestamptz"} {
		if !strings.Contains(sql, s) {
			t.Errorf("rendered frame_object_counts lacks %q:\n%s", s, sql)
		}
	}
	if strings.Contains(sql, "{{") || strings.Contains(sql, "config") {
		t.Errorf("template left in rendered SQL:\n%s", sql)
	}
	sql, err = p.RenderSQL("object_counts", map[string]string{"bucket": "'5 minutes'"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sql, "date_bin('5 minutes'::interval") || !strings.Contains(sql, "FROM analytics.frame_object_counts o") ||
		!strings.Contains(sql, "WHERE inserted_at >= '-infinity'::timestamptz") {
		t.Errorf("rendered object_counts:\n%s", sql)
	}
}

func TestRender(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"base.sql": "{{config( materialized = 'view' )}}SELECT 1 AS x",
		"sub/top.sql": `{{ config(materialized="table", unique_key='id') }}
SELECT * FROM {{ ref('base') }}, {{source("sightline","streams")}}
WHERE x > {{ var('lo', 0) }} AND y < {{ var("hi", "'a b'") }} AND z = {{ var('z') }}
-- self: {{ this }}`,
	})
	top, ok := p.Model("top")
	if !ok {
		t.Fatal("model top not loaded from a subfolder")
	}
	if top.Config.Materialized != Table || !slices.Equal(top.Config.UniqueKey, []string{"id"}) || top.Path != "sub/top.sql" {
		t.Errorf("top = %+v", top)
	}
	if !slices.Equal(top.Refs, []string{"base"}) || !slices.Equal(top.Sources, []string{"streams"}) ||
		!slices.Equal(top.Vars, []string{"hi", "lo", "z"}) {
		t.Errorf("top refs %v sources %v vars %v", top.Refs, top.Sources, top.Vars)
	}
	got, err := p.RenderSQL("top", map[string]string{"z": "'zz'", "lo": "5"})
	if err != nil {
		t.Fatal(err)
	}
	want := `
SELECT * FROM analytics.base, public.streams
WHERE x > 5 AND y < 'a b' AND z = 'zz'
-- self: analytics.top`
	if got != want {
		t.Errorf("RenderSQL:\n%s\nwant:\n%s", got, want)
	}
	_, err = p.RenderSQL("top", nil)
	wantErr(t, err, "model top", `var "z"`)
	_, err = p.RenderSQL("nope", nil)
	wantErr(t, err, "unknown model nope")
	if got, _ := p.RenderSQL("base", nil); got != "SELECT 1 AS x" {
		t.Errorf("base renders %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		parts []string
	}{
		{"unknown ref", map[string]string{"a.sql": "SELECT * FROM {{ ref('ghost') }}"}, []string{"model a", "unknown model ghost"}},
		{"cycle", map[string]string{
			"alpha.sql": "SELECT * FROM {{ ref('beta') }}",
			"beta.sql":  "SELECT * FROM {{ ref('alpha') }}",
			"gamma.sql": "SELECT * FROM {{ ref('alpha') }}",
		}, []string{"cycle", "alpha -> beta -> alpha"}},
		{"long cycle", map[string]string{
			"a.sql": "SELECT * FROM {{ ref('b') }}",
			"b.sql": "SELECT * FROM {{ ref('c') }}",
			"c.sql": "SELECT * FROM {{ ref('a') }}",
			"d.sql": "SELECT 1",
		}, []string{"a -> b -> c -> a"}},
		{"self ref", map[string]string{"a.sql": "SELECT * FROM {{ ref('a') }}"}, []string{"model a refs itself"}},
		{"unknown source table", map[string]string{"m.sql": "SELECT * FROM {{ source('sightline','faces') }}"}, []string{"model m", "sightline.faces"}},
		{"unknown source", map[string]string{"m.sql": "SELECT * FROM {{ source('other','frames') }}"}, []string{"model m", `unknown source "other"`}},
		{"unknown function", map[string]string{"m.sql": "SELECT {{ env('X') }}"}, []string{"model m", "line 1", "env()"}},
		{"unclosed", map[string]string{"m.sql": "SELECT 1\n{{ ref('x')"}, []string{"model m", "line 2", "unclosed"}},
		{"bad materialized", map[string]string{"m.sql": "{{ config(materialized='ephemeral') }}SELECT 1"}, []string{"model m", "ephemeral"}},
		{"unknown config key", map[string]string{"m.sql": "{{ config(materialised='view') }}SELECT 1"}, []string{"model m", "materialised"}},
		{"two configs", map[string]string{"m.sql": "{{ config() }}{{ config() }}SELECT 1"}, []string{"model m", "more than once"}},
		{"ref arity", map[string]string{"m.sql": "{{ ref('a', 'b') }}"}, []string{"model m", "ref()"}},
		{"unquoted ref", map[string]string{"m.sql": "{{ ref(a) }}"}, []string{"model m", "quoted"}},
		{"bad name", map[string]string{"Bad-Name.sql": "SELECT 1"}, []string{"Bad-Name"}},
		{"duplicate", map[string]string{"x/m.sql": "SELECT 1", "y/m.sql": "SELECT 2"}, []string{"model m defined twice"}},
		{"empty", map[string]string{"README.md": "no models"}, []string{"no models"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(mapFS(tc.files))
			wantErr(t, err, tc.parts...)
		})
	}
}

func TestOrderIsDeterministic(t *testing.T) {
	files := map[string]string{
		"z_base.sql": "SELECT 1",
		"b.sql":      "SELECT * FROM {{ ref('z_base') }}",
		"a.sql":      "SELECT * FROM {{ ref('z_base') }} JOIN {{ ref('c') }} ON true",
		"c.sql":      "SELECT 2",
		"d.sql":      "SELECT * FROM {{ ref('b') }}",
	}
	want := []string{"c", "z_base", "a", "b", "d"}
	for i := 0; i < 20; i++ {
		if got := mustLoad(t, files).Order(); !slices.Equal(got, want) {
			t.Fatalf("Order() = %v, want %v", got, want)
		}
	}
}

func TestOverride(t *testing.T) {
	p, err := Load(Models, mapFS(map[string]string{
		"frame_object_counts.sql": "{{ config(materialized='table') }}SELECT 1 AS n",
		"extra.sql":               "SELECT * FROM {{ ref('object_counts') }}",
	}))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := p.Model("frame_object_counts")
	if m.Config.Materialized != Table || m.SQL != "{{ config(materialized='table') }}SELECT 1 AS n" {
		t.Errorf("override not applied: %+v", m)
	}
	if got := p.Order(); got[len(got)-1] != "zone_occupancy_buckets" || !slices.Contains(got, "extra") || len(got) != 16 {
		t.Errorf("Order() = %v", got)
	}
}

func TestLoadProject(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "extra.sql"), []byte("SELECT * FROM {{ ref('object_counts') }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProject(dir, "min_score=0.5; bucket='5 minutes'")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Model("extra"); !ok {
		t.Errorf("the folder's extra model is missing: %v", p.Order())
	}
	if p.Vars["min_score"] != "0.5" || p.Vars["bucket"] != "'5 minutes'" {
		t.Errorf("Vars = %v", p.Vars)
	}
	if p, err = LoadProject("", ""); err != nil {
		t.Fatal(err)
	}
	if len(p.Vars) != 0 || len(p.Order()) != 15 {
		t.Errorf("built-in project: vars %v, models %v", p.Vars, p.Order())
	}
	_, err = LoadProject("", "min_score")
	wantErr(t, err, `vars "min_score"`)
	_, err = LoadProject(filepath.Join(dir, "missing"), "")
	wantErr(t, err, "missing", "not a readable folder")
}

func TestSelect(t *testing.T) {
	p, err := DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel  []string
		want []string
	}{
		{nil, p.Order()},
		{[]string{"object_stream_ranking", "object_counts"}, []string{"object_counts", "object_stream_ranking"}},
		{[]string{"+object_stream_ranking"}, []string{"frame_object_counts", "stream_buckets", "object_counts", "stream_totals", "stream_object_ranking", "object_stream_ranking"}},
		{[]string{" stream_object_ranking+"}, []string{"stream_object_ranking", "object_ranking", "object_stream_ranking", "stream_ranking", "top_object_series"}},
		{[]string{"+stream_totals+"}, []string{"frame_object_counts", "stream_buckets", "object_counts", "stream_totals",
			"stream_object_ranking", "object_ranking", "object_stream_ranking", "stream_ranking", "top_object_series"}},
		{[]string{"frame_object_counts+"}, slices.DeleteFunc(p.Order(), func(m string) bool {
			return m == "line_crossings" || m == "unique_objects" || m == "zone_dwell"
		})},
	} {
		got, err := p.selectModels(tc.sel)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("select %v = %v, %v; want %v", tc.sel, got, err, tc.want)
		}
	}
	_, err = p.selectModels([]string{"nope"})
	wantErr(t, err, "unknown model nope")
}

func TestViewDependents(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"t.sql":  "SELECT 1",
		"v1.sql": "{{ config(materialized='view') }}SELECT * FROM {{ ref('t') }}",
		"v2.sql": "{{ config(materialized='view') }}SELECT * FROM {{ ref('v1') }}",
		"t2.sql": "SELECT * FROM {{ ref('v1') }}",
		"v3.sql": "{{ config(materialized='view') }}SELECT * FROM {{ ref('t2') }}",
	})
	if got := p.viewDependents("t"); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("viewDependents(t) = %v", got)
	}
}

func TestPlan(t *testing.T) {
	p, err := DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan([]string{"frame_object_counts", "stream_totals"}, false)
	if err != nil {
		t.Fatal(err)
	}
	// stream_totals waits for frame_object_counts through the two models
	// left out between them.
	if len(plan.Models) != 2 || !slices.Equal(plan.Models[1].Deps, []string{"frame_object_counts"}) ||
		plan.Models[0].Deps != nil || plan.Models[0].Materialized != Incremental {
		t.Errorf("plan models %+v", plan.Models)
	}
	for _, tc := range plan.Tests {
		if tc.Model != "frame_object_counts" && tc.Model != "stream_totals" {
			t.Errorf("test %+v of a model not selected", tc)
		}
		if strings.Contains(tc.Name, "object_counts: ") && !strings.HasPrefix(tc.Name, "frame_") {
			t.Errorf("test %s reads object_counts, which is not built", tc.Name)
		}
	}
	all, _ := p.Plan(nil, false)
	if len(all.Models) != 15 || len(all.Tests) != len(p.Tests()) {
		t.Errorf("full plan: %d models, %d tests", len(all.Models), len(all.Tests))
	}
	if none, _ := p.Plan(nil, true); len(none.Tests) != 0 {
		t.Errorf("skip tests planned %d tests", len(none.Tests))
	}
	_, err = p.Plan([]string{"ghost+"}, false)
	wantErr(t, err, "unknown model ghost")
}
