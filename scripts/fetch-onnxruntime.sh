#!/usr/bin/env bash
# Installs Microsoft's ONNX Runtime shared library (CPU build, pinned version)
# into DEST_DIR (default .tools/lib), where the detector looks for it:
#
#   DEST_DIR/libonnxruntime.so.<version>
#   DEST_DIR/libonnxruntime.so.1 -> libonnxruntime.so.<version>
#   DEST_DIR/libonnxruntime.so   -> libonnxruntime.so.<version>
#   DEST_DIR/onnxruntime.LICENSE
#
# The library comes from the npm registry's onnxruntime-node package, which
# ships Microsoft's prebuilt libonnxruntime.so.1 for Linux; only that file is
# taken from the tarball. Both the tarball and the library are checked
# against the sha256 sums below. Needs npm, no root. Running it again when
# the library is in place (with the right sum) changes nothing.
#
# Usage: scripts/fetch-onnxruntime.sh [DEST_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/.tools/lib}

version=1.30.0
package=onnxruntime-node
tarball_sha256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64)
    member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
    lib_sha256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23 ;;
  Linux/aarch64 | Linux/arm64)
    member=package/bin/napi-v6/linux/arm64/libonnxruntime.so.1
    lib_sha256=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76 ;;
  *)
    member= lib_sha256= ;;
esac

lib=libonnxruntime.so.$version

log() { printf '[install] %s\n' "$*" >&2; }

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# fail says what went wrong and how to get the library some other way.
fail() {
  log "ONNX Runtime $version not installed: $*"
  log "  by hand: unpack onnxruntime-linux-x64-$version.tgz (or -aarch64-) from"
  log "  https://github.com/microsoft/onnxruntime/releases and copy its lib/libonnxruntime.so*"
  log "  into $dest, or set SIGHTLINE_ORT_LIB to any libonnxruntime.so;"
  log "  without it the detector runs on OpenCV's DNN module"
  exit 1
}

# link points name at the versioned library unless it already does.
link() {
  [ "$(readlink "$dest/$1" 2>/dev/null)" = "$lib" ] || ln -sfn "$lib" "$dest/$1"
}

[ -n "$member" ] || fail "no prebuilt library for $(uname -s)/$(uname -m) in $package"

if [ -f "$dest/$lib" ] && [ "$(sha256 "$dest/$lib")" = "$lib_sha256" ]; then
  link libonnxruntime.so.1
  link libonnxruntime.so
  log "ONNX Runtime $version already in $dest"
  exit 0
fi

[ ! -e "$dest/$lib" ] || log "$dest/$lib has another sha256; fetching it again"
command -v npm >/dev/null || fail "npm is needed to fetch $package@$version"
mkdir -p "$dest" || fail "cannot create $dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$dest/.$lib.part"' EXIT

log "fetching ONNX Runtime $version ($package from the npm registry, about 110 MB)"
npm pack "$package@$version" --pack-destination "$tmp" --loglevel=error >/dev/null 2>"$tmp/npm.log" || {
  grep -v '^npm error  *at ' "$tmp/npm.log" | head -n 8 | sed 's/^/[install]   /' >&2
  fail "npm pack $package@$version failed"
}
tgz=$tmp/$package-$version.tgz
[ -f "$tgz" ] || fail "npm pack did not write $tgz"
got=$(sha256 "$tgz")
[ "$got" = "$tarball_sha256" ] || fail "$package-$version.tgz sha256 is $got, expected $tarball_sha256"

tar -xzf "$tgz" -C "$tmp" "$member" package/package.json || fail "$member not found in $package-$version.tgz"
got=$(sha256 "$tmp/$member")
[ "$got" = "$lib_sha256" ] || fail "$member sha256 is $got, expected $lib_sha256"

# The licence: the package's own file when it has one, else the MIT terms
# its package.json names, with Microsoft's copyright line.
if tar -xzf "$tgz" -C "$tmp" package/LICENSE 2>/dev/null; then
  cp "$tmp/package/LICENSE" "$dest/onnxruntime.LICENSE"
elif grep -q '"license": *"MIT"' "$tmp/package/package.json"; then
  cat >"$dest/onnxruntime.LICENSE" <<EOF
ONNX Runtime $version (libonnxruntime.so, from the npm package $package@$version).
Its package.json names the MIT licence; its third-party notices are in
https://github.com/microsoft/onnxruntime/blob/v$version/ThirdPartyNotices.txt

MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF
fi

# Copy under a temporary name and rename, so a reader never sees half a file.
cp "$tmp/$member" "$dest/.$lib.part"
chmod 0644 "$dest/.$lib.part"
mv -f "$dest/.$lib.part" "$dest/$lib"
link libonnxruntime.so.1
link libonnxruntime.so
log "ONNX Runtime $version installed in $dest ($lib, sha256 verified)"
