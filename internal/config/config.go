// Package config reads Sightline's settings from the environment, all in
// one place and strictly: a malformed value is an error naming the variable
// and the value, so a process stops at start rather than run on a default it
// was not told. The defaults match the local services started by `make up`.
// Any package can import it: it links no Sightline package but the leaf
// contract, for the default queue names.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
)

// Config is everything a Sightline process needs to reach its services.
type Config struct {
	PostgresDSN       string // SIGHTLINE_PG_DSN
	TemporalAddress   string // SIGHTLINE_TEMPORAL_ADDRESS
	TemporalNamespace string // SIGHTLINE_TEMPORAL_NAMESPACE
	// Temporal Cloud or a cluster behind TLS: an API key, or a client
	// certificate (mTLS). Either turns TLS on; TemporalTLS alone trusts the
	// system's roots.
	TemporalTLS     bool   // SIGHTLINE_TEMPORAL_TLS
	TemporalTLSCert string // SIGHTLINE_TEMPORAL_TLS_CERT: client certificate (PEM file)
	TemporalTLSKey  string // SIGHTLINE_TEMPORAL_TLS_KEY: its private key (PEM file)
	TemporalCA      string // SIGHTLINE_TEMPORAL_TLS_CA: CA bundle (PEM file) replacing the system's roots
	TemporalAPIKey  string // SIGHTLINE_TEMPORAL_API_KEY: never logged
	MinIOEndpoint   string // SIGHTLINE_MINIO_ENDPOINT (host:port)
	MinIOAccessKey  string // SIGHTLINE_MINIO_ACCESS_KEY
	MinIOSecretKey  string // SIGHTLINE_MINIO_SECRET_KEY
	MinIOBucket     string // SIGHTLINE_MINIO_BUCKET
	APIAddress      string // SIGHTLINE_API_ADDR
	// MetricsAddress serves /metrics for a worker; empty: none. The API
	// serves /metrics on APIAddress whatever this says.
	MetricsAddress     string // SIGHTLINE_METRICS_ADDR
	TaskQueue          string // SIGHTLINE_TASK_QUEUE: workflows, capture, rollup
	DetectTaskQueue    string // SIGHTLINE_DETECT_TASK_QUEUE: detection activities
	GPUDetectTaskQueue string // SIGHTLINE_GPU_DETECT_TASK_QUEUE: detection on GPU workers (worker --gpu)
	// Model is the default model: a registry name, or a path to an .onnx
	// file of layout ModelLayout. Empty means the embedded YOLOX-Nano.
	Model         string // SIGHTLINE_MODEL
	ModelLayout   string // SIGHTLINE_MODEL_LAYOUT: yolox (default), yolov5, yolov8, picodet
	ModelsDir     string // SIGHTLINE_MODELS_DIR: folder of *.json model specs added to the registry
	DetectWorkers int    // SIGHTLINE_DETECT_WORKERS: networks run in parallel per worker (default: one per core)
	DetectBatch   int    // SIGHTLINE_DETECT_BATCH: frames per forward pass (default 1 on CPU, 8 on GPU)
	// DetectBackend runs the forward pass: onnxruntime, opencv, or empty for
	// ONNX Runtime when its library loads and OpenCV otherwise.
	DetectBackend string // SIGHTLINE_DETECT_BACKEND
	ORTLibrary    string // SIGHTLINE_ORT_LIB: path of libonnxruntime.so (default: .tools/lib, then the system's)
	// GPUProvider is what a GPU worker (worker --gpu) detects with: cuda,
	// or tensorrt (with CUDA for what TensorRT does not run).
	GPUProvider   string // SIGHTLINE_GPU_PROVIDER
	TensorRTCache string // SIGHTLINE_TENSORRT_CACHE: TensorRT's engine cache (default: the user's cache directory)
	// Source policy. Both default to true for a local deployment; set both
	// to false when the API is exposed to people who should not make the
	// workers read local files or reach private hosts.
	AllowFileSources    bool // SIGHTLINE_ALLOW_FILE_SOURCES: local files and webcams
	AllowPrivateSources bool // SIGHTLINE_ALLOW_PRIVATE_SOURCES: loopback and private hosts (link-local and metadata addresses never)

	LogLevel slog.Level // SIGHTLINE_LOG_LEVEL: debug, info (default), warn or error

	// Rollups. RollupVars stays raw, "name=value; ...": dbt_like parses it
	// when the project loads, at process start.
	RollupModelsDir string // SIGHTLINE_ROLLUP_MODELS: folder of .sql models layered over the built-in ones
	RollupVars      string // SIGHTLINE_ROLLUP_VARS: rollup vars, e.g. "min_score=0.5; bucket='5 minutes'"

	// API bearer tokens; empty means no check. Never logged: String and
	// LogValue redact them.
	APIToken     string // SIGHTLINE_API_TOKEN: changes and reads
	APIReadToken string // SIGHTLINE_API_READ_TOKEN: reads

	// Retention: stored chunks and rows older than this many days are
	// deleted, every RetentionEvery. 0 keeps them forever.
	RetainChunksDays int           // SIGHTLINE_RETAIN_CHUNKS_DAYS (default 7)
	RetainRowsDays   int           // SIGHTLINE_RETAIN_ROWS_DAYS (default 365)
	RetentionEvery   time.Duration // SIGHTLINE_RETENTION_EVERY (default 1h, at least 1m)
}

// ModelLayouts are the output layouts the detector decodes.
var ModelLayouts = []string{"yolox", "yolov5", "yolov8", "picodet"}

// DetectBackends are the runtimes SIGHTLINE_DETECT_BACKEND names (the
// detector's Runtime* constants; a test keeps them equal).
var DetectBackends = []string{"onnxruntime", "opencv"}

// GPUProviders are the providers SIGHTLINE_GPU_PROVIDER names (the
// detector's GPU Backend* constants; a test keeps them equal).
var GPUProviders = []string{"cuda", "tensorrt"}

// logLevels are the names SIGHTLINE_LOG_LEVEL takes.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// MinRetentionEvery keeps the retention sweep from running back to back.
const MinRetentionEvery = time.Minute

// Load reads the configuration from the process environment.
func Load() (Config, error) { return FromLookup(os.LookupEnv) }

// FromLookup reads the configuration through lookup, which answers like
// os.LookupEnv. An empty value counts as unset. Every malformed value is
// reported, joined in one error. Variables it does not know are ignored.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		PostgresDSN:         r.str("SIGHTLINE_PG_DSN", "postgres://postgres@127.0.0.1:55432/sightline?sslmode=disable"),
		TemporalAddress:     r.str("SIGHTLINE_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:   r.str("SIGHTLINE_TEMPORAL_NAMESPACE", "default"),
		TemporalTLS:         r.bool("SIGHTLINE_TEMPORAL_TLS", false),
		TemporalTLSCert:     r.str("SIGHTLINE_TEMPORAL_TLS_CERT", ""),
		TemporalTLSKey:      r.str("SIGHTLINE_TEMPORAL_TLS_KEY", ""),
		TemporalCA:          r.str("SIGHTLINE_TEMPORAL_TLS_CA", ""),
		TemporalAPIKey:      r.str("SIGHTLINE_TEMPORAL_API_KEY", ""),
		MinIOEndpoint:       r.str("SIGHTLINE_MINIO_ENDPOINT", "127.0.0.1:9000"),
		MinIOAccessKey:      r.str("SIGHTLINE_MINIO_ACCESS_KEY", "sightline"),
		MinIOSecretKey:      r.str("SIGHTLINE_MINIO_SECRET_KEY", "sightline-secret"),
		MinIOBucket:         r.str("SIGHTLINE_MINIO_BUCKET", "sightline"),
		APIAddress:          r.str("SIGHTLINE_API_ADDR", "127.0.0.1:8080"),
		MetricsAddress:      r.str("SIGHTLINE_METRICS_ADDR", ""),
		TaskQueue:           r.str("SIGHTLINE_TASK_QUEUE", contract.DefaultTaskQueue),
		DetectTaskQueue:     r.str("SIGHTLINE_DETECT_TASK_QUEUE", contract.DefaultDetectTaskQueue),
		GPUDetectTaskQueue:  r.str("SIGHTLINE_GPU_DETECT_TASK_QUEUE", contract.DefaultGPUDetectQueue),
		Model:               r.str("SIGHTLINE_MODEL", ""),
		ModelLayout:         r.oneOf("SIGHTLINE_MODEL_LAYOUT", "yolox", ModelLayouts),
		ModelsDir:           r.str("SIGHTLINE_MODELS_DIR", ""),
		DetectWorkers:       r.int("SIGHTLINE_DETECT_WORKERS", 0, 0),
		DetectBatch:         r.int("SIGHTLINE_DETECT_BATCH", 0, 0),
		DetectBackend:       r.oneOf("SIGHTLINE_DETECT_BACKEND", "", DetectBackends),
		ORTLibrary:          r.str("SIGHTLINE_ORT_LIB", ""),
		GPUProvider:         r.oneOf("SIGHTLINE_GPU_PROVIDER", "cuda", GPUProviders),
		TensorRTCache:       r.str("SIGHTLINE_TENSORRT_CACHE", ""),
		AllowFileSources:    r.bool("SIGHTLINE_ALLOW_FILE_SOURCES", true),
		AllowPrivateSources: r.bool("SIGHTLINE_ALLOW_PRIVATE_SOURCES", true),
		LogLevel:            r.level("SIGHTLINE_LOG_LEVEL", slog.LevelInfo),
		RollupModelsDir:     r.str("SIGHTLINE_ROLLUP_MODELS", ""),
		RollupVars:          r.str("SIGHTLINE_ROLLUP_VARS", ""),
		APIToken:            r.str("SIGHTLINE_API_TOKEN", ""),
		APIReadToken:        r.str("SIGHTLINE_API_READ_TOKEN", ""),
		RetainChunksDays:    r.int("SIGHTLINE_RETAIN_CHUNKS_DAYS", 7, 0),
		RetainRowsDays:      r.int("SIGHTLINE_RETAIN_ROWS_DAYS", 365, 0),
		RetentionEvery:      r.duration("SIGHTLINE_RETENTION_EVERY", time.Hour, MinRetentionEvery),
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		r.errs = append(r.errs, errors.New("SIGHTLINE_TEMPORAL_TLS_CERT and SIGHTLINE_TEMPORAL_TLS_KEY go together: set both or neither"))
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// reader reads variables, collecting what is wrong with them.
type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// get returns the variable's value, or false when unset or empty.
func (r *reader) get(key string) (string, bool) {
	v, ok := r.lookup(key)
	return v, ok && v != ""
}

func (r *reader) fail(key, value, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s=%q: %s", key, value, fmt.Sprintf(format, args...)))
}

func (r *reader) str(key, def string) string {
	if v, ok := r.get(key); ok {
		return v
	}
	return def
}

func (r *reader) int(key string, def, least int) int {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		r.fail(key, v, "not an integer")
		return def
	case n < least:
		r.fail(key, v, "must be at least %d", least)
		return def
	}
	return n
}

func (r *reader) bool(key string, def bool) bool {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.fail(key, v, "not a boolean (true or false)")
		return def
	}
	return b
}

func (r *reader) duration(key string, def, least time.Duration) time.Duration {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	switch {
	case err != nil:
		r.fail(key, v, "not a duration (such as 30m or 1h)")
		return def
	case d < least:
		r.fail(key, v, "must be at least %v", least)
		return def
	}
	return d
}

func (r *reader) oneOf(key, def string, allowed []string) string {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	if !slices.Contains(allowed, v) {
		r.fail(key, v, "not one of %s", strings.Join(allowed, ", "))
		return def
	}
	return v
}

func (r *reader) level(key string, def slog.Level) slog.Level {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	l, found := logLevels[strings.ToLower(strings.TrimSpace(v))]
	if !found {
		r.fail(key, v, "not one of debug, info, warn, error")
		return def
	}
	return l
}

// LogValue shows the configuration with its secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("pg_dsn", redactDSN(c.PostgresDSN)),
		slog.String("temporal_address", c.TemporalAddress),
		slog.String("temporal_namespace", c.TemporalNamespace),
		slog.Bool("temporal_tls", c.TemporalTLS),
		slog.String("temporal_tls_cert", c.TemporalTLSCert),
		slog.String("temporal_tls_key", c.TemporalTLSKey),
		slog.String("temporal_tls_ca", c.TemporalCA),
		slog.String("temporal_api_key", redact(c.TemporalAPIKey)),
		slog.String("minio_endpoint", c.MinIOEndpoint),
		slog.String("minio_access_key", c.MinIOAccessKey),
		slog.String("minio_secret_key", redact(c.MinIOSecretKey)),
		slog.String("minio_bucket", c.MinIOBucket),
		slog.String("api_addr", c.APIAddress),
		slog.String("metrics_addr", c.MetricsAddress),
		slog.String("task_queue", c.TaskQueue),
		slog.String("detect_task_queue", c.DetectTaskQueue),
		slog.String("gpu_detect_task_queue", c.GPUDetectTaskQueue),
		slog.String("model", c.Model),
		slog.String("model_layout", c.ModelLayout),
		slog.String("models_dir", c.ModelsDir),
		slog.Int("detect_workers", c.DetectWorkers),
		slog.Int("detect_batch", c.DetectBatch),
		slog.String("detect_backend", c.DetectBackend),
		slog.String("ort_lib", c.ORTLibrary),
		slog.String("gpu_provider", c.GPUProvider),
		slog.String("tensorrt_cache", c.TensorRTCache),
		slog.Bool("allow_file_sources", c.AllowFileSources),
		slog.Bool("allow_private_sources", c.AllowPrivateSources),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("rollup_models", c.RollupModelsDir),
		slog.String("rollup_vars", c.RollupVars),
		slog.String("api_token", redact(c.APIToken)),
		slog.String("api_read_token", redact(c.APIReadToken)),
		slog.Int("retain_chunks_days", c.RetainChunksDays),
		slog.Int("retain_rows_days", c.RetainRowsDays),
		slog.Duration("retention_every", c.RetentionEvery),
	)
}

// String is LogValue as key=value pairs, so printing a Config with %v
// leaks no secret either.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", a.Key, a.Value.String())
	}
	return b.String()
}

// redact says whether a secret is set without showing it.
func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// redactDSN hides the password a PostgreSQL DSN may carry, as a URL's
// user info or as a password=... keyword.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=[redacted]"
		}
	}
	return strings.Join(fields, " ")
}
