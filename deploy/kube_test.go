package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/contract"
)

const (
	// kubeDir holds the kustomize base, components and overlays.
	kubeDir = "kubernetes"
	// gpuResource is what NVIDIA's device plugin offers.
	gpuResource corev1.ResourceName = "nvidia.com/gpu"
)

// --- Kubernetes: building and decoding ---------------------------------

// kinds are the API types the manifests may use, each with its Go type.
// Anything else in a build is an error.
var kinds = map[schema.GroupVersionKind]func() any{
	appsv1.SchemeGroupVersion.WithKind("Deployment"):                     func() any { return &appsv1.Deployment{} },
	batchv1.SchemeGroupVersion.WithKind("Job"):                           func() any { return &batchv1.Job{} },
	corev1.SchemeGroupVersion.WithKind("Service"):                        func() any { return &corev1.Service{} },
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):                      func() any { return &corev1.ConfigMap{} },
	corev1.SchemeGroupVersion.WithKind("Secret"):                         func() any { return &corev1.Secret{} },
	autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"): func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):          func() any { return &policyv1.PodDisruptionBudget{} },
	kedav1alpha1.SchemeGroupVersion.WithKind("ScaledObject"):             func() any { return &kedav1alpha1.ScaledObject{} },
	kedav1alpha1.SchemeGroupVersion.WithKind("TriggerAuthentication"):    func() any { return &kedav1alpha1.TriggerAuthentication{} },
}

// decodeStrict decodes one object (JSON, as kustomize emits it) into its
// API type, as strictly as the API server: an unknown field, a field in
// the wrong case, a duplicated field or an unknown kind is an error.
func decodeStrict(data []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	newObj, ok := kinds[gvk]
	if !ok {
		return nil, fmt.Errorf("%s %s is not a kind these manifests use", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", tm.Kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("decode %s: %w", tm.Kind, errors.Join(strict...))
	}
	return obj, nil
}

// decodeYAML is decodeStrict for one YAML document.
func decodeYAML(doc string) (any, error) {
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, err
	}
	return decodeStrict(data)
}

// kube is one build, decoded and indexed by kind and name.
type kube struct {
	deployments  map[string]*appsv1.Deployment
	jobs         map[string]*batchv1.Job
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs         map[string]*policyv1.PodDisruptionBudget
	scaled       map[string]*kedav1alpha1.ScaledObject
	triggerAuths map[string]*kedav1alpha1.TriggerAuthentication
}

// buildKube runs kustomize on dir (as `kubectl kustomize` would, loading
// only files under each kustomization's root) and decodes the result.
func buildKube(fsys filesys.FileSystem, dir string) (*kube, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	k := &kube{
		deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, scaled: map[string]*kedav1alpha1.ScaledObject{},
		triggerAuths: map[string]*kedav1alpha1.TriggerAuthentication{},
	}
	var errs []error
	for _, r := range m.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		obj, err := decodeStrict(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err))
			continue
		}
		if err := k.add(obj); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return k, nil
}

func addTo[T any](m map[string]*T, name string, obj *T) error {
	if _, dup := m[name]; dup {
		return fmt.Errorf("%T %s twice", obj, name)
	}
	m[name] = obj
	return nil
}

func (k *kube) add(obj any) error {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return addTo(k.deployments, o.Name, o)
	case *batchv1.Job:
		return addTo(k.jobs, o.Name, o)
	case *corev1.Service:
		return addTo(k.services, o.Name, o)
	case *corev1.ConfigMap:
		return addTo(k.configMaps, o.Name, o)
	case *corev1.Secret:
		return addTo(k.secrets, o.Name, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		return addTo(k.hpas, o.Name, o)
	case *policyv1.PodDisruptionBudget:
		return addTo(k.pdbs, o.Name, o)
	case *kedav1alpha1.ScaledObject:
		return addTo(k.scaled, o.Name, o)
	case *kedav1alpha1.TriggerAuthentication:
		return addTo(k.triggerAuths, o.Name, o)
	}
	return fmt.Errorf("%T: no index for it", obj)
}

// pod is one pod template of a build, with where it comes from.
type pod struct {
	owner  string // "Deployment sightline-api"
	labels map[string]string
	annots map[string]string
	spec   *corev1.PodSpec
	job    bool
}

func (k *kube) pods() []pod {
	var pods []pod
	for _, name := range slices.Sorted(maps.Keys(k.deployments)) {
		t := &k.deployments[name].Spec.Template
		pods = append(pods, pod{owner: "Deployment " + name, labels: t.Labels, annots: t.Annotations, spec: &t.Spec})
	}
	for _, name := range slices.Sorted(maps.Keys(k.jobs)) {
		t := &k.jobs[name].Spec.Template
		pods = append(pods, pod{owner: "Job " + name, labels: t.Labels, annots: t.Annotations, spec: &t.Spec, job: true})
	}
	return pods
}

// container is one container of a build, with everything it runs with
// resolved: its command line, its environment and the configuration the
// binary reads from it.
type container struct {
	pod
	c   *corev1.Container
	inv invocation
	env map[string]string
	cfg config.Config
}

func (c container) String() string { return c.owner + " container " + c.c.Name }

// containers resolves every container of the build. What cannot be
// resolved is reported, and that container left out.
func (k *kube) containers(b binary) ([]container, []error) {
	var out []container
	var errs []error
	for _, p := range k.pods() {
		if len(p.spec.InitContainers) > 0 {
			errs = append(errs, fmt.Errorf("%s: init containers are not checked here; check them before adding one", p.owner))
		}
		for i := range p.spec.Containers {
			c := container{pod: p, c: &p.spec.Containers[i]}
			var err error
			if len(c.c.Command) > 0 && !slices.Equal(c.c.Command, []string{"sightline"}) {
				errs = append(errs, fmt.Errorf("%s: command %q replaces the image's sightline entrypoint", c, c.c.Command))
				continue
			}
			if c.inv, err = b.parseArgs(c.c.Args); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c, err))
				continue
			}
			env, envErrs := k.containerEnv(p.spec, c.c)
			if len(envErrs) > 0 {
				errs = append(errs, fmt.Errorf("%s: %w", c, errors.Join(envErrs...)))
				continue
			}
			c.env = env
			if c.cfg, err = configFrom(env); err != nil {
				errs = append(errs, fmt.Errorf("%s: the binary would refuse its settings: %w", c, err))
				continue
			}
			out = append(out, c)
		}
	}
	return out, errs
}

// containerEnv is the environment Kubernetes gives a container: envFrom,
// then env over it. Names the configuration does not read, and references
// to ConfigMaps, Secrets, keys or resources not in the build, are errors.
func (k *kube) containerEnv(spec *corev1.PodSpec, c *corev1.Container) (map[string]string, []error) {
	env := map[string]string{}
	var errs []error
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := k.configMaps[from.ConfigMapRef.Name]
			if !ok {
				if from.ConfigMapRef.Optional == nil || !*from.ConfigMapRef.Optional {
					errs = append(errs, fmt.Errorf("envFrom ConfigMap %s is not in the build", from.ConfigMapRef.Name))
				}
				continue
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, ok := k.secrets[from.SecretRef.Name]
			if !ok {
				if from.SecretRef.Optional == nil || !*from.SecretRef.Optional {
					errs = append(errs, fmt.Errorf("envFrom Secret %s is not in the build", from.SecretRef.Name))
				}
				continue
			}
			data = secretData(s)
		}
		for key, v := range data {
			env[from.Prefix+key] = v
		}
	}
	for _, e := range c.Env {
		if err := checkSettingName(e.Name); err != nil {
			errs = append(errs, fmt.Errorf("env: %w", err))
			continue
		}
		v, err := k.envValue(spec, c, e)
		if err != nil {
			errs = append(errs, fmt.Errorf("env %s: %w", e.Name, err))
			continue
		}
		env[e.Name] = v
	}
	for name := range env {
		if err := checkSettingName(name); err != nil {
			errs = append(errs, fmt.Errorf("envFrom: %w", err))
		}
	}
	return env, errs
}

// secretData is a Secret's data as the API server stores it: stringData
// merged over data.
func secretData(s *corev1.Secret) map[string]string {
	data := map[string]string{}
	for key, v := range s.Data {
		data[key] = string(v)
	}
	maps.Copy(data, s.StringData)
	return data
}

func (k *kube) envValue(spec *corev1.PodSpec, c *corev1.Container, e corev1.EnvVar) (string, error) {
	from := e.ValueFrom
	switch {
	case from == nil:
		return e.Value, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		if cm, ok := k.configMaps[ref.Name]; ok {
			if v, ok := cm.Data[ref.Key]; ok {
				return v, nil
			}
		}
		return "", fmt.Errorf("ConfigMap %s has no key %s in the build", ref.Name, ref.Key)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		if s, ok := k.secrets[ref.Name]; ok {
			if v, ok := secretData(s)[ref.Key]; ok {
				return v, nil
			}
		}
		return "", fmt.Errorf("Secret %s has no key %s in the build", ref.Name, ref.Key)
	case from.ResourceFieldRef != nil:
		return resourceField(spec, c, from.ResourceFieldRef)
	}
	return "", errors.New("a valueFrom these checks do not resolve")
}

// resourceField is the downward API's value for ref: the resource in
// units of the divisor, rounded up.
func resourceField(spec *corev1.PodSpec, c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		c = nil
		for i := range spec.Containers {
			if spec.Containers[i].Name == ref.ContainerName {
				c = &spec.Containers[i]
			}
		}
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef names container %q, which the pod does not have", ref.ContainerName)
		}
	}
	kind, name, _ := strings.Cut(ref.Resource, ".")
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		return "", fmt.Errorf("resourceFieldRef %s: the container sets no such %s", ref.Resource, kind)
	}
	div := ref.Divisor
	if div.IsZero() {
		div = resource.MustParse("1")
	}
	n := (q.MilliValue() + div.MilliValue() - 1) / div.MilliValue()
	return strconv.FormatInt(n, 10), nil
}

// --- Kubernetes: the checks ---------------------------------------------

// want is what an overlay is meant to deploy.
type want struct {
	gpu    bool // a GPU detect pool
	apiKey bool // Temporal with an API key (Temporal Cloud)
	mtls   bool // Temporal with a client certificate
}

// overlays are the overlays and what each deploys; the test fails on an
// overlay missing here, so a new one gets its expectations written down.
var overlays = map[string]want{
	"cpu":                {},
	"gpu":                {gpu: true},
	"temporal-cloud":     {apiKey: true},
	"temporal-mtls":      {mtls: true},
	"gpu-temporal-cloud": {gpu: true, apiKey: true},
}

// checkKube runs every check on a build.
func checkKube(k *kube, b binary, w want) []error {
	cs, errs := k.containers(b)
	errs = append(errs, checkObjects(k)...)
	errs = append(errs, checkImages(cs)...)
	errs = append(errs, checkRoles(cs, w)...)
	errs = append(errs, checkPorts(k, cs)...)
	errs = append(errs, checkServices(k)...)
	errs = append(errs, checkScaling(k, cs)...)
	errs = append(errs, checkTemporalAuth(k, cs, w)...)
	errs = append(errs, checkGPU(cs, w)...)
	errs = append(errs, checkSecurity(cs)...)
	return errs
}

// checkObjects checks names, ConfigMap and Secret keys, and that each
// Deployment's selector selects its own pods.
func checkObjects(k *kube) []error {
	var errs []error
	for _, cm := range k.configMaps {
		for key := range cm.Data {
			if err := checkSettingName(key); err != nil {
				errs = append(errs, fmt.Errorf("ConfigMap %s: %w", cm.Name, err))
			}
		}
	}
	for _, s := range k.secrets {
		for key := range secretData(s) {
			if err := checkSettingName(key); err != nil {
				errs = append(errs, fmt.Errorf("Secret %s: %w", s.Name, err))
			}
		}
	}
	for name, d := range k.deployments {
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			errs = append(errs, fmt.Errorf("Deployment %s: %s", name, msg))
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("Deployment %s: selector: %w", name, err))
		case sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)):
			errs = append(errs, fmt.Errorf("Deployment %s: its selector does not select its own pods", name))
		}
	}
	for name := range k.services {
		for _, msg := range validation.IsDNS1035Label(name) {
			errs = append(errs, fmt.Errorf("Service %s: %s", name, msg))
		}
	}
	for name, pdb := range k.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || len(k.selected(sel)) == 0 {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget %s selects no Deployment's pods", name))
		}
	}
	return errs
}

// selected names the Deployments whose pods sel selects.
func (k *kube) selected(sel labels.Selector) []string {
	var names []string
	for name, d := range k.deployments {
		if !sel.Empty() && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// checkImages checks that every container runs the project's image, and
// that exactly the GPU pods run its -gpu tag.
func checkImages(cs []container) []error {
	var errs []error
	for _, c := range cs {
		repo, tag := splitImage(c.c.Image)
		switch {
		case repo != projectImage:
			errs = append(errs, fmt.Errorf("%s: image %q is not %s", c, c.c.Image, projectImage))
		case tag == "":
			errs = append(errs, fmt.Errorf("%s: image %q has no tag", c, c.c.Image))
		case c.inv.gpu != strings.HasSuffix(tag, gpuTagSuffix):
			errs = append(errs, fmt.Errorf("%s: image %q: the %s tag is for `worker --gpu` and only for it", c, c.c.Image, gpuTagSuffix))
		}
	}
	return errs
}

// checkRoles checks that the build runs the API, the main workers and the
// detect workers (and the GPU pool if it should) as Deployments.
func checkRoles(cs []container, w want) []error {
	have := map[string]bool{}
	var errs []error
	for _, c := range cs {
		role := c.inv.command
		if c.inv.command == "worker" {
			role = strings.Join(c.inv.roles, ",")
			if c.inv.gpu {
				role += " --gpu"
			}
		}
		switch {
		case c.job && c.inv.command != "migrate":
			errs = append(errs, fmt.Errorf("%s: a Job runs `sightline %s`, which does not finish", c, c.inv.command))
		case !c.job && c.inv.command != "api" && c.inv.command != "worker":
			errs = append(errs, fmt.Errorf("%s: a Deployment runs `sightline %s`, which is no server", c, c.inv.command))
		}
		have[role] = true
	}
	for _, role := range []string{"api", "main", "detect"} {
		if !have[role] {
			errs = append(errs, fmt.Errorf("nothing runs %q", role))
		}
	}
	if have["detect --gpu"] != w.gpu {
		errs = append(errs, fmt.Errorf("a GPU detect pool: got %v, want %v", have["detect --gpu"], w.gpu))
	}
	return errs
}

// containerPort finds the declared container port a probe or Service
// names, by name or number.
func containerPort(c *corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// checkPorts checks that each server declares the port it listens on, that
// its probes hit declared ports and the right paths, and that Prometheus'
// annotations point at its /metrics.
func checkPorts(k *kube, cs []container) []error {
	var errs []error
	for _, c := range cs {
		for _, p := range c.c.Ports {
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, fmt.Errorf("%s: port %q: %s", c, p.Name, msg))
			}
		}
		for what, pr := range map[string]*corev1.Probe{"startup": c.c.StartupProbe, "readiness": c.c.ReadinessProbe, "liveness": c.c.LivenessProbe} {
			if pr == nil {
				if !c.job && what != "startup" {
					errs = append(errs, fmt.Errorf("%s: no %s probe", c, what))
				}
				continue
			}
			var port intstr.IntOrString
			switch {
			case pr.HTTPGet != nil:
				port = pr.HTTPGet.Port
				if pr.HTTPGet.Path != "/healthz" {
					errs = append(errs, fmt.Errorf("%s: %s probe on %s, not /healthz", c, what, pr.HTTPGet.Path))
				}
			case pr.TCPSocket != nil:
				port = pr.TCPSocket.Port
			default:
				errs = append(errs, fmt.Errorf("%s: %s probe is neither httpGet nor tcpSocket", c, what))
				continue
			}
			if _, ok := containerPort(c.c, port); !ok {
				errs = append(errs, fmt.Errorf("%s: %s probe on port %s, which the container does not declare", c, what, port.String()))
			}
		}
		if c.job {
			continue
		}
		// Where this server listens, as the binary reads its settings.
		var setting, addr string
		switch c.inv.command {
		case "api":
			setting, addr = "SIGHTLINE_API_ADDR", c.cfg.APIAddress
		case "worker":
			setting, addr = "SIGHTLINE_METRICS_ADDR", c.cfg.MetricsAddress
			if c.inv.metricsAddr != "" {
				setting, addr = "--metrics-addr", c.inv.metricsAddr
			}
			if addr == "" {
				errs = append(errs, fmt.Errorf("%s: the worker serves no /metrics and /healthz: set SIGHTLINE_METRICS_ADDR", c))
				continue
			}
		}
		port, err := listenPort(setting, addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
			continue
		}
		if c.inv.command == "worker" && port != metricsPort {
			errs = append(errs, fmt.Errorf("%s: metrics on port %d, want %d everywhere", c, port, metricsPort))
		}
		if _, ok := containerPort(c.c, intstr.FromInt32(port)); !ok {
			errs = append(errs, fmt.Errorf("%s: listens on %d (%s) but declares no such containerPort", c, port, setting))
		}
		for what, pr := range map[string]*corev1.Probe{"startup": c.c.StartupProbe, "readiness": c.c.ReadinessProbe, "liveness": c.c.LivenessProbe} {
			if pr == nil {
				continue
			}
			p := intstr.IntOrString{}
			if pr.HTTPGet != nil {
				p = pr.HTTPGet.Port
			} else if pr.TCPSocket != nil {
				p = pr.TCPSocket.Port
			}
			if cp, ok := containerPort(c.c, p); ok && cp.ContainerPort != port {
				errs = append(errs, fmt.Errorf("%s: %s probe on port %d, but the process listens on %d", c, what, cp.ContainerPort, port))
			}
		}
		if c.inv.command == "api" && (c.c.ReadinessProbe == nil || c.c.ReadinessProbe.HTTPGet == nil) {
			errs = append(errs, fmt.Errorf("%s: the API's readiness is GET /healthz (PostgreSQL and Temporal)", c))
		}
		if c.annots["prometheus.io/scrape"] != "true" {
			errs = append(errs, fmt.Errorf("%s: pod not annotated prometheus.io/scrape: \"true\"", c))
		}
		if got := c.annots["prometheus.io/port"]; got != strconv.Itoa(int(port)) {
			errs = append(errs, fmt.Errorf("%s: prometheus.io/port %q, but /metrics is on %d", c, got, port))
		}
		if got := c.annots["prometheus.io/path"]; got != "" && got != "/metrics" {
			errs = append(errs, fmt.Errorf("%s: prometheus.io/path %q, not /metrics", c, got))
		}
	}
	return errs
}

// checkServices checks that each Service selects pods of the build and
// targets ports they declare.
func checkServices(k *kube) []error {
	var errs []error
	for name, svc := range k.services {
		if len(svc.Spec.Selector) == 0 {
			errs = append(errs, fmt.Errorf("Service %s has no selector", name))
			continue
		}
		targets := k.selected(labels.SelectorFromSet(svc.Spec.Selector))
		if len(targets) == 0 {
			errs = append(errs, fmt.Errorf("Service %s selects no pods of the build", name))
		}
		for _, p := range svc.Spec.Ports {
			tp := p.TargetPort
			if tp.Type == intstr.Int && tp.IntVal == 0 {
				tp = intstr.FromInt32(p.Port)
			}
			for _, d := range targets {
				found := false
				for i := range k.deployments[d].Spec.Template.Spec.Containers {
					if _, ok := containerPort(&k.deployments[d].Spec.Template.Spec.Containers[i], tp); ok {
						found = true
					}
				}
				if !found {
					errs = append(errs, fmt.Errorf("Service %s port %s targets %s, which Deployment %s does not declare", name, p.Name, tp.String(), d))
				}
			}
		}
	}
	return errs
}

// temporalScalerKeys are the metadata keys KEDA's temporal scaler reads
// (pkg/scalers/temporal_scaler.go, KEDA 2.17 to 2.22). KEDA ignores any
// other key, so a misspelt one would be lost without a word.
var temporalScalerKeys = map[string]bool{
	"endpoint": true, "endpointFromEnv": true, "namespace": true, "namespaceFromEnv": true,
	"taskQueue": true, "taskQueueFromEnv": true, "queueTypes": true, "targetQueueSize": true,
	"activationTargetQueueSize": true, "buildId": true, "buildIdFromEnv": true,
	"workerDeploymentName": true, "workerDeploymentBuildId": true, "selectAllActive": true,
	"selectUnversioned": true, "minConnectTimeout": true, "unsafeSsl": true, "tlsServerName": true,
	"includeRunningWorkflowCount": true, "workflowTaskQueueForCount": true, "enableTLS": true,
}

// temporalAuthParams are the TriggerAuthentication parameters it reads.
var temporalAuthParams = map[string]bool{"apiKey": true, "cert": true, "key": true, "keyPassword": true, "ca": true}

// scaledTargets maps each Deployment an autoscaler targets to those
// autoscalers.
func (k *kube) scaledTargets() map[string][]string {
	owners := map[string][]string{}
	for name, h := range k.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind == "Deployment" {
			owners[ref.Name] = append(owners[ref.Name], "HorizontalPodAutoscaler "+name)
		}
	}
	for name, so := range k.scaled {
		if so.Spec.ScaleTargetRef != nil {
			owners[so.Spec.ScaleTargetRef.Name] = append(owners[so.Spec.ScaleTargetRef.Name], "ScaledObject "+name)
		}
	}
	return owners
}

// checkScaling checks the autoscalers: each targets a Deployment of the
// build that leaves its replica count to it, and each KEDA temporal
// trigger watches the activity queue its Deployment serves, on the
// Temporal cluster and namespace its workers use.
func checkScaling(k *kube, cs []container) []error {
	var errs []error
	for target, owners := range k.scaledTargets() {
		d, ok := k.deployments[target]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s scales Deployment %s, which is not in the build", strings.Join(owners, " and "), target))
		case len(owners) > 1:
			errs = append(errs, fmt.Errorf("Deployment %s has two autoscalers, which would fight: %s", target, strings.Join(owners, ", ")))
		case d.Spec.Replicas != nil:
			errs = append(errs, fmt.Errorf("Deployment %s sets replicas, which each `kubectl apply` would reset under %s", target, owners[0]))
		}
	}
	for name, h := range k.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
			errs = append(errs, fmt.Errorf("HorizontalPodAutoscaler %s scales %s %s, not an apps/v1 Deployment", name, ref.APIVersion, ref.Kind))
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			errs = append(errs, fmt.Errorf("HorizontalPodAutoscaler %s: replicas from %v to %d", name, h.Spec.MinReplicas, h.Spec.MaxReplicas))
		}
	}
	for name, so := range k.scaled {
		errs = append(errs, checkScaledObject(k, cs, so)...)
		if err := kedav1alpha1.ValidateTriggers(so.Spec.Triggers); err != nil {
			errs = append(errs, fmt.Errorf("ScaledObject %s: %w", name, err))
		}
	}
	return errs
}

func checkScaledObject(k *kube, cs []container, so *kedav1alpha1.ScaledObject) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("ScaledObject %s: %s", so.Name, fmt.Sprintf(format, args...)))
	}
	ref := so.Spec.ScaleTargetRef
	if ref == nil {
		fail("no scaleTargetRef")
		return errs
	}
	if (ref.Kind != "" && ref.Kind != "Deployment") || (ref.APIVersion != "" && ref.APIVersion != "apps/v1") {
		fail("scales %s %s, not a Deployment", ref.APIVersion, ref.Kind)
	}
	lo, hi := int32(0), int32(100) // KEDA's defaults
	if so.Spec.MinReplicaCount != nil {
		lo = *so.Spec.MinReplicaCount
	}
	if so.Spec.MaxReplicaCount != nil {
		hi = *so.Spec.MaxReplicaCount
	}
	if lo < 0 || hi < 1 || lo > hi {
		fail("replicas from %d to %d", lo, hi)
	}
	var target []container
	for _, c := range cs {
		if c.owner == "Deployment "+ref.Name && (ref.EnvSourceContainerName == "" || ref.EnvSourceContainerName == c.c.Name) {
			target = append(target, c)
		}
	}
	if len(target) != 1 {
		fail("Deployment %s has %d Sightline containers to scale on, want 1", ref.Name, len(target))
		return errs
	}
	c := target[0]
	queue, err := servedQueue(c)
	if err != nil {
		fail("%v", err)
	}
	temporal := 0
	for i, t := range so.Spec.Triggers {
		switch t.Type {
		case "temporal":
			temporal++
			if i != 0 {
				fail("the temporal trigger is trigger %d; the overlays' patches expect it first", i)
			}
			errs = append(errs, checkTemporalTrigger(so.Name, t, c, queue)...)
		case "cpu", "memory":
			res := corev1.ResourceName(t.Type)
			if _, ok := c.c.Resources.Requests[res]; !ok {
				fail("a %s trigger on a container without a %s request", t.Type, t.Type)
			}
			if _, err := strconv.Atoi(t.Metadata["value"]); err != nil {
				fail("%s trigger value %q: %v", t.Type, t.Metadata["value"], err)
			}
		default:
			fail("trigger type %q: these checks know temporal, cpu and memory", t.Type)
		}
	}
	if temporal != 1 {
		fail("%d temporal triggers, want 1", temporal)
	}
	return errs
}

// servedQueue is the task queue a single-role worker takes tasks from.
func servedQueue(c container) (string, error) {
	switch {
	case c.inv.command != "worker":
		return "", fmt.Errorf("%s runs `sightline %s`, which serves no task queue", c, c.inv.command)
	case len(c.inv.roles) != 1:
		return "", fmt.Errorf("%s serves roles %q: one queue per scaled Deployment", c, c.inv.roles)
	case c.inv.serves("detect") && c.inv.gpu:
		return c.cfg.GPUDetectTaskQueue, nil
	case c.inv.serves("detect"):
		return c.cfg.DetectTaskQueue, nil
	}
	return c.cfg.TaskQueue, nil
}

// checkTemporalTrigger checks one KEDA temporal trigger against the
// container it scales.
func checkTemporalTrigger(so string, t kedav1alpha1.ScaleTriggers, c container, queue string) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("ScaledObject %s trigger %s: %s", so, t.Name, fmt.Sprintf(format, args...)))
	}
	for key := range t.Metadata {
		if !temporalScalerKeys[key] {
			fail("metadata key %q is not one KEDA's temporal scaler reads", key)
		}
	}
	// A value, or the name of one of the container's variables holding it.
	value := func(key string) string {
		if name, ok := t.Metadata[key+"FromEnv"]; ok {
			return c.env[name]
		}
		return t.Metadata[key]
	}
	if got := value("taskQueue"); got != queue {
		fail("taskQueue %q, but Deployment's worker serves %q", got, queue)
	}
	if got := t.Metadata["queueTypes"]; got != "activity" {
		fail("queueTypes %q: detection tasks are activities (and the scaler's default counts workflow tasks too)", got)
	}
	if got := value("endpoint"); got != c.cfg.TemporalAddress {
		fail("endpoint %q, but the workers connect to %q (SIGHTLINE_TEMPORAL_ADDRESS)", got, c.cfg.TemporalAddress)
	}
	namespace := value("namespace")
	if namespace == "" {
		namespace = "default" // the scaler's default
	}
	if namespace != c.cfg.TemporalNamespace {
		fail("namespace %q, but the workers use %q (SIGHTLINE_TEMPORAL_NAMESPACE)", namespace, c.cfg.TemporalNamespace)
	}
	for _, key := range []string{"targetQueueSize", "activationTargetQueueSize"} {
		v, ok := t.Metadata[key]
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 || (key == "targetQueueSize" && n == 0) {
			fail("%s %q is not a positive count", key, v)
		}
	}
	return errs
}

// checkTemporalAuth checks that KEDA's scaler authenticates to Temporal as
// the workers do: with the same API key, or the same client certificate,
// and that the certificate files the workers read are mounted.
func checkTemporalAuth(k *kube, cs []container, w want) []error {
	var errs []error
	for _, c := range cs {
		if c.job {
			continue // migrate only needs PostgreSQL
		}
		if (c.cfg.TemporalAPIKey != "") != w.apiKey {
			errs = append(errs, fmt.Errorf("%s: Temporal API key set: %v, want %v", c, c.cfg.TemporalAPIKey != "", w.apiKey))
		}
		if (c.cfg.TemporalTLSCert != "") != w.mtls {
			errs = append(errs, fmt.Errorf("%s: Temporal client certificate set: %v, want %v", c, c.cfg.TemporalTLSCert != "", w.mtls))
		}
		if (w.apiKey || w.mtls) && !c.cfg.TemporalTLS {
			errs = append(errs, fmt.Errorf("%s: SIGHTLINE_TEMPORAL_TLS is off", c))
		}
		for _, f := range []struct{ setting, path string }{
			{"SIGHTLINE_TEMPORAL_TLS_CERT", c.cfg.TemporalTLSCert},
			{"SIGHTLINE_TEMPORAL_TLS_KEY", c.cfg.TemporalTLSKey},
			{"SIGHTLINE_TEMPORAL_TLS_CA", c.cfg.TemporalCA},
		} {
			if f.path == "" {
				continue
			}
			if _, _, err := mountedSecretFile(c, f.path); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", c, f.setting, err))
			}
		}
	}
	for _, so := range k.scaled {
		c := scaledContainer(cs, so)
		if c == nil {
			continue // checkScaling says why
		}
		params := map[string]kedav1alpha1.AuthSecretTargetRef{}
		t := so.Spec.Triggers[0]
		if t.AuthenticationRef != nil {
			ta, ok := k.triggerAuths[t.AuthenticationRef.Name]
			if !ok || (t.AuthenticationRef.Kind != "" && t.AuthenticationRef.Kind != "TriggerAuthentication") {
				errs = append(errs, fmt.Errorf("ScaledObject %s: authenticationRef %s is not a TriggerAuthentication of the build", so.Name, t.AuthenticationRef.Name))
				continue
			}
			for _, ref := range ta.Spec.SecretTargetRef {
				if !temporalAuthParams[ref.Parameter] {
					errs = append(errs, fmt.Errorf("TriggerAuthentication %s: parameter %q is not one KEDA's temporal scaler reads", ta.Name, ref.Parameter))
				}
				params[ref.Parameter] = ref
			}
		}
		errs = append(errs, checkScalerCredentials(k, so.Name, *c, params)...)
	}
	return errs
}

func scaledContainer(cs []container, so *kedav1alpha1.ScaledObject) *container {
	if so.Spec.ScaleTargetRef == nil || len(so.Spec.Triggers) == 0 {
		return nil
	}
	for i, c := range cs {
		if c.owner == "Deployment "+so.Spec.ScaleTargetRef.Name {
			return &cs[i]
		}
	}
	return nil
}

// checkScalerCredentials compares what the scaler authenticates with
// (params, from its TriggerAuthentication) with what container c does.
func checkScalerCredentials(k *kube, so string, c container, params map[string]kedav1alpha1.AuthSecretTargetRef) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("ScaledObject %s: %s", so, fmt.Sprintf(format, args...)))
	}
	if ref, ok := params["apiKey"]; ok {
		s, found := k.secrets[ref.Name]
		switch {
		case !found:
			fail("its API key comes from Secret %s, which is not in the build", ref.Name)
		case secretData(s)[ref.Key] != c.cfg.TemporalAPIKey || c.cfg.TemporalAPIKey == "":
			fail("its API key (Secret %s key %s) is not the one the workers use", ref.Name, ref.Key)
		}
	} else if c.cfg.TemporalAPIKey != "" {
		fail("the workers use a Temporal API key; the scaler has none (authenticationRef with parameter apiKey)")
	}
	for _, f := range []struct{ param, path string }{
		{"cert", c.cfg.TemporalTLSCert}, {"key", c.cfg.TemporalTLSKey}, {"ca", c.cfg.TemporalCA},
	} {
		ref, ok := params[f.param]
		switch {
		case f.path == "" && ok:
			fail("the scaler presents a %s the workers do not use", f.param)
		case f.path == "":
		case !ok:
			fail("the workers use a TLS %s (%s); the scaler has none", f.param, f.path)
		default:
			secret, key, err := mountedSecretFile(c, f.path)
			if err == nil && (secret != ref.Name || key != ref.Key) {
				fail("its %s is Secret %s key %s, but the workers read Secret %s key %s", f.param, ref.Name, ref.Key, secret, key)
			}
		}
	}
	return errs
}

// mountedSecretFile finds which Secret, and which key of it, file is in
// container c: a file under a Secret volume's mount.
func mountedSecretFile(c container, file string) (secret, key string, err error) {
	for _, m := range c.c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range c.spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.Secret == nil {
				return "", "", fmt.Errorf("%s is on volume %s, which is not a Secret", file, v.Name)
			}
			for _, item := range v.Secret.Items {
				if item.Path == rel {
					return v.Secret.SecretName, item.Key, nil
				}
			}
			if len(v.Secret.Items) > 0 {
				return "", "", fmt.Errorf("%s: Secret volume %s lists no such item", file, v.Name)
			}
			return v.Secret.SecretName, rel, nil
		}
		return "", "", fmt.Errorf("%s: volume mount %s names no volume of the pod", file, m.Name)
	}
	return "", "", fmt.Errorf("%s is on no volume the container mounts", file)
}

// checkGPU checks the GPU pool: `worker --roles detect --gpu` asking for
// a GPU, on GPU nodes, and nothing else asking for one.
func checkGPU(cs []container, w want) []error {
	var errs []error
	for _, c := range cs {
		limit := c.c.Resources.Limits[gpuResource]
		request, hasRequest := c.c.Resources.Requests[gpuResource]
		asks := !limit.IsZero()
		switch {
		case asks != c.inv.gpu:
			errs = append(errs, fmt.Errorf("%s: asks for %s: %v, runs --gpu: %v", c, gpuResource, asks, c.inv.gpu))
		case hasRequest && !request.Equal(limit):
			errs = append(errs, fmt.Errorf("%s: %s request %s and limit %s differ", c, gpuResource, request.String(), limit.String()))
		}
		if !c.inv.gpu {
			continue
		}
		if !slices.Equal(c.inv.roles, []string{"detect"}) {
			errs = append(errs, fmt.Errorf("%s: --gpu with roles %q: a GPU pod only detects", c, c.inv.roles))
		}
		if len(c.spec.NodeSelector) == 0 && c.spec.Affinity == nil {
			errs = append(errs, fmt.Errorf("%s: no nodeSelector or affinity for GPU nodes", c))
		}
		tolerates := false
		for _, t := range c.spec.Tolerations {
			tolerates = tolerates || t.Key == string(gpuResource)
		}
		if !tolerates {
			errs = append(errs, fmt.Errorf("%s: tolerates no %s taint", c, gpuResource))
		}
	}
	return errs
}

// checkSecurity checks that every container runs as the image's user,
// unprivileged, with its resources bounded.
func checkSecurity(cs []container) []error {
	var errs []error
	for _, c := range cs {
		psc, sc := c.spec.SecurityContext, c.c.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != imageUID {
			errs = append(errs, fmt.Errorf("%s: pod must run as non-root uid %d, the image's user", c, imageUID))
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			errs = append(errs, fmt.Errorf("%s: allowPrivilegeEscalation must be false", c))
		}
		if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem && !c.job {
			tmp := slices.ContainsFunc(c.c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" })
			if !tmp {
				errs = append(errs, fmt.Errorf("%s: a read-only root file system needs a writable /tmp", c))
			}
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.c.Resources.Requests[res]; !ok {
				errs = append(errs, fmt.Errorf("%s: no %s request", c, res))
			}
		}
		if _, ok := c.c.Resources.Limits[corev1.ResourceMemory]; !ok {
			errs = append(errs, fmt.Errorf("%s: no memory limit", c))
		}
	}
	return errs
}

// --- Kubernetes: the tests ----------------------------------------------

// TestOverlays builds every overlay, and the base on its own, and checks
// each.
func TestOverlays(t *testing.T) {
	b := mustBinary(t)
	entries, err := os.ReadDir(filepath.Join(kubeDir, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if got, want := dirs, slices.Sorted(maps.Keys(overlays)); !slices.Equal(got, want) {
		t.Errorf("overlays on disk %q, expectations written for %q", got, want)
	}
	builds := map[string]want{filepath.Join(kubeDir, "base"): {}}
	for _, d := range dirs {
		builds[filepath.Join(kubeDir, "overlays", d)] = overlays[d]
	}
	for dir, w := range builds {
		t.Run(dir, func(t *testing.T) {
			k, err := buildKube(filesys.MakeFsOnDisk(), dir)
			if err != nil {
				t.Fatal(err)
			}
			report(t, checkKube(k, b, w))
		})
	}
}

// memFS copies deploy/kubernetes into an in-memory file system under
// /kubernetes, with extra files added, so a test can build an overlay of
// its own without writing in the repository.
func memFS(t *testing.T, extra map[string]string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(kubeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(p), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range extra {
		if err := mem.WriteFile(path.Join("/kubernetes", name), []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// TestUserOverlays builds overlays a user would write on top of ours and
// checks that the references kustomize must rewrite still hold.
func TestUserOverlays(t *testing.T) {
	b := mustBinary(t)
	for name, tc := range map[string]struct {
		kustomization string
		want          want
	}{
		// A prefix renames the Deployments, Secrets and
		// TriggerAuthentications that KEDA's objects name
		// (base/kustomizeconfig.yaml).
		"prefix": {`
resources: [../../overlays/gpu-temporal-cloud]
namePrefix: prod-
namespace: video
`, want{gpu: true, apiKey: true}},
		// Pinning a version, as components/gpu says.
		"pinned": {`
resources: [../../base]
components: [../../components/gpu]
images:
  - name: ghcr.io/sightline-video/sightline
    newTag: v1.2.3
  - name: sightline-gpu
    newName: ghcr.io/sightline-video/sightline
    newTag: v1.2.3-gpu
`, want{gpu: true}},
		// Temporal Cloud with client certificates, as components/temporal-mtls says.
		"cloud-mtls": {`
resources: [../../base]
components: [../../components/temporal-mtls]
configMapGenerator:
  - name: sightline-config
    behavior: merge
    literals:
      - SIGHTLINE_TEMPORAL_ADDRESS=prod.a1b2c.tmprl.cloud:7233
      - SIGHTLINE_TEMPORAL_NAMESPACE=prod.a1b2c
patches:
  - target: {group: keda.sh, kind: ScaledObject}
    patch: |-
      - {op: replace, path: /spec/triggers/0/metadata/endpoint, value: "prod.a1b2c.tmprl.cloud:7233"}
      - {op: replace, path: /spec/triggers/0/metadata/namespace, value: prod.a1b2c}
`, want{mtls: true}},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := memFS(t, map[string]string{"user/" + name + "/kustomization.yaml": tc.kustomization})
			k, err := buildKube(fsys, "/kubernetes/user/"+name)
			if err != nil {
				t.Fatal(err)
			}
			report(t, checkKube(k, b, tc.want))
			if name == "pinned" {
				for n, d := range k.deployments {
					if _, tag := splitImage(d.Spec.Template.Spec.Containers[0].Image); !strings.HasPrefix(tag, "v1.2.3") {
						t.Errorf("Deployment %s runs %s, want the pinned v1.2.3", n, d.Spec.Template.Spec.Containers[0].Image)
					}
				}
			}
		})
	}
}

// TestDecodeStrict feeds broken objects through the decoder the builds
// use.
func TestDecodeStrict(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"misspelt field": {`
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec: {replica: 2, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: []}}}
`, `unknown field "spec.replica"`},
		"field in the wrong case": {`
apiVersion: v1
kind: Service
metadata: {name: x}
spec: {Selector: {a: b}}
`, `unknown field "spec.Selector"`},
		"unknown kind": {`
apiVersion: apps/v1
kind: Deploymnet
metadata: {name: x}
`, "not a kind these manifests use"},
		"kind of another version": {`
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: x}
`, "not a kind these manifests use"},
		"KEDA misspelt field": {`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec: {scaleTargetRef: {name: d}, trigers: []}
`, `unknown field "spec.trigers"`},
		"KEDA auth unknown field": {`
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: x}
spec: {secretTargetRef: [{parameter: apiKey, name: s, key: k, optional: true}]}
`, `unknown field "spec.secretTargetRef[0].optional"`},
		"wrong type": {`
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
data: {SIGHTLINE_DETECT_WORKERS: 4}
`, "cannot unmarshal number"},
	} {
		if _, err := decodeYAML(tc.doc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %s", name, err, tc.want)
		}
	}
	dup := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"A":"1"},"data":{"B":"2"}}`
	if _, err := decodeStrict([]byte(dup)); err == nil || !strings.Contains(err.Error(), "duplicate field") {
		t.Errorf("a duplicated field: error %v", err)
	}
	ok := `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec: {scaleTargetRef: {name: d}, triggers: [{type: temporal, metadata: {taskQueue: q}}]}
`
	if _, err := decodeYAML(ok); err != nil {
		t.Errorf("a valid ScaledObject: %v", err)
	}
}

// TestBuildStrict checks that a misspelt field in an overlay's patch
// fails the build's decoding, not only a hand-fed document.
func TestBuildStrict(t *testing.T) {
	fsys := memFS(t, map[string]string{"user/typo/kustomization.yaml": `
resources: [../../overlays/cpu]
patches:
  - target: {kind: Deployment, name: sightline-detect}
    patch: |-
      - {op: add, path: /spec/template/spec/containers/0/resource, value: {limits: {cpu: "2"}}}
`})
	_, err := buildKube(fsys, "/kubernetes/user/typo")
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.template.spec.containers[0].resource"`) {
		t.Errorf("a misspelt field in a patch: error %v", err)
	}
}

// fresh builds an overlay for a test to break.
func fresh(t *testing.T, overlay string) *kube {
	t.Helper()
	k, err := buildKube(filesys.MakeFsOnDisk(), filepath.Join(kubeDir, "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func configMap(t *testing.T, k *kube) *corev1.ConfigMap {
	t.Helper()
	for name, cm := range k.configMaps {
		if strings.HasPrefix(name, "sightline-config") {
			return cm
		}
	}
	t.Fatal("no sightline-config ConfigMap in the build")
	return nil
}

// TestChecksCatch breaks a good build one way at a time and expects the
// checks to say so: each check can fail.
func TestChecksCatch(t *testing.T) {
	b := mustBinary(t)
	for _, tc := range []struct {
		name, overlay, want string
		w                   want
		breakIt             func(k *kube)
	}{
		{"unknown env name", "cpu", "SIGHTLINE_DETECT_WORKER is not a setting", want{}, func(k *kube) {
			c := &k.deployments["sightline-detect"].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "SIGHTLINE_DETECT_WORKER", Value: "2"})
		}},
		{"unknown ConfigMap key", "cpu", "SIGHTLINE_TEMPORAL_ADRESS is not a setting", want{}, func(k *kube) { //nolint:misspell // a misspelt setting on purpose
			configMap(t, k).Data["SIGHTLINE_TEMPORAL_ADRESS"] = "x:7233" //nolint:misspell // on purpose
		}},
		{"unknown Secret key", "cpu", "SIGHTLINE_PG_PASSWORD is not a setting", want{}, func(k *kube) {
			k.secrets["sightline-secrets"].StringData["SIGHTLINE_PG_PASSWORD"] = "x"
		}},
		{"malformed setting", "cpu", `SIGHTLINE_RETAIN_ROWS_DAYS="a year"`, want{}, func(k *kube) {
			configMap(t, k).Data["SIGHTLINE_RETAIN_ROWS_DAYS"] = "a year"
		}},
		{"missing ConfigMap", "cpu", "envFrom ConfigMap nope is not in the build", want{}, func(k *kube) {
			k.deployments["sightline-api"].Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name = "nope"
		}},
		{"unknown subcommand", "cpu", `"wroker" is not a sightline subcommand`, want{}, func(k *kube) {
			k.deployments["sightline-worker"].Spec.Template.Spec.Containers[0].Args = []string{"wroker", "--roles", "main"}
		}},
		{"unknown flag", "cpu", "flag provided but not defined: -role", want{}, func(k *kube) {
			k.deployments["sightline-worker"].Spec.Template.Spec.Containers[0].Args = []string{"worker", "--role", "main"}
		}},
		{"unknown role", "cpu", `role "capture" is not one of`, want{}, func(k *kube) {
			k.deployments["sightline-worker"].Spec.Template.Spec.Containers[0].Args = []string{"worker", "--roles", "capture"}
		}},
		{"entrypoint replaced", "cpu", "replaces the image's sightline entrypoint", want{}, func(k *kube) {
			k.deployments["sightline-api"].Spec.Template.Spec.Containers[0].Command = []string{"/bin/sh", "-c"}
		}},
		{"foreign image", "cpu", `image "docker.io/library/sightline:latest" is not`, want{}, func(k *kube) {
			k.deployments["sightline-api"].Spec.Template.Spec.Containers[0].Image = "docker.io/library/sightline:latest"
		}},
		{"Service selects nothing", "cpu", "Service sightline-api selects no pods", want{}, func(k *kube) {
			k.services["sightline-api"].Spec.Selector["app.kubernetes.io/component"] = "apii"
		}},
		{"Service targets an undeclared port", "cpu", "targets web, which Deployment sightline-api does not declare", want{}, func(k *kube) {
			k.services["sightline-api"].Spec.Ports[0].TargetPort = intstr.FromString("web")
		}},
		{"probe on an undeclared port", "cpu", "liveness probe on port 8081, which the container does not declare", want{}, func(k *kube) {
			k.deployments["sightline-api"].Spec.Template.Spec.Containers[0].LivenessProbe.TCPSocket.Port = intstr.FromInt32(8081)
		}},
		{"metrics address on loopback", "cpu", "listens on loopback", want{}, func(k *kube) {
			configMap(t, k).Data["SIGHTLINE_METRICS_ADDR"] = "127.0.0.1:9464"
		}},
		{"metrics port moved", "cpu", "metrics on port 9100, want 9464", want{}, func(k *kube) {
			configMap(t, k).Data["SIGHTLINE_METRICS_ADDR"] = "0.0.0.0:9100"
		}},
		{"scrape annotation on the wrong port", "cpu", `prometheus.io/port "9090"`, want{}, func(k *kube) {
			k.deployments["sightline-detect"].Spec.Template.Annotations["prometheus.io/port"] = "9090"
		}},
		{"wrong queue", "cpu", `taskQueue "sightline-detekt", but Deployment's worker serves "sightline-detect"`, want{}, func(k *kube) {
			k.scaled["sightline-detect"].Spec.Triggers[0].Metadata["taskQueue"] = "sightline-detekt"
		}},
		{"queue moved in the ConfigMap only", "cpu", `serves "video-detect"`, want{}, func(k *kube) {
			configMap(t, k).Data["SIGHTLINE_DETECT_TASK_QUEUE"] = "video-detect"
		}},
		{"workflow queue type", "cpu", `queueTypes "workflow"`, want{}, func(k *kube) {
			k.scaled["sightline-detect"].Spec.Triggers[0].Metadata["queueTypes"] = "workflow"
		}},
		{"misspelt scaler key", "cpu", `metadata key "taskqueue"`, want{}, func(k *kube) {
			k.scaled["sightline-detect"].Spec.Triggers[0].Metadata["taskqueue"] = "sightline-detect"
		}},
		{"other Temporal cluster", "cpu", "but the workers connect to", want{}, func(k *kube) {
			configMap(t, k).Data["SIGHTLINE_TEMPORAL_ADDRESS"] = "temporal.example.com:7233"
		}},
		{"other namespace", "cpu", "but the workers use", want{}, func(k *kube) {
			k.scaled["sightline-detect"].Spec.Triggers[0].Metadata["namespace"] = "video"
		}},
		{"scaling a Deployment not in the build", "cpu", "scales Deployment sightline-detector, which is not in the build", want{}, func(k *kube) {
			k.scaled["sightline-detect"].Spec.ScaleTargetRef.Name = "sightline-detector"
		}},
		{"replicas under an autoscaler", "cpu", "sets replicas", want{}, func(k *kube) {
			n := int32(3)
			k.deployments["sightline-detect"].Spec.Replicas = &n
		}},
		{"two autoscalers", "cpu", "has two autoscalers", want{}, func(k *kube) {
			k.hpas["sightline-worker"].Spec.ScaleTargetRef.Name = "sightline-detect"
		}},
		{"GPU pool without a GPU", "gpu", "asks for nvidia.com/gpu: false, runs --gpu: true", want{gpu: true}, func(k *kube) {
			r := &k.deployments["sightline-detect-gpu"].Spec.Template.Spec.Containers[0].Resources
			delete(r.Limits, gpuResource)
			delete(r.Requests, gpuResource)
		}},
		{"GPU pool anywhere", "gpu", "no nodeSelector or affinity", want{gpu: true}, func(k *kube) {
			k.deployments["sightline-detect-gpu"].Spec.Template.Spec.NodeSelector = nil
		}},
		{"GPU pool not tolerating", "gpu", "tolerates no nvidia.com/gpu taint", want{gpu: true}, func(k *kube) {
			k.deployments["sightline-detect-gpu"].Spec.Template.Spec.Tolerations = nil
		}},
		{"GPU pool on the CPU queue", "gpu", "runs --gpu: false", want{gpu: true}, func(k *kube) {
			k.deployments["sightline-detect-gpu"].Spec.Template.Spec.Containers[0].Args = []string{"worker", "--roles", "detect"}
		}},
		{"GPU pool on the plain image", "gpu", "tag is for `worker --gpu` and only for it", want{gpu: true}, func(k *kube) {
			k.deployments["sightline-detect-gpu"].Spec.Template.Spec.Containers[0].Image = projectImage + ":latest"
		}},
		{"scaler without the API key", "temporal-cloud", "the scaler has none", want{apiKey: true}, func(k *kube) {
			k.scaled["sightline-detect"].Spec.Triggers[0].AuthenticationRef = nil
		}},
		{"scaler with another key", "temporal-cloud", "is not the one the workers use", want{apiKey: true}, func(k *kube) {
			k.triggerAuths["sightline-temporal-cloud"].Spec.SecretTargetRef[0].Key = "SIGHTLINE_MINIO_ACCESS_KEY"
		}},
		{"scaler with another certificate", "temporal-mtls", "but the workers read Secret sightline-temporal-tls key tls.crt", want{mtls: true}, func(k *kube) {
			k.triggerAuths["sightline-temporal-mtls"].Spec.SecretTargetRef[0].Name = "old-tls"
		}},
		{"certificate not mounted", "temporal-mtls", "is on no volume the container mounts", want{mtls: true}, func(k *kube) {
			c := &k.deployments["sightline-api"].Spec.Template.Spec.Containers[0]
			c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "temporal-tls" })
		}},
		{"running as root", "cpu", "must run as non-root", want{}, func(k *kube) {
			k.deployments["sightline-api"].Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := fresh(t, tc.overlay)
			if errs := checkKube(k, b, tc.w); len(errs) > 0 {
				t.Fatalf("the unbroken build fails: %v", errs)
			}
			tc.breakIt(k)
			mustFail(t, tc.name, tc.want, checkKube(k, b, tc.w))
		})
	}
}

// TestDefaultQueue: with the queue left out of the ConfigMap, the workers
// serve the contract's default, and the ScaledObject must say that.
func TestDefaultQueue(t *testing.T) {
	b := mustBinary(t)
	k := fresh(t, "cpu")
	delete(configMap(t, k).Data, "SIGHTLINE_DETECT_TASK_QUEUE")
	k.scaled["sightline-detect"].Spec.Triggers[0].Metadata["taskQueue"] = contract.DefaultDetectTaskQueue
	report(t, checkKube(k, b, want{}))
}

// TestGPUComponentNeedsItsImage: the gpu component alone leaves its pool's
// image a placeholder for the overlay to name.
func TestGPUComponentNeedsItsImage(t *testing.T) {
	b := mustBinary(t)
	fsys := memFS(t, map[string]string{"user/bare/kustomization.yaml": `
resources: [../../base]
components: [../../components/gpu]
`})
	k, err := buildKube(fsys, "/kubernetes/user/bare")
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, "the gpu component without its images entry", `image "sightline-gpu" is not`, checkKube(k, b, want{gpu: true}))
}

// TestOperationsRecipe builds the overlay docs/operations.md shows: a
// namespace, addresses merged into the ConfigMap, a pinned image, the
// ScaledObjects pointed at the same Temporal, and the Secret template
// deleted for one created by hand.
func TestOperationsRecipe(t *testing.T) {
	b := mustBinary(t)
	fsys := memFS(t, map[string]string{"user/mine/kustomization.yaml": `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: sightline
resources:
  - ../../overlays/cpu
configMapGenerator:
  - name: sightline-config
    behavior: merge
    literals:
      - SIGHTLINE_TEMPORAL_ADDRESS=temporal.example.internal:7233
      - SIGHTLINE_MINIO_ENDPOINT=minio.example.internal:9000
images:
  - name: ghcr.io/sightline-video/sightline
    newTag: v1.2.3
patches:
  - target: {group: keda.sh, kind: ScaledObject}
    patch: |-
      - {op: replace, path: /spec/triggers/0/metadata/endpoint, value: "temporal.example.internal:7233"}
  - patch: |-
      $patch: delete
      apiVersion: v1
      kind: Secret
      metadata:
        name: sightline-secrets
`})
	k, err := buildKube(fsys, "/kubernetes/user/mine")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.secrets["sightline-secrets"]; ok {
		t.Fatal("the Secret template is still in the build")
	}
	mustFail(t, "no Secret at all", "envFrom Secret sightline-secrets is not in the build", checkKube(k, b, want{}))
	// What `kubectl create secret generic sightline-secrets ...` makes.
	k.secrets["sightline-secrets"] = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sightline-secrets", Namespace: "sightline"},
		Data: map[string][]byte{
			"SIGHTLINE_PG_DSN":           []byte("postgres://sightline:pw@db.example.internal:5432/sightline?sslmode=require"),
			"SIGHTLINE_MINIO_ACCESS_KEY": []byte("sightline"),
			"SIGHTLINE_MINIO_SECRET_KEY": []byte("secret"),
			"SIGHTLINE_API_TOKEN":        []byte("token"),
		},
	}
	report(t, checkKube(k, b, want{}))
	for name, d := range k.deployments {
		if d.Namespace != "sightline" || !strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, ":v1.2.3") {
			t.Errorf("Deployment %s: namespace %q, image %s", name, d.Namespace, d.Spec.Template.Spec.Containers[0].Image)
		}
	}
}
