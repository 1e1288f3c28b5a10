#!/usr/bin/env bash
# The explorer_browser CTest test: the explorer page in Debian's Chromium, headless (explorer.test.mjs).
#
#   tests/explorer/run.sh ONEBILLD ONEBILL WORKDIR
#
# Skips (exit 77) only when Chromium is not installed (.ci/install-deps installs it, so CI always runs it).
# Installs playwright-core, pinned by package-lock.json, into WORKDIR/npm with `npm ci` when that copy is missing
# or out of date; it never downloads a browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD). Screenshots: WORKDIR/*.png.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -eq 3 ]] || { echo "usage: $0 ONEBILLD ONEBILL WORKDIR" >&2; exit 2; }
mkdir -p "$3"
ONEBILLD=$(realpath "$1") ONEBILL=$(realpath "$2") EXPLORER_WORK=$(realpath "$3")
export ONEBILLD ONEBILL EXPLORER_WORK
export CHROMIUM=${ONEBILL_CHROMIUM:-/usr/bin/chromium}

if [[ ! -x "$CHROMIUM" ]] || ! "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; then
  echo "SKIP: no working Chromium at $CHROMIUM (Debian's package 'chromium'; .ci/install-deps installs it)."
  echo "The explorer's browser test did not run."
  exit 77
fi
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "FAIL: node and npm are needed (.ci/install-deps installs them)" >&2; exit 1; }

npm_dir="$EXPLORER_WORK/npm"
mkdir -p "$npm_dir"
if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" || [[ ! -d "$npm_dir/node_modules/playwright-core" ]]; then
  cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
  echo "== npm ci (playwright-core, pinned) in $npm_dir"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error
fi
export EXPLORER_NODE_MODULES="$npm_dir/node_modules"
exec node "$here/explorer.test.mjs"
