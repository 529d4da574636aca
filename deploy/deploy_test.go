package deploy

import (
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/metrics"
)

const (
	// projectImage is the repository every Sightline container runs.
	projectImage = "ghcr.io/sightline-video/sightline"
	// gpuTagSuffix marks the image tag with NVIDIA's CUDA libraries in it
	// (the Dockerfile's gpu target).
	gpuTagSuffix = "-gpu"
	// metricsPort is where every worker serves /metrics and /healthz
	// (SIGHTLINE_METRICS_ADDR).
	metricsPort = 9464
	// imageUID is the user the Dockerfile's images run as.
	imageUID = 10001
)

// exportedMetrics are the sightline_* metrics Sightline's processes
// export, besides the Temporal SDK's temporal_* series and the standard go_*
// and process_* collectors.
var exportedMetrics = metrics.Names()

// --- what the binary accepts -------------------------------------------

// knownSettings are the SIGHTLINE_* variables the configuration reads,
// found by reading one through a lookup that records what it is asked.
var knownSettings = sync.OnceValue(func() map[string]bool {
	asked := map[string]bool{}
	_, _ = config.FromLookup(func(key string) (string, bool) {
		asked[key] = true
		return "", false
	})
	return asked
})

// checkSettingName reports a variable the configuration does not read:
// a misspelt one would be ignored without a word.
func checkSettingName(name string) error {
	if !knownSettings()[name] {
		return fmt.Errorf("%s is not a setting Sightline reads (internal/config)", name)
	}
	return nil
}

// configFrom reads the configuration a process with environment env gets.
func configFrom(env map[string]string) (config.Config, error) {
	return config.FromLookup(func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	})
}

// binary is what the sightline binary accepts, read from its source so the
// manifests are checked against the real thing: the subcommands run()
// switches on, the worker subcommand's flags and the roles the worker
// package knows.
type binary struct {
	commands    map[string]bool
	workerFlags map[string]workerFlag
	roles       map[string]bool
}

type workerFlag struct {
	isBool bool
	def    string
}

var readBinary = sync.OnceValues(func() (binary, error) {
	return parseBinary(filepath.Join("..", "cmd", "sightline", "main.go"), filepath.Join("..", "worker", "worker.go"))
})

func parseBinary(mainGo, workerGo string) (binary, error) {
	b := binary{commands: map[string]bool{}, workerFlags: map[string]workerFlag{}, roles: map[string]bool{}}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, mainGo, nil, 0)
	if err != nil {
		return b, fmt.Errorf("parse the binary's main: %w", err)
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != "run" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			if tag, ok := sw.Tag.(*ast.Ident); !ok || tag.Name != "cmd" {
				return true
			}
			for _, s := range sw.Body.List {
				cc := s.(*ast.CaseClause)
				var names []string
				for _, e := range cc.List {
					if v, ok := stringLit(e); ok {
						names = append(names, v)
						b.commands[v] = true
					}
				}
				if slices.Contains(names, "worker") {
					for _, st := range cc.Body {
						ast.Inspect(st, func(n ast.Node) bool { b.addFlag(n); return true })
					}
				}
			}
			return false
		})
	}
	wf, err := parser.ParseFile(fset, workerGo, nil, 0)
	if err != nil {
		return b, fmt.Errorf("parse the worker package: %w", err)
	}
	for _, d := range wf.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if v, ok := stringLit(vs.Values[i]); ok && strings.HasPrefix(name.Name, "Role") {
					b.roles[v] = true
				}
			}
		}
	}
	// The parse above follows the source's shape; say so when it stops
	// finding what is surely there rather than check against nothing.
	for _, c := range []string{"api", "worker", "migrate"} {
		if !b.commands[c] {
			return b, fmt.Errorf("found no %q subcommand in %s: has run() changed shape?", c, mainGo)
		}
	}
	if _, ok := b.workerFlags["roles"]; !ok {
		return b, fmt.Errorf("found no --roles flag of the worker subcommand in %s", mainGo)
	}
	if len(b.roles) == 0 {
		return b, fmt.Errorf("found no Role* constants in %s", workerGo)
	}
	return b, nil
}

// addFlag records n when it declares a flag: fs.String("name", "default",
// ...), fs.BoolVar(&v, "name", false, ...) and the like.
func (b *binary) addFlag(n ast.Node) {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	method, at := sel.Sel.Name, 0
	if m, ok := strings.CutSuffix(method, "Var"); ok {
		method, at = m, 1
	}
	switch method {
	case "String", "Bool", "Int", "Int64", "Uint", "Uint64", "Float64", "Duration":
	default:
		return
	}
	if len(call.Args) < at+2 {
		return
	}
	name, ok := stringLit(call.Args[at])
	if !ok {
		return
	}
	def, _ := stringLit(call.Args[at+1])
	if id, ok := call.Args[at+1].(*ast.Ident); ok {
		def = id.Name // true or false
	}
	b.workerFlags[name] = workerFlag{isBool: method == "Bool", def: def}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// invocation is a container's command line as the binary reads it.
type invocation struct {
	command     string
	roles       []string // worker
	gpu         bool     // worker --gpu
	metricsAddr string   // worker --metrics-addr, when given
}

func (inv invocation) serves(role string) bool { return slices.Contains(inv.roles, role) }

// parseArgs reads a container's arguments (after the image's ENTRYPOINT,
// sightline) the way the binary does, and says what is wrong with them.
func (b binary) parseArgs(args []string) (invocation, error) {
	if len(args) == 0 {
		return invocation{}, errors.New("no subcommand: the image's default CMD only prints the usage")
	}
	inv := invocation{command: args[0]}
	if !b.commands[inv.command] {
		return inv, fmt.Errorf("%q is not a sightline subcommand", inv.command)
	}
	if inv.command != "worker" {
		if len(args) > 1 {
			return inv, fmt.Errorf("sightline %s: the manifests pass it no arguments, got %q", inv.command, args[1:])
		}
		return inv, nil
	}
	fset := flag.NewFlagSet("worker", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	strs, bools := map[string]*string{}, map[string]*bool{}
	for name, f := range b.workerFlags {
		if f.isBool {
			bools[name] = fset.Bool(name, f.def == "true", "")
		} else {
			strs[name] = fset.String(name, f.def, "")
		}
	}
	if err := fset.Parse(args[1:]); err != nil {
		return inv, fmt.Errorf("sightline worker %q: %w", args[1:], err)
	}
	if fset.NArg() > 0 {
		return inv, fmt.Errorf("sightline worker: arguments %q after the flags", fset.Args())
	}
	for _, r := range strings.Split(*strs["roles"], ",") {
		r = strings.TrimSpace(r)
		if !b.roles[r] {
			return inv, fmt.Errorf("sightline worker: role %q is not one of %s", r, strings.Join(slices.Sorted(maps.Keys(b.roles)), ", "))
		}
		inv.roles = append(inv.roles, r)
	}
	if g := bools["gpu"]; g != nil {
		inv.gpu = *g
	}
	if m := strs["metrics-addr"]; m != nil {
		inv.metricsAddr = *m
	}
	return inv, nil
}

// listenPort is the port of a listen address a pod's probes and Prometheus
// must reach: not a loopback one.
func listenPort(setting, addr string) (int32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", setting, addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return 0, fmt.Errorf("%s=%q listens on loopback: probes and Prometheus cannot reach it", setting, addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("%s=%q: no port", setting, addr)
	}
	return int32(p), nil
}

// splitImage splits an image reference into repository and tag.
func splitImage(image string) (repo, tag string) {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, ""
}

func mustBinary(t *testing.T) binary {
	t.Helper()
	b, err := readBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func report(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Error(err)
	}
}

// mustFail fails the test unless errs holds an error containing want.
func mustFail(t *testing.T, what, want string, errs []error) {
	t.Helper()
	for _, err := range errs {
		if strings.Contains(err.Error(), want) {
			return
		}
	}
	t.Errorf("%s: no error mentioning %q; got %v", what, want, errs)
}

// dockerfile is what the manifests rely on in the Dockerfile: its stages
// (build targets), users, entrypoint, environment and exposed ports.
type dockerfile struct {
	stages     map[string]bool
	users      []string
	entrypoint string
	env        map[string]string
	expose     []string
}

func readDockerfile(file string) (dockerfile, error) {
	d := dockerfile{stages: map[string]bool{}, env: map[string]string{}}
	data, err := os.ReadFile(file)
	if err != nil {
		return d, err
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				d.stages[fields[3]] = true
			}
		case "USER":
			d.users = append(d.users, strings.Join(fields[1:], " "))
		case "ENTRYPOINT":
			d.entrypoint = strings.Join(fields[1:], " ")
		case "EXPOSE":
			d.expose = append(d.expose, fields[1:]...)
		case "ENV":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					d.env[k] = v
				}
			}
		}
	}
	return d, nil
}

// checkDockerfile keeps the image and the manifests in step: the user the
// pods run as, the entrypoint their arguments follow, the settings the
// image sets, the ports, and the targets Compose builds.
func checkDockerfile(d dockerfile) []error {
	var errs []error
	users := 0
	for _, u := range d.users {
		if u == "root" {
			continue
		}
		users++
		if want := fmt.Sprintf("%d:%d", imageUID, imageUID); u != want {
			errs = append(errs, fmt.Errorf("Dockerfile: USER %s, want %s (the manifests' runAsUser)", u, want))
		}
	}
	if users == 0 || d.users[len(d.users)-1] == "root" {
		errs = append(errs, fmt.Errorf("Dockerfile: users %q: the image would run as root", d.users))
	}
	if d.entrypoint != `["sightline"]` {
		errs = append(errs, fmt.Errorf(`Dockerfile: ENTRYPOINT %s, want ["sightline"]: the manifests pass only its arguments`, d.entrypoint))
	}
	for key := range d.env {
		if strings.HasPrefix(key, "SIGHTLINE_") {
			if err := checkSettingName(key); err != nil {
				errs = append(errs, fmt.Errorf("Dockerfile: %w", err))
			}
		}
	}
	for _, port := range []string{"8080", strconv.Itoa(metricsPort)} {
		if !slices.Contains(d.expose, port) {
			errs = append(errs, fmt.Errorf("Dockerfile: does not expose %s", port))
		}
	}
	for _, stage := range []string{"runtime", "gpu"} {
		if !d.stages[stage] {
			errs = append(errs, fmt.Errorf("Dockerfile: no %s stage to build", stage))
		}
	}
	return errs
}

func TestDockerfile(t *testing.T) {
	d, err := readDockerfile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkDockerfile(d))
	for _, tc := range []struct {
		name, want string
		breakIt    func(d *dockerfile)
	}{
		{"root at the end", "would run as root", func(d *dockerfile) { d.users = append(d.users, "root") }},
		{"another uid", "USER 1000:1000", func(d *dockerfile) { d.users[len(d.users)-1] = "1000:1000" }},
		{"shell entrypoint", "ENTRYPOINT", func(d *dockerfile) { d.entrypoint = `["/bin/sh", "-c"]` }},
		{"misspelt setting", "SIGHTLINE_ORT_LIBRARY is not a setting", func(d *dockerfile) { d.env["SIGHTLINE_ORT_LIBRARY"] = "/x" }},
		{"no gpu target", "no gpu stage", func(d *dockerfile) { delete(d.stages, "gpu") }},
	} {
		d, err := readDockerfile(filepath.Join("..", "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		tc.breakIt(&d)
		mustFail(t, tc.name, tc.want, checkDockerfile(d))
	}
}

// TestParseBinary checks what was read from the binary's source, and the
// reading of command lines.
func TestParseBinary(t *testing.T) {
	b := mustBinary(t)
	if !b.roles["main"] || !b.roles["detect"] || !b.workerFlags["gpu"].isBool || b.workerFlags["roles"].def != "main,detect" {
		t.Errorf("read from the source: %+v", b)
	}
	inv, err := b.parseArgs([]string{"worker", "--roles", "detect", "--gpu"})
	if err != nil || !inv.gpu || !slices.Equal(inv.roles, []string{"detect"}) {
		t.Errorf("worker --roles detect --gpu: %+v, %v", inv, err)
	}
	if inv, err := b.parseArgs([]string{"worker"}); err != nil || len(inv.roles) != 2 {
		t.Errorf("worker with the default roles: %+v, %v", inv, err)
	}
	if inv, err := b.parseArgs([]string{"worker", "--roles", "main", "--metrics-addr", ":9464"}); err != nil || inv.metricsAddr != ":9464" {
		t.Errorf("worker --metrics-addr: %+v, %v", inv, err)
	}
	for _, args := range [][]string{nil, {"api", "--port", "1"}, {"worker", "--roles", ""}, {"worker", "main"}} {
		if _, err := b.parseArgs(args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
