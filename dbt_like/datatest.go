package dbtlike

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Data tests check a model's rows after it is built. Generic tests are
// declared in the model's own file:
//
//	{{ test('unique', 'stream_id, object, bucket') }}
//	{{ test('not_null', 'stream_id, object') }}
//	{{ test('accepted_values', 'materialized', values="'view', 'table'") }}
//	{{ test('relationships', 'stream_id', to_source='streams', field='id') }}
//	{{ test('relationships', 'object', to='object_ranking', field='object') }}
//	{{ test('expression', 'objects <= frames * max_per_frame') }}
//
// and any test takes severity='warn' to report instead of failing. Custom
// tests are .sql files in a folder named tests: a SELECT, templated like a
// model, that returns the failing rows.

// Severities of a test.
const (
	SeverityError = "error"
	SeverityWarn  = "warn"
)

// testKinds are the generic tests and the keyword arguments each takes
// besides severity.
var testKinds = map[string][]string{
	"unique":          {"columns"},
	"not_null":        {"columns"},
	"accepted_values": {"column", "values"},
	"relationships":   {"column", "to", "to_source", "field"},
	"expression":      {"expression"},
}

// testDecl is one {{ test(...) }} of a model.
type testDecl struct {
	kind     string
	columns  []string // unique, not_null; the one column of accepted_values, relationships
	values   string   // accepted_values: a SQL list, e.g. 'a', 'b'
	to       string   // relationships: the model or source table referred to
	toSource bool
	field    string // relationships: the column of to
	expr     string // expression: a SQL condition every row must meet
	severity string
}

// label is how the test is named in results and errors.
func (d testDecl) label() string {
	switch d.kind {
	case "accepted_values":
		return fmt.Sprintf("accepted_values(%s in %s)", d.columns[0], d.values)
	case "relationships":
		to := d.to
		if d.toSource {
			to = "source " + to
		}
		return fmt.Sprintf("relationships(%s -> %s.%s)", d.columns[0], to, d.field)
	case "expression":
		return fmt.Sprintf("expression(%s)", d.expr)
	}
	return fmt.Sprintf("%s(%s)", d.kind, strings.Join(d.columns, ", "))
}

// parseTestArgs reads test('kind', 'main argument', key=value...). The
// main argument is the columns, the column or the expression, and may
// also be given by its keyword.
func parseTestArgs(args []arg) (testDecl, error) {
	if len(args) == 0 || args[0].key != "" || !args[0].quoted {
		return testDecl{}, fmt.Errorf("test() needs the kind of test first, e.g. test('unique', 'id')")
	}
	d := testDecl{kind: args[0].val, severity: SeverityError}
	keys, ok := testKinds[d.kind]
	if !ok {
		return d, fmt.Errorf("unknown test %q (known: %s)", d.kind, strings.Join(sortedKeys(testKinds), ", "))
	}
	kw := map[string]string{}
	for i, a := range args[1:] {
		k := a.key
		if k == "" {
			if i > 0 {
				return d, fmt.Errorf("test %s: only the first argument after the kind may be positional", d.kind)
			}
			k = keys[0]
		}
		if k != "severity" && !slices.Contains(keys, k) {
			return d, fmt.Errorf("test %s: unknown argument %s (known: %s, severity)", d.kind, k, strings.Join(keys, ", "))
		}
		if _, dup := kw[k]; dup {
			return d, fmt.Errorf("test %s: %s given twice", d.kind, k)
		}
		kw[k] = a.val
	}
	if s, ok := kw["severity"]; ok {
		if s != SeverityError && s != SeverityWarn {
			return d, fmt.Errorf("test %s: severity=%q: want error or warn", d.kind, s)
		}
		d.severity = s
	}
	need := func(k string) (string, error) {
		v := strings.TrimSpace(kw[k])
		if v == "" {
			return "", fmt.Errorf("test %s: %s is required", d.kind, k)
		}
		return v, nil
	}
	main, err := need(keys[0])
	if err != nil {
		return d, err
	}
	switch d.kind {
	case "expression":
		d.expr = main
		return d, nil
	default:
		if d.columns, err = columnList(main); err != nil {
			return d, fmt.Errorf("test %s: %w", d.kind, err)
		}
	}
	if d.kind != "unique" && d.kind != "not_null" && len(d.columns) != 1 {
		return d, fmt.Errorf("test %s: takes one column, got %d", d.kind, len(d.columns))
	}
	switch d.kind {
	case "accepted_values":
		if d.values, err = need("values"); err != nil {
			return d, err
		}
	case "relationships":
		if d.field, err = need("field"); err != nil {
			return d, err
		}
		if !identRE.MatchString(d.field) {
			return d, fmt.Errorf("test relationships: field %q is not a column name", d.field)
		}
		to, src := strings.TrimSpace(kw["to"]), strings.TrimSpace(kw["to_source"])
		switch {
		case (to == "") == (src == ""):
			return d, fmt.Errorf("test relationships: give exactly one of to (a model) and to_source (a source table)")
		case src != "":
			if !sourceTables[src] {
				return d, fmt.Errorf("test relationships: unknown source table %s (known: %s)", src, strings.Join(SourceTables, ", "))
			}
			d.to, d.toSource = src, true
		default:
			d.to = to
		}
	}
	return d, nil
}

// customTest is a .sql file in a tests folder.
type customTest struct {
	name, path string
	segs       []segment
	refs       []string
	changed    []string // the models of its changed() calls, also in refs
	severity   string
}

func parseCustomTest(p, src string) (*customTest, error) {
	name := strings.TrimSuffix(path.Base(p), ".sql")
	segs, kw, err := parseTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("dbtlike: test %s (%s): %w", name, p, err)
	}
	t := &customTest{name: name, path: p, segs: segs, severity: SeverityError}
	for k, v := range kw {
		if k != "severity" || (v != SeverityError && v != SeverityWarn) {
			return nil, fmt.Errorf("dbtlike: test %s (%s): config takes only severity='error' or 'warn', got %s=%q", name, p, k, v)
		}
		t.severity = v
	}
	for _, s := range segs {
		switch s.kind {
		case segRef:
			t.refs = append(t.refs, s.text)
		case segChanged:
			t.refs = append(t.refs, s.text)
			t.changed = append(t.changed, s.text)
		case segThis, segIncr, segWatermark, segTest:
			return nil, fmt.Errorf("dbtlike: test %s (%s): a test may use ref, changed, source and var only", name, p)
		}
	}
	t.refs, t.changed = uniq(t.refs), uniq(t.changed)
	if len(t.refs) == 0 {
		return nil, fmt.Errorf("dbtlike: test %s (%s): refs no model, so no model would run it", name, p)
	}
	return t, nil
}

// Test is a data test of the project.
type Test struct {
	// Name is "<model>: <test>" for a generic test, the file name for a
	// custom one; unique in the project.
	Name string `json:"name"`
	// Model is the model it runs after: of the models it reads, the last
	// in build order.
	Model string `json:"model"`
	// Deps are the models it reads.
	Deps     []string `json:"deps"`
	Severity string   `json:"severity"`

	decl   *testDecl // generic
	of     string    // generic: the model declaring it
	custom *customTest
}

// Tests returns the project's tests in the order they run.
func (p *Project) Tests() []Test {
	out := make([]Test, len(p.tests))
	for i, t := range p.tests {
		out[i] = *t
		out[i].Deps = slices.Clone(t.Deps)
	}
	return out
}

func (p *Project) addTests(custom map[string]*customTest) error {
	pos := map[string]int{}
	for i, n := range p.order {
		pos[n] = i
	}
	byName := map[string]*Test{}
	add := func(t *Test) error {
		if byName[t.Name] != nil {
			return fmt.Errorf("dbtlike: test %s declared twice", t.Name)
		}
		byName[t.Name] = t
		t.Deps = uniq(t.Deps)
		t.Model = t.Deps[0]
		for _, d := range t.Deps {
			if pos[d] > pos[t.Model] {
				t.Model = d
			}
		}
		p.tests = append(p.tests, t)
		return nil
	}
	for _, name := range p.order {
		m := p.models[name]
		for i := range m.tests {
			d := &m.tests[i]
			t := &Test{Name: name + ": " + d.label(), Deps: []string{name}, Severity: d.severity, decl: d, of: name}
			if d.to != "" && !d.toSource {
				if p.models[d.to] == nil {
					return fmt.Errorf("dbtlike: model %s: test %s refers to unknown model %s", name, d.label(), d.to)
				}
				t.Deps = append(t.Deps, d.to)
			}
			if err := add(t); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedKeys(custom) {
		c := custom[name]
		if p.models[name] != nil {
			return fmt.Errorf("dbtlike: test %s (%s) has the name of a model", name, c.path)
		}
		for _, r := range c.refs {
			if p.models[r] == nil {
				return fmt.Errorf("dbtlike: test %s (%s) refs unknown model %s", name, c.path, r)
			}
		}
		for _, r := range c.changed {
			if p.models[r].Config.Materialized != Incremental {
				return fmt.Errorf("dbtlike: test %s (%s): changed('%s') needs an incremental model, and %s is a %s",
					name, c.path, r, r, p.models[r].Config.Materialized)
			}
		}
		if err := add(&Test{Name: name, Deps: slices.Clone(c.refs), Severity: c.severity, custom: c}); err != nil {
			return err
		}
	}
	// Run order: after their model, in build order; a model's own tests
	// before custom ones; then by name.
	slices.SortStableFunc(p.tests, func(a, b *Test) int {
		if d := pos[a.Model] - pos[b.Model]; d != 0 {
			return d
		}
		if (a.custom == nil) != (b.custom == nil) {
			if a.custom == nil {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return nil
}

// testSQL returns a query for the failing rows of t. narrow names the
// incremental models whose last build was incremental: a generic test of
// such a model reads only the partitions that build replaced (when that is
// sound for the test), and changed('model') in a custom test reads them.
// It reports whether the query reads less than everything.
func (p *Project) testSQL(t *Test, vars map[string]string, narrow map[string]bool) (q string, narrowed bool, err error) {
	if t.custom != nil {
		var b strings.Builder
		for _, s := range t.custom.segs {
			switch s.kind {
			case segText:
				b.WriteString(s.text)
			case segRef:
				b.WriteString(Relation(s.text))
			case segChanged:
				// The partitions of its batch, or every partition after a
				// full build.
				from := Relation(s.text)
				if narrow[s.text] {
					from, narrowed = changedRelation(s.text), true
				}
				b.WriteString("(SELECT DISTINCT " + strings.Join(p.models[s.text].Config.PartitionBy, ", ") + " FROM " + from + ")")
			case segSource:
				b.WriteString(SourceSchema + "." + s.text)
			case segVar:
				v, err := varValue(s, vars, "test "+t.Name)
				if err != nil {
					return "", false, err
				}
				b.WriteString(v)
			}
		}
		return b.String(), narrowed, nil
	}
	d, m := t.decl, p.models[t.of]
	from := Relation(t.of)
	if narrow[t.of] && m.Config.Materialized == Incremental && narrowable(d, m) {
		from, narrowed = changedRows(m), true
	}
	cols := strings.Join(d.columns, ", ")
	// Aliased as the model, so that an expression may still qualify
	// columns with the model's name when from is a subquery.
	switch d.kind {
	case "unique":
		return fmt.Sprintf("SELECT %s, count(*) AS duplicates FROM %s AS %s GROUP BY %s HAVING count(*) > 1", cols, from, t.of, cols), narrowed, nil
	case "not_null":
		conds := make([]string, len(d.columns))
		for i, c := range d.columns {
			conds[i] = c + " IS NULL"
		}
		return fmt.Sprintf("SELECT * FROM %s AS %s WHERE %s", from, t.of, strings.Join(conds, " OR ")), narrowed, nil
	case "accepted_values":
		return fmt.Sprintf("SELECT %s, count(*) AS rows FROM %s AS %s WHERE %s IS NOT NULL AND %s NOT IN (%s) GROUP BY %s",
			cols, from, t.of, cols, cols, d.values, cols), narrowed, nil
	case "relationships":
		to := Relation(d.to)
		if d.toSource {
			to = SourceSchema + "." + d.to
		}
		return fmt.Sprintf("SELECT c.%s, count(*) AS rows FROM %s c WHERE c.%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s p WHERE p.%s = c.%s) GROUP BY c.%s",
			cols, from, cols, to, d.field, cols, cols), narrowed, nil
	case "expression":
		return fmt.Sprintf("SELECT * FROM %s AS %s WHERE NOT coalesce((%s), false)", from, t.of, d.expr), narrowed, nil
	}
	return "", false, fmt.Errorf("test %s: unknown kind %s", t.Name, d.kind)
}

// narrowable tells whether generic test d of incremental model m can check
// the partitions m's last build replaced instead of the whole table: any
// test of single rows can, and unique when its columns hold the partition
// columns (duplicates then share a partition).
func narrowable(d *testDecl, m *Model) bool {
	if d.kind != "unique" {
		return true
	}
	for _, c := range m.Config.PartitionBy {
		if !slices.Contains(d.columns, c) {
			return false
		}
	}
	return true
}

// changedRows selects the rows of incremental model m in the partitions its
// last build replaced: the rows of its batch, less the rows that only
// marked a partition as changed. The merge deleted everything else in those
// partitions, so they are what the table holds there, read without probing
// the table for each partition.
func changedRows(m *Model) string {
	return "(" + keepRows(m, "SELECT * FROM "+changedRelation(m.Name)) + ")"
}

// sampleRows is how many failing rows a test reports.
const sampleRows = 5

// TestResult reports one data test.
type TestResult struct {
	Name     string        `json:"name"`
	Model    string        `json:"model"`
	Severity string        `json:"severity"`
	Failures int64         `json:"failures"`
	Sample   []string      `json:"sample,omitempty"` // up to 5 failing rows, as col=value lists
	Duration time.Duration `json:"duration"`
	// ChangedOnly: the test checked only the partitions that the last,
	// incremental, build of its model replaced (see Project.RunTest).
	ChangedOnly bool `json:"changed_only,omitempty"`
}

// Passed tells whether the test found no failing rows.
func (r TestResult) Passed() bool { return r.Failures == 0 }

// TestFailedError is returned for a failing test of severity error.
type TestFailedError struct{ Result TestResult }

func (e *TestFailedError) Error() string {
	r := e.Result
	return fmt.Sprintf("dbtlike: test failed: model %s, test %s: %d failing rows, for example: %s",
		r.Model, r.Name, r.Failures, strings.Join(r.Sample, "; "))
}

// RunTest runs the named test and reports its failing rows. A failing test
// of severity error also returns a *TestFailedError; one of severity warn
// only reports.
//
// A test of an incremental model whose last build was incremental checks
// only the partitions that build replaced (TestResult.ChangedOnly), and a
// custom test's changed('model') reads them: checking the whole table would
// cost an incremental run as much as a full one. After a full build a test
// checks everything.
func (p *Project) RunTest(ctx context.Context, pool *pgxpool.Pool, name string, vars map[string]string) (TestResult, error) {
	i := slices.IndexFunc(p.tests, func(t *Test) bool { return t.Name == name })
	if i < 0 {
		return TestResult{}, fmt.Errorf("dbtlike: unknown test %q", name)
	}
	return p.runTest(ctx, pool, p.tests[i], p.mergeVars(vars), nil)
}

// querier is what runTest needs of a pool or a connection.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// narrowedBy lists the incremental models whose changed partitions test t
// may read instead of whole tables.
func (t *Test) narrowedBy(p *Project) []string {
	if t.custom != nil {
		return t.custom.changed
	}
	if p.models[t.of].Config.Materialized == Incremental {
		return []string{t.of}
	}
	return nil
}

// builtIncrementally tells which of models were last built incrementally:
// those whose table of changed partitions exists.
func builtIncrementally(ctx context.Context, db querier, models []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(models) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT m FROM unnest($1::text[]) m WHERE to_regclass($2 || '.' || m) IS NOT NULL`, models, ChangedSchema)
	if err != nil {
		return nil, fmt.Errorf("look up changed partitions of %s: %w", strings.Join(models, ", "), err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up changed partitions of %s: %w", strings.Join(models, ", "), err)
	}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// runTest runs test t. incremental says which models were last built
// incrementally; nil looks it up.
func (p *Project) runTest(ctx context.Context, db querier, t *Test, vars map[string]string, incremental map[string]bool) (TestResult, error) {
	res, err := p.runTestOnce(ctx, db, t, vars, incremental)
	// A full build that committed since the look-up dropped the table of
	// changed partitions: look again.
	var pe *pgconn.PgError
	if res.ChangedOnly && errors.As(err, &pe) && pe.Code == "42P01" {
		res, err = p.runTestOnce(ctx, db, t, vars, nil)
	}
	return res, err
}

func (p *Project) runTestOnce(ctx context.Context, db querier, t *Test, vars map[string]string, incremental map[string]bool) (TestResult, error) {
	start := time.Now()
	res := TestResult{Name: t.Name, Model: t.Model, Severity: t.Severity}
	if t.decl != nil {
		res.Model = t.of
	}
	if incremental == nil {
		var err error
		if incremental, err = builtIncrementally(ctx, db, t.narrowedBy(p)); err != nil {
			return res, fmt.Errorf("dbtlike: test %s (model %s): %w", t.Name, res.Model, err)
		}
	}
	q, narrowed, err := p.testSQL(t, vars, incremental)
	if err != nil {
		return res, err
	}
	res.ChangedOnly = narrowed
	// The window count is taken over every failing row before the limit.
	rows, err := db.Query(ctx, fmt.Sprintf("SELECT *, count(*) OVER () AS dbtlike_failures FROM (%s\n) failing LIMIT %d", q, sampleRows))
	if err != nil {
		return res, fmt.Errorf("dbtlike: test %s (model %s): query: %w", t.Name, res.Model, err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return res, fmt.Errorf("dbtlike: test %s: read failing rows: %w", t.Name, err)
		}
		parts := make([]string, 0, len(vals)-1)
		for i, v := range vals[:len(vals)-1] {
			parts = append(parts, fmt.Sprintf("%s=%s", fields[i].Name, formatValue(v)))
		}
		res.Failures = vals[len(vals)-1].(int64)
		res.Sample = append(res.Sample, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("dbtlike: test %s (model %s): query: %w", t.Name, res.Model, err)
	}
	res.Duration = time.Since(start)
	if res.Failures > 0 && t.Severity == SeverityError {
		return res, &TestFailedError{Result: res}
	}
	return res, nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}
