#!/usr/bin/env bash
# The test suite: set-up (skipped when done), lint, then pytest. Extra arguments go to pytest.
#   ./run_tests.sh           everything (what CI runs): training, notebooks, the browser
#   ./run_tests.sh --fast    everything but the tests marked slow (training models, executing
#                            notebooks, the browser, the fresh install): under a minute
set -euo pipefail
cd "$(dirname "$0")"
args=()
fast=0
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then fast=1; else args+=("$arg"); fi
done
if [ "$fast" = 1 ]; then
  ./scripts/setup.sh
  args=(-m "not slow" "${args[@]}")
else
  ./scripts/setup.sh --tests
fi
.venv/bin/ruff check src tests bench scripts
.venv/bin/ruff format --check src tests bench scripts  # what .pre-commit-config.yaml checks
# one worker per core (pytest-xdist; "-n 0" after it runs the tests in this process), see
# docs/tests.md for what that buys on this project's 2-core CPU
exec .venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder "${args[@]}"
