#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine: system packages, the patched
# whisper-rs-sys, the real test models and speech, then every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

bash scripts/setup-system.sh
bash scripts/setup-deps.sh
eval "$(bash tests/fixtures/setup.sh)"

python3 -m unittest discover -s tests/fixtures -p 'test_*.py'

# One test at a time: inference tests share 2 cores, and contention would distort them.
cargo test --workspace --locked -- --test-threads=1
