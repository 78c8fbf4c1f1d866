# Sourced by the other scripts: one shared cargo target directory outside the clone, so that
# every clone, CI run and test reuses the slow llama.cpp/whisper.cpp builds.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/murmur/target}
# Build with the whole workspace selected (`--workspace`): features are then resolved the same
# way for every build, and llama.cpp is compiled once, not once per package selection.
