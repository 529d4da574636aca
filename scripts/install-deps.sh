#!/usr/bin/env bash
# Installs what Sightline needs on a Debian (bookworm) machine, skipping what
# is already there: Debian packages (as root), then the Temporal CLI and the
# MinIO server built with `go install` into .tools/bin (git-ignored), ONNX
# Runtime's shared library into .tools/lib, and the dashboard's npm packages.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SIGHTLINE_TOOLS:-$root/.tools/bin}
temporal_version=v1.5.1
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c

log() { printf '[install] %s\n' "$*" >&2; }

# python3-opencv: the plain Python loop `make bench` compares against;
# chromium: the dashboard's browser tests.
packages=(postgresql libopencv-dev pkg-config gcc g++ curl ca-certificates python3-opencv chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm build the dashboard; a Node.js installed otherwise (with
# its own npm) is kept, as Debian's npm package would conflict with it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root: apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nginx with the RTMP module and ffmpeg serve the live-stream tests.
"$root/scripts/live-rig.sh" install

command -v go >/dev/null || { log "Go is required (https://go.dev/dl/), 1.26 or newer"; exit 1; }
mkdir -p "$bin"
pids=()
if [ ! -x "$bin/temporal" ]; then
  log "building the Temporal CLI $temporal_version (a few minutes the first time)"
  GOBIN=$bin go install "github.com/temporalio/cli/cmd/temporal@$temporal_version" & pids+=($!)
fi
if [ ! -x "$bin/minio" ]; then
  log "building the MinIO server (a few minutes the first time)"
  GOBIN=$bin go install "github.com/minio/minio@$minio_version" & pids+=($!)
fi
if [ ! -f "$root/web/node_modules/.package-lock.json" ]; then
  log "installing the dashboard's npm packages"
  # The go.mod keeps Go's ./... out of node_modules (some packages ship Go code).
  (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error &&
    echo 'module nodemodules // keeps go ./... out of here' > node_modules/go.mod) & pids+=($!)
fi
# ONNX Runtime runs the detector; without it the detector falls back to
# OpenCV's DNN module, so a failed fetch only warns.
("$root/scripts/fetch-onnxruntime.sh" "$root/.tools/lib" ||
  log "warning: ONNX Runtime not installed (see above); the detector will use OpenCV") & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
log "dependencies ready"
