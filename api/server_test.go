package api

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var h Health
	e.get("/healthz", http.StatusOK, &h)
	if h != (Health{Status: "ok", Postgres: "ok", Temporal: "ok"}) {
		t.Errorf("healthz = %+v, want all ok", h)
	}
}

func TestHealthUnavailable(t *testing.T) {
	t.Parallel()
	pool, tc := unreachable(t)
	s := New(Deps{DB: pool, Temporal: tc, Log: testLogger(t)})
	s.probeTimeout = time.Second
	code, body := do(t, s.Handler(), http.MethodGet, "/healthz", "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("healthz with nothing reachable: status %d, want 503; body %s", code, body)
	}
	for _, want := range []string{`"status":"unavailable"`, `"postgres":"error: `, `"temporal":"error: `} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("healthz body %s lacks %s", body, want)
		}
	}

	// Only one service down: the other still reports ok.
	e := newEnv(t)
	s = New(Deps{DB: e.db, Temporal: tc, Log: testLogger(t)})
	s.probeTimeout = time.Second
	code, body = do(t, s.Handler(), http.MethodGet, "/healthz", "")
	if code != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"postgres":"ok"`)) ||
		!bytes.Contains(body, []byte(`"temporal":"error: `)) {
		t.Errorf("healthz with Temporal down: status %d body %s", code, body)
	}
}

func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	pool, tc := unreachable(t)
	s := New(Deps{DB: pool, Temporal: tc, Log: testLogger(t)})
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/streams", "", http.StatusServiceUnavailable, "database unavailable")
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/streams/lobby", "", http.StatusServiceUnavailable, "database unavailable")
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.wantError(http.MethodGet, "/api/v1/nope", "", http.StatusNotFound, "no such route: GET /api/v1/nope")
	e.wantError(http.MethodDelete, "/api/v1/streams", "", http.StatusMethodNotAllowed, "method not allowed")
}

func TestPanicBecomes500(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.s.echo.GET("/panic", func(echo.Context) error { panic("boom") })
	e.wantError(http.MethodGet, "/panic", "", http.StatusInternalServerError, "internal error")
	// The server keeps serving.
	e.get("/healthz", http.StatusOK, nil)
}

func TestStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Find a free port, then let Start listen on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Start(ctx, addr) }()

	var up bool
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
			break
		}
	}
	if !up {
		cancel()
		t.Fatalf("server on %s never answered /healthz with 200", addr)
	}
	// A second server cannot listen on the same address, and says so at once.
	if err := New(Deps{DB: e.db, Temporal: e.temporal, Log: testLogger(t)}).Start(context.Background(), addr); err == nil ||
		!strings.Contains(err.Error(), addr) {
		t.Errorf("Start on a busy address: error %v, want one naming %s", err, addr)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start after cancel: %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Start did not return after its context was canceled")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	s := New(Deps{Log: testLogger(t)})
	code, body := do(t, s.Handler(), http.MethodGet, "/api/v1/openapi.yaml", "")
	if code != http.StatusOK || !bytes.HasPrefix(body, []byte("openapi: 3.0")) {
		t.Errorf("GET /api/v1/openapi.yaml: status %d, body starts %.40q", code, body)
	}
	// The document served is the one spec_test.go checks.
	if !bytes.Equal(body, OpenAPI) {
		t.Errorf("GET /api/v1/openapi.yaml serves %d bytes that differ from the embedded openapi.yaml", len(body))
	}
}
