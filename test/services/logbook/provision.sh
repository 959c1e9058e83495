#!/usr/bin/env bash
# Provision a Python virtual environment with the real Logbook from PyPI, for
# the tests of `logtickets import-logbook`.
#
#   provision.sh CACHE_DIR        (the tests use <repo>/.cache/logbook-venv)
#
# Installs, with pip from PyPI, the versions pinned below: Logbook, the
# SQLAlchemy its ticketing's SQL backend runs on (Logbook 1.10 needs 1.4 or
# later: it reads rows through `row._mapping`), and psycopg2-binary, the
# PostgreSQL driver SQLAlchemy's `postgresql+psycopg2://` URIs use (a wheel:
# nothing is compiled). The Python is LOGBOOK_PYTHON, else the system's
# /usr/bin/python3 (as for Trac), else python3 on PATH; where its venv module
# is missing (Debian without python3-venv) that package is installed from the
# machine's own sources, like provision.sh of Trac does for its dependencies.
#
# Result: CACHE_DIR/bin/python imports logbook, sqlalchemy and psycopg2.
#
# Safe to run again and concurrently (a lock file serialises runs); a warm
# run only checks and exits. Exits non-zero with a one-line reason on failure.
set -euo pipefail

REQUIREMENTS=(Logbook==1.10.1 SQLAlchemy==2.1.9 psycopg2-binary==2.9.13)

say() { printf 'logbook-provision: %s\n' "$*"; }
die() { printf 'logbook-provision: error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: provision.sh CACHE_DIR"
mkdir -p "$1" 2>/dev/null || die "cannot create cache dir $1"
VENV=$(cd "$1" && pwd)
STAMP="$VENV/provisioned"
WANTED="${REQUIREMENTS[*]}"

# Serialise concurrent runs (test files run in parallel workers). The lock
# lives beside the venv, which is removed and made again when it is stale.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VENV.lock"
  flock 9 || die "cannot lock $VENV.lock"
fi

if [[ -f "$STAMP" && "$(head -n1 "$STAMP")" == "$WANTED" && -x "$VENV/bin/python" ]]; then
  say "cached: $(tail -n1 "$STAMP")"
  exit 0
fi

python=${LOGBOOK_PYTHON:-}
if [[ -z "$python" ]]; then
  if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=$(command -v python3 || true); fi
fi
[[ -n "$python" && -x "$python" ]] || die "no python3 found (install python3, or set LOGBOOK_PYTHON)"

# ---- 1. the venv module (Debian splits it out as python3-venv) -------------
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  [[ "$python" == /usr/bin/python3 ]] || die "$python has no venv/ensurepip module"
  command -v apt-get >/dev/null 2>&1 || die "python3-venv is missing and there is no apt-get"
  if [[ $(id -u) -eq 0 ]]; then
    AS_ROOT=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    AS_ROOT=(sudo -n)
  else
    die "python3-venv is missing; run as root (or install it) first"
  fi
  say "installing python3-venv from the system's sources"
  export DEBIAN_FRONTEND=noninteractive
  log="$VENV.apt.log"
  "${AS_ROOT[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >"$log" 2>&1 \
    || die "apt-get update failed: $(grep -E '^E:' "$log" | head -n1)"
  "${AS_ROOT[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-venv >"$log" 2>&1 \
    || die "apt-get install python3-venv failed: $(grep -E '^E:' "$log" | head -n1)"
  rm -f "$log"
fi

# ---- 2. a fresh venv with the pinned packages ------------------------------
say "creating a venv in $VENV with $("$python" --version 2>&1)"
rm -rf "$VENV"
"$python" -m venv "$VENV" >"$VENV.venv.log" 2>&1 || die "python -m venv failed: $(tail -n1 "$VENV.venv.log")"
rm -f "$VENV.venv.log"
say "installing ${REQUIREMENTS[*]} from PyPI"
log="$VENV/pip.log"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "${REQUIREMENTS[@]}" >"$log" 2>&1 \
  || die "pip install failed: $(grep -E 'ERROR' "$log" | head -n1)"

# Check that Logbook's ticketing and both drivers import before declaring success.
versions=$("$VENV/bin/python" -c '
import importlib.metadata as m, logbook.ticketing, sqlalchemy, psycopg2
print(" ".join(f"{p} {m.version(p)}" for p in ("Logbook", "SQLAlchemy", "psycopg2-binary")))
' 2>&1) || die "the venv does not import logbook.ticketing: $(tail -n1 <<<"$versions")"
printf '%s\n%s\n' "$WANTED" "$versions" >"$STAMP"
say "ready: $versions in $VENV"
