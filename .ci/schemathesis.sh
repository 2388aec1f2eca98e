#!/usr/bin/env bash
# The OpenAPI document checked against the running service (issue 14): starts the already-built
# binary on SQLite with a dev key, runs schemathesis over every operation of /openapi.json with a
# fixed seed and bounded examples, and prints a closing `N passed, M failed` line (operations).
# Exits non-zero on any failure. Builds nothing.
#
#   ST_DIR        folder of the schemathesis venv (default target/schemathesis; created when missing)
#   BIN           the service binary (default target/debug/creative-manifests)
#   MAX_EXAMPLES  examples per operation and phase (default 100)
#   SEED          hypothesis seed (default 14)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ST_DIR=${ST_DIR:-$ROOT/target/schemathesis}
BIN=${BIN:-$ROOT/target/debug/creative-manifests}
MAX_EXAMPLES=${MAX_EXAMPLES:-100}
SEED=${SEED:-14}
PORT=${PORT:-18490}
KEY=schemathesis-dev-key
WORK=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "schemathesis: no binary at $BIN (build first)"; exit 2; }
if [ ! -x "$ST_DIR/bin/schemathesis" ]; then
    python3 -m venv "$ST_DIR"
    "$ST_DIR/bin/pip" install -q 'schemathesis==4.32.5'
fi

# Nothing leaves the machine: no standard-agent previews; outbound calls to the fuzzed URLs are
# refused by the SSRF guard (private addresses stay forbidden).
DATA_DIR="$WORK/data" LISTEN_ADDR="127.0.0.1:$PORT" DEV_API_KEY="$KEY" STANDARD_AGENT_PREVIEWS=false \
    RUST_LOG=warn "$BIN" serve >"$WORK/service.log" 2>&1 &
pid=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

start=$(date +%s)
status=0
# Run from the work dir: schemathesis leaves its example cache (.schemathesis/) in the current folder.
(cd "$WORK" && "$ST_DIR/bin/schemathesis" run "$BASE/openapi.json" \
    --url "$BASE" \
    -H "Authorization: Bearer $KEY" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
    --mode all --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
    --workers 2 --no-color \
    --report junit --report-junit-path "$WORK/junit.xml") || status=$?
elapsed=$(( $(date +%s) - start ))

if [ ! -s "$WORK/junit.xml" ]; then
    echo "schemathesis: no report (exit $status)"; tail -20 "$WORK/service.log"; exit 1
fi
read -r passed failed < <(python3 - "$WORK/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
passed = failed = 0
for c in cases:
    if c.find("failure") is not None or c.find("error") is not None:
        failed += 1
    else:
        passed += 1
print(passed, failed)
PY
)
if grep -q "panicked" "$WORK/service.log"; then
    echo "schemathesis: the service panicked:"; grep -A5 panicked "$WORK/service.log" | head -20
    failed=$((failed + 1))
fi
echo "schemathesis: ${elapsed}s, seed $SEED, max examples $MAX_EXAMPLES"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
