#!/usr/bin/env bash
# Shared set-up of ./run_all.sh and ./run_tests.sh: creates .venv, installs requirements.txt (the
# lock: every package of pyproject.toml's [notebooks] and [dev] extras, pinned) and the genlab
# package (editable), installs the system packages it needs, fetches and verifies the data sets.
# Every step is skipped when it is already done, so a second call costs about a second.
#   --tests  also Debian's chromium and chromium-driver (the browser test of index.html), and Ray
#   --ray    also Ray (requirements-ray.txt: ./run_all.sh --ray)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.genlab-installed"
TESTS=0
RAY=0
for arg in "$@"; do
  case "$arg" in --tests) TESTS=1 RAY=1 ;; --ray) RAY=1 ;; esac
done

apt_install() {  # apt_install WHY PACKAGE...: Debian packages, as root only; never fatal
  local why="$1"
  shift
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: Debian's $* would serve $why; to install it: sudo apt-get install $*" >&2
    return 0
  fi
  echo "setup: installing Debian's $* ($why)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null 2>&1; } ||
    echo "setup: $* could not be installed; $why will look elsewhere or be skipped" >&2
}

if [ ! -x "$PY" ]; then
  echo "setup: creating $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
want="$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing requirements.txt and genlab into .venv (first time: a minute or two)"
  "$ROOT/scripts/install.sh" "$PY" -r "$ROOT/requirements.txt"
  "$ROOT/scripts/install.sh" "$PY" --no-deps -e "$ROOT"
  echo "$want" >"$STAMP"
fi
# Ray, only for ./run_all.sh --ray and the tests (its tests start a two-node cluster)
ray_want="$(cat "$ROOT/requirements-ray.txt" | sha256sum | cut -d' ' -f1)"
if [ "$RAY" = 1 ] && [ "$(cat "$VENV/.genlab-ray-installed" 2>/dev/null)" != "$ray_want" ]; then
  echo "setup: installing requirements-ray.txt (Ray) into .venv"
  "$ROOT/scripts/install.sh" "$PY" -r "$ROOT/requirements-ray.txt"
  echo "$ray_want" >"$VENV/.genlab-ray-installed"
fi
# Fashion-MNIST's first source, unless the data root already holds it
fashion="${GENLAB_DATA:-$ROOT/data}/FashionMNIST/raw"
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ ! -f "$fashion/t10k-labels-idx1-ubyte" ]; then
  apt_install "Fashion-MNIST" dataset-fashion-mnist
fi
if [ "$TESTS" = 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  apt_install "the browser test of index.html" chromium chromium-driver
fi
"$PY" -m genlab data fetch
