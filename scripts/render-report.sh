#!/usr/bin/env bash
# Writes the config-scope report of a stack as HTML and screenshots it with headless Chromium, to check by eye that
# the page renders and reads. Not part of CI.
#   scripts/render-report.sh [STACK] [OUTDIR]     (defaults: prod, $TMPDIR/mesh-tenancy-report)
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-prod}"
outdir="${2:-${TMPDIR:-/tmp}/mesh-tenancy-report}"
mkdir -p "$outdir"
html="$(cd "$outdir" && pwd)/scope-$stack.html"
png="$(cd "$outdir" && pwd)/scope-$stack.png"

npx --no-install ts-node --transpile-only report/cli.ts --stack "$stack" --html "$html" >/dev/null

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "chromium not found; installing Debian's chromium" >&2
    apt-get install -y chromium >/dev/null
    browser="$(command -v chromium)"
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
    --disable-sync --no-first-run --user-data-dir="$profile")
# The rendered DOM must hold the matrix; then the screenshot is for a person to look at.
"$browser" "${flags[@]}" --dump-dom "file://$html" 2>/dev/null | grep -q '<table class="matrix">' \
    || { echo "chromium did not render the matrix of $html" >&2; exit 1; }
"$browser" "${flags[@]}" --screenshot="$png" --window-size=1400,900 "file://$html" 2>/dev/null
test -s "$png"
echo "$html"
echo "$png"
