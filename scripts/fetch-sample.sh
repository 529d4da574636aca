#!/usr/bin/env bash
# Puts the sample video (vtest.avi, pedestrians, from OpenCV's sample data,
# BSD-3-Clause) in .data/samples: from a local copy when one is given or
# found, otherwise from Debian's opencv-doc package.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.data/samples/vtest.avi
[ -s "$dest" ] && exit 0
mkdir -p "$(dirname "$dest")"
for candidate in "${SIGHTLINE_TESTDATA:-}/vtest.avi" "$root/../shared/testdata/vtest.avi" \
                 /usr/share/doc/opencv-doc/examples/data/vtest.avi; do
  if [ -s "$candidate" ]; then cp "$candidate" "$dest"; exit 0; fi
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "[sample] downloading Debian's opencv-doc package for vtest.avi" >&2
(cd "$tmp" && apt-get download opencv-doc >/dev/null)
dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/x"
cp "$tmp/x/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$dest"
