#!/usr/bin/env bash
# Install kybgate with its test dependencies and run the whole test suite.
# SQLite always; PostgreSQL as well when KYB_TEST_POSTGRES_URL is set (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -n "${KYB_TEST_WORKERS:-2}" -q -p no:cacheprovider "$@"
