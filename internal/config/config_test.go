package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a lookup over a fixed set of variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	got, err := FromLookup(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		PostgresDSN:         "postgres://postgres@127.0.0.1:55432/sightline?sslmode=disable",
		TemporalAddress:     "127.0.0.1:7233",
		TemporalNamespace:   "default",
		MinIOEndpoint:       "127.0.0.1:9000",
		MinIOAccessKey:      "sightline",
		MinIOSecretKey:      "sightline-secret",
		MinIOBucket:         "sightline",
		APIAddress:          "127.0.0.1:8080",
		TaskQueue:           "sightline",
		DetectTaskQueue:     "sightline-detect",
		GPUDetectTaskQueue:  "sightline-detect-gpu",
		ModelLayout:         "yolox",
		GPUProvider:         "cuda",
		AllowFileSources:    true,
		AllowPrivateSources: true,
		LogLevel:            slog.LevelInfo,
		RetainChunksDays:    7,
		RetainRowsDays:      365,
		RetentionEvery:      time.Hour,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	// Empty counts as unset.
	empty := map[string]string{}
	for _, k := range []string{"SIGHTLINE_PG_DSN", "SIGHTLINE_DETECT_WORKERS", "SIGHTLINE_ALLOW_FILE_SOURCES",
		"SIGHTLINE_LOG_LEVEL", "SIGHTLINE_MODEL_LAYOUT", "SIGHTLINE_RETAIN_CHUNKS_DAYS", "SIGHTLINE_RETENTION_EVERY"} {
		empty[k] = ""
	}
	if got, err := FromLookup(env(empty)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("empty values: %v\n got %+v\nwant %+v", err, got, want)
	}
}

func TestOverrides(t *testing.T) {
	got, err := FromLookup(env(map[string]string{
		"SIGHTLINE_PG_DSN":                "postgres://u@db:5432/s",
		"SIGHTLINE_TEMPORAL_ADDRESS":      "temporal:7233",
		"SIGHTLINE_TEMPORAL_NAMESPACE":    "ns",
		"SIGHTLINE_MINIO_ENDPOINT":        "minio:9000",
		"SIGHTLINE_MINIO_ACCESS_KEY":      "ak",
		"SIGHTLINE_MINIO_SECRET_KEY":      "sk",
		"SIGHTLINE_MINIO_BUCKET":          "b",
		"SIGHTLINE_API_ADDR":              ":9090",
		"SIGHTLINE_TASK_QUEUE":            "q",
		"SIGHTLINE_DETECT_TASK_QUEUE":     "dq",
		"SIGHTLINE_GPU_DETECT_TASK_QUEUE": "gq",
		"SIGHTLINE_MODEL":                 "yolov8n",
		"SIGHTLINE_MODEL_LAYOUT":          "picodet",
		"SIGHTLINE_MODELS_DIR":            "/models",
		"SIGHTLINE_DETECT_WORKERS":        "3",
		"SIGHTLINE_DETECT_BATCH":          "0",
		"SIGHTLINE_GPU_PROVIDER":          "tensorrt",
		"SIGHTLINE_TENSORRT_CACHE":        "/cache/trt",
		"SIGHTLINE_ALLOW_FILE_SOURCES":    "false",
		"SIGHTLINE_ALLOW_PRIVATE_SOURCES": "0",
		"SIGHTLINE_LOG_LEVEL":             "WARN",
		"SIGHTLINE_ROLLUP_MODELS":         "/rollup",
		"SIGHTLINE_ROLLUP_VARS":           "min_score=0.5; bucket='5 minutes'",
		"SIGHTLINE_API_TOKEN":             "write-secret",
		"SIGHTLINE_API_READ_TOKEN":        "read-secret",
		"SIGHTLINE_RETAIN_CHUNKS_DAYS":    "0",
		"SIGHTLINE_RETAIN_ROWS_DAYS":      "30",
		"SIGHTLINE_RETENTION_EVERY":       "90s",
		"SIGHTLINE_SOMETHING_NEW":         "ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		PostgresDSN: "postgres://u@db:5432/s", TemporalAddress: "temporal:7233", TemporalNamespace: "ns",
		MinIOEndpoint: "minio:9000", MinIOAccessKey: "ak", MinIOSecretKey: "sk", MinIOBucket: "b",
		APIAddress: ":9090", TaskQueue: "q", DetectTaskQueue: "dq", GPUDetectTaskQueue: "gq",
		Model: "yolov8n", ModelLayout: "picodet", ModelsDir: "/models", DetectWorkers: 3,
		GPUProvider: "tensorrt", TensorRTCache: "/cache/trt",
		LogLevel: slog.LevelWarn, RollupModelsDir: "/rollup", RollupVars: "min_score=0.5; bucket='5 minutes'",
		APIToken: "write-secret", APIReadToken: "read-secret",
		RetainChunksDays: 0, RetainRowsDays: 30, RetentionEvery: 90 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("overrides:\n got %+v\nwant %+v", got, want)
	}
}

func TestLogLevels(t *testing.T) {
	for name, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError, "Error": slog.LevelError} {
		c, err := FromLookup(env(map[string]string{"SIGHTLINE_LOG_LEVEL": name}))
		if err != nil || c.LogLevel != want {
			t.Errorf("%s: %v %v, want %v", name, c.LogLevel, err, want)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"SIGHTLINE_DETECT_WORKERS", "abc", "not an integer"},
		{"SIGHTLINE_DETECT_WORKERS", "2.5", "not an integer"},
		{"SIGHTLINE_DETECT_WORKERS", "-1", "must be at least 0"},
		{"SIGHTLINE_DETECT_BATCH", "eight", "not an integer"},
		{"SIGHTLINE_DETECT_BATCH", "-8", "must be at least 0"},
		{"SIGHTLINE_RETAIN_CHUNKS_DAYS", "7d", "not an integer"},
		{"SIGHTLINE_RETAIN_CHUNKS_DAYS", "-1", "must be at least 0"},
		{"SIGHTLINE_RETAIN_ROWS_DAYS", "a year", "not an integer"},
		{"SIGHTLINE_RETAIN_ROWS_DAYS", "-365", "must be at least 0"},
		{"SIGHTLINE_ALLOW_FILE_SOURCES", "yes", "not a boolean"},
		{"SIGHTLINE_ALLOW_PRIVATE_SOURCES", "off", "not a boolean"},
		{"SIGHTLINE_RETENTION_EVERY", "60", "not a duration"},
		{"SIGHTLINE_RETENTION_EVERY", "hourly", "not a duration"},
		{"SIGHTLINE_RETENTION_EVERY", "30s", "must be at least 1m0s"},
		{"SIGHTLINE_RETENTION_EVERY", "-1h", "must be at least 1m0s"},
		{"SIGHTLINE_LOG_LEVEL", "verbose", "not one of debug, info, warn, error"},
		{"SIGHTLINE_LOG_LEVEL", "warn+2", "not one of debug, info, warn, error"},
		{"SIGHTLINE_MODEL_LAYOUT", "yolov7", "not one of yolox, yolov5, yolov8, picodet"},
		{"SIGHTLINE_MODEL_LAYOUT", "YOLOX", "not one of yolox, yolov5, yolov8, picodet"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			c, err := FromLookup(env(map[string]string{tc.key: tc.value}))
			want := fmt.Sprintf("%s=%q: %s", tc.key, tc.value, tc.want)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one containing %s", err, want)
			}
			if !reflect.DeepEqual(c, Config{}) {
				t.Errorf("a failed load returned %+v, want the zero Config", c)
			}
		})
	}
}

// TestMalformedAll reports every bad variable at once, not only the first.
func TestMalformedAll(t *testing.T) {
	_, err := FromLookup(env(map[string]string{
		"SIGHTLINE_DETECT_WORKERS": "abc", "SIGHTLINE_ALLOW_FILE_SOURCES": "maybe", "SIGHTLINE_TASK_QUEUE": "fine",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`SIGHTLINE_DETECT_WORKERS="abc": not an integer`,
		`SIGHTLINE_ALLOW_FILE_SOURCES="maybe": not a boolean`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %s", err, want)
		}
	}
}

func TestTemporalTLSPairs(t *testing.T) {
	_, err := FromLookup(env(map[string]string{"SIGHTLINE_TEMPORAL_TLS_CERT": "c.pem"}))
	if err == nil || !strings.Contains(err.Error(), "SIGHTLINE_TEMPORAL_TLS_KEY") {
		t.Errorf("a certificate without its key: %v", err)
	}
	c, err := FromLookup(env(map[string]string{"SIGHTLINE_TEMPORAL_TLS_CERT": "c.pem", "SIGHTLINE_TEMPORAL_TLS_KEY": "k.pem",
		"SIGHTLINE_METRICS_ADDR": ":9464"}))
	if err != nil || c.TemporalTLSKey != "k.pem" || c.MetricsAddress != ":9464" {
		t.Errorf("%+v %v", c, err)
	}
}

func TestSecretsRedacted(t *testing.T) {
	c, err := FromLookup(env(map[string]string{
		"SIGHTLINE_API_TOKEN":        "tok-write-1",
		"SIGHTLINE_API_READ_TOKEN":   "tok-read-2",
		"SIGHTLINE_MINIO_SECRET_KEY": "minio-secret-3",
		"SIGHTLINE_PG_DSN":           "postgres://app:pg-pass-4@db:5432/s",
		"SIGHTLINE_TEMPORAL_API_KEY": "temporal-key-5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "config", c)
	for name, out := range map[string]string{
		"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "slog": logged.String(),
	} {
		for _, secret := range []string{"tok-write-1", "tok-read-2", "minio-secret-3", "pg-pass-4", "temporal-key-5"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %s: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, "api_token") || !strings.Contains(out, "db:5432") {
			t.Errorf("%s lacks the settings themselves: %s", name, out)
		}
	}
	if got := redactDSN("host=db user=app password=pg-pass-4 dbname=s"); strings.Contains(got, "pg-pass-4") {
		t.Errorf("keyword DSN shows its password: %s", got)
	}
}
