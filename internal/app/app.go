// Package app connects a Sightline process to its services from a Config:
// PostgreSQL, MinIO, Temporal and the detector, as a process needs them.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/sightline-video/sightline/activities"
	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/db"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/metrics"
	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/source"
	schema "github.com/sightline-video/sightline/sql"
)

// App holds open connections; Close releases them.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	closers  []func()
	Temporal client.Client
	Acts     *activities.Activities
	Models   *detector.Registry // the models detection can run
	// Metrics are the process's Prometheus collectors, fed by the
	// activities, the detectors and the Temporal client.
	Metrics *metrics.Metrics
}

// Needs says which parts to open.
type Needs struct {
	Temporal  bool
	Store     bool
	Detectors bool
	GPU       bool // run the detectors on OpenCV's CUDA backend
	Migrate   bool // bring the schema up to date first
}

// SourceOptions bound opening and reading sources: short enough that a dead
// source fails a capture within five seconds, long enough for a real camera
// across a WAN to answer.
var SourceOptions = source.Options{OpenTimeout: 2500 * time.Millisecond, ReadTimeout: 5 * time.Second}

// DetectWorkers is how many detectors run in parallel when the config does
// not say: one per core, each on one OpenCV thread, which keeps both cores of
// a small machine busy without oversubscribing them.
func DetectWorkers(cfg config.Config) int {
	if cfg.DetectWorkers > 0 {
		return cfg.DetectWorkers
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// SourcePolicy is the source policy the settings describe.
func SourcePolicy(cfg config.Config) source.Policy {
	return source.Policy{AllowFiles: cfg.AllowFileSources, AllowPrivate: cfg.AllowPrivateSources}
}

// Open connects to PostgreSQL and whatever else needs asks for.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, needs Needs) (*App, error) {
	// First, so that bad settings stop the process before it connects.
	project, err := dbtlike.LoadProject(cfg.RollupModelsDir, cfg.RollupVars)
	if err != nil {
		return nil, fmt.Errorf("load rollup models (SIGHTLINE_ROLLUP_MODELS, SIGHTLINE_ROLLUP_VARS): %w", err)
	}
	a := &App{Config: cfg, Log: log, Metrics: metrics.New()}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	pool, err := db.Open(ctx, cfg.PostgresDSN)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, pool.Close)
	if needs.Migrate {
		if _, err := schema.Migrate(ctx, pool); err != nil {
			return nil, err
		}
	}
	a.Acts = &activities.Activities{DB: pool, Rollup: project, Log: log, Metrics: a.Metrics,
		Sources: &source.DefaultResolver{Policy: SourcePolicy(cfg)}, SourceOptions: SourceOptions}
	// Built always: the API checks the models streams ask for against it.
	if a.Models, err = detector.RegistryFor(cfg.ModelsDir, cfg.Model, detector.Layout(cfg.ModelLayout)); err != nil {
		return nil, err
	}
	if needs.Store {
		s, err := objstore.New(ctx, cfg.MinIOEndpoint, cfg.MinIOAccessKey, cfg.MinIOSecretKey, cfg.MinIOBucket)
		if err != nil {
			return nil, err
		}
		a.Acts.Store = s
	}
	if needs.Detectors {
		n := DetectWorkers(cfg)
		threads := 1
		if n == 1 {
			threads = 0 // let OpenCV use every core
		}
		opts := detector.Options{Threads: threads, Batch: cfg.DetectBatch, Runtime: cfg.DetectBackend, ORTLibrary: cfg.ORTLibrary,
			OnBatch: a.Metrics.Forward}
		if opts.Runtime == "" {
			if lib, err := detector.InitONNXRuntime(cfg.ORTLibrary); err != nil {
				log.Warn("detecting with OpenCV: ONNX Runtime is not available (make deps installs it into .tools/lib; SIGHTLINE_ORT_LIB points at another copy)", "error", err)
			} else {
				log.Info("detecting with ONNX Runtime", "library", lib)
			}
		}
		if needs.GPU {
			// One network per GPU stream is plenty; batches keep it busy.
			opts.Backend, opts.Threads, opts.TensorRTCache = cfg.GPUProvider, 0, cfg.TensorRTCache
			if cfg.DetectWorkers == 0 {
				n = 2
			}
			if opts.Batch == 0 {
				opts.Batch = 8
			}
		}
		m, err := detector.NewModels(a.Models, opts, n)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, func() { _ = m.Close() })
		a.Acts.Detectors = m
		// Loading the networks now makes the first chunk as fast as the
		// rest, and a GPU worker whose GPU cannot run them refuses to start.
		// A CPU worker goes on: each capture then fails naming the model.
		if err := m.Warm(); err != nil {
			if needs.GPU {
				return nil, fmt.Errorf("gpu worker: %w", err)
			}
			log.Error("the default model's networks did not load", "error", err)
		}
	}
	if needs.Temporal {
		opts, err := TemporalOptions(cfg)
		if err != nil {
			return nil, err
		}
		opts.Logger = tlog.NewStructuredLogger(log)
		opts.MetricsHandler = a.Metrics.TemporalHandler()
		c, err := client.DialContext(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
		}
		a.closers = append(a.closers, c.Close)
		a.Temporal = c
		a.Acts.Temporal = c
	}
	ok = true
	return a, nil
}

// TemporalOptions are the client options the settings give: address,
// namespace, and TLS with an API key or a client certificate, as Temporal
// Cloud and TLS clusters need.
func TemporalOptions(cfg config.Config) (client.Options, error) {
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace}
	if !cfg.TemporalTLS && cfg.TemporalTLSCert == "" && cfg.TemporalAPIKey == "" && cfg.TemporalCA == "" {
		return opts, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TemporalCA != "" {
		pem, err := os.ReadFile(cfg.TemporalCA)
		if err != nil {
			return opts, fmt.Errorf("SIGHTLINE_TEMPORAL_TLS_CA: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("SIGHTLINE_TEMPORAL_TLS_CA: %s holds no PEM certificate", cfg.TemporalCA)
		}
	}
	if cfg.TemporalTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return opts, fmt.Errorf("SIGHTLINE_TEMPORAL_TLS_CERT and _KEY: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	opts.ConnectionOptions.TLS = tc
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	return opts, nil
}

// Close releases everything Open opened, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
