package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sightline-video/sightline/internal/testenv"
)

// serve sends a request to h and returns the recorder.
func serve(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(method, path, "", token))
	return rec
}

func TestDashboardServed(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.DB(t)
	bundle := fstest.MapFS{
		"index.html":    {Data: []byte(`<!doctype html><script src="/assets/app.js?v=1"></script>`)},
		"assets/app.js": {Data: []byte(`console.log(1)`)},
		"assets/a.css":  {Data: []byte(`body{}`)},
	}
	// With tokens set, the page and its assets stay open; the data does not.
	h := New(Deps{DB: pool, Dashboard: bundle, Token: "w", ReadToken: "r", Log: testLogger(t)}).Handler()

	rec := serve(h, http.MethodGet, "/", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/assets/app.js") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("GET /: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	for path, ct := range map[string]string{"/assets/app.js": "text/javascript", "/assets/a.css": "text/css"} {
		rec = serve(h, http.MethodGet, path+"?v=1", "")
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) ||
			!strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: %d %v", path, rec.Code, rec.Header())
		}
	}
	for _, path := range []string{"/assets/nope.js", "/assets/..%2Findex.html"} {
		if rec = serve(h, http.MethodGet, path, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
	if rec = serve(h, http.MethodGet, "/api/v1/streams", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/streams without a token: %d, want 401", rec.Code)
	}
	if rec = serve(h, http.MethodPost, "/", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST / without a token: %d, want 401", rec.Code)
	}
}

func TestDashboardNotBuilt(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.DB(t)
	h := New(Deps{DB: pool, Log: testLogger(t)}).Handler()
	rec := serve(h, http.MethodGet, "/", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make build") {
		t.Errorf("GET / without a bundle: %d %q", rec.Code, rec.Body)
	}
	if rec = serve(h, http.MethodGet, "/assets/app.js", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET /assets/app.js without a bundle: %d, want 404", rec.Code)
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var models []Model
	e.get("/api/v1/models", http.StatusOK, &models)
	defaults, byName := 0, map[string]Model{}
	for _, m := range models {
		byName[m.Name] = m
		if m.Default {
			defaults++
		}
	}
	if defaults != 1 || len(models) < 2 {
		t.Fatalf("models = %+v, want several with one default", models)
	}
	if m := byName[e.s.models.Default()]; !m.Default || len(m.Classes) != 80 || m.Classes[0] != "person" {
		t.Errorf("default model = %+v, want the 80 COCO classes", m)
	}
}
