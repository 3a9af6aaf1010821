#!/usr/bin/env bash
# install.sh PYTHON PIP_ARGS...: `pip install PIP_ARGS` into PYTHON's environment, done by uv
# where it can be had: it resolves pyproject.toml's metadata as pip does, and installs the lock
# (torch's 5.5 GB) in a fraction of pip's time on this course's 2-core machines
# (bench/install.py). uv is the version requirements.txt pins, in .venv; it is told the
# package sources pip is configured with (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS,
# else pip.conf's [global]), so that both take the same files. Where uv cannot be installed or
# fails, pip does the work.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$1"
shift
UV="$ROOT/.venv/bin/uv"
UV_VERSION="$(sed -n 's/^uv==\([^ ]*\).*/\1/p' "$ROOT/requirements.txt")"

quiet_pip() {  # quiet_pip PYTHON ARGS...: pip, without the local-index notices these
  local python="$1"  # machines print for every package
  shift
  "$python" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

pip_setting() {  # pip_setting NAME: the value pip uses (its PIP_ variable, else pip.conf)
  local variable="PIP_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  if [ -n "${!variable:-}" ]; then echo "${!variable}"; return; fi
  "$PY" -m pip config get "global.$1" 2>/dev/null || true
}

uv_is_pinned() {  # uv answers "uv 0.13.9 (x86_64-unknown-linux-gnu)": the version is its 2nd word
  local answer
  answer="$("$UV" --version 2>/dev/null)" || return 1
  [ "$(echo "$answer" | cut -d' ' -f2)" = "$UV_VERSION" ]
}

have_uv() {
  [ -n "$UV_VERSION" ] || return 1
  if [ ! -x "$UV" ] || ! uv_is_pinned; then
    [ -x "$ROOT/.venv/bin/python" ] || return 1
    quiet_pip "$ROOT/.venv/bin/python" install -q "uv==$UV_VERSION" || return 1
  fi
  uv_is_pinned
}

if have_uv; then
  sources=(--index-strategy unsafe-best-match)  # as pip: the best version over all sources
  index="$(pip_setting index-url)"
  [ -z "$index" ] || sources+=(--default-index "$index")
  for url in $(pip_setting extra-index-url); do sources+=(--index "$url"); done
  for place in $(pip_setting find-links); do sources+=(--find-links "$place"); done
  # --compile-bytecode: the .pyc files pip writes at install; where PYTHONDONTWRITEBYTECODE is
  # set (these machines), nothing writes them later and every process compiled torch again
  if "$UV" pip install --quiet --compile-bytecode --python "$PY" "${sources[@]}" "$@"; then
    exit 0
  fi
  echo "install.sh: uv could not install $*; pip will" >&2
fi
quiet_pip "$PY" install -q "$@"
