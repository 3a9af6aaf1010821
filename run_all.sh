#!/usr/bin/env bash
# Re-executes every problem's notebook for each grid point (see src/genlab/course/grids.py), then writes
# results/index.html. Set-up is skipped when done. ./run_all.sh --help lists the options.
set -euo pipefail
cd "$(dirname "$0")"
case " $* " in
  *" --help "* | *" -h "*) ;;
  *" --ray "* | *" --ray="*) ./scripts/setup.sh --ray ;; # Ray only when it is used
  *) ./scripts/setup.sh ;;
esac
exec .venv/bin/python -m genlab.course.pipeline "$@"
