#!/usr/bin/env bash
# The whole test suite: set-up (skipped when done), lint, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's chromium and chromium-driver (the browser test of index.html)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium chromium-driver >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } ||
      echo "setup: chromium could not be installed; the browser test will be skipped"
  fi
fi
.venv/bin/ruff check src tests bench
exec .venv/bin/python -m pytest "$@"
