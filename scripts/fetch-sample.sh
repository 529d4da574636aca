#!/usr/bin/env bash
# Puts the sample video (vtest.avi, pedestrians, from OpenCV's sample data,
# BSD-3-Clause) in .data/samples, by way of the test media that
# scripts/fetch-testdata.sh copies or downloads into .data/testdata.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.data/samples/vtest.avi
[ -s "$dest" ] && exit 0
mkdir -p "$(dirname "$dest")"
"$root/scripts/fetch-testdata.sh" "$root/.data/testdata"
cp "$root/.data/testdata/vtest.avi" "$dest"
