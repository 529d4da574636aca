// Package testmedia finds the media tests run on (vtest.avi, messi5.jpg,
// basketball1.png, from OpenCV's sample data), fetching them into the
// repository's cache when no copy is at hand, so a fresh clone tests without
// setup. Missing media fail the test: tests never skip.
package testmedia

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Env names a folder that overrides every other place: when set, the media
// must be there.
const Env = "SIGHTLINE_TESTDATA"

// Files are the media scripts/fetch-testdata.sh can fetch.
var Files = []string{"vtest.avi", "messi5.jpg", "basketball1.png"}

// DocDir is where Debian's opencv-doc package installs the media.
const DocDir = "/usr/share/doc/opencv-doc/examples/data"

// fetchTimeout bounds the download of the opencv-doc package (about 95 MB).
const fetchTimeout = 10 * time.Minute

// Path returns the path of the test media file name, looking in order in
// $SIGHTLINE_TESTDATA, ../shared/testdata beside the repository, the
// installed opencv-doc package and the repository's cache .data/testdata,
// which is filled from Debian's opencv-doc package when the file is missing.
func Path(t testing.TB, name string) string {
	t.Helper()
	l, err := fromEnv()
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	p, err := l.find(name)
	if err != nil {
		t.Fatalf("testmedia: %v", err)
	}
	return p
}

// lookup is where find looks; an empty folder is skipped.
type lookup struct {
	override string // $SIGHTLINE_TESTDATA
	root     string // the repository, holding scripts/fetch-testdata.sh
	dirs     []string
	cache    string
}

func fromEnv() (lookup, error) {
	root, err := RepoRoot()
	if err != nil {
		return lookup{}, err
	}
	return lookup{
		override: os.Getenv(Env),
		root:     root,
		dirs:     []string{filepath.Join(root, "..", "shared", "testdata"), DocDir},
		cache:    filepath.Join(root, ".data", "testdata"),
	}, nil
}

func (l lookup) find(name string) (string, error) {
	if l.override != "" {
		p := filepath.Join(l.override, name)
		if err := present(p); err != nil {
			return "", fmt.Errorf("$%s=%s: %s: %w", Env, l.override, name, err)
		}
		return p, nil
	}
	for _, dir := range l.dirs {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); present(p) == nil {
			return p, nil
		}
	}
	p := filepath.Join(l.cache, name)
	if present(p) == nil {
		return p, nil
	}
	if !slices.Contains(Files, name) {
		return "", fmt.Errorf("%s: not found in %s or %s, and not one of the media scripts/fetch-testdata.sh fetches (%s)",
			name, strings.Join(l.dirs, ", "), l.cache, strings.Join(Files, ", "))
	}
	if err := l.fetch(); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if err := present(p); err != nil {
		return "", fmt.Errorf("%s: fetched, yet %w", name, err)
	}
	return p, nil
}

// fetch fills the cache with scripts/fetch-testdata.sh. `go test ./...`
// runs packages as parallel processes, so an exclusive lock on a file in the
// cache makes one download while the others wait, then find what it fetched.
func (l lookup) fetch() error {
	if err := os.MkdirAll(l.cache, 0o755); err != nil {
		return fmt.Errorf("create cache %s: %w", l.cache, err)
	}
	lockPath := filepath.Join(l.cache, ".lock")
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", lockPath, err)
	}
	defer lock.Close() // releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lockPath, err)
	}
	if l.cached() {
		return nil // fetched by another process while this one waited
	}
	script := filepath.Join(l.root, "scripts", "fetch-testdata.sh")
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	// --download: the local copies were looked at already.
	out, err := exec.CommandContext(ctx, "bash", script, "--download", l.cache).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fetch the test media into %s with %s: %w\n%s", l.cache, script, err, out)
	}
	return nil
}

func (l lookup) cached() bool {
	for _, f := range Files {
		if present(filepath.Join(l.cache, f)) != nil {
			return false
		}
	}
	return true
}

// present says why p is not a usable media file, or nil.
func present(p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", p)
	case st.Size() == 0:
		return fmt.Errorf("%s is empty", p)
	}
	return nil
}

// RepoRoot is the nearest directory above the working directory holding
// go.mod: a test's working directory is its package's folder.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("look for go.mod in %s: %w", dir, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
