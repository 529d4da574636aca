// Package testenv connects tests to the real local services (PostgreSQL,
// Temporal, MinIO) started by scripts/services.sh. Each test gets its own
// database, bucket and task queues so tests can run side by side. A missing
// service fails the test with a message saying how to start it: tests never
// skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/db"
	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/testmedia"
	schema "github.com/sightline-video/sightline/sql"
)

const hint = "start the local services with `make up` (scripts/services.sh up)"

// Config returns the environment's configuration. A malformed setting
// panics: no test can run on it, and every test would fail the same way.
func Config() config.Config {
	cfg, err := config.Load()
	if err != nil {
		panic("testenv: configuration: " + err.Error())
	}
	return cfg
}

// Name returns a short unique name with prefix, usable as a database, bucket
// or task-queue name.
func Name(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// DB creates a fresh, migrated database for the test and drops it afterwards.
// It returns the pool and the database's DSN.
func DB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminDSN := Config().PostgresDSN
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL at %s is unreachable (%v): %s", adminDSN, err, hint)
	}
	defer admin.Close(context.Background())
	name := strings.ReplaceAll(Name("test"), "-", "_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	cfg, err := pgx.ParseConfig(adminDSN)
	if err != nil {
		t.Fatalf("testenv: parse %s: %v", adminDSN, err)
	}
	dsn := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	pool, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if _, err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return pool, dsn
}

// Store returns an object store on a fresh bucket, emptied and removed afterwards.
func Store(t testing.TB) *objstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Config()
	bucket := Name("test")
	s, err := objstore.New(ctx, c.MinIOEndpoint, c.MinIOAccessKey, c.MinIOSecretKey, bucket)
	if err != nil {
		t.Fatalf("testenv: MinIO at %s: %v: %s", c.MinIOEndpoint, err, hint)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		cl := s.Client()
		for obj := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = cl.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = cl.RemoveBucket(ctx, bucket)
	})
	return s
}

// Temporal connects to the Temporal server.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	c := Config()
	cl, err := client.Dial(client.Options{HostPort: c.TemporalAddress, Namespace: c.TemporalNamespace,
		Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("testenv: Temporal at %s is unreachable (%v): %s", c.TemporalAddress, err, hint)
	}
	t.Cleanup(cl.Close)
	return cl
}

// RepoRoot is the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := testmedia.RepoRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dir
}

// SharedFile returns the path of a test medium (vtest.avi, messi5.jpg,
// basketball1.png): from $SIGHTLINE_TESTDATA, ../shared/testdata next to the
// repository, the installed opencv-doc package, or the cache .data/testdata,
// fetched there when missing.
func SharedFile(t testing.TB, name string) string {
	t.Helper()
	return testmedia.Path(t, name)
}
