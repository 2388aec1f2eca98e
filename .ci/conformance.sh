#!/usr/bin/env bash
# AdCP conformance of the storefront: starts the already-built service, a minimal underlying sales
# agent (.ci/conformance-seller.py) and a storefront in front of it, then runs the official AdCP
# storyboards against the storefront's MCP URL and gates on each summary's `failed == 0` (the
# runner exits 0 even when steps fail). Builds nothing.
#
#   ADCP_DIR   folder holding the npm install of the official runner (default target/adcp-sdk;
#              installed there when missing: @adcp/sdk@6.11.0 and its peers)
#   BIN        the service binary (default target/debug/creative-manifests)
#   STORYBOARDS  space-separated storyboard ids (default: the five that apply to a creative agent)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ADCP_DIR=${ADCP_DIR:-$ROOT/target/adcp-sdk}
BIN=${BIN:-$ROOT/target/debug/creative-manifests}
STORYBOARDS=${STORYBOARDS:-creative_lifecycle idempotency schema_validation error_compliance security_baseline}
# Storyboards run with their test kit's API key set to the buyer's key (security_baseline's
# API-key phase): the CLI cannot pass a kit, .ci/conformance-storyboard.js uses the SDK's API.
KIT_STORYBOARDS=${KIT_STORYBOARDS:-security_baseline}
PORT=${PORT:-18480}
SELLER_PORT=${SELLER_PORT:-18481}
OWNER_KEY=conformance-owner-key
WORK=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "conformance: no binary at $BIN (build first)"; exit 2; }
if [ ! -d "$ADCP_DIR/node_modules/@adcp/sdk" ]; then
    mkdir -p "$ADCP_DIR"
    (cd "$ADCP_DIR" && npm install --silent --no-audit --no-fund \
        @adcp/sdk@6.11.0 @modelcontextprotocol/sdk @a2a-js/sdk@^0.3.4 zod@^4.1.5)
fi

python3 "$ROOT/.ci/conformance-seller.py" "$SELLER_PORT" &
pids+=($!)
# The underlying agent listens on loopback: the lab allows private outbound addresses.
DATA_DIR="$WORK/data" LISTEN_ADDR="127.0.0.1:$PORT" DEV_API_KEY="$OWNER_KEY" OUTBOUND_ALLOW_PRIVATE=true \
    RUST_LOG=warn "$BIN" serve >"$WORK/service.log" 2>&1 &
pids+=($!)
BASE="http://127.0.0.1:$PORT"
# Both must answer before the set-up below (a formats refresh against a seller still starting is a 502).
for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && curl -sS -o /dev/null "http://127.0.0.1:$SELLER_PORT/" 2>/dev/null && break
    sleep 0.1
done

api() { # method path [json]
    curl -fsS -X "$1" "$BASE$2" -H "Authorization: Bearer $OWNER_KEY" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

AGENT=$(api POST /api/v2/buyer/sales-agents \
    "{\"name\":\"Underlying\",\"endpoint_url\":\"http://127.0.0.1:$SELLER_PORT/mcp\"}" | field sales_agent_id)
api POST "/api/v2/buyer/sales-agents/$AGENT/formats/refresh" >/dev/null
SF=$(api POST /api/v2/storefront/storefronts \
    "{\"name\":\"Conformance\",\"sales_agent_id\":\"$AGENT\",\"review_mode\":\"manual\"}")
MCP=$(echo "$SF" | field mcp_url)
SF_ID=$(echo "$SF" | field storefront_id)
# The storyboards' buyer: brand acmeoutdoor.example operated by pinnacle-agency.example.
BUYER_KEY=$(api POST "/api/v2/storefront/storefronts/$SF_ID/accounts" \
    '{"name":"Pinnacle for Acme Outdoor","brand_domains":["acmeoutdoor.example"],"operator":"pinnacle-agency.example"}' | field api_key)

# The test kit's own buyer: the brand operating for itself (the kit's requests name no agency).
KIT_KEY=$(api POST "/api/v2/storefront/storefronts/$SF_ID/accounts" \
    '{"name":"Acme Outdoor direct","brand_domains":["acmeoutdoor.example"]}' | field api_key)

status=0
for sb in $STORYBOARDS; do
    out="$WORK/$sb.json"
    case " $KIT_STORYBOARDS " in
    *" $sb "*) # needs a test kit, which only the SDK's library API passes (see the script)
        NODE_PATH="$ADCP_DIR/node_modules" node "$ROOT/.ci/conformance-storyboard.js" \
            "$MCP" "$sb" "$KIT_KEY" "$out" >"$WORK/$sb.log" 2>&1 || true ;;
    *)
        (cd "$ADCP_DIR" && npx adcp storyboard run "$MCP" "$sb" --protocol mcp --allow-http \
            --auth "$BUYER_KEY" --summary-output "$out") >"$WORK/$sb.log" 2>&1 || true ;;
    esac
    if [ ! -s "$out" ]; then
        echo "conformance: $sb produced no summary"; tail -40 "$WORK/$sb.log"; status=1; continue
    fi
    cp "$out" "$ROOT/target/conformance-$sb.json" 2>/dev/null || true
    cp "$WORK/$sb.log" "$ROOT/target/conformance-$sb.log" 2>/dev/null || true
    python3 - "$out" "$sb" <<'PY' || status=1
import json, sys
s = json.load(open(sys.argv[1]))
summary = s.get("summary", s)
failed = summary.get("failed", 0)
print(f"conformance {sys.argv[2]}: " + json.dumps({k: summary.get(k) for k in ("passed", "failed", "skipped") if k in summary}))
sys.exit(0 if failed == 0 else 1)
PY
done
if [ "${FUZZ:-1}" = 1 ]; then
    # Property-based fuzzing of the storefront's tools against their published schemas; exits
    # non-zero on any failure.
    if (cd "$ADCP_DIR" && npx adcp fuzz "$MCP" --tools list_creatives,list_creative_formats,get_creative_delivery,sync_creatives \
        --auto-seed --seed 42 --auth-token "$BUYER_KEY" --seed-brand acmeoutdoor.example) >"$WORK/fuzz.log" 2>&1; then
        echo "conformance fuzz: no failures"
    else
        echo "conformance fuzz: failures (see target/conformance-fuzz.log)"; status=1
    fi
    cp "$WORK/fuzz.log" "$ROOT/target/conformance-fuzz.log" 2>/dev/null || true
fi
[ $status -eq 0 ] || tail -20 "$WORK/service.log"
exit $status
