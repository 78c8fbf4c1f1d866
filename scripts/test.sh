#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine: system packages, the patched
# whisper-rs-sys, the real test models and speech, then every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

bash scripts/setup.sh
eval "$(bash tests/fixtures/setup.sh)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

set +e
python3 -m unittest discover -s tests/fixtures -p 'test_*.py' 2>&1 | tee -a "$log"
py_status=${PIPESTATUS[0]}

# One test at a time: inference tests share 2 cores, and contention would distort them.
cargo test --workspace --locked --all-targets --no-fail-fast -- --test-threads=1 2>&1 | tee -a "$log"
cargo_status=${PIPESTATUS[0]}

# The benchmark driver, as a smoke run with tiny sizes (pass/fail on working, not on speed).
python3 scripts/bench/run.py --quick 2>&1 | tee -a "$log"
bench_status=${PIPESTATUS[0]}
set -e

# One closing line for the whole suite (Rust and Python).
awk '/^test result:/ {p += $4; f += $6}
     /^bench smoke run:/ {p += $4; f += $6}
     /^Ran [0-9]+ tests?/ {py = $2}
     /^FAILED \(/ {pyfail = 1}
     END {if (pyfail) {f += 1} else {p += py}; printf "all tests: %d passed, %d failed\n", p, f}' "$log"
[ "$py_status" -eq 0 ] && [ "$cargo_status" -eq 0 ] && [ "$bench_status" -eq 0 ]
