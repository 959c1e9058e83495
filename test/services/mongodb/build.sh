#!/usr/bin/env bash
# Build the FerretDB test server wrapper into CACHE_DIR, unless an up-to-date
# binary is already there.
#
#   test/services/mongodb/build.sh CACHE_DIR
#
# Result: CACHE_DIR/ferretdb-wrapper-v1.24.2 (plus a .sha256 stamp recording
# which wrapper sources it was built from; a change to a .go file, go.mod or
# go.sum triggers a rebuild). Safe to run from several processes at once.
# On failure it exits non-zero and the last stderr line says why.
set -euo pipefail

FERRETDB_VERSION=v1.24.2

die() {
  echo "build.sh: $*" >&2
  exit 1
}

[[ $# -eq 1 && -n "$1" ]] || die "usage: build.sh CACHE_DIR"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/ferretdb-wrapper"
mkdir -p "$1" || die "cannot create cache directory $1"
cache="$(cd "$1" && pwd)"
bin="$cache/ferretdb-wrapper-$FERRETDB_VERSION"
stamp="$bin.sha256"

# Identify the sources; a binary built from other sources is stale.
want="$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)"

up_to_date() {
  [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}

if up_to_date; then
  echo "ferretdb-wrapper $FERRETDB_VERSION up to date: $bin (0s)"
  exit 0
fi

# Serialise concurrent builds (several test workers may start at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.build.lock"
  flock 9
  if up_to_date; then
    echo "ferretdb-wrapper $FERRETDB_VERSION up to date: $bin (built by another process)"
    exit 0
  fi
fi

go_bin="$(command -v go || true)"
if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
fi
if [[ -z "$go_bin" && -x "$bin" ]]; then
  echo "build.sh: warning: Go not found; using the existing binary, built from other sources: $bin" >&2
  exit 0
fi
[[ -n "$go_bin" ]] || die "Go is not installed (need go >= 1.24 on PATH to build FerretDB $FERRETDB_VERSION); or set LOGTICKETS_TEST_MONGODB_URL"

start=$SECONDS
echo "building ferretdb-wrapper $FERRETDB_VERSION with $("$go_bin" env GOVERSION) (cold: ~2 min on 2 cores)..."

tmp="$(mktemp "$cache/.ferretdb-wrapper.XXXXXX")"
log="$(mktemp "$cache/.build-log.XXXXXX")"
trap 'rm -f "$tmp" "$log"' EXIT

# - modernc.org/sqlite is pure Go, so no C compiler is needed: CGO_ENABLED=0.
# - the ferretdb_no_postgresql tag leaves out the PostgreSQL backend we never use.
# - -mod=readonly: go.sum is committed and complete; never rewrite it.
# - GOWORK=off: ignore any go.work a developer may have further up the tree.
if ! (cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly" \
  "$go_bin" build -trimpath -buildvcs=false -tags ferretdb_no_postgresql \
  -ldflags "-s -w" -o "$tmp" .) >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  die "go build of ferretdb-wrapper $FERRETDB_VERSION failed after $((SECONDS - start))s (see the go output above)"
fi

chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "$want" >"$stamp"
echo "built ferretdb-wrapper $FERRETDB_VERSION in $((SECONDS - start))s: $bin"
