package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/sightline-video/sightline/internal/config"
)

// composeFile is docker-compose.yml, at the repository's root.
const composeFile = "docker-compose.yml"

// repoRoot is the repository's root, absolute: Compose resolves bind
// mounts and build contexts against it.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadCompose loads a Compose file as `docker compose` does, strictly:
// Compose's schema refuses unknown keys, and its consistency check
// unresolved depends_on, networks and volumes. No environment is passed
// in, so ${VAR:-default} takes its default. profiles are the profiles
// enabled ("*": all).
func loadCompose(root string, content []byte, profiles ...string) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, composeFile), Content: content}},
		Environment: types.Mapping{},
	}
	p, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("sightline", true)
		o.Profiles = profiles
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", composeFile, err)
	}
	return p, nil
}

// strictYAML decodes YAML into v refusing unknown, duplicated and
// wrongly cased keys.
func strictYAML(data []byte, v any) error {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// sightlineService is a Compose service running the project's image,
// resolved as the binary would see it.
type sightlineService struct {
	name string
	svc  types.ServiceConfig
	inv  invocation
	cfg  config.Config
	// metricsPort is where it serves /metrics: the API's own address, or
	// a worker's SIGHTLINE_METRICS_ADDR.
	metricsPort int32
}

// compose is a loaded Compose file: every service, whatever its profile.
type compose struct {
	project  *types.Project
	services map[string]types.ServiceConfig
}

func newCompose(p *types.Project) compose {
	all := maps.Clone(p.Services)
	maps.Copy(all, p.DisabledServices)
	return compose{project: p, services: all}
}

func (c compose) imageService(prefix string) (types.ServiceConfig, error) {
	var found []types.ServiceConfig
	for _, s := range c.services {
		if strings.HasPrefix(s.Image, prefix) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return types.ServiceConfig{}, fmt.Errorf("%d services run %s..., want 1", len(found), prefix)
	}
	return found[0], nil
}

// checkCompose checks the services: what they run, their settings, their
// dependencies, and that the detect workers can scale.
func checkCompose(c compose, b binary) (map[string]sightlineService, []error) {
	var errs []error
	fail := func(service, format string, args ...any) {
		errs = append(errs, fmt.Errorf("service %s: %s", service, fmt.Sprintf(format, args...)))
	}
	out := map[string]sightlineService{}
	have := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(c.services)) {
		svc := c.services[name]
		for dep := range svc.DependsOn {
			if _, ok := c.services[dep]; !ok {
				fail(name, "depends on %s, which is no service", dep)
			}
		}
		repo, tag := splitImage(svc.Image)
		if repo != projectImage {
			for key := range svc.Environment {
				if strings.HasPrefix(key, "SIGHTLINE_") {
					if err := checkSettingName(key); err != nil {
						fail(name, "%v", err)
					}
				}
			}
			continue
		}
		s := sightlineService{name: name, svc: svc}
		env := map[string]string{}
		for key, v := range svc.Environment {
			if err := checkSettingName(key); err != nil {
				fail(name, "%v", err)
			}
			if v != nil {
				env[key] = *v
			}
		}
		var err error
		if s.cfg, err = configFrom(env); err != nil {
			fail(name, "the binary would refuse its settings: %v", err)
			continue
		}
		if len(svc.Entrypoint) > 0 {
			fail(name, "entrypoint %q replaces the image's sightline", svc.Entrypoint)
		}
		if s.inv, err = b.parseArgs(svc.Command); err != nil {
			fail(name, "%v", err)
			continue
		}
		// The Dockerfile's targets (TestDockerfile checks they exist).
		if svc.Build == nil || svc.Build.Context != c.project.WorkingDir {
			fail(name, "does not build from the repository's root: `docker compose up --build` would not run this checkout")
		} else if want := map[bool]string{false: "runtime", true: "gpu"}[s.inv.gpu]; svc.Build.Target != want {
			fail(name, "builds target %q, want %q", svc.Build.Target, want)
		}
		if strings.HasSuffix(tag, gpuTagSuffix) != s.inv.gpu {
			fail(name, "image %s: the %s tag is for `worker --gpu` and only for it", svc.Image, gpuTagSuffix)
		}
		role := s.inv.command
		switch s.inv.command {
		case "migrate":
			if svc.Restart != "" && svc.Restart != types.RestartPolicyNo {
				fail(name, "restart %q: a one-shot must not restart", svc.Restart)
			}
		case "api":
			s.metricsPort, err = listenPort("SIGHTLINE_API_ADDR", s.cfg.APIAddress)
		case "worker":
			role = strings.Join(s.inv.roles, ",")
			addr, setting := s.cfg.MetricsAddress, "SIGHTLINE_METRICS_ADDR"
			if s.inv.metricsAddr != "" {
				addr, setting = s.inv.metricsAddr, "--metrics-addr"
			}
			if s.metricsPort, err = listenPort(setting, addr); err == nil && s.metricsPort != metricsPort {
				err = fmt.Errorf("metrics on port %d, want %d everywhere", s.metricsPort, metricsPort)
			}
			// Replicas of a scalable role share everything but their
			// address: no fixed name, no fixed host port.
			if slices.Equal(s.inv.roles, []string{"detect"}) {
				if svc.ContainerName != "" {
					fail(name, "container_name %q: `--scale %s=N` needs Compose to name the replicas", svc.ContainerName, name)
				}
				for _, p := range svc.Ports {
					if p.Published != "" {
						fail(name, "publishes host port %s: a second replica could not bind it", p.Published)
					}
				}
			}
		default:
			fail(name, "runs `sightline %s`, which no role here is", s.inv.command)
		}
		if err != nil {
			fail(name, "%v", err)
		}
		if s.inv.command != "migrate" {
			if d, ok := svc.DependsOn["migrate"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
				fail(name, "must start after migrate completed (depends_on migrate: service_completed_successfully)")
			}
		}
		// The services it connects to are services of this file.
		for what, addr := range map[string]string{"SIGHTLINE_TEMPORAL_ADDRESS": s.cfg.TemporalAddress, "SIGHTLINE_MINIO_ENDPOINT": s.cfg.MinIOEndpoint} {
			if host, _, err := net.SplitHostPort(addr); err != nil || c.services[host].Name == "" {
				fail(name, "%s=%q names no service of the file", what, addr)
			}
		}
		if u, err := url.Parse(s.cfg.PostgresDSN); err != nil || c.services[u.Hostname()].Name == "" {
			fail(name, "SIGHTLINE_PG_DSN names no service of the file")
		}
		have[role] = true
		out[name] = s
	}
	for _, role := range []string{"migrate", "api", "main", "detect"} {
		if !have[role] {
			errs = append(errs, fmt.Errorf("no service runs %q", role))
		}
	}
	errs = append(errs, checkPostgres(c)...)
	return out, errs
}

// checkPostgres keeps PostgreSQL durable: nobody trades fsync for speed.
func checkPostgres(c compose) []error {
	pg, err := c.imageService("postgres:")
	if err != nil {
		return []error{err}
	}
	var errs []error
	args := strings.Join(pg.Command, " ")
	for _, off := range []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"} {
		if strings.Contains(args, off) {
			errs = append(errs, fmt.Errorf("service %s: %s loses committed data on a crash", pg.Name, off))
		}
	}
	if !strings.Contains(args, "fsync=on") {
		errs = append(errs, fmt.Errorf("service %s: fsync=on is not written out", pg.Name))
	}
	if !slices.ContainsFunc(pg.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/postgresql/data"
	}) {
		errs = append(errs, fmt.Errorf("service %s: its data is on no named volume", pg.Name))
	}
	return errs
}

// promConfig is the part of Prometheus' configuration these files use,
// decoded strictly: a misspelt key fails here rather than be ignored.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `json:"scrape_interval"`
		EvaluationInterval string `json:"evaluation_interval"`
	} `json:"global"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		MetricsPath   string `json:"metrics_path"`
		StaticConfigs []struct {
			Targets []string          `json:"targets"`
			Labels  map[string]string `json:"labels"`
		} `json:"static_configs"`
		DNSSDConfigs []struct {
			Names           []string `json:"names"`
			Type            string   `json:"type"`
			Port            int32    `json:"port"`
			RefreshInterval string   `json:"refresh_interval"`
		} `json:"dns_sd_configs"`
	} `json:"scrape_configs"`
}

// bindSource maps a path inside a service's container to the file on the
// host that a bind mount puts there.
func bindSource(svc types.ServiceConfig, inside string) (string, error) {
	for _, v := range svc.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if rel, err := filepath.Rel(v.Target, inside); err == nil && !strings.HasPrefix(rel, "..") {
			host := filepath.Join(v.Source, rel)
			if _, err := os.Stat(host); err != nil {
				return "", fmt.Errorf("service %s: %s comes from %s: %w", svc.Name, inside, host, err)
			}
			return host, nil
		}
	}
	return "", fmt.Errorf("service %s: no bind mount puts anything at %s", svc.Name, inside)
}

// prometheusConfigFile is the host file the Prometheus service reads its
// configuration from.
func prometheusConfigFile(c compose) (string, error) {
	prom, err := c.imageService("prom/prometheus:")
	if err != nil {
		return "", err
	}
	file := "/etc/prometheus/prometheus.yml" // the image's default
	for _, arg := range prom.Command {
		if v, ok := strings.CutPrefix(arg, "--config.file="); ok {
			file = v
		}
	}
	return bindSource(prom, file)
}

// checkPrometheus checks that Prometheus scrapes every Sightline server,
// at the service and port where it serves /metrics, and nothing else.
func checkPrometheus(data []byte, c compose, ss map[string]sightlineService) []error {
	var cfg promConfig
	if err := strictYAML(data, &cfg); err != nil {
		return []error{fmt.Errorf("prometheus.yml: %w", err)}
	}
	var errs []error
	scraped := map[string]bool{}
	target := func(job, host string, port int32) {
		if host == "localhost" && job == "prometheus" && port == 9090 {
			return // Prometheus itself
		}
		s, ok := ss[host]
		switch {
		case c.services[host].Name == "":
			errs = append(errs, fmt.Errorf("prometheus.yml job %s: %s is no service", job, host))
		case !ok || s.metricsPort == 0:
			errs = append(errs, fmt.Errorf("prometheus.yml job %s: service %s serves no Sightline /metrics", job, host))
		case s.metricsPort != port:
			errs = append(errs, fmt.Errorf("prometheus.yml job %s: scrapes %s on port %d, but it serves /metrics on %d", job, host, port, s.metricsPort))
		default:
			scraped[host] = true
		}
	}
	jobs := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		if jobs[sc.JobName] || sc.JobName == "" {
			errs = append(errs, fmt.Errorf("prometheus.yml: job name %q missing or used twice", sc.JobName))
		}
		jobs[sc.JobName] = true
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			errs = append(errs, fmt.Errorf("prometheus.yml job %s: metrics_path %s, not /metrics", sc.JobName, sc.MetricsPath))
		}
		for _, st := range sc.StaticConfigs {
			for _, tgt := range st.Targets {
				host, port, err := net.SplitHostPort(tgt)
				p, perr := strconv.ParseUint(port, 10, 16)
				if err != nil || perr != nil {
					errs = append(errs, fmt.Errorf("prometheus.yml job %s: target %q is not host:port", sc.JobName, tgt))
					continue
				}
				target(sc.JobName, host, int32(p))
			}
		}
		for _, dns := range sc.DNSSDConfigs {
			if dns.Type != "A" || dns.Port == 0 {
				errs = append(errs, fmt.Errorf("prometheus.yml job %s: DNS discovery needs type A and a port (Compose's DNS has no SRV records)", sc.JobName))
			}
			for _, name := range dns.Names {
				target(sc.JobName, name, dns.Port)
			}
		}
	}
	for name, s := range ss {
		if s.metricsPort != 0 && !scraped[name] {
			errs = append(errs, fmt.Errorf("prometheus.yml: nothing scrapes service %s", name))
		}
	}
	return errs
}

// grafanaDatasources and grafanaProviders are Grafana's provisioning
// files, the parts used here, decoded strictly.
type grafanaDatasources struct {
	APIVersion  int `json:"apiVersion"`
	Datasources []struct {
		Name      string `json:"name"`
		UID       string `json:"uid"`
		Type      string `json:"type"`
		Access    string `json:"access"`
		URL       string `json:"url"`
		IsDefault bool   `json:"isDefault"`
		Editable  bool   `json:"editable"`
	} `json:"datasources"`
}

type grafanaProviders struct {
	APIVersion int `json:"apiVersion"`
	Providers  []struct {
		Name                  string `json:"name"`
		Folder                string `json:"folder"`
		Type                  string `json:"type"`
		DisableDeletion       bool   `json:"disableDeletion"`
		AllowUIUpdates        bool   `json:"allowUiUpdates"`
		UpdateIntervalSeconds int    `json:"updateIntervalSeconds"`
		Options               struct {
			Path string `json:"path"`
		} `json:"options"`
	} `json:"providers"`
}

// provisioningFiles reads every YAML file of a provisioning folder.
func provisioningFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext == ".yml" || ext == ".yaml" {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			files[filepath.Join(dir, e.Name())] = data
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no provisioning file", dir)
	}
	return files, nil
}

// checkGrafana checks Grafana's provisioning as the container sees it:
// the files are mounted, the data source is the Prometheus service, and
// the dashboards it loads exist and hold up (checkDashboard).
func checkGrafana(c compose) []error {
	g, err := c.imageService("grafana/grafana:")
	if err != nil {
		return []error{err}
	}
	var errs []error
	prov, err := bindSource(g, "/etc/grafana/provisioning")
	if err != nil {
		return []error{err}
	}
	uids := map[string]bool{}
	files, err := provisioningFiles(filepath.Join(prov, "datasources"))
	if err != nil {
		return []error{err}
	}
	for file, data := range files {
		var ds grafanaDatasources
		if err := strictYAML(data, &ds); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		for _, d := range ds.Datasources {
			uids[d.UID] = true
			u, err := url.Parse(d.URL)
			if err != nil || c.services[u.Hostname()].Name == "" {
				errs = append(errs, fmt.Errorf("%s: data source %s at %s, which is no service", file, d.Name, d.URL))
				continue
			}
			if d.Type == "prometheus" && (!strings.HasPrefix(c.services[u.Hostname()].Image, "prom/prometheus:") || u.Port() != "9090") {
				errs = append(errs, fmt.Errorf("%s: data source %s at %s is not the Prometheus service on 9090", file, d.Name, d.URL))
			}
		}
	}
	files, err = provisioningFiles(filepath.Join(prov, "dashboards"))
	if err != nil {
		return append(errs, err)
	}
	dashboards := 0
	for file, data := range files {
		var dp grafanaProviders
		if err := strictYAML(data, &dp); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		for _, p := range dp.Providers {
			dir, err := bindSource(g, p.Options.Path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: provider %s: %w", file, p.Name, err))
				continue
			}
			jsons, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if len(jsons) == 0 {
				errs = append(errs, fmt.Errorf("%s: provider %s loads %s, which holds no dashboard", file, p.Name, dir))
			}
			for _, j := range jsons {
				data, err := os.ReadFile(j)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				dashboards++
				for _, err := range checkDashboard(data, uids, exportedMetrics) {
					errs = append(errs, fmt.Errorf("%s: %w", j, err))
				}
			}
		}
	}
	if dashboards == 0 {
		errs = append(errs, errors.New("grafana loads no dashboard"))
	}
	if home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != nil {
		if _, err := bindSource(g, *home); err != nil {
			errs = append(errs, fmt.Errorf("the home dashboard: %w", err))
		}
	}
	return errs
}

// grafanaDashboard is the part of a dashboard's JSON model checked here.
type grafanaDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string        `json:"name"`
			Type       string        `json:"type"`
			Query      any           `json:"query"`
			Datasource *grafanaDSRef `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int              `json:"id"`
	Type       string           `json:"type"`
	Title      string           `json:"title"`
	Datasource *grafanaDSRef    `json:"datasource"`
	GridPos    *json.RawMessage `json:"gridPos"`
	Targets    []struct {
		RefID      string        `json:"refId"`
		Expr       string        `json:"expr"`
		Datasource *grafanaDSRef `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaDSRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// sightlineMetric finds Sightline's metric names in a PromQL expression.
var sightlineMetric = regexp.MustCompile(`\bsightline_[a-z0-9_]+`)

// temporalMetric finds the Temporal SDK's.
var temporalMetric = regexp.MustCompile(`\btemporal_[a-z0-9_]+`)

// checkDashboard checks a dashboard's JSON: every query's sightline_*
// metric is one the processes export (a histogram's _bucket, _sum and
// _count included), every exported metric is on it, it shows some of the
// Temporal SDK's, and its panels name a data source that exists.
func checkDashboard(data []byte, uids map[string]bool, metrics []string) []error {
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return []error{fmt.Errorf("not a dashboard: %w", err)}
	}
	var errs []error
	if d.UID == "" || d.Title == "" {
		errs = append(errs, errors.New("the dashboard has no uid or title"))
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			vars["${"+v.Name+"}"] = true
		}
	}
	exported := map[string]bool{}
	for _, m := range metrics {
		exported[m] = false
	}
	used := func(where, expr string) {
		for _, m := range sightlineMetric.FindAllString(expr, -1) {
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(m, suffix); ok {
					if _, known := exported[b]; known {
						base = b
					}
				}
			}
			if _, ok := exported[base]; !ok {
				errs = append(errs, fmt.Errorf("%s: %s is not a metric Sightline exports", where, m))
				continue
			}
			exported[base] = true
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Datasource == nil || !(vars[v.Datasource.UID] || uids[v.Datasource.UID]) {
			errs = append(errs, fmt.Errorf("variable %s: its data source is neither a Prometheus variable nor a provisioned one", v.Name))
		}
		q, _ := json.Marshal(v.Query)
		used("variable "+v.Name, string(q))
	}
	ids := map[int]bool{}
	temporal := 0
	var walk func([]grafanaPanel)
	walk = func(panels []grafanaPanel) {
		for _, p := range panels {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if ids[p.ID] {
				errs = append(errs, fmt.Errorf("%s: id used twice", where))
			}
			ids[p.ID] = true
			if p.GridPos == nil {
				errs = append(errs, fmt.Errorf("%s: no gridPos", where))
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				errs = append(errs, fmt.Errorf("%s: no query", where))
			}
			for _, ds := range append([]*grafanaDSRef{p.Datasource}, func() (refs []*grafanaDSRef) {
				for _, t := range p.Targets {
					refs = append(refs, t.Datasource)
				}
				return refs
			}()...) {
				if ds == nil || !(vars[ds.UID] || uids[ds.UID]) {
					errs = append(errs, fmt.Errorf("%s: its data source is neither a Prometheus variable nor a provisioned one", where))
					break
				}
			}
			for _, t := range p.Targets {
				used(where, t.Expr)
				if temporalMetric.MatchString(t.Expr) {
					temporal++
				}
			}
		}
	}
	walk(d.Panels)
	for _, m := range slices.Sorted(maps.Keys(exported)) {
		if !exported[m] {
			errs = append(errs, fmt.Errorf("no panel shows %s", m))
		}
	}
	if temporal < 2 {
		errs = append(errs, fmt.Errorf("%d queries of the Temporal SDK's metrics, want a couple", temporal))
	}
	return errs
}

// checkAll runs every Compose check on a loaded file.
func checkAll(t *testing.T, p *types.Project, promData []byte) []error {
	t.Helper()
	c := newCompose(p)
	ss, errs := checkCompose(c, mustBinary(t))
	if promData == nil {
		file, err := prometheusConfigFile(c)
		if err != nil {
			return append(errs, err)
		}
		if promData, err = os.ReadFile(file); err != nil {
			return append(errs, err)
		}
	}
	errs = append(errs, checkPrometheus(promData, c, ss)...)
	return append(errs, checkGrafana(c)...)
}

func readCompose(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), composeFile))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCompose loads docker-compose.yml with every profile, and with none
// (a plain `docker compose up`), and checks it.
func TestCompose(t *testing.T) {
	root := repoRoot(t)
	data := readCompose(t)
	for _, profiles := range [][]string{{"*"}, nil} {
		p, err := loadCompose(root, data, profiles...)
		if err != nil {
			t.Fatalf("profiles %q: %v", profiles, err)
		}
		if _, ok := p.Services["detect"]; !ok {
			t.Fatalf("profiles %q: no detect service", profiles)
		}
		report(t, checkAll(t, p, nil))
	}
}

// edit replaces old with new in s, and fails when old is not there, so a
// broken case cannot pass for want of anything to break.
func edit(t *testing.T, s []byte, old, repl string) []byte {
	t.Helper()
	if !strings.Contains(string(s), old) {
		t.Fatalf("%q is not in the file", old)
	}
	return []byte(strings.Replace(string(s), old, repl, 1))
}

// TestComposeChecksCatch breaks docker-compose.yml one way at a time.
func TestComposeChecksCatch(t *testing.T) {
	root := repoRoot(t)
	good := readCompose(t)
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown key", "    restart: \"no\"\n", "    restart: \"no\"\n    enviroment: {}\n", "enviroment"}, //nolint:misspell // a misspelt key on purpose
		{"unknown dependency", "    depends_on: [prometheus]", "    depends_on: [prometheus, loki]", "loki"},
		{"named detect replicas", "    command: [\"worker\", \"--roles\", \"detect\"]\n", "    command: [\"worker\", \"--roles\", \"detect\"]\n    container_name: sightline-detect\n", "needs Compose to name the replicas"},
		{"detect on a host port", "    command: [\"worker\", \"--roles\", \"detect\"]\n", "    command: [\"worker\", \"--roles\", \"detect\"]\n    ports: [\"9464:9464\"]\n", "a second replica could not bind it"},
		{"unknown setting", "    SIGHTLINE_MINIO_ENDPOINT: minio:9000", "    SIGHTLINE_MINIO_ENDPIONT: minio:9000", "SIGHTLINE_MINIO_ENDPIONT is not a setting"},
		{"malformed setting", "${SIGHTLINE_DETECT_WORKERS:-2}", "${SIGHTLINE_DETECT_WORKERS:-two}", `SIGHTLINE_DETECT_WORKERS="two"`},
		{"unknown role", `["worker", "--roles", "main"]`, `["worker", "--roles", "mian"]`, `role "mian"`},
		{"metrics on loopback", "SIGHTLINE_METRICS_ADDR: 0.0.0.0:9464", "SIGHTLINE_METRICS_ADDR: 127.0.0.1:9464", "listens on loopback"},
		{"fsync off", `"-c", "fsync=on"`, `"-c", "fsync=off"`, "fsync=off loses committed data"},
		{"starting before migrate", "    migrate: {condition: service_completed_successfully}\n", "", "must start after migrate"},
		{"GPU worker on the plain image", "    image: ghcr.io/sightline-video/sightline:latest-gpu\n", "", "tag is for `worker --gpu`"},
		{"built elsewhere", "    context: .\n    target: runtime", "    context: ./web\n    target: runtime", "does not build from the repository's root"},
		{"another target", "    target: runtime", "    target: build", `builds target "build", want "runtime"`},
		{"unmounted Prometheus config", "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro", "./deploy/prometheus/prometheus.yml:/etc/prometheus/other.yml:ro", "no bind mount puts anything at /etc/prometheus/prometheus.yml"},
		{"unmounted dashboards", "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro", "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro", "no bind mount puts anything at /etc/grafana/dashboards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadCompose(root, edit(t, good, tc.old, tc.new), "*")
			var errs []error
			if err != nil {
				errs = []error{err}
			} else {
				errs = checkAll(t, p, nil)
			}
			mustFail(t, tc.name, tc.want, errs)
		})
	}
}

// TestPrometheusChecksCatch breaks prometheus.yml one way at a time.
func TestPrometheusChecksCatch(t *testing.T) {
	p, err := loadCompose(repoRoot(t), readCompose(t), "*")
	if err != nil {
		t.Fatal(err)
	}
	file, err := prometheusConfigFile(newCompose(p))
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown service", `names: ["detect", "detect-gpu"]`, `names: ["detcet", "detect-gpu"]`, "detcet is no service"},
		{"wrong port", `targets: ["api:8080"]`, `targets: ["api:9464"]`, "serves /metrics on 8080"},
		{"not a Sightline server", `targets: ["api:8080"]`, `targets: ["api:8080", "minio:9000"]`, "service minio serves no Sightline /metrics"},
		{"worker left out", `names: ["worker"]`, `names: ["detect"]`, "nothing scrapes service worker"},
		{"misspelt key", "    dns_sd_configs:\n      - names: [\"worker\"]", "    dns_sd_config:\n      - names: [\"worker\"]", `unknown field "scrape_configs[1].dns_sd_config"`},
		{"SRV discovery", "        type: A\n", "        type: SRV\n", "needs type A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, tc.name, tc.want, checkAll(t, p, edit(t, good, tc.old, tc.new)))
		})
	}
}

// TestDashboardChecksCatch breaks the dashboard one way at a time.
func TestDashboardChecksCatch(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("grafana", "dashboards", "sightline.json"))
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]bool{"prometheus": true}
	if errs := checkDashboard(good, uids, exportedMetrics); len(errs) > 0 {
		t.Fatalf("the unbroken dashboard fails: %v", errs)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt metric", "sightline_capture_frames_total{", "sightline_capture_frame_total{", "sightline_capture_frame_total is not a metric"},
		{"misspelt histogram", "sightline_chunk_lag_seconds_bucket", "sightline_chunk_lags_seconds_bucket", "sightline_chunk_lags_seconds_bucket is not a metric"},
		{"unknown data source", `"uid": "${datasource}"`, `"uid": "loki"`, "its data source is neither"},
		{"not JSON", `"panels": [`, `"panels": [[`, "not a dashboard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, tc.name, tc.want, checkDashboard(edit(t, good, tc.old, tc.new), uids, exportedMetrics))
		})
	}
	// A metric the processes export but no panel shows.
	more := append(slices.Clone(exportedMetrics), "sightline_new_total")
	mustFail(t, "a metric on no panel", "no panel shows sightline_new_total", checkDashboard(good, uids, more))
}
