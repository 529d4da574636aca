package dbtlike

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
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
	// Vars fill {{ var('name') }}. Values are inserted into the SQL as
	// they are, so they must come from the operator, never from end users.
	Vars map[string]string
	// Logger gets one line per model built; nil uses slog.Default().
	Logger *slog.Logger
}

// ModelResult reports one model built by a Run.
type ModelResult struct {
	Name         string          `json:"name"`
	Materialized Materialization `json:"materialized"`
	Duration     time.Duration   `json:"duration"`
	Rows         int64           `json:"rows"` // tables only; 0 for views
}

// RunResult reports a Run: the models built, in order.
type RunResult struct {
	Models   []ModelResult `json:"models"`
	Duration time.Duration `json:"duration"`
}

// lockKey is the PostgreSQL advisory lock that serialises runs on a
// database, so two captures finishing together do not build the same
// tables at once.
var lockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("sightline/dbt_like/run"))
	return int64(h.Sum64())
}()

// Run builds the selected models (all when opts.Select is empty) in
// dependency order on one connection of pool, holding an advisory lock for
// the whole run: a concurrent Run waits for it and then builds again. Each
// model is built and put in place in its own transaction: a table is created
// as analytics.<name>__new and swapped in, so readers see either the old or
// the new table, never a partial one. On error the result lists the models
// built before the failing one.
func (p *Project) Run(ctx context.Context, pool *pgxpool.Pool, opts RunOptions) (*RunResult, error) {
	start := time.Now()
	if pool == nil {
		return nil, errors.New("dbtlike: run: nil pool")
	}
	names, err := p.selectModels(opts.Select)
	if err != nil {
		return nil, err
	}
	// Render everything up front so that a template error fails the run
	// before the database is touched.
	sqls := map[string]string{}
	for _, name := range names {
		for _, n := range append([]string{name}, p.viewDependents(name)...) {
			if _, done := sqls[n]; done {
				continue
			}
			if sqls[n], err = p.models[n].render(opts.Vars); err != nil {
				return nil, err
			}
		}
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
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return nil, fmt.Errorf("dbtlike: run: take advisory lock %d: %w", lockKey, err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
			// Closing the session is the other way to free a session lock;
			// Release then drops the closed connection from the pool.
			log.Warn("dbtlike: release advisory lock failed; closing connection", "err", err)
			_ = conn.Conn().Close(uctx)
		}
	}()

	res := &RunResult{}
	for _, name := range names {
		m := p.models[name]
		t := time.Now()
		rows, err := p.build(ctx, conn.Conn(), m, sqls)
		if err != nil {
			res.Duration = time.Since(start)
			return res, fmt.Errorf("dbtlike: model %s (%s, %s): %w", name, m.Config.Materialized, m.Path, err)
		}
		mr := ModelResult{Name: name, Materialized: m.Config.Materialized, Duration: time.Since(t), Rows: rows}
		res.Models = append(res.Models, mr)
		log.Info("dbtlike: built model", "model", name, "materialized", mr.Materialized, "rows", rows, "duration", mr.Duration)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// build puts model m in place in one transaction and returns the rows of a
// table. Views that depend on m in the database are dropped and recreated
// in the same transaction, since PostgreSQL will not drop a relation that a
// view still reads.
func (p *Project) build(ctx context.Context, conn *pgx.Conn, m *Model, sqls map[string]string) (rows int64, err error) {
	rel, sql := Relation(m.Name), sqls[m.Name]
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit

	old, err := relkind(ctx, tx, m.Name)
	if err != nil {
		return 0, err
	}
	replaced := false
	if m.Config.Materialized == View && old == "v" {
		// CREATE OR REPLACE keeps views built on this one; it fails only when
		// columns are removed, renamed or retyped, and then we swap instead.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return 0, fmt.Errorf("savepoint: %w", err)
		}
		if err := execOne(ctx, sp, "CREATE OR REPLACE VIEW "+rel+" AS "+sql); err == nil {
			replaced = true
		} else if !isViewColumnChange(err) {
			return 0, fmt.Errorf("create or replace view %s: %w", rel, err)
		}
		if replaced {
			err = sp.Commit(ctx)
		} else {
			err = sp.Rollback(ctx)
		}
		if err != nil {
			return 0, fmt.Errorf("end savepoint: %w", err)
		}
	}
	if !replaced {
		newRel := rel + newSuffix
		if m.Config.Materialized == Table {
			if err := execOne(ctx, tx, "DROP TABLE IF EXISTS "+newRel); err != nil {
				return 0, fmt.Errorf("drop leftover %s: %w", newRel, err)
			}
			tag, err := execTag(ctx, tx, "CREATE TABLE "+newRel+" AS "+sql)
			if err != nil {
				return 0, fmt.Errorf("create table %s: %w", newRel, err)
			}
			rows = tag.RowsAffected()
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
		if m.Config.Materialized == Table {
			if err := execOne(ctx, tx, "ALTER TABLE "+newRel+" RENAME TO "+m.Name); err != nil {
				return 0, fmt.Errorf("rename %s to %s: %w", newRel, m.Name, err)
			}
		} else if err := execOne(ctx, tx, "CREATE VIEW "+rel+" AS "+sql); err != nil {
			return 0, fmt.Errorf("create view %s: %w", rel, err)
		}
		for _, d := range deps {
			if err := execOne(ctx, tx, "CREATE VIEW "+Relation(d)+" AS "+sqls[d]); err != nil {
				return 0, fmt.Errorf("recreate dependent view %s: %w", Relation(d), err)
			}
		}
	}
	p.at("swapped", m.Name)
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
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
