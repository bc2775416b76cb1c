#!/usr/bin/env bash
# Build PyPI's uWSGI (tornado + greenlet plugins embedded) once, into a cached virtualenv
# outside the repository, for the interop tests (tests/peers.py: require_uwsgi()).
#
#   tests/support/build_uwsgi.sh          # prints the uwsgi binary path on its last line
#   FORCE_UWSGI=1 tests/support/build_uwsgi.sh   # rebuild
#
# The venv lives in ${GATEWAY_UWSGI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-tests/uwsgi-pyX.Y}
# (one per Python version: the embedded interpreter must match the tests' python3).  The
# tornado plugin includes "greenlet/greenlet.h" from the venv's site-packages, hence
# CFLAGS=-I<site-packages> and --no-build-isolation.  ~1-3 min the first time, instant after.
# uWSGI builds its internal routing (--route...) only when it finds PCRE: libpcre2-dev must be
# installed first (.ci/run does); a cached build without it is built again.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
VENV="${GATEWAY_UWSGI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-tests/uwsgi-py$PYVER}"
UWSGI="$VENV/bin/uwsgi"

say() { printf '[build_uwsgi] %s\n' "$*" >&2; }

ok() {
  [ -x "$UWSGI" ] && [ -f "$VENV/.built" ] || return 1
  local help
  help="$("$UWSGI" --help 2>/dev/null)" || true
  grep -q -- '--tornado' <<<"$help" && grep -q -- '--greenlet' <<<"$help" && grep -q -- '--route ' <<<"$help"
}

mkdir -p "$(dirname "$VENV")"
# One build at a time (parallel test sessions, .ci/run): the others wait, then find it cached.
exec 9>"$VENV.lock"
flock 9

if ok && [ -z "${FORCE_UWSGI:-}" ]; then
  say "cached: $UWSGI ($("$UWSGI" --version))"
  echo "$UWSGI"
  exit 0
fi

# A half-made cache (interrupted build) has no $VENV/.built marker: start it over.
rm -rf "$VENV"
say "creating $VENV with $("$PYTHON" --version)"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install tornado greenlet wheel setuptools
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
[ -f "$SITE/greenlet/greenlet.h" ] || { say "ERROR: greenlet/greenlet.h not in $SITE"; exit 1; }
say "compiling uWSGI from the PyPI sdist (UWSGI_EMBED_PLUGINS=tornado,greenlet), 1-3 min"
CFLAGS="-I$SITE" UWSGI_EMBED_PLUGINS=tornado,greenlet \
  "${PIP[@]}" install --no-cache-dir --no-build-isolation --no-binary uwsgi uwsgi
touch "$VENV/.built"
if ok; then
  say "built: $UWSGI ($("$UWSGI" --version))"
  echo "$UWSGI"
else
  say "ERROR: $UWSGI lacks --tornado/--greenlet/--route (routing needs libpcre2-dev)"
  exit 1
fi
