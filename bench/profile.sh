#!/usr/bin/env bash
# Profile one server under wrk load with py-spy: see bench/profile.py and bench/README.md.
#   bench/profile.sh gateway hello-ka --seconds 10
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=python3
if [ -x "$HERE/.venv/bin/python" ]; then PATH="$HERE/.venv/bin:$PATH"; export PATH; PY="$HERE/.venv/bin/python"; fi
hard="$(ulimit -Hn)"
if [ "$hard" = "unlimited" ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
exec "$PY" "$HERE/profile.py" "$@"
