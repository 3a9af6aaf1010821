#!/usr/bin/env bash
# The whole test suite: set-up (skipped when done), lint, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
.venv/bin/ruff check src tests bench
exec .venv/bin/python -m pytest "$@"
