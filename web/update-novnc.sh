#!/usr/bin/env bash
# Replaces web/static/novnc/ with the given version of the official
# @novnc/novnc npm package (default: the version vendored now), keeping only
# what the console page loads and the license files: core/, vendor/pako/lib/,
# vendor/pako/LICENSE, LICENSE.txt, AUTHORS, docs/LICENSE.*, package.json.
# Needs npm; nothing here runs at build or run time. Run go test ./web
# afterwards: it checks that every module import resolves to an embedded file.
set -euo pipefail
cd "$(dirname "$0")"
dest=static/novnc
version="${1:-$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$dest/package.json")}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@novnc/novnc@$version" >/dev/null && tar xzf novnc-novnc-*.tgz)
pkg="$tmp/package"
rm -rf "$dest"
mkdir -p "$dest/vendor/pako" "$dest/docs"
cp -r "$pkg/core" "$dest/"
cp -r "$pkg/vendor/pako/lib" "$pkg/vendor/pako/LICENSE" "$dest/vendor/pako/"
cp "$pkg"/docs/LICENSE.* "$dest/docs/"
cp "$pkg/LICENSE.txt" "$pkg/AUTHORS" "$pkg/package.json" "$dest/"
echo "vendored @novnc/novnc $version into web/$dest"
