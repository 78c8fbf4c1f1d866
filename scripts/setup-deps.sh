#!/usr/bin/env bash
# Produces the patched crates that Cargo.toml's [patch.crates-io] points at: each crates.io
# package (fetched and checksum-verified by cargo itself) unpacked into the git-ignored .deps/,
# plus our small patch from patches/. No third-party source is committed.
# Idempotent: a crate whose .deps/ copy already carries its patch is left alone.
set -Eeuo pipefail
trap 'echo "setup-deps: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Where the patched crates go (Cargo.toml's [patch.crates-io] expects .deps/; tests of this
# script point it elsewhere).
deps=${MURMUR_DEPS_DIR:-$root/.deps}

patch_crate() {
  local name=$1 version=$2
  local patch_file="$root/patches/$name-$version.patch"
  local dest="$deps/$name-$version"
  local want
  want=$(sha256sum "$patch_file" | cut -d' ' -f1)
  if [ -f "$dest/.murmur-patch.sha256" ] && [ "$(cat "$dest/.murmur-patch.sha256")" = "$want" ]; then
    return 0
  fi
  # Before cargo's first download the registry cache does not exist: that is "not found", not
  # an error (under pipefail a failing find would end the script silently).
  find_crate() {
    [ -d "$cargo_home/registry/cache" ] || return 0
    find "$cargo_home/registry/cache" -name "$name-$version.crate" -print -quit 2>/dev/null || true
  }
  local crate
  crate=$(find_crate)
  if [ -z "$crate" ]; then
    # Let cargo download it (the machine's registry configuration; checksum verified).
    local tmp
    tmp=$(mktemp -d)
    mkdir -p "$tmp/src"
    printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = { version = "=%s", default-features = false }\n' \
      "$name" "$name" "$version" > "$tmp/Cargo.toml"
    : > "$tmp/src/lib.rs"
    if ! cargo fetch --quiet --manifest-path "$tmp/Cargo.toml"; then
      rm -rf "$tmp"
      echo "setup-deps: cargo could not fetch $name $version from crates.io (network or registry configuration?)" >&2
      exit 1
    fi
    rm -rf "$tmp"
    crate=$(find_crate)
  fi
  [ -n "$crate" ] || { echo "setup-deps: could not fetch $name $version" >&2; exit 1; }
  rm -rf "$dest" "$dest.tmp"
  mkdir -p "$dest.tmp"
  tar -xzf "$crate" -C "$dest.tmp" --strip-components=1
  if ! patch -s -p1 -d "$dest.tmp" < "$patch_file"; then
    echo "setup-deps: patches/$name-$version.patch does not apply to $name $version" >&2
    exit 1
  fi
  echo "$want" > "$dest.tmp/.murmur-patch.sha256"
  mv "$dest.tmp" "$dest"
  echo "setup-deps: $name $version patched into ${dest#"$root"/}" >&2
}

# One ggml per process: whisper.cpp built on llama.cpp's ggml (patches/README.md).
patch_crate whisper-rs-sys 0.15.0
# Access to the raw llama_context, to attach a persistent ggml threadpool.
patch_crate llama-cpp-2 0.1.160
