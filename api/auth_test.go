package api

// Tests of what the API refuses before a handler does any work: requests
// without the right token, bodies over the cap, and path ids that cannot
// exist.

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/source"
)

const (
	writeToken = "w-secret-token"
	readToken  = "r-secret-token"
)

// newAuthEnv is newEnv with tokens configured.
func newAuthEnv(t *testing.T, token, read string) *env {
	t.Helper()
	e := newEnv(t)
	e.s = New(Deps{DB: e.db, Temporal: e.temporal, TaskQueue: e.taskQueue, DetectTaskQueue: e.taskQueue + "-detect",
		SourcePolicy: source.Unrestricted, Token: token, ReadToken: read, Log: testLogger(t)})
	return e
}

// doToken sends a request with Authorization: Bearer token (none when
// token is "") and returns the recorder.
func doToken(h http.Handler, method, path, body, token string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(method, path, body, token))
	return rec
}

// wantStatus checks the status, and that an error is {"error": ...}.
func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, what string, want int) {
	t.Helper()
	if rec.Code != want {
		t.Errorf("%s: status %d, want %d; body %s", what, rec.Code, want, rec.Body)
		return
	}
	if want < 400 || rec.Body.Len() == 0 && strings.HasPrefix(what, http.MethodHead) {
		return // errors to HEAD have no body
	}
	var eb errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" {
		t.Errorf("%s: body %s is not {\"error\": ...} (%v)", what, rec.Body, err)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", what, ct)
	}
}

const streamBody = `{"id":"lobby","source":"/v.avi"}`

func TestAuthNoTokenConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.s.Handler()
	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, ""), "POST without a token", http.StatusCreated)
	// A stray header is ignored when nothing is configured.
	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, "anything"), "POST with a token", http.StatusOK)
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams", "", ""), "GET without a token", http.StatusOK)
}

func TestAuthWriteToken(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, writeToken, "")
	h := e.s.Handler()

	rec := doToken(h, http.MethodPost, "/api/v1/streams", streamBody, "")
	wantStatus(t, rec, "POST without a token", http.StatusUnauthorized)
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="sightline"` {
		t.Errorf("POST without a token: WWW-Authenticate %q", got)
	}
	rec = doToken(h, http.MethodPost, "/api/v1/streams", streamBody, "wrong")
	wantStatus(t, rec, "POST with a wrong token", http.StatusUnauthorized)
	if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer realm="sightline"`) {
		t.Errorf("POST with a wrong token: WWW-Authenticate %q", got)
	}
	// A token that only starts like the right one is wrong too.
	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, writeToken[:5]), "POST with a prefix", http.StatusUnauthorized)
	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, writeToken+"x"), "POST with a longer token", http.StatusUnauthorized)

	// Nothing was written by the refused requests.
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams/lobby", "", ""), "GET of a refused stream", http.StatusNotFound)

	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, writeToken), "POST with the token", http.StatusCreated)
	// The scheme is case-insensitive.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/streams", strings.NewReader(streamBody))
	req.Header.Set("Authorization", "bearer "+writeToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantStatus(t, rec, "POST with scheme bearer", http.StatusOK)
	// Other schemes are not a bearer token.
	req = httptest.NewRequest(http.MethodDelete, "/api/v1/schedules/x", nil)
	req.Header.Set("Authorization", "Basic "+writeToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantStatus(t, rec, "DELETE with Basic", http.StatusUnauthorized)

	// Every mutating method needs it, routed or not.
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete, "PROPFIND"} {
		wantStatus(t, doToken(h, m, "/api/v1/streams/lobby", "", ""), m+" without a token", http.StatusUnauthorized)
	}
	wantStatus(t, doToken(h, http.MethodDelete, "/api/v1/schedules/nope", "", writeToken), "DELETE with the token", http.StatusNotFound)

	// Reads stay open without a read token.
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams/lobby", "", ""), "GET without a token", http.StatusOK)
	wantStatus(t, doToken(h, http.MethodGet, "/healthz", "", ""), "healthz", http.StatusOK)
}

func TestAuthReadToken(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, writeToken, readToken)
	h := e.s.Handler()
	e.addStreamAs("lobby", writeToken)

	rec := doToken(h, http.MethodGet, "/api/v1/streams", "", "")
	wantStatus(t, rec, "GET without a token", http.StatusUnauthorized)
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="sightline"` {
		t.Errorf("GET without a token: WWW-Authenticate %q", got)
	}
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams", "", "wrong"), "GET with a wrong token", http.StatusUnauthorized)
	wantStatus(t, doToken(h, http.MethodHead, "/api/v1/streams", "", ""), "HEAD without a token", http.StatusUnauthorized)
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams/lobby", "", readToken), "GET with the read token", http.StatusOK)
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams/lobby", "", writeToken), "GET with the write token", http.StatusOK)
	// Unknown routes are behind the token too, so they reveal nothing.
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/nope", "", ""), "GET of no route", http.StatusUnauthorized)

	// The read token cannot change anything.
	rec = doToken(h, http.MethodPost, "/api/v1/streams/lobby/captures", "", readToken)
	wantStatus(t, rec, "POST with the read token", http.StatusForbidden)
	if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, "insufficient_scope") {
		t.Errorf("POST with the read token: WWW-Authenticate %q", got)
	}

	// Probes and the API's description stay open.
	wantStatus(t, doToken(h, http.MethodGet, "/healthz", "", ""), "healthz", http.StatusOK)
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/openapi.yaml", "", ""), "openapi.yaml", http.StatusOK)
}

// A read token alone guards every request with that token.
func TestAuthReadTokenAlone(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, "", readToken)
	h := e.s.Handler()
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams", "", ""), "GET without a token", http.StatusUnauthorized)
	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, ""), "POST without a token", http.StatusUnauthorized)
	wantStatus(t, doToken(h, http.MethodPost, "/api/v1/streams", streamBody, readToken), "POST with the read token", http.StatusCreated)
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams", "", readToken), "GET with the read token", http.StatusOK)
}

// addStreamAs registers a stream sending token.
func (e *env) addStreamAs(id, token string) {
	e.t.Helper()
	rec := doToken(e.s.Handler(), http.MethodPost, "/api/v1/streams", `{"id":"`+id+`","source":"/v.avi"}`, token)
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("register %s: status %d, body %s", id, rec.Code, rec.Body)
	}
}

// A refused request is answered before the body is read or a service is
// called: with nothing reachable it is still a quick 401, not a 503. It is
// logged with its status, and the token is never logged.
func TestAuthBeforeServices(t *testing.T) {
	t.Parallel()
	pool, tc := unreachable(t)
	var logs syncBuffer
	s := New(Deps{DB: pool, Temporal: tc, Token: writeToken, ReadToken: readToken,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	h := s.Handler()

	body := &countingReader{r: strings.NewReader(streamBody)}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/streams", body)
	req.Header.Set("Authorization", "Bearer "+readToken+"-not")
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantStatus(t, rec, "POST with a wrong token and nothing reachable", http.StatusUnauthorized)
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing took %v: a service was called", d)
	}
	if body.n != 0 {
		t.Errorf("the handler read %d bytes of a refused body", body.n)
	}
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams", "", ""), "GET without a token and nothing reachable", http.StatusUnauthorized)
	wantStatus(t, doToken(h, http.MethodGet, "/api/v1/streams", "", writeToken), "GET with the token and nothing reachable",
		http.StatusServiceUnavailable)

	out := logs.String()
	if !strings.Contains(out, "status=401") || !strings.Contains(out, "uri=/api/v1/streams") {
		t.Errorf("refused requests are not logged with status 401:\n%s", out)
	}
	for _, secret := range []string{writeToken, readToken} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains a token:\n%s", out)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTokensEqual(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		want, got string
		eq        bool
	}{
		{"secret", "secret", true},
		{"secret", "Secret", false},
		{"secret", "secre", false},
		{"secret", "secrets", false},
		{"secret", "", false},
		{"", "", false}, // no token configured matches nothing
		{"", "x", false},
		{strings.Repeat("a", 4096), strings.Repeat("a", 4096), true},
	} {
		if got := tokensEqual(c.want, c.got); got != c.eq {
			t.Errorf("tokensEqual(%q, %q) = %v, want %v", c.want, c.got, got, c.eq)
		}
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"", "", false},
		{"abc", "", false},
	} {
		token, ok := bearerToken(c.header)
		if token != c.token || ok != c.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", c.header, token, ok, c.token, c.ok)
		}
	}
}

// The body cap is checked over a real connection: the client must read the
// 413, not see the connection reset.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("demo", "/v.avi")
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)

	big := `{"every_ms":1,"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	check := func(what string, resp *http.Response, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v, want a 413 answer", what, err)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Errorf("%s: reading the answer: %v", what, err)
		}
		var eb errorBody
		if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &eb) != nil ||
			eb.Error != "request body larger than 1 MiB" {
			t.Errorf("%s: status %d, body %.200s; want 413 {\"error\":\"request body larger than 1 MiB\"}", what, resp.StatusCode, b)
		}
	}

	// Declared with Content-Length.
	resp, err := http.Post(srv.URL+"/api/v1/streams/demo/captures", "application/json", strings.NewReader(big))
	check("2 MB body with Content-Length", resp, err)

	// Chunked: the length is unknown until the body has been read.
	resp, err = http.Post(srv.URL+"/api/v1/streams/demo/captures", "application/json",
		io.MultiReader(strings.NewReader(big))) // hides the length
	check("2 MB chunked body", resp, err)

	// On a route that does not read bodies.
	resp, err = http.Post(srv.URL+"/api/v1/schedules/none/trigger", "application/json", strings.NewReader(big))
	check("2 MB body to trigger", resp, err)

	// Just under the cap is read and decoded as usual.
	under := `{"id":"under","source":"/v.avi"}`
	under += strings.Repeat(" ", maxBodyBytes-len(under))
	resp, err = http.Post(srv.URL+"/api/v1/streams", "application/json", strings.NewReader(under))
	if err != nil {
		t.Fatalf("1 MiB body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("body of exactly 1 MiB: status %d, want 201", resp.StatusCode)
	}

	// The server is still serving.
	resp, err = http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the large bodies: %v %v", resp, err)
	}
	resp.Body.Close()
}

// Ids that cannot exist are 404s decided without Temporal, which would
// fail on them (non-ASCII ids go in gRPC headers) with a 502.
func TestImpossibleIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{
		"%F0%9F%98%80",            // 😀
		"caf%C3%A9",               // é
		"%FF%FE",                  // not UTF-8
		strings.Repeat("x", 256),  // too long
		strings.Repeat("x", 4000), // far too long
		"a%20b", "a%0Ab", "a%00b", "a%22b", "-leading-dash", ".", "..%2F..", "a%2Fb", "a%09b",
	} {
		for _, path := range []string{
			"/api/v1/captures/" + id,
			"/api/v1/captures/" + id + "/frames/0",
			"/api/v1/schedules/" + id,
		} {
			e.wantError(http.MethodGet, path, "", http.StatusNotFound, "not found")
		}
		for _, op := range []string{"/pause", "/unpause", "/trigger"} {
			e.wantError(http.MethodPost, "/api/v1/schedules/"+id+op, "", http.StatusNotFound, "not found")
		}
		e.wantError(http.MethodDelete, "/api/v1/schedules/"+id, "", http.StatusNotFound, "not found")
	}
	// The longest possible id, and one with the ':' of a schedule's
	// appended time, reach Temporal and are simply not there.
	for _, id := range []string{
		strings.Repeat("x", maxIDLen),
		"capture-lobby-sched-morning-2026-01-02T03:04:05Z",
	} {
		e.wantError(http.MethodGet, "/api/v1/captures/"+id, "", http.StatusNotFound, `capture "`+id+`" not found`)
		e.wantError(http.MethodGet, "/api/v1/schedules/"+id, "", http.StatusNotFound, `schedule "`+id+`" not found`)
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"capture-lobby-20260102T030405Z-ab12":               true,
		"capture-lobby-sched-2026-01-02T03:04:05Z":          true,
		"capture-lobby-sched-night.v2-2026-01-02T03:04:05Z": true,
		"c-1":                    true,
		strings.Repeat("a", 255): true,
		strings.Repeat("a", 256): false,
		"":                       false,
		"😀":                      false,
		"a b":                    false,
		"a/b":                    false,
		"-a":                     false,
		"a\x00":                  false,
		"a\n":                    false,
	} {
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}
