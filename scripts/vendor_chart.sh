#!/usr/bin/env bash
# Vendors the dashboard's chart library (uPlot, MIT) from the npm registry into api/dashboard/vendor/.
# A development tool: the vendored files are committed, and the service never fetches anything at run
# time. Re-run after changing VERSION/INTEGRITY (the tarball is checked against npm's published sha512).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.6.32
INTEGRITY='sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=='
DEST=api/dashboard/vendor

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$VERSION" >/dev/null)
tarball="$work/uplot-$VERSION.tgz"
actual="$(python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "uplot-$VERSION.tgz: integrity $actual does not match $INTEGRITY" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$DEST"
cp "$work/package/dist/uPlot.iife.min.js" "$DEST/uPlot.iife.min.js"
cp "$work/package/dist/uPlot.min.css" "$DEST/uPlot.min.css"
cp "$work/package/LICENSE" "$DEST/uPlot.LICENSE.txt"
cat > "$DEST/README.txt" <<NOTE
uPlot $VERSION (https://github.com/leeoniya/uPlot), MIT licence (uPlot.LICENSE.txt).
From the npm registry package uplot@$VERSION, tarball integrity $INTEGRITY.
Copied by scripts/vendor_chart.sh: dist/uPlot.iife.min.js, dist/uPlot.min.css, LICENSE. Not modified.
NOTE
echo "vendored uplot@$VERSION into $DEST"
