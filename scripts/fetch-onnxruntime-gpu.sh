#!/usr/bin/env bash
# Installs ONNX Runtime's GPU execution providers (CUDA and TensorRT) beside
# the library that scripts/fetch-onnxruntime.sh installs, in DEST_DIR
# (default .tools/lib):
#
#   DEST_DIR/libonnxruntime_providers_shared.so
#   DEST_DIR/libonnxruntime_providers_cuda.so
#   DEST_DIR/libonnxruntime_providers_tensorrt.so
#
# They come from Microsoft's NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux
# of the same version, the one onnxruntime-node's own installer takes them
# from, checked against the SHA-512 that NuGet's catalog records for it.
# They need an NVIDIA driver, CUDA 12 and cuDNN 9 (and TensorRT 10 for the
# TensorRT provider): see docs/gpu.md. Linux x86_64 only.
#
# Usage: scripts/fetch-onnxruntime-gpu.sh [DEST_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/.tools/lib}
version=1.30.0
id=microsoft.ml.onnxruntime.gpu.linux
nupkg_url=https://api.nuget.org/v3-flatcontainer/$id/$version/$id.$version.nupkg
registration_url=https://api.nuget.org/v3/registration5-semver1/$id/$version.json
files="libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so libonnxruntime_providers_tensorrt.so"

log() { printf '[install] %s\n' "$*" >&2; }
fail() {
  log "ONNX Runtime $version GPU providers not installed: $*"
  log "  by hand: copy $files from the nupkg at $nupkg_url"
  log "  (runtimes/linux-x64/native/) into $dest; see docs/gpu.md"
  exit 1
}

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || fail "Microsoft ships them for Linux x86_64 only"
[ -e "$dest/libonnxruntime.so.$version" ] || fail "run scripts/fetch-onnxruntime.sh first: the providers must match libonnxruntime.so.$version"
command -v python3 >/dev/null || fail "python3 is needed to read NuGet's catalog"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "fetching NuGet's record of $id $version"
curl -fsSL --retry 3 -o "$tmp/registration.json" "$registration_url" || fail "cannot reach $registration_url"
catalog=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["catalogEntry"])' "$tmp/registration.json") ||
  fail "no catalog entry in $registration_url"
curl -fsSL --retry 3 -o "$tmp/catalog.json" "$catalog" || fail "cannot reach $catalog"
want=$(python3 -c '
import base64, json, sys
c = json.load(open(sys.argv[1]))
assert c["packageHashAlgorithm"] == "SHA512", c["packageHashAlgorithm"]
print(base64.b64decode(c["packageHash"]).hex())' "$tmp/catalog.json") || fail "no SHA-512 in $catalog"

log "fetching $nupkg_url"
curl -fSL --retry 3 -o "$tmp/gpu.nupkg" "$nupkg_url" || fail "cannot download $nupkg_url"
got=$(sha512sum "$tmp/gpu.nupkg" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the package's SHA-512 is $got, NuGet's catalog says $want"

mkdir -p "$dest"
for f in $files; do
  python3 - "$tmp/gpu.nupkg" "runtimes/linux-x64/native/$f" "$dest/$f" <<'EOF' || fail "$f is not in the package"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3] + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  mv "$dest/$f.tmp" "$dest/$f"
done
log "ONNX Runtime $version GPU providers in $dest: $files"
