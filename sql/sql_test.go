package sql_test

import (
	"context"
	"testing"

	"github.com/sightline-video/sightline/internal/testenv"
	schema "github.com/sightline-video/sightline/sql"
)

func TestMigrateIsIdempotentAndCreatesTables(t *testing.T) {
	pool, _ := testenv.DB(t) // already migrated once
	ctx := context.Background()
	v, err := schema.Migrate(ctx, pool)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if v < 1 {
		t.Fatalf("schema version = %d, want >= 1", v)
	}
	for _, table := range []string{"streams", "captures", "chunks", "frames", "detections"} {
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass('public.'||$1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (err %v)", table, err)
		}
	}
	// Stream ids are used in object keys and URLs: the schema rejects odd ones.
	if _, err := pool.Exec(ctx, "INSERT INTO streams (id, name, source) VALUES ('Bad Id', 'x', 'x')"); err == nil {
		t.Error("stream id with a space and capitals was accepted")
	}
}
