package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/app"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/schedule"
	"github.com/sightline-video/sightline/workflows"
)

const rollupUsage = `usage: sightline rollup [flags]

Runs the rollup models (dbt_like/models, overridable with --models or
$SIGHTLINE_ROLLUP_MODELS) in dependency order, each followed by its data tests.

  --select S         models to run, comma-separated: name, +name (with the models
                     it reads), name+ (with the models that read it); default all
  --full-refresh     rebuild incremental models from scratch
  --skip-tests       build without running the data tests
  --var name=value   set a var, e.g. --var min_score=0.5 --var "bucket='5 minutes'"
  --models DIR       a folder of .sql models layered over the built-in ones
  --list             print the models (graph, materialisation, keys, tests) and exit
  --json             with --list or a run: print JSON
  --workflow         run RollupWorkflow on Temporal and wait, instead of in-process
  --schedule D       run RollupWorkflow every D (e.g. 5m) as the Temporal schedule
                     "rollup" (--schedule-id to name another); created or updated
  --schedule-cron C  the same on a cron calendar (UTC), e.g. "*/10 * * * *"
  --unschedule       delete the rollup schedule
`

// varFlags collects repeated --var name=value.
type varFlags map[string]string

func (v varFlags) String() string { return fmt.Sprint(map[string]string(v)) }
func (v varFlags) Set(s string) error {
	parsed, err := dbtlike.ParseVars(s)
	if err != nil || len(parsed) != 1 {
		return fmt.Errorf("want name=value, got %q", s)
	}
	for k, val := range parsed {
		v[k] = val
	}
	return nil
}

func runRollup(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rollup", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), rollupUsage) }
	var (
		sel          = fs.String("select", "", "")
		fullRefresh  = fs.Bool("full-refresh", false, "")
		skipTests    = fs.Bool("skip-tests", false, "")
		modelsDir    = fs.String("models", "", "")
		list         = fs.Bool("list", false, "")
		asJSON       = fs.Bool("json", false, "")
		viaWorkflow  = fs.Bool("workflow", false, "")
		every        = fs.String("schedule", "", "")
		cron         = fs.String("schedule-cron", "", "")
		scheduleID   = fs.String("schedule-id", schedule.DefaultRollupID, "")
		unschedule   = fs.Bool("unschedule", false, "")
		vars         = varFlags{}
		selected     []string
		scheduleMode bool
	)
	fs.Var(vars, "var", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), rollupUsage)
	}
	if *sel != "" {
		selected = strings.Split(*sel, ",")
	}
	scheduleMode = *every != "" || *cron != "" || *unschedule
	if (scheduleMode || *viaWorkflow) && len(vars) > 0 {
		return errors.New("--var applies to in-process runs only: the workers take vars from $SIGHTLINE_ROLLUP_VARS")
	}
	project, err := dbtlike.LoadProject(cmp.Or(*modelsDir, cfg.RollupModelsDir), cfg.RollupVars)
	if err != nil {
		return err
	}
	for k, v := range vars {
		if project.Vars == nil {
			project.Vars = map[string]string{}
		}
		project.Vars[k] = v
	}
	if *list {
		return printRollupList(stdout, project, selected, *asJSON)
	}
	in := contract.RollupInput{Select: selected, FullRefresh: *fullRefresh, SkipTests: *skipTests}
	if _, err := project.Plan(selected, *skipTests); err != nil {
		return err // a bad selection fails here, not in a worker
	}
	if scheduleMode || *viaWorkflow {
		tc, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
			Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err != nil {
			return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
		}
		defer tc.Close()
		if scheduleMode {
			return rollupSchedule(ctx, tc, cfg, *scheduleID, *every, *cron, *unschedule, in, stdout)
		}
		return rollupWorkflow(ctx, tc, cfg, in, *asJSON, stdout)
	}

	a, err := app.Open(ctx, cfg, log, app.Needs{Migrate: true})
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := project.Run(ctx, a.Acts.DB, dbtlike.RunOptions{Select: selected, FullRefresh: *fullRefresh,
		SkipTests: *skipTests, Logger: log})
	if res != nil {
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(res)
		} else {
			printRollupResult(stdout, res.Models, res.Tests)
		}
	}
	return err
}

func printRollupResult(w io.Writer, models []dbtlike.ModelResult, tests []dbtlike.TestResult) {
	for _, m := range models {
		fmt.Fprintf(w, "%-24s %-11s %-11s %9d rows %8s\n", m.Name, m.Materialized, m.Mode, m.Rows, m.Duration.Round(time.Millisecond))
	}
	passed := 0
	for _, t := range tests {
		if t.Passed() {
			passed++
			continue
		}
		fmt.Fprintf(w, "%s: test %s: %d failing rows, e.g. %s\n", strings.ToUpper(t.Severity), t.Name, t.Failures, strings.Join(t.Sample, "; "))
	}
	fmt.Fprintf(w, "%d models built, %d of %d tests passed\n", len(models), passed, len(tests))
}

// printRollupList prints the graph: each model in build order with what it
// reads and its tests.
func printRollupList(w io.Writer, p *dbtlike.Project, sel []string, asJSON bool) error {
	plan, err := p.Plan(sel, false)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(w).Encode(plan)
	}
	testsOf := map[string][]string{}
	for _, t := range plan.Tests {
		testsOf[t.Model] = append(testsOf[t.Model], t.Name)
	}
	for _, pm := range plan.Models {
		m, _ := p.Model(pm.Name)
		detail := ""
		if len(m.Config.UniqueKey) > 0 {
			detail = " key(" + strings.Join(m.Config.UniqueKey, ", ") + ")"
		}
		if m.Config.Materialized == dbtlike.Incremental {
			detail += fmt.Sprintf(" partition(%s) lookback %s", strings.Join(m.Config.PartitionBy, ", "), m.Config.Lookback)
		}
		fmt.Fprintf(w, "%s  [%s]%s\n", pm.Name, m.Config.Materialized, detail)
		from := append([]string{}, m.Refs...)
		for _, s := range m.Sources {
			from = append(from, "source:"+s)
		}
		fmt.Fprintf(w, "  <- %s\n", strings.Join(from, ", "))
		for _, t := range testsOf[pm.Name] {
			fmt.Fprintf(w, "  test %s\n", t)
		}
	}
	return nil
}

func rollupWorkflow(ctx context.Context, tc client.Client, cfg config.Config, in contract.RollupInput, asJSON bool, stdout io.Writer) error {
	id := "rollup-cli-" + time.Now().UTC().Format("20060102T150405.000Z")
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: cfg.TaskQueue}, workflows.RollupWorkflow, in)
	if err != nil {
		return fmt.Errorf("start RollupWorkflow: %w", err)
	}
	fmt.Fprintf(stdout, "started RollupWorkflow %s on %s\n", id, cfg.TaskQueue)
	var res workflows.RollupResult
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("RollupWorkflow %s: %w", id, err)
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printRollupResult(stdout, res.Models, res.Tests)
	return nil
}

func rollupSchedule(ctx context.Context, tc client.Client, cfg config.Config, id, every, cron string, del bool,
	in contract.RollupInput, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, scheduleTimeout)
	defer cancel()
	if del {
		if every != "" || cron != "" {
			return errors.New("--unschedule takes no --schedule or --schedule-cron")
		}
		if err := schedule.DeleteRollup(ctx, tc, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted rollup schedule %s\n", id)
		return nil
	}
	spec, err := schedule.PutRollup(ctx, tc, cfg.TaskQueue, schedule.RollupSpec{ID: id, Every: every, Cron: cron, Input: in})
	if err != nil {
		return err
	}
	when := "every " + spec.Every
	if spec.Cron != "" {
		when = "cron " + spec.Cron
	}
	fmt.Fprintf(stdout, "rollup schedule %s: RollupWorkflow %s on %s (select %v, full refresh %v)\n",
		spec.ID, when, cfg.TaskQueue, in.Select, in.FullRefresh)
	return nil
}
