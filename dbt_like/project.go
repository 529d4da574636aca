// Package dbtlike is a small dbt-like runner for Sightline's analytics: SQL
// models in .sql files, templated with ref/source/var/this/config, are built
// in dependency order into the analytics schema of PostgreSQL.
package dbtlike

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Models holds the built-in models (models/*.sql); pass it to Load.
//
//go:embed models/*.sql
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
)

// SourceTables are the tables {{ source('sightline', ...) }} may name.
var SourceTables = []string{"captures", "chunks", "detections", "frames", "streams"}

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
	Table Materialization = "table"
	View  Materialization = "view"
)

// Config is what a model's {{ config(...) }} sets.
type Config struct {
	Materialized Materialization // default Table
	UniqueKey    string          // parsed for future incremental models; unused
}

// configKeys are the config() keys understood; others are errors so that a
// typo does not silently fall back to a default.
var configKeys = map[string]func(*Config, string) error{
	"materialized": func(c *Config, v string) error {
		switch m := Materialization(v); m {
		case Table, View:
			c.Materialized = m
			return nil
		}
		return fmt.Errorf("materialized=%q: want table or view", v)
	},
	"unique_key": func(c *Config, v string) error { c.UniqueKey = v; return nil },
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

	segs []segment
}

// Project is a loaded, validated set of models with their build order.
type Project struct {
	models   map[string]*Model
	order    []string
	children map[string][]string // model -> models that ref it, in build order

	// hook, set by tests, is called at stages of a model's build.
	hook func(stage, model string)
}

// DefaultProject loads the built-in models.
func DefaultProject() (*Project, error) { return Load(Models) }

// Load reads every *.sql file under fsys (recursively; the model name is the
// file name without .sql), then those of each override in turn: a model of
// the same name replaces the earlier one, a new name adds a model. It checks
// templates, refs and cycles.
func Load(fsys fs.FS, overrides ...fs.FS) (*Project, error) {
	models := map[string]*Model{}
	for _, layer := range append([]fs.FS{fsys}, overrides...) {
		loaded, err := loadLayer(layer)
		if err != nil {
			return nil, err
		}
		for name, m := range loaded {
			models[name] = m
		}
	}
	return newProject(models)
}

func loadLayer(fsys fs.FS) (map[string]*Model, error) {
	models := map[string]*Model{}
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
	return models, err
}

// parseModel parses the model in file p with template text src.
func parseModel(p, src string) (*Model, error) {
	name := strings.TrimSuffix(path.Base(p), ".sql")
	if !modelNameRE.MatchString(name) {
		return nil, fmt.Errorf("dbtlike: model file %s: name %q must match %s", p, name, modelNameRE)
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
	for _, s := range segs {
		switch s.kind {
		case segRef:
			m.Refs = append(m.Refs, s.text)
		case segSource:
			m.Sources = append(m.Sources, s.text)
		case segVar:
			m.Vars = append(m.Vars, s.text)
		}
	}
	m.Refs, m.Sources, m.Vars = uniq(m.Refs), uniq(m.Sources), uniq(m.Vars)
	return m, nil
}

func newProject(models map[string]*Model) (*Project, error) {
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

// RenderSQL returns the named model's SELECT with its templates filled in.
func (p *Project) RenderSQL(name string, vars map[string]string) (string, error) {
	m, ok := p.models[name]
	if !ok {
		return "", fmt.Errorf("dbtlike: unknown model %s", name)
	}
	return m.render(vars)
}

// Relation is the qualified name a model is built as.
func Relation(model string) string { return Schema + "." + model }

func (m *Model) render(vars map[string]string) (string, error) {
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
			v, ok := vars[s.text]
			if !ok {
				if !s.hasDef {
					return "", fmt.Errorf("dbtlike: model %s: var %q is not set and has no default", m.Name, s.text)
				}
				v = s.def
			}
			b.WriteString(v)
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
