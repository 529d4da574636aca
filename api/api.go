// Package api is Sightline's HTTP API: it registers streams, starts capture
// workflows on Temporal, reports their progress and serves the analytics
// tables built by the rollup. Every response is JSON; errors are
// {"error": "..."} with a status that says whose fault it was.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/metrics"
	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/source"
)

// OpenAPI is the OpenAPI 3.0 description of the API, served at
// /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Deps are the services the API talks to.
type Deps struct {
	DB              *pgxpool.Pool
	Temporal        client.Client
	TaskQueue       string // capture workflows are started here; default contract.DefaultTaskQueue
	DetectTaskQueue string // passed to CaptureWorkflow; default contract.DefaultDetectTaskQueue
	// SourcePolicy limits the sources streams may name. The zero value is
	// the strict one (public addresses only, no files); a local deployment
	// passes source.Unrestricted.
	SourcePolicy source.Policy
	// Store holds the captured chunks, for GET /captures/{id}/frames/{index}.
	Store *objstore.Store
	// Models checks the models and class filters that streams and captures
	// ask for; nil means the built-in models.
	Models *detector.Registry
	// GPUDetectTaskQueue is where captures asking for "gpu" send detection
	// (workers started with --gpu); default contract.DefaultGPUDetectQueue.
	GPUDetectTaskQueue string
	// Token, when set, is the bearer token every change (POST, PUT, PATCH,
	// DELETE) must send; it can read too. ReadToken, when set, is the
	// bearer token reads (GET, HEAD) need, unless they send Token. Empty
	// means open. /healthz is always open.
	Token     string
	ReadToken string
	// Retention is the global retention policy POST /retention/run enforces.
	Retention contract.Retention
	// Dashboard is the dashboard's built bundle (web.Dist); nil serves a
	// page at / saying how to build it.
	Dashboard fs.FS
	// Metrics are served at /metrics and time every request; nil makes
	// the server its own.
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Server is the HTTP API. Build it with New.
type Server struct {
	models          *detector.Registry
	gpuDetectQueue  string
	db              *pgxpool.Pool
	temporal        client.Client
	taskQueue       string
	sourcePolicy    source.Policy
	detectTaskQueue string
	store           *objstore.Store
	retention       contract.Retention
	// stopping is closed when the server shuts down, ending event streams.
	stopping  chan struct{}
	stopOnce  func()
	token     string
	readToken string
	log       *slog.Logger
	metrics   *metrics.Metrics
	echo      *echo.Echo

	// probeTimeout bounds health checks and the live progress query, so a
	// capture with no worker polling cannot hang a status request.
	probeTimeout time.Duration
	// rpcTimeout bounds the other Temporal calls, which the SDK otherwise
	// retries while the server is unreachable.
	rpcTimeout time.Duration
	// storeTimeout bounds reading a chunk, which the MinIO client otherwise
	// retries while the server is unreachable.
	storeTimeout time.Duration
}

// New builds the server and registers its routes.
func New(deps Deps) *Server {
	s := &Server{
		db:              deps.DB,
		temporal:        deps.Temporal,
		taskQueue:       deps.TaskQueue,
		detectTaskQueue: deps.DetectTaskQueue,
		sourcePolicy:    deps.SourcePolicy,
		store:           deps.Store,
		models:          deps.Models,
		gpuDetectQueue:  deps.GPUDetectTaskQueue,
		retention:       deps.Retention,
		token:           deps.Token,
		readToken:       deps.ReadToken,
		log:             deps.Log,
		metrics:         deps.Metrics,
		stopping:        make(chan struct{}),
		probeTimeout:    3 * time.Second,
		rpcTimeout:      10 * time.Second,
		storeTimeout:    10 * time.Second,
	}
	if s.taskQueue == "" {
		s.taskQueue = contract.DefaultTaskQueue
	}
	if s.detectTaskQueue == "" {
		s.detectTaskQueue = contract.DefaultDetectTaskQueue
	}
	if s.gpuDetectQueue == "" {
		s.gpuDetectQueue = contract.DefaultGPUDetectQueue
	}
	if s.models == nil {
		s.models, _ = detector.NewRegistry("") // the built-ins cannot fail
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	// Authentication, the body cap and the query check come before any
	// handler reads the body or calls a service; logRequests still logs
	// refused requests.
	e.Use(s.logRequests, s.recoverPanics, s.authenticate, s.limitBody, checkQuery)

	e.GET("/healthz", s.health)
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()))
	e.GET("/api/v1/openapi.yaml", s.openAPI)
	v1 := e.Group("/api/v1")
	v1.GET("/streams", s.listStreams)
	v1.POST("/streams", s.putStream)
	v1.GET("/streams/:id", s.getStream)
	v1.POST("/streams/:id/captures", s.startCapture)
	v1.GET("/streams/:id/captures", s.listCaptures)
	v1.GET("/streams/:id/objects", s.streamObjects)
	v1.GET("/streams/:id/counts", s.streamCounts)
	v1.GET("/streams/:id/series", s.streamSeries)
	v1.GET("/streams/:id/tracks", s.listTracks)
	v1.GET("/streams/:id/unique", s.streamUnique)
	v1.GET("/streams/:id/crossings", s.streamCrossings)
	v1.GET("/streams/:id/zones", s.streamZones)
	v1.PUT("/streams/:id/mode", s.putStreamMode)
	v1.DELETE("/streams/:id", s.deleteStream)
	v1.GET("/captures", s.listAllCaptures)
	v1.GET("/captures/:id", s.getCapture)
	v1.DELETE("/captures/:id", s.deleteCapture)
	v1.POST("/captures/:id/cancel", s.cancelCapture)
	v1.POST("/retention/run", s.runRetention)
	v1.GET("/events", s.streamEvents)
	v1.GET("/captures/:id/frames", s.listFrames)
	v1.GET("/captures/:id/frames/:index", s.getFrame)
	v1.GET("/captures/:id/frames/:index/detections", s.getFrameDetections)
	v1.GET("/streams/:id/frames/latest", s.getLatestFrame)
	v1.GET("/rankings/streams", s.rankStreams)
	v1.GET("/rankings/streams/overall", s.rankStreamsOverall)
	v1.GET("/rankings/objects", s.rankObjects)
	v1.GET("/models", s.listModels)
	s.scheduleRoutes(v1)
	s.dashboardRoutes(e, deps.Dashboard)
	s.echo = e
	s.stopOnce = sync.OnceFunc(func() { close(s.stopping) })
	return s
}

// Handler returns the HTTP handler serving the API.
func (s *Server) Handler() http.Handler { return s.echo }

// Start serves on addr until ctx is done, then shuts down gracefully, giving
// in-flight requests up to 10 seconds. It returns nil after a clean shutdown.
func (s *Server) Start(ctx context.Context, addr string) error {
	// Listen first so a bad or busy address is reported at once.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Event streams never go idle: end them when shutting down.
	srv.RegisterOnShutdown(s.stopOnce)
	s.log.Info("api listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("api: serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api: shut down %s: %w", addr, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve on %s: %w", addr, err)
	}
	s.log.Info("api stopped", "addr", ln.Addr().String())
	return nil
}

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", OpenAPI)
}
