package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/testenv"
)

// env is a server on a fresh database and the real Temporal server, with a
// task queue no worker polls, so started workflows stay RUNNING untouched.
type env struct {
	t         *testing.T
	s         *Server
	db        *pgxpool.Pool
	temporal  client.Client
	taskQueue string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool, _ := testenv.DB(t)
	tc := testenv.Temporal(t)
	q := testenv.Name("q")
	s := New(Deps{DB: pool, Temporal: tc, TaskQueue: q, DetectTaskQueue: q + "-detect", SourcePolicy: source.Unrestricted, Log: testLogger(t)})
	s.probeTimeout = 500 * time.Millisecond
	return &env{t: t, s: s, db: pool, temporal: tc, taskQueue: q}
}

// testLogger sends the server's log to the test's log, and drops lines
// written after the test ended (t.Log would panic then).
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// newRequest builds a request; body "" sends none, token "" no Authorization.
func newRequest(method, path, body, token string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// do sends a request to the handler; body "" sends none.
func (e *env) do(method, path, body string) (int, []byte) {
	e.t.Helper()
	return do(e.t, e.s.Handler(), method, path, body)
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(method, path, body, ""))
	if ct := rec.Header().Get("Content-Type"); rec.Body.Len() > 0 && !strings.HasPrefix(ct, "application/json") &&
		!strings.HasSuffix(path, ".yaml") {
		t.Errorf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	return rec.Code, rec.Body.Bytes()
}

// get expects status want and decodes the body into v (when not nil).
func (e *env) get(path string, want int, v any) {
	e.t.Helper()
	e.expect(http.MethodGet, path, "", want, v)
}

func (e *env) expect(method, path, body string, want int, v any) {
	e.t.Helper()
	code, resp := e.do(method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, resp)
	}
	if v != nil {
		if err := json.Unmarshal(resp, v); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, resp, err)
		}
	}
}

// wantError checks a request fails with status and an error message
// containing substr.
func (e *env) wantError(method, path, body string, status int, substr string) {
	e.t.Helper()
	wantError(e.t, e.s.Handler(), method, path, body, status, substr)
}

func wantError(t *testing.T, h http.Handler, method, path, body string, status int, substr string) {
	t.Helper()
	code, resp := do(t, h, method, path, body)
	if code != status {
		t.Errorf("%s %s %s: status %d, want %d; body %s", method, path, body, code, status, resp)
		return
	}
	var eb errorBody
	if err := json.Unmarshal(resp, &eb); err != nil || eb.Error == "" {
		t.Errorf("%s %s: body %s is not {\"error\": ...} (%v)", method, path, resp, err)
		return
	}
	if !strings.Contains(eb.Error, substr) {
		t.Errorf("%s %s: error %q does not mention %q", method, path, eb.Error, substr)
	}
}

// exec runs SQL on the test database.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("exec %s: %v", sql, err)
	}
}

// addStream registers a stream through the API.
func (e *env) addStream(id, source string) Stream {
	e.t.Helper()
	var st Stream
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"`+id+`","name":"Stream `+id+`","source":"`+source+`"}`,
		http.StatusCreated, &st)
	return st
}

// addCapture inserts a captures row directly, as the workflow would.
func (e *env) addCapture(id, stream, status string, started time.Time) {
	e.t.Helper()
	e.exec(`INSERT INTO captures (id, stream_id, status, source, chunk_frames, started_at) VALUES ($1, $2, $3, '/v.avi', 50, $4)`,
		id, stream, status, started)
}

// unreachable returns a pool and a Temporal client that point at a port
// nothing listens on.
func unreachable(t *testing.T) (*pgxpool.Pool, client.Client) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatalf("pool for unreachable DB: %v", err)
	}
	t.Cleanup(pool.Close)
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	if err != nil {
		t.Fatalf("lazy Temporal client: %v", err)
	}
	t.Cleanup(tc.Close)
	return pool, tc
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
