// Package e2e runs Sightline end to end on the real local services: the
// sightline binary as a separate worker process (so it can be killed),
// a real Temporal server, MinIO, PostgreSQL and OpenCV on real video.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sightline-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sightline")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/sightline")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building sightline:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stack is one isolated deployment: its own database, bucket and task queues
// on the shared local services.
type stack struct {
	testDB
	store  *objstore.Store
	env    []string
	queue  string
	detect string
}

func newStack(t testing.TB) *stack {
	pool, dsn := testenv.DB(t)
	store := testenv.Store(t)
	s := &stack{testDB: testDB{t, pool}, store: store, queue: testenv.Name("main"), detect: testenv.Name("detect")}
	s.env = append(os.Environ(),
		"SIGHTLINE_PG_DSN="+dsn,
		"SIGHTLINE_MINIO_BUCKET="+store.Bucket(),
		"SIGHTLINE_TASK_QUEUE="+s.queue,
		"SIGHTLINE_DETECT_TASK_QUEUE="+s.detect,
		"SIGHTLINE_DETECT_WORKERS=2",
		"SIGHTLINE_API_ADDR=127.0.0.1:0",
		"SIGHTLINE_LOG_LEVEL=warn",
	)
	return s
}

// start runs `sightline args...` as a child process; it is killed at the end
// of the test if still running.
func (s *stack) start(args ...string) *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start sightline %v: %v", args, err)
	}
	s.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
	})
	return cmd
}

// kill ends a process the hard way, as a crash would.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill worker: %v", err)
	}
	_ = cmd.Wait()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testDB is a test and its own database.
type testDB struct {
	t  testing.TB
	db *pgxpool.Pool
}

// count runs a query returning one integer.
func (s testDB) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		s.t.Fatalf("query %q: %v", query, err)
	}
	return n
}
