#!/usr/bin/env bash
# gateway benchmark: see bench/README.md.  Examples:
#   bench/run.sh                                  # default servers, all scenarios, 1 run (~4 min)
#   bench/run.sh --runs 3                         # the full comparison (~12 min)
#   bench/run.sh --scenarios hello --servers gateway,uwsgi-tornado,tornado-raw
#   bench/run.sh --duration-scale 0.2             # smoke test
# Uses bench/.venv (made by bench/setup.sh) for python and uwsgi; PYTHON/UWSGI/WRK override.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -x "$HERE/.venv/bin/python" ]; then
  PATH="$HERE/.venv/bin:$PATH"
  export PATH
  PY="$HERE/.venv/bin/python"
else
  echo "warning: $HERE/.venv missing: run bench/setup.sh first (uwsgi will not be found)" >&2
  PY=python3
fi
# c=1000 needs >1000 fds in wrk and in the servers (they inherit the limit).
hard="$(ulimit -Hn)"
if [ "$hard" = "unlimited" ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt 4096 ]; then
  echo "warning: fd limit $(ulimit -n) is too low for the c=1000 scenario" >&2
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "warning: fewer than 2 cpus; server and wrk will share a core" >&2
fi
exec "$PY" "$HERE/run.py" "$@"
