#!/usr/bin/env bash
# Set up the benchmark environment in bench/.venv (idempotent; prints what it did).
#
#   bench/setup.sh            # venv + tornado/greenlet + real uWSGI (tornado,greenlet plugins) + gateway (-e)
#   NO_UVLOOP=1 bench/setup.sh   # skip the optional uvloop (NO_PYSPY=1: skip the optional py-spy)
#   FORCE_UWSGI=1 bench/setup.sh # rebuild uWSGI even if one with the tornado plugin is already there
#
# uWSGI is compiled from the PyPI sdist (~1 min).  Its tornado plugin includes "greenlet/greenlet.h",
# which lives in the venv's site-packages, hence CFLAGS=-I<site-packages> and --no-build-isolation
# (the build must see the venv's greenlet and setuptools).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${VENV:-$HERE/.venv}"
PYTHON="${PYTHON:-python3}"

say() { printf '[setup] %s\n' "$*"; }

if [ -x "$VENV/bin/python" ]; then
  say "venv exists: $VENV"
else
  say "creating venv: $VENV (with $($PYTHON --version))"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

have() { "$PY" -c "import $1" >/dev/null 2>&1; }

if have tornado && have greenlet && have wheel && have setuptools; then
  say "tornado/greenlet/wheel/setuptools already installed"
else
  say "installing tornado greenlet wheel setuptools"
  "${PIP[@]}" install -q tornado greenlet wheel setuptools
fi

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
PLAT="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')"
HDR=""
for d in "$SITE" "$PLAT"; do
  if [ -f "$d/greenlet/greenlet.h" ]; then HDR="$d"; break; fi
done
if [ -z "$HDR" ]; then
  say "ERROR: greenlet/greenlet.h not found under $SITE or $PLAT"
  exit 1
fi

uwsgi_ok() {
  # real uWSGI with the tornado + greenlet plugins embedded
  [ -x "$VENV/bin/uwsgi" ] || return 1
  local help
  help="$("$VENV/bin/uwsgi" --help 2>/dev/null)" || true
  grep -q -- '--tornado' <<<"$help" && grep -q -- '--greenlet' <<<"$help"
}

if uwsgi_ok && [ -z "${FORCE_UWSGI:-}" ]; then
  say "uWSGI with tornado+greenlet plugins already built: $("$VENV/bin/uwsgi" --version)"
else
  say "building uWSGI from source with UWSGI_EMBED_PLUGINS=tornado,greenlet (CFLAGS=-I$HDR), ~1 min"
  CFLAGS="-I$HDR" UWSGI_EMBED_PLUGINS=tornado,greenlet \
    "${PIP[@]}" install -q --force-reinstall --no-deps --no-cache-dir --no-build-isolation --no-binary uwsgi uwsgi
  if uwsgi_ok; then
    say "built uWSGI $("$VENV/bin/uwsgi" --version) with tornado+greenlet"
  else
    say "ERROR: uWSGI built but --tornado/--greenlet are missing from its --help"
    exit 1
  fi
fi

if (cd / && "$PY" -c 'import gateway, os, sys; from importlib.metadata import version; version("gateway"); sys.exit(0 if os.path.dirname(os.path.dirname(os.path.abspath(gateway.__file__))) == sys.argv[1] else 1)' "$REPO") >/dev/null 2>&1; then
  say "gateway already installed editable from $REPO"
else
  say "installing gateway editable: pip install -e $REPO"
  "${PIP[@]}" install -q -e "$REPO"
fi

if [ -n "${NO_UVLOOP:-}" ]; then
  say "uvloop skipped (NO_UVLOOP set)"
elif have uvloop; then
  say "uvloop already installed"
else
  say "installing optional uvloop"
  "${PIP[@]}" install -q uvloop || say "uvloop not installed (optional; the uvloop variant will be skipped)"
fi

if [ -n "${NO_PYSPY:-}" ]; then
  say "py-spy skipped (NO_PYSPY set)"
elif [ -x "$VENV/bin/py-spy" ]; then
  say "py-spy already installed (for bench/profile.sh)"
else
  say "installing optional py-spy (for bench/profile.sh)"
  "${PIP[@]}" install -q py-spy || say "py-spy not installed (optional; bench/profile.sh needs it)"
fi

# The system tools the benches drive: wrk (every bench), nginx (nginx_uwsgi_bench.py), erl
# (the Erlang benches).  Installed from Debian's packages when missing and we are root;
# otherwise named, so a bench does not fail later on a missing binary.
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v erl >/dev/null 2>&1 || need+=(erlang-nox)
if [ "${#need[@]}" -eq 0 ]; then
  say "wrk, nginx and erl found"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing ${need[*]} (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  say "WARNING: missing ${need[*]}: install them (Debian: apt-get install ${need[*]}) before running the benches"
fi

say "versions:"
"$PY" - <<'PYEOF'
from importlib.metadata import version, PackageNotFoundError
for m in ("tornado", "greenlet", "uWSGI", "gateway", "uvloop", "py-spy"):
    try:
        print("  %-9s %s" % (m, version(m)))
    except PackageNotFoundError:
        print("  %-9s (not installed)" % m)
PYEOF
say "done. Run: bench/run.sh --help"
