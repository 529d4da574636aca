# Sightline: `make demo` runs the main job end to end on local services,
# `make test` runs the tests. Everything installs itself on first use.
SHELL := /bin/bash
GO ?= go
BIN := bin/sightline
DATA := .data
PID := $(DATA)/run/sightline.pid
export SIGHTLINE_API_ADDR ?= 127.0.0.1:8080

.PHONY: all help deps deps-gpu web build services up dev-stop down status sample demo test bench bench-gpu fuzz lint clean

all: build ## the default goal: the same as build

help: ## list the targets with what each does
	@echo 'usage: make [TARGET] (default: all)'
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z0-9_-]+:[^=#]*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install Debian packages, build the Temporal CLI and MinIO into .tools/bin, fetch ONNX Runtime into .tools/lib and the dashboard's npm packages
	@scripts/install-deps.sh

deps-gpu: ## fetch ONNX Runtime's CUDA and TensorRT providers into .tools/lib (CUDA 12 and cuDNN 9 come from NVIDIA: docs/gpu.md)
	@scripts/fetch-onnxruntime-gpu.sh

# The dashboard's bundle, embedded by the Go build. A plain `go build`
# without it still works; the binary's / then says how to build it.
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/package.json web/tsconfig.json

web: web/dist/index.html ## build the dashboard (TypeScript, with Node.js and npm) into web/dist

# The go.mod keeps Go's ./... out of node_modules (some packages ship Go code).
web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: run make deps"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@echo 'module nodemodules // keeps go ./... out of here' > web/node_modules/go.mod

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build

build: web ## build bin/sightline with the dashboard in it
	$(GO) build -o $(BIN) ./cmd/sightline

services: deps ## start PostgreSQL, Temporal (with UI) and MinIO
	@scripts/services.sh up

up: services build dev-stop ## start the services and run `sightline dev` (worker + API) in the background
	@$(BIN) migrate
	@mkdir -p $(DATA)/run $(DATA)/logs
	@nohup $(BIN) dev >>$(DATA)/logs/sightline.log 2>&1 & echo $$! > $(PID)
	@for i in $$(seq 100); do curl -sf http://$(SIGHTLINE_API_ADDR)/healthz >/dev/null && break; \
		kill -0 $$(cat $(PID)) 2>/dev/null || { echo "sightline dev exited: see $(DATA)/logs/sightline.log"; tail -n 20 $(DATA)/logs/sightline.log; exit 1; }; \
		sleep 0.2; done
	@echo "sightline dev running (pid $$(cat $(PID)), log $(DATA)/logs/sightline.log)"
	@scripts/services.sh status
	@echo "api       up   http://$(SIGHTLINE_API_ADDR)/api/v1 (dashboard: http://$(SIGHTLINE_API_ADDR)/)"

dev-stop: ## stop the background `sightline dev` that `make up` started (the services keep running)
	@if [ -f $(PID) ] && kill -0 $$(cat $(PID)) 2>/dev/null; then kill $$(cat $(PID)); \
		for i in $$(seq 50); do kill -0 $$(cat $(PID)) 2>/dev/null || break; sleep 0.2; done; fi; rm -f $(PID)

down: dev-stop ## stop everything `make up` started
	@scripts/services.sh down

status: ## show whether PostgreSQL, Temporal and MinIO are up, and their addresses
	@scripts/services.sh status

sample: ## fetch the sample video (vtest.avi) into .data/samples
	@scripts/fetch-sample.sh

demo: up sample ## capture the sample video end to end and print its ranked objects
	@$(BIN) demo --video $(DATA)/samples/vtest.avi

test: services web ## the dashboard's lint and unit tests, go vet, a gofmt check, then every Go test with the race detector against real PostgreSQL, Temporal, MinIO and Chromium
	cd web && npm run --silent check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -race -count=1 -timeout 40m ./...

bench: services web ## benchmarks: detection engine vs its limit, a Python loop and PostgreSQL without fsync, the tracker's cost per frame, end-to-end lag on a live RTMP stream, rollups, the dashboard, and how many live streams one machine watches
	$(GO) test -run '^$$' -bench . -benchtime 20x ./internal/detector/
	$(GO) test -run '^$$' -bench Update50 -benchtime 2000x ./internal/track/ ./internal/counting/
	$(GO) test -run '^$$' -bench RTMPLag -benchtime 2x ./e2e/
	$(GO) test -run '^$$' -bench DetectEngine -benchtime 1x -timeout 30m ./e2e/ | tee .data/detect-bench.log
	@grep '^detect-bench:' .data/detect-bench.log
	set -o pipefail; $(GO) test -run '^$$' -bench Rollup -benchtime 1x -timeout 20m ./dbt_like/ | tee .data/rollup-bench.log
	@grep '^rollup-bench:' .data/rollup-bench.log
	set -o pipefail; $(GO) test -run '^$$' -bench Dashboard -benchtime 1x -timeout 30m ./e2e/ | tee .data/dashboard-bench.log
	@grep '^dashboard-bench:' .data/dashboard-bench.log
	set -o pipefail; $(GO) test -run '^$$' -bench MultiStream -benchtime 1x -timeout 120m ./e2e/ | tee .data/multistream-bench.log
	@grep '^multistream-bench:' .data/multistream-bench.log

bench-gpu: ## detections/s on the GPU per batch size and session count (SIGHTLINE_GPU_PROVIDER=cuda|tensorrt; docs/gpu.md)
	set -o pipefail; $(GO) test -run '^$$' -bench '^BenchmarkGPU$$' -benchtime 1x -timeout 30m ./e2e/ | tee .data/gpu-bench.log
	@grep '^gpu-bench:' .data/gpu-bench.log

FUZZTIME ?= 30s

fuzz: services ## run every fuzz target for FUZZTIME each (a duration, or Nx for N executions); FuzzAPIParams needs the services
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/source
	$(GO) test -run '^$$' -fuzz '^FuzzPolicy$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/source
	$(GO) test -run '^$$' -fuzz '^FuzzSpec$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/detector
	$(GO) test -run '^$$' -fuzz '^FuzzConfig$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/detector
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/detector
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/chunk
	$(GO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/chunk
	$(GO) test -run '^$$' -fuzz '^FuzzTemplate$$' -fuzztime $(FUZZTIME) -parallel 1 ./dbt_like
	$(GO) test -run '^$$' -fuzz '^FuzzParseVars$$' -fuzztime $(FUZZTIME) -parallel 1 ./dbt_like
	$(GO) test -run '^$$' -fuzz '^FuzzAPIParams$$' -fuzztime $(FUZZTIME) -parallel 1 ./api

GOLANGCI_LINT := .tools/bin/golangci-lint
GOLANGCI_LINT_VERSION := v2.15.0

$(GOLANGCI_LINT):
	GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

lint: $(GOLANGCI_LINT) web/node_modules/.package-lock.json ## golangci-lint with .golangci.yml (vet, staticcheck, errcheck, gofmt...) and the dashboard's lint; fails on any finding
	$(GOLANGCI_LINT) run ./...
	cd web && npm run --silent lint

clean: down ## stop everything, then delete bin/ and .data/ (the services' data, logs, sample and test media)
	rm -rf bin $(DATA)
