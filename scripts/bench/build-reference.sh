#!/usr/bin/env bash
# Builds the reference tools the benchmarks compare against, into ~/.cache/murmur/bench
# (never into the repo; no third-party source is committed):
#   llama-bench  from llama-cpp-python's sdist (tools/llama-bench), compiled against the very
#                static llama.cpp/ggml libraries that llama-cpp-sys-2 built for murmur (same
#                llama.cpp version, same flags: GGML_NATIVE, no OpenMP);
#   whisper-cli  from pywhispercpp's sdist, which vendors whisper.cpp 1.8.5 with its examples
#                (the nearest to whisper-rs-sys' 1.8.3 on PyPI), built with its own ggml,
#                GGML_NATIVE on, OpenMP off.
# Prints KEY=VALUE lines (LLAMA_BENCH, WHISPER_CLI).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/env.sh"
bench=${MURMUR_BENCH_DIR:-$HOME/.cache/murmur/bench}
mkdir -p "$bench/src"
log() { echo "build-reference: $*" >&2; }

fetch_sdist() {  # name==version
  local name=${1%%==*} version=${1##*==}
  local file="$bench/src/${name//-/_}-$version.tar.gz"
  if [ ! -s "$file" ]; then
    log "downloading the $1 source distribution"
    python3 -m pip download --no-deps --no-binary "$name" --quiet --disable-pip-version-check -d "$bench/src" "$1" >&2
  fi
  echo "$file"
}

# --- llama-bench -----------------------------------------------------------------------
# The llama-cpp-sys-2 build of murmur (test profile) holds the static libraries.
(cd "$root" && cargo build --locked -q --workspace --bin murmur >&2)
out=$(ls -dt "$CARGO_TARGET_DIR"/debug/build/llama-cpp-sys-2-*/out 2>/dev/null | while read -r d; do [ -f "$d/lib/libllama.a" ] && echo "$d" && break; done)
[ -n "$out" ] || { log "no llama-cpp-sys-2 build found"; exit 1; }
src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/llama-cpp-sys-2-0.1.161/llama.cpp | head -n 1)
lb="$bench/llama-bench"
if [ ! -x "$lb" ] || [ "$lb" -ot "$out/lib/libllama.a" ]; then
  sdist=$(fetch_sdist llama-cpp-python==0.3.36)
  tmp=$(mktemp -d)
  tar -xzf "$sdist" -C "$tmp" --wildcards '*/vendor/llama.cpp/tools/llama-bench/*'
  tool=$(ls -d "$tmp"/*/vendor/llama.cpp/tools/llama-bench)
  log "compiling llama-bench against murmur's llama.cpp build"
  g++ -O3 -DNDEBUG -march=native -std=c++17 \
    -I"$src/include" -I"$src/ggml/include" -I"$src/common" -I"$out/build/common" -I"$src/vendor" \
    "$tool/llama-bench.cpp" "$tool/main.cpp" -o "$lb.tmp" \
    "$out/lib/libllama-common.a" "$out/build/common/libllama-common-base.a" "$out/lib/libllama.a" \
    "$out/build/vendor/cpp-httplib/libcpp-httplib.a" "$out/build/vendor/hash/libvendor-hash.a" \
    "$out/lib/libggml.a" "$out/lib/libggml-cpu.a" "$out/lib/libggml-base.a" -lpthread -lssl -lcrypto
  mv "$lb.tmp" "$lb"
  rm -rf "$tmp"
fi
echo "LLAMA_BENCH=$lb"

# --- whisper-cli -----------------------------------------------------------------------
wc="$bench/whisper-cli"
if [ ! -x "$wc" ]; then
  sdist=$(fetch_sdist pywhispercpp==1.5.1)
  tmp=$(mktemp -d)
  tar -xzf "$sdist" -C "$tmp" --wildcards '*/whisper.cpp/*'
  w=$(ls -d "$tmp"/*/whisper.cpp)
  log "building whisper-cli from whisper.cpp $(grep -o 'VERSION [0-9.]*' "$w/CMakeLists.txt" | head -1)"
  cmake -S "$w" -B "$w/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_OPENMP=OFF \
    -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_SERVER=OFF -DWHISPER_SDL2=OFF -DBUILD_SHARED_LIBS=OFF >&2
  cmake --build "$w/build" --target whisper-cli -j "$(nproc)" >&2
  cp "$w/build/bin/whisper-cli" "$wc"
  rm -rf "$tmp"
fi
echo "WHISPER_CLI=$wc"
