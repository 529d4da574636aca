package testmedia

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sizes of the media in opencv-doc 4.6.0+dfsg-12.
var sizes = map[string]int64{"vtest.avi": 8131690, "messi5.jpg": 72937, "basketball1.png": 132826}

func root(t *testing.T) string {
	t.Helper()
	r, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFetch really downloads: with no local copy to use, the media come from
// Debian's opencv-doc package into an empty cache. Several callers at once
// share one download. No network or apt fails the test.
func TestFetch(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "testdata")
	l := lookup{root: root(t), cache: cache}
	var wg sync.WaitGroup
	paths := make([]string, len(Files))
	errs := make([]error, len(Files))
	for i, f := range Files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = l.find(f)
		}()
	}
	wg.Wait()
	for i, f := range Files {
		if errs[i] != nil {
			t.Fatalf("fetch %s: %v", f, errs[i])
		}
		if want := filepath.Join(cache, f); paths[i] != want {
			t.Errorf("%s: got %s, want %s", f, paths[i], want)
		}
		st, err := os.Stat(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != sizes[f] {
			t.Errorf("%s: %d bytes, want %d", f, st.Size(), sizes[f])
		}
	}
	// Nothing half-written or temporary is left beside the media.
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := sizes[e.Name()]; !ok && e.Name() != ".lock" {
			t.Errorf("cache holds %s", e.Name())
		}
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLookupOrder(t *testing.T) {
	tmp := t.TempDir()
	first, second, cache := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "cache")
	write(t, second, "vtest.avi", "b")
	inCache := write(t, cache, "messi5.jpg", "c")
	want := write(t, first, "vtest.avi", "a")
	l := lookup{root: root(t), dirs: []string{"", first, second}, cache: cache}
	if got, err := l.find("vtest.avi"); err != nil || got != want {
		t.Errorf("vtest.avi: %q %v, want the first folder's %q", got, err, want)
	}
	if got, err := l.find("messi5.jpg"); err != nil || got != inCache {
		t.Errorf("messi5.jpg: %q %v, want the cache's %q", got, err, inCache)
	}
	// An empty copy does not count.
	write(t, first, "messi5.jpg", "")
	if got, err := l.find("messi5.jpg"); err != nil || got != inCache {
		t.Errorf("messi5.jpg beside an empty copy: %q %v, want %q", got, err, inCache)
	}
	// A name the script cannot fetch fails without a download.
	if _, err := l.find("ghost.png"); err == nil || !strings.Contains(err.Error(), "ghost.png") {
		t.Errorf("ghost.png: %v, want an error naming it", err)
	}
}

func TestOverride(t *testing.T) {
	tmp := t.TempDir()
	override, other := filepath.Join(tmp, "override"), filepath.Join(tmp, "other")
	want := write(t, override, "vtest.avi", "o")
	write(t, other, "vtest.avi", "x")
	write(t, other, "messi5.jpg", "x")
	l := lookup{override: override, root: root(t), dirs: []string{other}, cache: filepath.Join(tmp, "cache")}
	if got, err := l.find("vtest.avi"); err != nil || got != want {
		t.Errorf("vtest.avi: %q %v, want %q", got, err, want)
	}
	// Set, the override is the only place: no fallback, no download.
	_, err := l.find("messi5.jpg")
	if err == nil || !strings.Contains(err.Error(), Env+"="+override) || !strings.Contains(err.Error(), "messi5.jpg") {
		t.Errorf("messi5.jpg missing from the override: %v, want an error naming %s and the file", err, Env)
	}
	if _, err := os.Stat(l.cache); !os.IsNotExist(err) {
		t.Errorf("the cache was created (%v): a set override must not fetch", err)
	}
}

// TestPath finds every medium through the real lookup, whichever place has it.
func TestPath(t *testing.T) {
	for _, f := range Files {
		p := Path(t, f)
		if st, err := os.Stat(p); err != nil || st.Size() != sizes[f] {
			t.Errorf("%s at %s: %v, want %d bytes", f, p, err, sizes[f])
		}
	}
}
