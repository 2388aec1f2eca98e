#!/usr/bin/env bash
# The web UI in a real browser (issue 13): tests/browser/journeys.py drives headless Chromium
# (Debian's package, through Playwright for Python: no browser download) over the built service and
# a demo seller, checks every page with axe-core (npm) and saves screenshots to $SCREENSHOTS_DIR.
# Installs what it needs; a browser that cannot be installed fails the run, it never skips.
#   BROWSER_VENV     the Python venv to use or create (default target/browser-venv)
#   AXE_DIR          where npm installs axe-core (default target/browser-npm)
#   SCREENSHOTS_DIR  where the screenshots go (default target/browser-screenshots, so a CI run
#                    leaves the checkout untouched). To refresh the README's screenshots:
#                      SCREENSHOTS_DIR=docs/screenshots .ci/browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${BROWSER_VENV:-target/browser-venv}
AXE_DIR=${AXE_DIR:-target/browser-npm}
SCREENSHOTS_DIR=${SCREENSHOTS_DIR:-target/browser-screenshots}
CHROMIUM=/usr/bin/chromium

if [[ ! -x $CHROMIUM ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
if [[ ! -x $CHROMIUM ]]; then
  echo "browser tests: no Chromium at $CHROMIUM (apt-get install chromium, as root)" >&2
  exit 1
fi
if ! "$VENV/bin/python" -c 'import playwright' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q playwright
fi
if [[ ! -f $AXE_DIR/node_modules/axe-core/axe.min.js ]]; then
  command -v npm >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-audit --no-fund --silent axe-core
fi

cargo build --bin creative-manifests
exec "$VENV/bin/python" tests/browser/journeys.py \
  --binary target/debug/creative-manifests --chromium "$CHROMIUM" \
  --axe "$AXE_DIR/node_modules/axe-core/axe.min.js" --screenshots "$SCREENSHOTS_DIR" "$@"
