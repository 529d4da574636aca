// Package config reads Sightline's settings from the environment, with
// defaults that match the local services started by `make up`.
package config

import (
	"os"
	"strconv"

	"github.com/sightline-video/sightline/internal/source"
)

// Config is everything a Sightline process needs to reach its services.
type Config struct {
	PostgresDSN        string // SIGHTLINE_PG_DSN
	TemporalAddress    string // SIGHTLINE_TEMPORAL_ADDRESS
	TemporalNamespace  string // SIGHTLINE_TEMPORAL_NAMESPACE
	MinIOEndpoint      string // SIGHTLINE_MINIO_ENDPOINT (host:port)
	MinIOAccessKey     string // SIGHTLINE_MINIO_ACCESS_KEY
	MinIOSecretKey     string // SIGHTLINE_MINIO_SECRET_KEY
	MinIOBucket        string // SIGHTLINE_MINIO_BUCKET
	APIAddress         string // SIGHTLINE_API_ADDR
	TaskQueue          string // SIGHTLINE_TASK_QUEUE: workflows, capture, rollup
	DetectTaskQueue    string // SIGHTLINE_DETECT_TASK_QUEUE: detection activities
	GPUDetectTaskQueue string // SIGHTLINE_GPU_DETECT_TASK_QUEUE: detection on GPU workers (worker --gpu)
	// Model is the default model: a registry name, or a path to an .onnx
	// file of layout ModelLayout. Empty means the embedded YOLOX-Nano.
	Model         string // SIGHTLINE_MODEL
	ModelLayout   string // SIGHTLINE_MODEL_LAYOUT: yolox (default), yolov5, yolov8, picodet
	ModelsDir     string // SIGHTLINE_MODELS_DIR: folder of *.json model specs added to the registry
	DetectWorkers int    // SIGHTLINE_DETECT_WORKERS: networks run in parallel per worker (default: one per core)
	DetectBatch   int    // SIGHTLINE_DETECT_BATCH: frames per forward pass (default 1 on CPU, 8 on GPU)
	// Source policy. Both default to true for a local deployment; set both
	// to false when the API is exposed to people who should not make the
	// workers read local files or reach private hosts.
	AllowFileSources    bool // SIGHTLINE_ALLOW_FILE_SOURCES: local files and webcams
	AllowPrivateSources bool // SIGHTLINE_ALLOW_PRIVATE_SOURCES: loopback, private and link-local hosts
}

// Defaults used by the local stack (scripts/services.sh).
const (
	DefaultTaskQueue       = "sightline"
	DefaultDetectTaskQueue = "sightline-detect"
	DefaultGPUDetectQueue  = "sightline-detect-gpu"
)

// FromEnv returns the configuration from environment variables.
func FromEnv() Config {
	return Config{
		PostgresDSN:         env("SIGHTLINE_PG_DSN", "postgres://postgres@127.0.0.1:55432/sightline?sslmode=disable"),
		TemporalAddress:     env("SIGHTLINE_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:   env("SIGHTLINE_TEMPORAL_NAMESPACE", "default"),
		MinIOEndpoint:       env("SIGHTLINE_MINIO_ENDPOINT", "127.0.0.1:9000"),
		MinIOAccessKey:      env("SIGHTLINE_MINIO_ACCESS_KEY", "sightline"),
		MinIOSecretKey:      env("SIGHTLINE_MINIO_SECRET_KEY", "sightline-secret"),
		MinIOBucket:         env("SIGHTLINE_MINIO_BUCKET", "sightline"),
		APIAddress:          env("SIGHTLINE_API_ADDR", "127.0.0.1:8080"),
		TaskQueue:           env("SIGHTLINE_TASK_QUEUE", DefaultTaskQueue),
		DetectTaskQueue:     env("SIGHTLINE_DETECT_TASK_QUEUE", DefaultDetectTaskQueue),
		GPUDetectTaskQueue:  env("SIGHTLINE_GPU_DETECT_TASK_QUEUE", DefaultGPUDetectQueue),
		Model:               os.Getenv("SIGHTLINE_MODEL"),
		ModelLayout:         env("SIGHTLINE_MODEL_LAYOUT", "yolox"),
		ModelsDir:           os.Getenv("SIGHTLINE_MODELS_DIR"),
		DetectWorkers:       envInt("SIGHTLINE_DETECT_WORKERS", 0),
		DetectBatch:         envInt("SIGHTLINE_DETECT_BATCH", 0),
		AllowFileSources:    envBool("SIGHTLINE_ALLOW_FILE_SOURCES", true),
		AllowPrivateSources: envBool("SIGHTLINE_ALLOW_PRIVATE_SOURCES", true),
	}
}

// SourcePolicy is the source policy the settings describe.
func (c Config) SourcePolicy() source.Policy {
	return source.Policy{AllowFiles: c.AllowFileSources, AllowPrivate: c.AllowPrivateSources}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envBool(key string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}
