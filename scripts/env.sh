# Sourced by the other scripts: one shared cargo target directory outside the clone, so that
# every clone, CI run and test reuses the slow llama.cpp/whisper.cpp builds.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/murmur/target}
