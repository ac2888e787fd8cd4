#!/usr/bin/env bash
# "API in one minute" (README): from nothing to one allowed and one refused POST /api/v1/verify.
# Run it in the project folder while `bash scripts/start.sh` serves the demo; every step is
# plain shell (curl, and python for reading JSON), so it can be pasted line by line.
#   KYB_URL   the server (default http://127.0.0.1:8000)
#   KYBGATE   the CLI, run with the server's settings (default .venv/bin/kybgate)
set -euo pipefail
cd "$(dirname "$0")/.."
KYB_URL="${KYB_URL:-http://127.0.0.1:8000}"
KYBGATE="${KYBGATE:-.venv/bin/kybgate}"
PY="${PY:-.venv/bin/python}"
field() { "$PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# 1. An OAuth client for your back office. The secret is printed once (stored only as a hash):
#    {"client_id": "kybc_…", "client_secret": "…", "scopes": "…"}.
CLIENT=$("$KYBGATE" clients create --name quickstart \
    --scopes "merchants:read keys:write verify" --json)
CLIENT_ID=$(echo "$CLIENT" | field client_id)
CLIENT_SECRET=$(echo "$CLIENT" | field client_secret)
echo "client id: $CLIENT_ID (its secret is in \$CLIENT_SECRET: keep it in your vault)"

# 2. A bearer token (client credentials grant), valid for an hour:
#    {"access_token": "…", "token_type": "Bearer", "expires_in": 3600, "scope": "…"}.
TOKEN=$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
    "$KYB_URL/oauth/token" | field access_token)
AUTH="Authorization: Bearer $TOKEN"
echo "access token: ${TOKEN:0:8}… (in \$TOKEN)"

# 3. An approved low-risk merchant: the demo approved several (yours get there through
#    POST /api/v1/merchants and a staff decision).
MERCHANT_ID=$(curl -fsS -H "$AUTH" "$KYB_URL/api/v1/merchants?status=approved&tier=low&limit=1" \
    | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
echo "merchant: $MERCHANT_ID"

# 4. A test key bound to one IP range and one site. Test keys work at once (live keys after
#    KYB_KEY_ACTIVATION_DELAY seconds); the token is in this answer only.
MERCHANT_TOKEN=$(curl -fsS -H "$AUTH" -H "Content-Type: application/json" \
    -d '{"name": "quickstart", "environment": "test", "ip_whitelist": ["203.0.113.0/24"],
         "back_urls": ["https://shop.example.com"]}' \
    "$KYB_URL/api/v1/merchants/$MERCHANT_ID/keys" | field token)

# 5. Your payment API asks kybgate about each request: first from a whitelisted address ...
echo "from 203.0.113.7:"
curl -fsS -H "$AUTH" -H "Content-Type: application/json" \
    -d "{\"token\": \"$MERCHANT_TOKEN\", \"client_ip\": \"203.0.113.7\",
         \"back_url\": \"https://shop.example.com/checkout\"}" \
    "$KYB_URL/api/v1/verify"
echo
# ... then from an address outside the whitelist: refused, with the reason.
echo "from 198.51.100.9:"
curl -fsS -H "$AUTH" -H "Content-Type: application/json" \
    -d "{\"token\": \"$MERCHANT_TOKEN\", \"client_ip\": \"198.51.100.9\",
         \"back_url\": \"https://shop.example.com/checkout\"}" \
    "$KYB_URL/api/v1/verify"
echo
