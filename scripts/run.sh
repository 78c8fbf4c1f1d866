#!/usr/bin/env bash
# Sets up and starts Murmur. Until the app exists this is the `murmur` CLI chat:
#   bash scripts/run.sh                 # interactive chat
#   bash scripts/run.sh ask "What is LDL?"
#   bash scripts/run.sh voice question.wav
# The build is cargo's dev profile, shared with the tests: every dependency (llama.cpp and
# whisper.cpp included) is compiled optimised, so it runs at full speed.
# Models: MURMUR_MODEL / MURMUR_WHISPER_MODEL if set, else the small test models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

bash scripts/setup.sh
if [ -z "${MURMUR_MODEL:-}" ] || [ -z "${MURMUR_WHISPER_MODEL:-}" ]; then
  eval "$(bash tests/fixtures/setup.sh)"
  export MURMUR_MODEL=${MURMUR_MODEL:-$MURMUR_TEST_LLM}
  export MURMUR_WHISPER_MODEL=${MURMUR_WHISPER_MODEL:-$MURMUR_TEST_WHISPER}
fi
cargo build --locked -p murmur-engine --bin murmur >&2
[ $# -gt 0 ] || set -- chat
exec "$CARGO_TARGET_DIR/debug/murmur" "$@"
