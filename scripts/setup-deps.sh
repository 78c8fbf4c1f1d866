#!/usr/bin/env bash
# Produces the patched whisper-rs-sys that Cargo.toml's [patch.crates-io] points at:
# the crates.io package (fetched and checksum-verified by cargo itself) unpacked into the
# git-ignored .deps/, plus our small patch. No third-party source is committed.
# Idempotent: does nothing when .deps/ already holds this patch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=whisper-rs-sys
version=0.15.0
patch_file="$root/patches/$name-$version.patch"
dest="$root/.deps/$name-$version"
stamp="$dest/.murmur-patch.sha256"
want=$(sha256sum "$patch_file" | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

cargo_home=${CARGO_HOME:-$HOME/.cargo}
find_crate() { find "$cargo_home/registry/cache" -name "$name-$version.crate" 2>/dev/null | head -n 1; }
crate=$(find_crate)
if [ -z "$crate" ]; then
  # Let cargo download it (uses the machine's registry configuration and verifies the checksum).
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src"
  printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
    "$name" "$name" "$version" > "$tmp/Cargo.toml"
  : > "$tmp/src/lib.rs"
  cargo fetch --quiet --manifest-path "$tmp/Cargo.toml"
  crate=$(find_crate)
fi
[ -n "$crate" ] || { echo "setup-deps: could not fetch $name $version" >&2; exit 1; }

rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xzf "$crate" -C "$dest.tmp" --strip-components=1
patch -s -p1 -d "$dest.tmp" < "$patch_file"
echo "$want" > "$dest.tmp/.murmur-patch.sha256"
mv "$dest.tmp" "$dest"
echo "setup-deps: $name $version patched into ${dest#"$root"/}"
