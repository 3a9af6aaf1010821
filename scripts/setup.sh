#!/usr/bin/env bash
# Shared set-up of ./run_all.sh and ./run_tests.sh: creates .venv, installs requirements.txt and
# the genlab package (editable), fetches and verifies the data sets. Every step is skipped when
# it is already done, so a second call costs about a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.genlab-installed"

quiet_pip() {  # pip, without the local-index notices these machines print for every package
  "$PY" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

if [ ! -x "$PY" ]; then
  echo "setup: creating $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
want="$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing requirements.txt and genlab into .venv (first time: several minutes)"
  quiet_pip install -q -r "$ROOT/requirements.txt"
  quiet_pip install -q --no-deps -e "$ROOT"
  echo "$want" >"$STAMP"
fi
"$PY" -m genlab data fetch
