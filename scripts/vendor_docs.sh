#!/usr/bin/env bash
# Vendors the API documentation pages' assets (Swagger UI for /docs, Apache-2.0; ReDoc for /redoc, MIT)
# from the npm registry into api/dashboard/vendor/, which the package ships.
# A development tool: the vendored files are committed, and the service never fetches anything at run time.
# Re-run after changing a VERSION/INTEGRITY pair (each tarball is checked against npm's published sha512).
set -euo pipefail
cd "$(dirname "$0")/.."
SWAGGER_VERSION=5.35.0
SWAGGER_INTEGRITY='sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=='
REDOC_VERSION=2.5.4
REDOC_INTEGRITY='sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=='
DEST=api/dashboard/vendor

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch NAME VERSION INTEGRITY: npm pack into $work/NAME, integrity checked, unpacked
    local name="$1" version="$2" integrity="$3"
    mkdir -p "$work/$name"
    (cd "$work/$name" && npm pack --silent "$name@$version" >/dev/null)
    local tarball
    tarball="$(ls "$work/$name"/*.tgz)"
    local actual
    actual="$(python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
    if [ "$actual" != "$integrity" ]; then
        echo "$name-$version: integrity $actual does not match $integrity" >&2
        exit 1
    fi
    tar -xzf "$tarball" -C "$work/$name"
}

fetch swagger-ui-dist "$SWAGGER_VERSION" "$SWAGGER_INTEGRITY"
fetch redoc "$REDOC_VERSION" "$REDOC_INTEGRITY"
mkdir -p "$DEST"
cp "$work/swagger-ui-dist/package/swagger-ui-bundle.js" "$DEST/swagger-ui-bundle.js"
cp "$work/swagger-ui-dist/package/swagger-ui.css" "$DEST/swagger-ui.css"
cp "$work/swagger-ui-dist/package/LICENSE" "$DEST/swagger-ui.LICENSE.txt"
cp "$work/redoc/package/bundles/redoc.standalone.js" "$DEST/redoc.standalone.js"
# ReDoc's sidebar footer ("API docs by Redocly") loads its logo from cdn.redoc.ly: offline, a failed request and a
# console error on every /redoc. The one change to the bundle: that image is an empty inline SVG instead.
python3 - "$DEST/redoc.standalone.js" <<'PATCH'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
logo = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
if text.count(logo) != 1:
    sys.exit(f"{path}: expected the Redocly logo URL once, found it {text.count(logo)} times")
empty = "src:\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E\""
open(path, "w", encoding="utf-8").write(text.replace(logo, empty))
PATCH
cp "$work/redoc/package/LICENSE" "$DEST/redoc.LICENSE.txt"
cat > "$DEST/DOCS-README.txt" <<NOTE
Swagger UI $SWAGGER_VERSION (npm swagger-ui-dist@$SWAGGER_VERSION, integrity $SWAGGER_INTEGRITY), Apache-2.0
(swagger-ui.LICENSE.txt): swagger-ui-bundle.js, swagger-ui.css. ReDoc $REDOC_VERSION (npm redoc@$REDOC_VERSION,
integrity $REDOC_INTEGRITY), MIT (redoc.LICENSE.txt): bundles/redoc.standalone.js.
Copied by scripts/vendor_docs.sh. Not modified, but for one string: redoc.standalone.js's sidebar logo
(https://cdn.redoc.ly/redoc/logo-mini.svg) is an empty inline SVG. Served at /docs and /redoc without any
network access.
NOTE
echo "vendored swagger-ui-dist@$SWAGGER_VERSION and redoc@$REDOC_VERSION into $DEST"
