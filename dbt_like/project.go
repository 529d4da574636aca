// Package dbtlike is a small dbt-like runner for Sightline's analytics: SQL
// models in .sql files, templated with ref/source/var/this/config, are built
// in dependency order into the analytics schema of PostgreSQL.
package dbtlike

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Models holds the built-in models (models/*.sql) and their custom data
// tests (models/tests/*.sql); pass it to Load.
//
//go:embed models
var Models embed.FS

const (
	// Schema is where models are built; migrations create it.
	Schema = "analytics"
	// SourceName is the only source: the tables of the migrations.
	SourceName = "sightline"
	// SourceSchema is the schema the source tables live in.
	SourceSchema = "public"
	// newSuffix names the table a model is built into before the swap.
	newSuffix = "__new"
	// StateTable records, per built model, what it was built from and up to
	// which ingestion time its data is complete. No model may take its name.
	StateTable = "dbtlike_state"
	// ChangedSchema holds a table per incremental model whose last build
	// was incremental, named after the model: the batch that build merged,
	// so the partitions it replaced and their new rows. A full build drops
	// it. Data tests read it to check those partitions only; it lives
	// outside Schema so that the models' schema holds models.
	ChangedSchema = Schema + "_changed"
)

// SourceTables are the tables {{ source('sightline', ...) }} may name.
var SourceTables = []string{"captures", "chunks", "crossings", "detections", "frames", "streams", "tracks",
	"zone_occupancy", "zone_visits"}

var sourceTables = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range SourceTables {
		m[t] = true
	}
	return m
}()

// Model names become unquoted identifiers, with room for the __new suffix.
var modelNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,57}$`)

// Materialization says how a model is built.
type Materialization string

const (
	Table       Materialization = "table"
	View        Materialization = "view"
	Incremental Materialization = "incremental"
)

// DefaultLookback is an incremental model's lookback when its config sets none.
const DefaultLookback = time.Minute

// Config is what a model's {{ config(...) }} sets.
type Config struct {
	Materialized Materialization // default Table
	// UniqueKey is the grain: the columns that identify a row. Required
	// for incremental models; a table gets an index on it.
	UniqueKey []string
	// PartitionBy (incremental; default UniqueKey) is what an incremental
	// run replaces: every row of the table whose PartitionBy values occur in
	// the new batch is deleted before the batch is inserted. Batch rows
	// whose other UniqueKey columns are all NULL only mark a partition as
	// changed (for example a time bucket with no objects left) and are not
	// inserted, in full builds either.
	PartitionBy []string
	// Lookback (incremental) is how far before its last watermark an
	// incremental run re-reads ingested rows: {{ watermark() }} renders as
	// the last watermark minus Lookback.
	Lookback time.Duration
	// Indexes are extra indexes to build on a table, each a column list.
	Indexes [][]string
	// Include (incremental) are columns the unique index carries besides
	// the key, so that reads of a partition or of a key range that need
	// only them are index-only scans and skip the table.
	Include []string
}

// identRE matches the column names config and tests accept.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// columnList parses "a, b" into column names.
func columnList(v string) ([]string, error) {
	var cols []string
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		if !identRE.MatchString(c) {
			return nil, fmt.Errorf("%q is not a column name (lower-case letters, digits and _)", c)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// configKeys are the config() keys understood; others are errors so that a
// typo does not silently fall back to a default.
var configKeys = map[string]func(*Config, string) error{
	"materialized": func(c *Config, v string) error {
		switch m := Materialization(v); m {
		case Table, View, Incremental:
			c.Materialized = m
			return nil
		}
		return fmt.Errorf("materialized=%q: want table, view or incremental", v)
	},
	"unique_key": func(c *Config, v string) (err error) {
		c.UniqueKey, err = columnList(v)
		return wrapKey("unique_key", err)
	},
	"partition_by": func(c *Config, v string) (err error) {
		c.PartitionBy, err = columnList(v)
		return wrapKey("partition_by", err)
	},
	"lookback": func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("lookback=%q: want a duration such as 1m or 2h", v)
		}
		c.Lookback = d
		return nil
	},
	"include": func(c *Config, v string) (err error) {
		c.Include, err = columnList(v)
		return wrapKey("include", err)
	},
	"indexes": func(c *Config, v string) error {
		for _, part := range strings.Split(v, ";") {
			cols, err := columnList(part)
			if err != nil {
				return wrapKey("indexes", err)
			}
			c.Indexes = append(c.Indexes, cols)
		}
		return nil
	},
}

func wrapKey(key string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// check validates the config as a whole once every key is set.
func (c *Config) check(lookbackSet bool) error {
	if c.Materialized != Incremental {
		if c.PartitionBy != nil || lookbackSet || c.Include != nil {
			return fmt.Errorf("partition_by, lookback and include apply only to incremental models")
		}
		if c.Materialized == View && (c.UniqueKey != nil || c.Indexes != nil) {
			return fmt.Errorf("a view has no unique_key or indexes")
		}
		return nil
	}
	if len(c.UniqueKey) == 0 {
		return fmt.Errorf("an incremental model needs a unique_key")
	}
	if c.PartitionBy == nil {
		c.PartitionBy = c.UniqueKey
	}
	for _, p := range c.PartitionBy {
		if !slices.Contains(c.UniqueKey, p) {
			return fmt.Errorf("partition_by column %s is not in unique_key (%s)", p, strings.Join(c.UniqueKey, ", "))
		}
	}
	for _, col := range c.Include {
		if slices.Contains(c.UniqueKey, col) {
			return fmt.Errorf("include column %s is in unique_key already", col)
		}
	}
	if !lookbackSet {
		c.Lookback = DefaultLookback
	}
	return nil
}

// markerColumns are the unique-key columns outside the partition: a batch
// row with all of them NULL only marks its partition as changed.
func (c *Config) markerColumns() []string {
	var out []string
	for _, k := range c.UniqueKey {
		if !slices.Contains(c.PartitionBy, k) {
			out = append(out, k)
		}
	}
	return out
}

// Model is one parsed .sql model.
type Model struct {
	Name    string
	Path    string // path inside the fs.FS it was loaded from
	SQL     string // the template as written
	Config  Config
	Refs    []string // models it refs, sorted
	Sources []string // source tables it reads, sorted
	Vars    []string // vars it uses, sorted

	segs  []segment
	tests []testDecl
}

// Project is a loaded, validated set of models with their build order.
type Project struct {
	models   map[string]*Model
	order    []string
	children map[string][]string // model -> models that ref it, in build order
	tests    []*Test             // in the order they run

	// Vars are the defaults for {{ var() }}, under RunOptions.Vars.
	Vars map[string]string

	// hook, set by tests, is called at stages of a model's build.
	hook func(stage, model string)
}

// DefaultProject loads the built-in models.
func DefaultProject() (*Project, error) { return Load(Models) }

// LoadProject loads the built-in models, with the .sql files of dir layered
// over them when dir is not empty (same name replaces, a new name adds), and
// the vars of vars, name=value pairs separated by semicolons, for example
// "min_score=0.5; bucket='5 minutes'" (SIGHTLINE_ROLLUP_MODELS and
// SIGHTLINE_ROLLUP_VARS in a process's configuration).
func LoadProject(dir, vars string) (*Project, error) {
	var overrides []fs.FS
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("dbtlike: models folder %q: not a readable folder (%v)", dir, err) //nolint:errorlint // err is nil for a file
		}
		overrides = append(overrides, os.DirFS(dir))
	}
	p, err := Load(Models, overrides...)
	if err != nil {
		return nil, err
	}
	if p.Vars, err = ParseVars(vars); err != nil {
		return nil, fmt.Errorf("dbtlike: vars %q: %w", vars, err)
	}
	return p, nil
}

// ParseVars parses "name=value; name2=value2" (values are SQL, as written).
func ParseVars(s string) (map[string]string, error) {
	vars := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !identRE.MatchString(k) || v == "" {
			return nil, fmt.Errorf("var %q: want name=value", strings.TrimSpace(kv))
		}
		vars[k] = v
	}
	return vars, nil
}

// Load reads every *.sql file under fsys (recursively; the model name is the
// file name without .sql), then those of each override in turn: a model of
// the same name replaces the earlier one, a new name adds a model. Files in
// a folder named tests are custom data tests, not models, and layer the
// same way. It checks templates, refs, tests and cycles.
func Load(fsys fs.FS, overrides ...fs.FS) (*Project, error) {
	models := map[string]*Model{}
	custom := map[string]*customTest{}
	for _, layer := range append([]fs.FS{fsys}, overrides...) {
		loaded, tests, err := loadLayer(layer)
		if err != nil {
			return nil, err
		}
		for name, m := range loaded {
			models[name] = m
		}
		for name, t := range tests {
			custom[name] = t
		}
	}
	return newProject(models, custom)
}

// isTestPath tells whether a file lies in a folder named tests.
func isTestPath(p string) bool {
	return slices.Contains(strings.Split(path.Dir(p), "/"), "tests")
}

func loadLayer(fsys fs.FS) (map[string]*Model, map[string]*customTest, error) {
	models := map[string]*Model{}
	tests := map[string]*customTest{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("dbtlike: read models: %w", err)
		}
		if d.IsDir() || path.Ext(p) != ".sql" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("dbtlike: read model %s: %w", p, err)
		}
		if isTestPath(p) {
			t, err := parseCustomTest(p, string(b))
			if err != nil {
				return err
			}
			if prev, dup := tests[t.name]; dup {
				return fmt.Errorf("dbtlike: test %s defined twice: %s and %s", t.name, prev.path, p)
			}
			tests[t.name] = t
			return nil
		}
		m, err := parseModel(p, string(b))
		if err != nil {
			return err
		}
		if prev, dup := models[m.Name]; dup {
			return fmt.Errorf("dbtlike: model %s defined twice: %s and %s", m.Name, prev.Path, p)
		}
		models[m.Name] = m
		return nil
	})
	return models, tests, err
}

// parseModel parses the model in file p with template text src.
func parseModel(p, src string) (*Model, error) {
	name := strings.TrimSuffix(path.Base(p), ".sql")
	if !modelNameRE.MatchString(name) || name == StateTable {
		return nil, fmt.Errorf("dbtlike: model file %s: name %q must match %s and not be %s", p, name, modelNameRE, StateTable)
	}
	segs, kw, err := parseTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("dbtlike: model %s (%s): %w", name, p, err)
	}
	m := &Model{Name: name, Path: p, SQL: src, Config: Config{Materialized: Table}, segs: segs}
	for _, k := range sortedKeys(kw) {
		set, ok := configKeys[k]
		if !ok {
			return nil, fmt.Errorf("dbtlike: model %s (%s): unknown config key %q (known: %s)", name, p, k, strings.Join(sortedKeys(configKeys), ", "))
		}
		if err := set(&m.Config, kw[k]); err != nil {
			return nil, fmt.Errorf("dbtlike: model %s (%s): config: %w", name, p, err)
		}
	}
	_, lookbackSet := kw["lookback"]
	if err := m.Config.check(lookbackSet); err != nil {
		return nil, fmt.Errorf("dbtlike: model %s (%s): config: %w", name, p, err)
	}
	for _, s := range segs {
		switch s.kind {
		case segRef:
			m.Refs = append(m.Refs, s.text)
		case segSource:
			m.Sources = append(m.Sources, s.text)
		case segVar:
			m.Vars = append(m.Vars, s.text)
		case segIncr, segWatermark:
			if m.Config.Materialized != Incremental {
				return nil, fmt.Errorf("dbtlike: model %s (%s): is_incremental() and watermark() need materialized='incremental'", name, p)
			}
		case segTest:
			m.tests = append(m.tests, s.test)
		case segChanged:
			return nil, fmt.Errorf("dbtlike: model %s (%s): changed() is for tests; a model uses is_incremental() and watermark()", name, p)
		}
	}
	m.Refs, m.Sources, m.Vars = uniq(m.Refs), uniq(m.Sources), uniq(m.Vars)
	return m, nil
}

func newProject(models map[string]*Model, custom map[string]*customTest) (*Project, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("dbtlike: no models (*.sql) found")
	}
	for _, name := range sortedKeys(models) {
		for _, r := range models[name].Refs {
			if r == name {
				return nil, fmt.Errorf("dbtlike: model %s refs itself (use {{ this }})", name)
			}
			if models[r] == nil {
				return nil, fmt.Errorf("dbtlike: model %s refs unknown model %s", name, r)
			}
		}
	}
	order, err := topoSort(models)
	if err != nil {
		return nil, err
	}
	p := &Project{models: models, order: order, children: map[string][]string{}}
	for _, name := range order {
		for _, r := range models[name].Refs {
			p.children[r] = append(p.children[r], name)
		}
	}
	if err := p.addTests(custom); err != nil {
		return nil, err
	}
	return p, nil
}

// topoSort orders models so that each comes after the models it refs; among
// models ready at the same time the smallest name goes first.
func topoSort(models map[string]*Model) ([]string, error) {
	pending := map[string]int{} // model -> refs not yet ordered
	dependents := map[string][]string{}
	for name, m := range models {
		pending[name] = len(m.Refs)
		for _, r := range m.Refs {
			dependents[r] = append(dependents[r], name)
		}
	}
	var ready, order []string
	for name, n := range pending {
		if n == 0 {
			ready = append(ready, name)
		}
	}
	for len(ready) > 0 {
		sort.Strings(ready)
		name := ready[0]
		ready = ready[1:]
		order = append(order, name)
		for _, d := range dependents[name] {
			if pending[d]--; pending[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	if len(order) < len(models) {
		return nil, fmt.Errorf("dbtlike: dependency cycle: %s", findCycle(models, pending))
	}
	return order, nil
}

// findCycle returns one cycle among the models left unordered, as
// "a -> b -> a" (a refs b, b refs a).
func findCycle(models map[string]*Model, pending map[string]int) string {
	var left []string
	for name, n := range pending {
		if n > 0 {
			left = append(left, name)
		}
	}
	sort.Strings(left)
	// Every unordered model refs an unordered model, so walking refs from
	// any of them must come back to a model already on the path.
	pos := map[string]int{}
	var path []string
	for cur := left[0]; ; {
		if i, seen := pos[cur]; seen {
			return strings.Join(append(path[i:], cur), " -> ")
		}
		pos[cur] = len(path)
		path = append(path, cur)
		for _, r := range models[cur].Refs {
			if pending[r] > 0 {
				cur = r
				break
			}
		}
	}
}

// Order returns the model names in build order.
func (p *Project) Order() []string { return slices.Clone(p.order) }

// Model returns the named model.
func (p *Project) Model(name string) (Model, bool) {
	m, ok := p.models[name]
	if !ok {
		return Model{}, false
	}
	c := *m
	c.Refs, c.Sources, c.Vars = slices.Clone(m.Refs), slices.Clone(m.Sources), slices.Clone(m.Vars)
	return c, true
}

// RenderSQL returns the named model's SELECT with its templates filled in,
// as a full build runs it (is_incremental() false).
func (p *Project) RenderSQL(name string, vars map[string]string) (string, error) {
	m, ok := p.models[name]
	if !ok {
		return "", fmt.Errorf("dbtlike: unknown model %s", name)
	}
	return m.render(p.mergeVars(vars), renderCtx{})
}

// mergeVars lays vars over the project's defaults.
func (p *Project) mergeVars(vars map[string]string) map[string]string {
	out := make(map[string]string, len(p.Vars)+len(vars))
	for k, v := range p.Vars {
		out[k] = v
	}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// Relation is the qualified name a model is built as.
func Relation(model string) string { return Schema + "." + model }

// changedRelation is the table of the partitions an incremental model's
// last build replaced.
func changedRelation(model string) string { return ChangedSchema + "." + model }

// renderCtx is what an incremental model's helpers render to.
type renderCtx struct {
	incremental bool
	watermark   time.Time // rows ingested at or after it are re-read
}

func varValue(s segment, vars map[string]string, what string) (string, error) {
	v, ok := vars[s.text]
	if !ok {
		if !s.hasDef {
			return "", fmt.Errorf("dbtlike: %s: var %q is not set and has no default", what, s.text)
		}
		v = s.def
	}
	return v, nil
}

func (m *Model) render(vars map[string]string, rc renderCtx) (string, error) {
	var b strings.Builder
	for _, s := range m.segs {
		switch s.kind {
		case segText:
			b.WriteString(s.text)
		case segRef:
			b.WriteString(Relation(s.text))
		case segThis:
			b.WriteString(Relation(m.Name))
		case segSource:
			b.WriteString(SourceSchema + "." + s.text)
		case segVar:
			v, err := varValue(s, vars, "model "+m.Name)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		case segIncr:
			b.WriteString(fmt.Sprint(rc.incremental))
		case segWatermark:
			if rc.incremental {
				b.WriteString("'" + rc.watermark.UTC().Format(time.RFC3339Nano) + "'::timestamptz")
			} else {
				b.WriteString("'-infinity'::timestamptz")
			}
		}
	}
	return b.String(), nil
}

// selectModels resolves a selection to model names in build order. Each
// entry is a model name, "+name" (with the models it depends on) or "name+"
// (with the models that depend on it). Empty selects every model.
func (p *Project) selectModels(sel []string) ([]string, error) {
	if len(sel) == 0 {
		return p.Order(), nil
	}
	chosen := map[string]bool{}
	for _, s := range sel {
		s = strings.TrimSpace(s) // "a, b" split on commas
		name := strings.TrimSuffix(strings.TrimPrefix(s, "+"), "+")
		if p.models[name] == nil {
			return nil, fmt.Errorf("dbtlike: select %q: unknown model %s", s, name)
		}
		chosen[name] = true
		if strings.HasPrefix(s, "+") {
			p.walk(name, func(n string) []string { return p.models[n].Refs }, chosen)
		}
		if strings.HasSuffix(s, "+") {
			p.walk(name, func(n string) []string { return p.children[n] }, chosen)
		}
	}
	var out []string
	for _, name := range p.order {
		if chosen[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

func (p *Project) walk(name string, next func(string) []string, seen map[string]bool) {
	for _, n := range next(name) {
		if !seen[n] {
			seen[n] = true
			p.walk(n, next, seen)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func uniq(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}
