#!/usr/bin/env bash
# Corpus check (not part of `cargo test`, which stands alone): every HTML5 bundle of the corpus is
# uploaded to the built service and its served page compared with the original in headless Chromium
# (see .ci/corpus_check.py). Installs what it needs: Debian's chromium, and a venv with playwright
# (driving the system Chromium: no browser download) and Pillow (screenshot comparison).
#   CORPUS_DIR   bundles and MANIFEST.md (default ../shared/corpus/html5, beside the repository)
#   CORPUS_VENV  the Python venv to use or create (default target/corpus-venv)
# Extra arguments go to the script (e.g. --only studio-300x250).
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS_DIR=${CORPUS_DIR:-../shared/corpus/html5}
VENV=${CORPUS_VENV:-target/corpus-venv}

if [[ ! -d $CORPUS_DIR ]]; then
  echo "corpus check: no corpus at $CORPUS_DIR (set CORPUS_DIR)" >&2
  exit 1
fi
if [[ ! -x /usr/bin/chromium ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! "$VENV/bin/python" -c 'import playwright, PIL' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q playwright pillow
fi

cargo build --bin creative-manifests
exec "$VENV/bin/python" .ci/corpus_check.py \
  --binary target/debug/creative-manifests --corpus "$CORPUS_DIR" --chromium /usr/bin/chromium "$@"
