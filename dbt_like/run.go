package dbtlike

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RunOptions choose what a Run builds and with which vars.
type RunOptions struct {
	// Select names the models to build, in dependency order; empty builds
	// all. "+name" adds the models name depends on, "name+" those that
	// depend on it.
	Select []string
	// Vars fill {{ var('name') }}, over the project's Vars. Values are
	// inserted into the SQL as they are, so they must come from the
	// operator, never from end users.
	Vars map[string]string
	// FullRefresh rebuilds incremental models from scratch.
	FullRefresh bool
	// SkipTests builds the models without running their data tests.
	SkipTests bool
	// Logger gets one line per model built; nil uses slog.Default().
	Logger *slog.Logger
}

// Build modes a ModelResult reports.
const (
	ModeView        = "view"
	ModeFull        = "full"        // a table built and swapped in
	ModeIncremental = "incremental" // a batch merged into the table
)

// ModelResult reports one model built by a Run.
type ModelResult struct {
	Name         string          `json:"name"`
	Materialized Materialization `json:"materialized"`
	Mode         string          `json:"mode"`
	Duration     time.Duration   `json:"duration"`
	Rows         int64           `json:"rows"`              // rows written: all of a table, the batch of a merge; 0 for views
	Deleted      int64           `json:"deleted,omitempty"` // incremental: rows the batch replaced
	// Since is where an incremental run started re-reading ingested rows.
	Since *time.Time `json:"since,omitempty"`
}

// RunResult reports a Run: the models built, in order, and the tests run.
type RunResult struct {
	Models    []ModelResult `json:"models"`
	Tests     []TestResult  `json:"tests"`
	Watermark time.Time     `json:"watermark"`
	Duration  time.Duration `json:"duration"`
}

// lockKey returns the PostgreSQL advisory lock key of a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("sightline/dbt_like/" + name))
	return int64(h.Sum64())
}

// runLock serialises Runs on a database, so two captures finishing together
// do not build the same tables at once; model locks (one per model) keep a
// Run and the model activities of a RollupWorkflow from building one model
// at the same time.
var runLock = lockKey("run")

// Run builds the selected models (all when opts.Select is empty) in
// dependency order on one connection of pool, holding an advisory lock for
// the whole run: a concurrent Run waits for it and then builds again. Each
// model is built and put in place in its own transaction (see BuildModel),
// and its data tests run after it. On error the result lists the models
// built and the tests run before the failure.
func (p *Project) Run(ctx context.Context, pool *pgxpool.Pool, opts RunOptions) (*RunResult, error) {
	start := time.Now()
	if pool == nil {
		return nil, errors.New("dbtlike: run: nil pool")
	}
	names, err := p.selectModels(opts.Select)
	if err != nil {
		return nil, err
	}
	vars := p.mergeVars(opts.Vars)
	// Render everything up front so that a template error fails the run
	// before the database is touched.
	if err := p.checkRender(names, vars); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("dbtlike: run: acquire connection: %w", err)
	}
	defer conn.Release()
	unlock, err := advisoryLock(ctx, conn.Conn(), log, runLock)
	if err != nil {
		return nil, fmt.Errorf("dbtlike: run: %w", err)
	}
	defer unlock()
	if err := ensureState(ctx, conn.Conn()); err != nil {
		return nil, err
	}
	wm, err := watermark(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}

	res := &RunResult{Watermark: wm}
	tests := p.testsAfter(names)
	// The models this run merged: their tests check what the merge replaced.
	incremental := map[string]bool{}
	for _, name := range names {
		mr, err := p.buildLocked(ctx, conn.Conn(), name, BuildOptions{FullRefresh: opts.FullRefresh, Watermark: wm, Vars: opts.Vars, Logger: log}, vars)
		if err != nil {
			res.Duration = time.Since(start)
			return res, err
		}
		res.Models = append(res.Models, mr)
		incremental[name] = mr.Mode == ModeIncremental
		if opts.SkipTests {
			continue
		}
		for _, t := range tests[name] {
			tr, err := p.runTest(ctx, conn.Conn(), t, vars, incremental)
			if tr.Name != "" {
				res.Tests = append(res.Tests, tr)
			}
			logTest(log, tr)
			if err != nil {
				res.Duration = time.Since(start)
				return res, err
			}
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

func logTest(log *slog.Logger, tr TestResult) {
	switch {
	case tr.Name == "":
	case tr.Passed():
		log.Info("dbtlike: test passed", "test", tr.Name, "duration", tr.Duration)
	default:
		log.Warn("dbtlike: test found failing rows", "test", tr.Name, "model", tr.Model, "severity", tr.Severity,
			"failures", tr.Failures, "sample", strings.Join(tr.Sample, "; "))
	}
}

// testsAfter maps each selected model to the tests to run after it: the
// tests whose models are all selected, after the last of those in build
// order. A test that also reads a model left out of the run could compare
// fresh rows with stale ones, so it waits for a run that builds both.
func (p *Project) testsAfter(names []string) map[string][]*Test {
	pos := map[string]int{}
	for i, n := range names {
		pos[n] = i
	}
	out := map[string][]*Test{}
	for _, t := range p.tests {
		owner := ""
		for _, d := range t.Deps {
			i, ok := pos[d]
			if !ok {
				owner = ""
				break
			}
			if owner == "" || i > pos[owner] {
				owner = d
			}
		}
		if owner != "" {
			out[owner] = append(out[owner], t)
		}
	}
	return out
}

// checkRender renders the named models, the views rebuilt with them and
// the tests that would run, so that template errors come before any work.
func (p *Project) checkRender(names []string, vars map[string]string) error {
	seen := map[string]bool{}
	for _, name := range names {
		for _, n := range append([]string{name}, p.viewDependents(name)...) {
			if seen[n] {
				continue
			}
			seen[n] = true
			if _, err := p.models[n].render(vars, renderCtx{}); err != nil {
				return err
			}
		}
	}
	for _, ts := range p.testsAfter(names) {
		for _, t := range ts {
			if _, _, err := p.testSQL(t, vars, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// BuildOptions are the settings of one model's build.
type BuildOptions struct {
	FullRefresh bool
	// Watermark is the run's ingestion watermark (see Watermark); the zero
	// time takes a fresh one.
	Watermark time.Time
	Vars      map[string]string
	Logger    *slog.Logger
}

// BuildModel builds one model, as Run does, on a connection of pool: the
// RollupWorkflow runs each model this way in its own activity. It holds the
// advisory locks of the model and of the views rebuilt with it while it
// builds, so that builds of the same model never overlap.
func (p *Project) BuildModel(ctx context.Context, pool *pgxpool.Pool, name string, opts BuildOptions) (ModelResult, error) {
	if p.models[name] == nil {
		return ModelResult{}, fmt.Errorf("dbtlike: unknown model %s", name)
	}
	vars := p.mergeVars(opts.Vars)
	if err := p.checkRender([]string{name}, vars); err != nil {
		return ModelResult{}, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return ModelResult{}, fmt.Errorf("dbtlike: model %s: acquire connection: %w", name, err)
	}
	defer conn.Release()
	if err := ensureState(ctx, conn.Conn()); err != nil {
		return ModelResult{}, err
	}
	if opts.Watermark.IsZero() {
		if opts.Watermark, err = watermark(ctx, conn.Conn()); err != nil {
			return ModelResult{}, err
		}
	}
	return p.buildLocked(ctx, conn.Conn(), name, opts, vars)
}

// Watermark returns the ingestion watermark for a run starting now: every
// frame row a later statement cannot see yet will carry an inserted_at at
// or after it. It is the earlier of now and the start of the oldest open
// transaction on the database, since frames.inserted_at is the start time
// of the transaction that wrote the row and that transaction may commit
// after the run has read its sources.
func Watermark(ctx context.Context, pool *pgxpool.Pool) (time.Time, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("dbtlike: watermark: acquire connection: %w", err)
	}
	defer conn.Release()
	return watermark(ctx, conn.Conn())
}

func watermark(ctx context.Context, conn *pgx.Conn) (time.Time, error) {
	// Outside a transaction, so pg_stat_activity is read fresh.
	var wm time.Time
	err := conn.QueryRow(ctx, `SELECT least(clock_timestamp(), min(xact_start)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()
		AND backend_type = 'client backend' AND xact_start IS NOT NULL`).Scan(&wm)
	if err != nil {
		return time.Time{}, fmt.Errorf("dbtlike: read ingestion watermark: %w", err)
	}
	return wm, nil
}

// advisoryLock takes session advisory locks in the order given and returns
// the function that releases them.
func advisoryLock(ctx context.Context, conn *pgx.Conn, log *slog.Logger, keys ...int64) (func(), error) {
	var held []int64
	unlock := func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for i := len(held) - 1; i >= 0; i-- {
			if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", held[i]); err != nil {
				// Closing the session is the other way to free a session
				// lock; the pool then drops the closed connection.
				log.Warn("dbtlike: release advisory lock failed; closing connection", "err", err)
				_ = conn.Close(uctx)
				return
			}
		}
	}
	for _, k := range keys {
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", k); err != nil {
			unlock()
			return nil, fmt.Errorf("take advisory lock %d: %w", k, err)
		}
		held = append(held, k)
	}
	return unlock, nil
}

// buildLocked builds model name holding, for its transaction, the advisory
// locks of the model and of the views rebuilt with it.
func (p *Project) buildLocked(ctx context.Context, conn *pgx.Conn, name string, opts BuildOptions, vars map[string]string) (ModelResult, error) {
	m := p.models[name]
	var keys []int64
	for _, n := range append([]string{name}, p.viewDependents(name)...) {
		keys = append(keys, lockKey("model/"+n))
	}
	// One order for every build, so two builds never wait on each other.
	slices.Sort(keys)
	t := time.Now()
	mr, err := p.build(ctx, conn, m, keys, opts, vars)
	if err == nil && mr.Mode == ModeFull && m.Config.Materialized == Incremental {
		// Set the visibility map now rather than when autovacuum comes by,
		// so that the next runs' reads of a partition can be index-only
		// scans (a freshly built table has none of its pages marked
		// all-visible). It cannot run in the build's transaction, and
		// failing it only costs speed.
		if _, verr := conn.Exec(ctx, "VACUUM "+Relation(name)); verr != nil {
			opts.Logger.Warn("dbtlike: vacuum after a full build failed", "model", name, "err", verr)
		}
	}
	mr.Duration = time.Since(t) // failed builds count too, for the metrics
	if err != nil {
		return mr, fmt.Errorf("dbtlike: model %s (%s, %s): %w", name, m.Config.Materialized, m.Path, err)
	}
	opts.Logger.Info("dbtlike: built model", "model", name, "materialized", mr.Materialized, "mode", mr.Mode,
		"rows", mr.Rows, "deleted", mr.Deleted, "duration", mr.Duration)
	return mr, nil
}

// ensureState creates the analytics schemas and the state table if needed.
func ensureState(ctx context.Context, conn *pgx.Conn) error {
	// Every run and every model's activity comes here: one look first
	// instead of a transaction of DDL.
	var ready bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL AND to_regnamespace($2) IS NOT NULL`,
		Relation(StateTable), ChangedSchema).Scan(&ready); err == nil && ready {
		return nil
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Concurrent CREATE ... IF NOT EXISTS can still collide.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("state")); err != nil {
			return err
		}
		for _, schema := range []string{Schema, ChangedSchema} {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+Relation(StateTable)+` (
			model        text PRIMARY KEY,
			materialized text NOT NULL,
			fingerprint  text NOT NULL,
			data_as_of   timestamptz NOT NULL,
			mode         text NOT NULL,
			built_at     timestamptz NOT NULL DEFAULT now()
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("dbtlike: create %s: %w", Relation(StateTable), err)
	}
	return nil
}

// modelState is a model's row of the state table.
type modelState struct {
	found        bool
	materialized Materialization
	fingerprint  string
	dataAsOf     time.Time
}

// readStates reads the state rows of the named models.
func readStates(ctx context.Context, tx pgx.Tx, names []string) (map[string]modelState, error) {
	rows, err := tx.Query(ctx, `SELECT model, materialized, fingerprint, data_as_of FROM `+Relation(StateTable)+` WHERE model = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", strings.Join(names, ", "), err)
	}
	out := map[string]modelState{}
	for rows.Next() {
		var name string
		s := modelState{found: true}
		if err := rows.Scan(&name, &s.materialized, &s.fingerprint, &s.dataAsOf); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read state of %s: %w", strings.Join(names, ", "), err)
		}
		out[name] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read state of %s: %w", strings.Join(names, ", "), err)
	}
	return out, nil
}

// fingerprint identifies what a model computes: its SQL with vars filled
// in and its config. An incremental model whose fingerprint changed is
// rebuilt in full, since its old rows were computed another way.
func (m *Model) fingerprint(vars map[string]string) (string, error) {
	sql, err := m.render(vars, renderCtx{incremental: true, watermark: time.Unix(0, 0)})
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%q\x00%q\x00", m.Config.Materialized, m.Config.UniqueKey, m.Config.PartitionBy)
	if len(m.Config.Include) > 0 { // only merges keep the index a full build made
		fmt.Fprintf(h, "include %q\x00", m.Config.Include)
	}
	h.Write([]byte(sql))
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// dataAsOf is the ingestion time up to which a model built now is
// complete: the run's watermark, or earlier when a table it reads (directly
// or through views) was last built from older data. An incremental model
// stores it as its watermark, so it re-reads what its inputs had not seen.
func (p *Project) dataAsOf(m *Model, states map[string]modelState, wm time.Time) time.Time {
	asOf := wm
	for _, r := range m.Refs {
		t := wm
		if p.models[r].Config.Materialized == View {
			t = p.dataAsOf(p.models[r], states, wm)
		} else if st := states[r]; st.found { // else built before state was kept: nothing to go by
			t = st.dataAsOf
		}
		if t.Before(asOf) {
			asOf = t
		}
	}
	return asOf
}

// stateNames lists the models whose state a build of m reads: m and the
// tables it reads, directly or through views.
func (p *Project) stateNames(m *Model) []string {
	names := []string{m.Name}
	var walk func(*Model)
	walk = func(m *Model) {
		for _, r := range m.Refs {
			if p.models[r].Config.Materialized == View {
				walk(p.models[r])
			} else {
				names = append(names, r)
			}
		}
	}
	walk(m)
	return uniq(names)
}

// build puts model m in place in one transaction, holding the advisory
// locks keys for it. Views that depend on m in the database are dropped and
// recreated in the same transaction, since PostgreSQL will not drop a
// relation that a view still reads.
func (p *Project) build(ctx context.Context, conn *pgx.Conn, m *Model, keys []int64, opts BuildOptions, vars map[string]string) (res ModelResult, err error) {
	res = ModelResult{Name: m.Name, Materialized: m.Config.Materialized, Mode: ModeView}
	if m.Config.Materialized != View {
		res.Mode = ModeFull
	}
	rel := Relation(m.Name)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit

	// Transaction locks: the commit or rollback releases them, without a
	// round trip of its own. unnest keeps the order of keys.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) k", keys); err != nil {
		return res, fmt.Errorf("take advisory locks: %w", err)
	}
	var old string
	var hasChanged bool
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2), ''), to_regclass($3) IS NOT NULL`, Schema, m.Name, changedRelation(m.Name)).
		Scan(&old, &hasChanged); err != nil {
		return res, fmt.Errorf("look up %s: %w", rel, err)
	}
	states, err := readStates(ctx, tx, p.stateNames(m))
	if err != nil {
		return res, err
	}
	st := states[m.Name]
	fp, err := m.fingerprint(vars)
	if err != nil {
		return res, err
	}
	asOf := p.dataAsOf(m, states, opts.Watermark)
	rc := renderCtx{}
	if m.Config.Materialized == Incremental && !opts.FullRefresh && old == "r" && st.found &&
		st.materialized == Incremental && st.fingerprint == fp {
		rc = renderCtx{incremental: true, watermark: st.dataAsOf.Add(-m.Config.Lookback)}
		res.Mode, res.Since = ModeIncremental, &rc.watermark
	}
	sql, err := m.render(vars, rc)
	if err != nil {
		return res, err
	}

	switch {
	case rc.incremental:
		if res.Rows, res.Deleted, err = p.merge(ctx, tx, m, sql); err != nil {
			return res, err
		}
	case m.Config.Materialized == View && old == "v" && p.replaceView(ctx, tx, rel, sql, &err):
	case err != nil:
		return res, err
	default:
		if res.Rows, err = p.swap(ctx, tx, m, old, sql, vars); err != nil {
			return res, err
		}
	}
	// After a full build its tests check every partition.
	if !rc.incremental && hasChanged {
		if err := execOne(ctx, tx, "DROP TABLE "+changedRelation(m.Name)); err != nil {
			return res, fmt.Errorf("drop %s: %w", changedRelation(m.Name), err)
		}
	}
	if m.Config.Materialized == View {
		_, err = tx.Exec(ctx, `DELETE FROM `+Relation(StateTable)+` WHERE model = $1`, m.Name)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO `+Relation(StateTable)+` (model, materialized, fingerprint, data_as_of, mode)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model) DO UPDATE SET materialized = $2, fingerprint = $3,
			data_as_of = $4, mode = $5, built_at = now()`, m.Name, string(m.Config.Materialized), fp, asOf, res.Mode)
	}
	if err != nil {
		return res, fmt.Errorf("record state: %w", err)
	}
	p.at("swapped", m.Name)
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// replaceView tries CREATE OR REPLACE VIEW, which keeps views built on this
// one; it fails only when columns are removed, renamed or retyped, and then
// the caller swaps instead. It sets *errp on any other failure.
func (p *Project) replaceView(ctx context.Context, tx pgx.Tx, rel, sql string, errp *error) bool {
	sp, err := tx.Begin(ctx)
	if err != nil {
		*errp = fmt.Errorf("savepoint: %w", err)
		return false
	}
	replaced := false
	if err := execOne(ctx, sp, "CREATE OR REPLACE VIEW "+rel+" AS "+sql); err == nil {
		replaced = true
	} else if !isViewColumnChange(err) {
		_ = sp.Rollback(ctx)
		*errp = fmt.Errorf("create or replace view %s: %w", rel, err)
		return false
	}
	if replaced {
		err = sp.Commit(ctx)
	} else {
		err = sp.Rollback(ctx)
	}
	if err != nil {
		*errp = fmt.Errorf("end savepoint: %w", err)
		return false
	}
	return replaced
}

// keepRows wraps an incremental model's SQL to drop partition markers.
func keepRows(m *Model, sql string) string {
	marks := m.Config.markerColumns()
	if m.Config.Materialized != Incremental || len(marks) == 0 {
		return sql
	}
	conds := make([]string, len(marks))
	for i, c := range marks {
		conds[i] = "batch." + c + " IS NOT NULL"
	}
	return "SELECT * FROM (" + sql + "\n) batch WHERE " + strings.Join(conds, " OR ")
}

// merge replaces the partitions of an incremental model that its batch
// covers: delete every row whose partition occurs in the batch, insert the
// batch. Readers see the old or the new rows, never a mix: it is one
// transaction. The batch stays in the model's changed table, for its tests:
// it is exactly what the replaced partitions now hold.
func (p *Project) merge(ctx context.Context, tx pgx.Tx, m *Model, sql string) (inserted, deleted int64, err error) {
	rel, changed := Relation(m.Name), changedRelation(m.Name)
	part := strings.Join(m.Config.PartitionBy, ", ")
	steps := []struct {
		what, sql  string
		rows       *int64 // where its row count goes
		lastIfNone bool   // with no rows, what follows would do nothing
	}{
		// A batch is small but its plan can look costly to the planner (it
		// cannot know how few buckets changed): JIT compiling it, or
		// starting parallel workers (tens of milliseconds each time), would
		// cost more than running it.
		{"set jit", "SET LOCAL jit = off", nil, false},
		{"set parallel workers", "SET LOCAL max_parallel_workers_per_gather = 0", nil, false},
		{"drop the last batch", "DROP TABLE IF EXISTS " + changed, nil, false},
		// Unlogged: written once, read by the tests, replaced next run. A
		// crash empties it, and until the next build the model's tests
		// then check nothing.
		{"compute incremental batch", "CREATE UNLOGGED TABLE " + changed + " AS " + sql, nil, true},
		// The delete could never match a NULL (NULL = NULL is not true):
		// such rows would pile up, one more each run.
		{"check that no partition_by value is NULL", "ALTER TABLE " + changed + " " + setNotNull(m.Config.PartitionBy), nil, false},
		// The delete joins it with the model's table: the planner needs to
		// know it is small to probe the unique index, and a small sample
		// tells it that.
		{"set statistics target", "SET LOCAL default_statistics_target = 10", nil, false},
		{"analyze batch", "ANALYZE " + changed, nil, false},
		{"delete replaced partitions", fmt.Sprintf("DELETE FROM %s t WHERE (t.%s) IN (SELECT %s FROM %s)",
			rel, strings.Join(m.Config.PartitionBy, ", t."), part, changed), &deleted, false},
		{"insert batch", "INSERT INTO " + rel + " " + keepRows(m, "SELECT * FROM "+changed), &inserted, false},
	}
	for _, st := range steps {
		tag, err := execTag(ctx, tx, st.sql)
		if err != nil {
			return inserted, deleted, fmt.Errorf("%s: %w", st.what, err)
		}
		if st.rows != nil {
			*st.rows = tag.RowsAffected()
		}
		if st.lastIfNone && tag.RowsAffected() == 0 {
			break
		}
	}
	p.at("merged", m.Name)
	return inserted, deleted, nil
}

// setNotNull is the ALTER TABLE action list that makes cols NOT NULL.
func setNotNull(cols []string) string {
	actions := make([]string, len(cols))
	for i, c := range cols {
		actions[i] = "ALTER " + c + " SET NOT NULL"
	}
	return strings.Join(actions, ", ")
}

// swap builds a table as <name>__new (or a view) and puts it in place of
// the old relation, recreating the views that read it.
func (p *Project) swap(ctx context.Context, tx pgx.Tx, m *Model, old, sql string, vars map[string]string) (rows int64, err error) {
	rel := Relation(m.Name)
	newRel := rel + newSuffix
	if m.Config.Materialized != View {
		if err := execOne(ctx, tx, "DROP TABLE IF EXISTS "+newRel); err != nil {
			return 0, fmt.Errorf("drop leftover %s: %w", newRel, err)
		}
		tag, err := execTag(ctx, tx, "CREATE TABLE "+newRel+" AS "+keepRows(m, sql))
		if err != nil {
			return 0, fmt.Errorf("create table %s: %w", newRel, err)
		}
		rows = tag.RowsAffected()
		idx := m.Config.Indexes
		if len(m.Config.UniqueKey) > 0 && m.Config.Materialized != Incremental {
			idx = append([][]string{m.Config.UniqueKey}, idx...)
		}
		if m.Config.Materialized == Incremental {
			// Unique, so a merge can never duplicate a key; the partition
			// columns first, so the merge's delete can use it.
			key := slices.Concat(m.Config.PartitionBy, m.Config.markerColumns())
			include := ""
			if len(m.Config.Include) > 0 {
				include = " INCLUDE (" + strings.Join(m.Config.Include, ", ") + ")"
			}
			if err := execOne(ctx, tx, "CREATE UNIQUE INDEX ON "+newRel+" ("+strings.Join(key, ", ")+")"+include); err != nil {
				return 0, fmt.Errorf("unique index %s (%s): %w", newRel, strings.Join(key, ", "), err)
			}
		}
		for _, cols := range idx {
			if err := execOne(ctx, tx, "CREATE INDEX ON "+newRel+" ("+strings.Join(cols, ", ")+")"); err != nil {
				return 0, fmt.Errorf("index %s (%s): %w", newRel, strings.Join(cols, ", "), err)
			}
		}
		// Models built next in the run read it: give the planner statistics.
		if err := execOne(ctx, tx, "ANALYZE "+newRel); err != nil {
			return 0, fmt.Errorf("analyze %s: %w", newRel, err)
		}
	}
	p.at("built", m.Name)

	var deps []string
	for _, d := range p.viewDependents(m.Name) {
		k, err := relkind(ctx, tx, d)
		if err != nil {
			return 0, err
		}
		if k == "v" {
			deps = append(deps, d)
		}
	}
	for i := len(deps) - 1; i >= 0; i-- {
		if err := execOne(ctx, tx, "DROP VIEW "+Relation(deps[i])); err != nil {
			return 0, fmt.Errorf("drop dependent view %s: %w", Relation(deps[i]), err)
		}
	}
	if err := dropRelation(ctx, tx, rel, old); err != nil {
		return 0, err
	}
	if m.Config.Materialized != View {
		if err := execOne(ctx, tx, "ALTER TABLE "+newRel+" RENAME TO "+m.Name); err != nil {
			return 0, fmt.Errorf("rename %s to %s: %w", newRel, m.Name, err)
		}
	} else if err := execOne(ctx, tx, "CREATE VIEW "+rel+" AS "+sql); err != nil {
		return 0, fmt.Errorf("create view %s: %w", rel, err)
	}
	for _, d := range deps {
		dsql, err := p.models[d].render(vars, renderCtx{})
		if err != nil {
			return 0, err
		}
		if err := execOne(ctx, tx, "CREATE VIEW "+Relation(d)+" AS "+dsql); err != nil {
			return 0, fmt.Errorf("recreate dependent view %s: %w", Relation(d), err)
		}
	}
	return rows, nil
}

func (p *Project) at(stage, model string) {
	if p.hook != nil {
		p.hook(stage, model)
	}
}

// viewDependents lists, in build order, the view models that read name
// directly or through other views: the ones PostgreSQL ties to it.
func (p *Project) viewDependents(name string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, c := range p.children[n] {
			if p.models[c].Config.Materialized == View && !seen[c] {
				seen[c] = true
				walk(c)
			}
		}
	}
	walk(name)
	var out []string
	for _, n := range p.order {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// relkind returns pg_class.relkind of analytics.<name>, "" when absent.
func relkind(ctx context.Context, tx pgx.Tx, name string) (string, error) {
	var k string
	err := tx.QueryRow(ctx, `SELECT c.relkind::text FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2`, Schema, name).Scan(&k)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", Relation(name), err)
	}
	return k, nil
}

func dropRelation(ctx context.Context, tx pgx.Tx, rel, kind string) error {
	var stmt string
	switch kind {
	case "":
		return nil
	case "r", "p":
		stmt = "DROP TABLE " + rel
	case "v":
		stmt = "DROP VIEW " + rel
	case "m":
		stmt = "DROP MATERIALIZED VIEW " + rel
	default:
		return fmt.Errorf("%s exists with relkind %q, which dbtlike does not replace", rel, kind)
	}
	if err := execOne(ctx, tx, stmt); err != nil {
		return fmt.Errorf("drop old %s: %w", rel, err)
	}
	return nil
}

// isViewColumnChange tells whether CREATE OR REPLACE VIEW failed because
// the columns changed in a way only dropping the view allows.
func isViewColumnChange(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P16" || pe.Code == "42804")
}

func execOne(ctx context.Context, tx pgx.Tx, sql string) error {
	_, err := execTag(ctx, tx, sql)
	return err
}

// execTag runs sql with the extended protocol, which accepts exactly one
// statement: a var value cannot smuggle in a second one.
func execTag(ctx context.Context, tx pgx.Tx, sql string) (pgconn.CommandTag, error) {
	r := tx.Conn().PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	return r.CommandTag, r.Err
}
