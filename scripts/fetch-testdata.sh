#!/usr/bin/env bash
# Puts the test media (vtest.avi, messi5.jpg, basketball1.png: OpenCV's
# sample data, BSD-3-Clause) in DEST_DIR (default .data/testdata).
#
#   scripts/fetch-testdata.sh [--download] [DEST_DIR]
#
# Files are copied from a local copy when one is found ($SIGHTLINE_TESTDATA,
# ../shared/testdata beside the repository, or the installed opencv-doc
# package), otherwise taken from Debian's opencv-doc package, downloaded
# with apt-get (no root needed) or, failing that, from the URI apt prints.
# --download skips the local copies. Each file lands by an atomic rename,
# so concurrent readers never see half a file.
set -euo pipefail

files=(vtest.avi messi5.jpg basketball1.png)
docdata=usr/share/doc/opencv-doc/examples/data
root=$(cd "$(dirname "$0")/.." && pwd)

download=false
if [ "${1:-}" = --download ]; then download=true; shift; fi
dest=${1:-$root/.data/testdata}
mkdir -p "$dest"

# place copies src to dest/name through a temporary name in dest, so the
# final rename is atomic.
place() {
  cp "$1" "$dest/.$2.tmp.$$"
  mv -f "$dest/.$2.tmp.$$" "$dest/$2"
}

missing=()
for f in "${files[@]}"; do
  [ -s "$dest/$f" ] && continue
  if ! $download; then
    found=
    for dir in "${SIGHTLINE_TESTDATA:-}" "$root/../shared/testdata" "/$docdata"; do
      if [ -n "$dir" ] && [ -s "$dir/$f" ]; then place "$dir/$f" "$f"; found=1; break; fi
    done
    [ -n "$found" ] && continue
  fi
  missing+=("$f")
done
[ ${#missing[@]} -eq 0 ] && exit 0

tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "[testdata] downloading Debian's opencv-doc package for ${missing[*]}" >&2
if ! (cd "$tmp" && apt-get download opencv-doc >/dev/null 2>"$tmp/apt.err"); then
  # apt-get download can fail where apt's sandbox cannot write; the URI and
  # checksum apt prints still identify the exact package.
  read -r uri name _ sum < <(apt-get download --print-uris opencv-doc 2>>"$tmp/apt.err") || {
    echo "[testdata] cannot locate opencv-doc with apt (run apt-get update?):" >&2
    cat "$tmp/apt.err" >&2
    exit 1
  }
  uri=${uri//\'/}
  echo "[testdata] apt-get download failed, fetching $uri" >&2
  curl -fsSL --retry 3 -o "$tmp/$name" "$uri"
  echo "${sum#SHA256:}  $tmp/$name" | sha256sum -c --quiet -
fi
deb=$(ls "$tmp"/opencv-doc_*.deb)
members=()
for f in "${missing[@]}"; do members+=("./$docdata/$f"); done
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "${members[@]}"
for f in "${missing[@]}"; do
  if [ ! -s "$tmp/$docdata/$f" ]; then
    echo "[testdata] $f is not in $(basename "$deb")" >&2
    exit 1
  fi
  mv -f "$tmp/$docdata/$f" "$dest/$f"
done
