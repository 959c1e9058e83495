#!/usr/bin/env bash
# Provision a Trac 1.6 + XML-RPC plugin for the Trac backend tests.
#
#   provision.sh CACHE_DIR
#
# Debian 12 (bookworm) has no Trac for Python 3, so the two
# architecture-independent packages `trac` and `trac-xmlrpc` are fetched from
# Debian 13 (trixie) with a private apt configuration (own sources list, own
# package lists, own cache) and unpacked with `dpkg -x` under CACHE_DIR.
# Nothing from trixie is installed into the system. The few run-time
# dependencies Trac has are installed from the machine's own (bookworm)
# sources, and only when missing.
#
# Result: CACHE_DIR/root/usr/lib/python3/dist-packages holds the `trac`,
# `tracopt` and `tracrpc` packages; use it as PYTHONPATH for /usr/bin/python3.
#
# Safe to run again and concurrently (a lock file serialises runs); a warm
# run only checks and exits. Exits non-zero with a one-line reason on failure.
set -euo pipefail

SUITE=trixie
PACKAGES=(trac trac-xmlrpc)
# What Trac 1.6 imports at run time: jinja2 (+ markupsafe), setuptools
# (trac/env.py) and pkg_resources (trac/util). Babel, pygments, docutils and
# pytz are optional and not needed for XML-RPC.
RUNTIME_DEPS=(python3 python3-jinja2 python3-setuptools python3-pkg-resources)

say() { printf 'trac-provision: %s\n' "$*"; }
die() { printf 'trac-provision: error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: provision.sh CACHE_DIR"
mkdir -p "$1" 2>/dev/null || die "cannot create cache dir $1"
CACHE_DIR=$(cd "$1" && pwd)
ROOT="$CACHE_DIR/root"
SITE="$ROOT/usr/lib/python3/dist-packages"
STAMP="$CACHE_DIR/provisioned"

# Serialise concurrent runs (test files run in parallel workers).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.lock"
  flock 9 || die "cannot lock $CACHE_DIR/.lock"
fi

if [[ $(id -u) -eq 0 ]]; then
  AS_ROOT=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  AS_ROOT=(sudo -n)
else
  AS_ROOT=(none)
fi

# ---- 1. bookworm run-time dependencies -------------------------------------
missing=()
for p in "${RUNTIME_DEPS[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get on this machine"
  [[ "${AS_ROOT[0]:-}" != none ]] || die "missing ${missing[*]}; run as root (or install them) first"
  say "installing ${missing[*]} from the system's sources"
  export DEBIAN_FRONTEND=noninteractive
  log="$CACHE_DIR/apt-install.log"
  "${AS_ROOT[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >"$log" 2>&1 \
    || die "apt-get update failed: $(grep -E '^E:' "$log" | head -n1)"
  "${AS_ROOT[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 \
    || die "apt-get install ${missing[*]} failed: $(grep -E '^E:' "$log" | head -n1)"
  rm -f "$log"
else
  say "run-time dependencies present"
fi
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 not found"

# ---- 2. trac + trac-xmlrpc from trixie, unpacked into the cache ------------
if [[ -f "$STAMP" && -f "$SITE/trac/__init__.py" && -f "$SITE/tracrpc/__init__.py" ]]; then
  say "cached: $(tr '\n' ' ' <"$STAMP")"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: cannot download the trac packages"
command -v dpkg >/dev/null 2>&1 || die "dpkg not found: cannot unpack the trac packages"

# The mirror the machine already uses for Debian itself (deb822 first, then
# one-line format), so the download goes where the machine is allowed to go.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f "$f" ]] || continue
  mirror=$(awk '
    /^[[:space:]]*$/ { if (uris != "" && suites ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) { print uris; exit } uris=""; suites=""; next }
    /^URIs:/   { uris=$2 }
    /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites=$0 }
    END { if (uris != "" && suites ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) print uris }
  ' "$f" | head -n1)
  [[ -n "$mirror" ]] && break
done
if [[ -z "$mirror" ]]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' | head -n1)
fi
mirror=${mirror:-http://deb.debian.org/debian}

APT_DIR="$CACHE_DIR/apt"
DEB_DIR="$CACHE_DIR/debs"
rm -rf "$APT_DIR"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$DEB_DIR"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [[ -f "$keyring" ]]; then
  echo "deb [signed-by=$keyring] $mirror $SUITE main" >"$APT_DIR/sources.list"
else
  echo "deb $mirror $SUITE main" >"$APT_DIR/sources.list"
fi
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "Dir::Cache::Archives=$APT_DIR/cache/archives"
  -o "Acquire::Languages=none"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false"
  -o "APT::Sandbox::User=$(id -un)"
)

say "fetching the $SUITE package list from $mirror"
apt-get "${APT_OPTS[@]}" -qq update >"$APT_DIR/update.log" 2>&1 \
  || die "apt-get update for $SUITE failed: $(grep -E '^(E|W):' "$APT_DIR/update.log" | head -n1)"

say "downloading ${PACKAGES[*]}"
rm -f "$DEB_DIR"/*.deb
(cd "$DEB_DIR" && apt-get "${APT_OPTS[@]}" -qq download "${PACKAGES[@]}") >"$APT_DIR/download.log" 2>&1 \
  || die "download of ${PACKAGES[*]} failed: $(grep -E '^E:' "$APT_DIR/download.log" | head -n1)"

say "unpacking into $ROOT"
tmp_root="$CACHE_DIR/root.tmp.$$"
rm -rf "$tmp_root"
mkdir -p "$tmp_root"
for deb in "$DEB_DIR"/*.deb; do
  dpkg -x "$deb" "$tmp_root" || { rm -rf "$tmp_root"; die "dpkg -x $deb failed"; }
done
[[ -f "$tmp_root/usr/lib/python3/dist-packages/trac/__init__.py" && -f "$tmp_root/usr/lib/python3/dist-packages/tracrpc/__init__.py" ]] \
  || { rm -rf "$tmp_root"; die "unpacked packages do not contain trac and tracrpc"; }
rm -rf "$ROOT"
mv "$tmp_root" "$ROOT"
rm -rf "$APT_DIR"

# Byte-compile once here: Trac's imports take about twice as long from source,
# and test runs (often with PYTHONDONTWRITEBYTECODE set) would never cache them.
/usr/bin/python3 -m compileall -q -j 0 "$SITE" >/dev/null 2>&1 || say "warning: byte-compiling failed (Trac will still run, slower)"

# Check that Trac imports with the system python before declaring success.
version=$(PYTHONPATH="$SITE" /usr/bin/python3 -c 'import trac, tracrpc; print(trac.__version__)' 2>&1) \
  || die "trac does not import: $(tail -n1 <<<"$version")"
(cd "$DEB_DIR" && ls -1 *.deb) >"$STAMP"
say "ready: Trac $version in $SITE"
