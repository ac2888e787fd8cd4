#!/usr/bin/env bash
# Install kybgate, migrate the embedded SQLite database, load the demo data and serve on
# http://127.0.0.1:8000 (staff console /staff, merchant portal /portal, API docs /api/docs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/kybgate db upgrade
.venv/bin/kybgate demo --if-empty
exec .venv/bin/kybgate serve --bind "${KYB_BIND:-127.0.0.1:8000}"
