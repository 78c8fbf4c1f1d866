#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine: system packages, the patched
# whisper-rs-sys, the real test models and speech, then every test.
set -Eeuo pipefail
trap 'echo "test: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

bash scripts/setup.sh
# The UI bundle first: the app crate embeds ui/dist when it compiles.
bash scripts/setup-ui.sh
eval "$(bash tests/fixtures/setup.sh)"

log=$(mktemp)
# Tests that cannot run on this machine (e.g. no user namespaces) write their name and reason
# here; they are reported as skipped, not passed.
export MURMUR_TEST_SKIPS=$(mktemp)
trap 'rm -f "$log" "$MURMUR_TEST_SKIPS"' EXIT

set +e
trap - ERR  # from here on, each step's status is collected and reported below
python3 -m unittest discover -s tests/fixtures -p 'test_*.py' 2>&1 | tee -a "$log"
py_status=${PIPESTATUS[0]}
# The health-records evaluation's own tests (the report generator, the scorers).
python3 -m unittest discover -s scripts/eval -p 'test_*.py' 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || py_status=1
# The benchmark driver's helpers (report tables, merging sections, the fitted window).
python3 -m unittest discover -s scripts/bench -p 'test_*.py' 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || py_status=1

# The UI's unit tests (Vitest, jsdom): rendering, the sanitiser, stream handling.
npm run --silent ui:test 2>&1 | tee -a "$log"
ui_status=${PIPESTATUS[0]}

# One test at a time: inference tests share 2 cores, and contention would distort them.
cargo test --workspace --locked --all-targets --no-fail-fast -- --test-threads=1 2>&1 | tee -a "$log"
cargo_status=${PIPESTATUS[0]}

# The real app window (Xvfb + tauri-driver + WebKitWebDriver) on the real models: first run,
# chat, stop, record, voice through a virtual microphone, hostile markdown; then the same with
# no network at all (a network namespace), in the dark theme.
bash tests/e2e/run.sh 2>&1 | tee -a "$log"
e2e_status=${PIPESTATUS[0]}
bash tests/e2e/run.sh --offline 2>&1 | tee -a "$log"
e2e_offline_status=${PIPESTATUS[0]}

# Lints, as errors: among them, no blocking file call inside the downloader's async code
# (clippy.toml's disallowed-methods, denied in models/download.rs).
cargo clippy --workspace --locked --all-targets -- -D warnings 2>&1 | tee -a "$log"
clippy_status=${PIPESTATUS[0]}
if [ "$clippy_status" -eq 0 ]; then echo "clippy: 1 passed, 0 failed" | tee -a "$log"; else echo "clippy: 0 passed, 1 failed" | tee -a "$log"; fi

# Health records: the parser on a freshly generated set of reports (pass: at least 99 % of rows
# exact, every unreadable line reported), and the model-answer evaluation as a smoke run (the
# full run and its figures: docs/HEALTH-EVAL.md).
records_dir=$(mktemp -d)
records_passed=0
records_failed=0
if python3 scripts/eval/records_gen.py --out "$records_dir" --count 60 --seed 3 >/dev/null \
  && python3 scripts/eval/records_score.py --reports "$records_dir" --murmur "$CARGO_TARGET_DIR/debug/murmur" --min-exact 99 --min-unread-recall 100 2>&1 | tail -4 | tee -a "$log"; then
  records_passed=$((records_passed + 1))
else
  records_failed=$((records_failed + 1))
fi
if python3 scripts/eval/answers_eval.py --smoke --murmur "$CARGO_TARGET_DIR/debug/murmur" --model "test=$MURMUR_TEST_LLM" 2>&1 | tail -3 | tee -a "$log"; then
  records_passed=$((records_passed + 1))
else
  records_failed=$((records_failed + 1))
fi
rm -rf "$records_dir"
echo "records eval: $records_passed passed, $records_failed failed" | tee -a "$log"
records_status=$records_failed

# The benchmark driver, as a smoke run with tiny sizes (pass/fail on working, not on speed).
python3 scripts/bench/run.py --quick 2>&1 | tee -a "$log"
bench_status=${PIPESTATUS[0]}
set -e

skipped=$(grep -c . "$MURMUR_TEST_SKIPS" || true)
if [ "$skipped" -gt 0 ]; then
  echo "skipped (cannot run on this machine):"
  sed 's/^/  /' "$MURMUR_TEST_SKIPS"
fi

# One closing line for the whole suite (Rust, Python, clippy, the benchmark smoke run).
awk -v skipped="$skipped" '/^test result:/ {p += $4; f += $6}
     /^bench smoke run:/ {p += $4; f += $6}
     /^records eval:/ {p += $3; f += $5}
     /^clippy:/ {p += $2; f += $4}
     /^# pass [0-9]+$/ {p += $3}
     /^# fail [0-9]+$/ {f += $3}
     /^ +Tests +[0-9]/ {for (i = 2; i < NF; i++) {if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i}}
     /^Ran [0-9]+ tests?/ {py += $2}
     /^FAILED \(/ {pyfail = 1}
     END {if (pyfail) {f += 1} else {p += py}; printf "suite: %d passed, %d failed, %d skipped\n", p - skipped, f, skipped}' "$log"
[ "$py_status" -eq 0 ] && [ "$ui_status" -eq 0 ] && [ "$cargo_status" -eq 0 ] && [ "$e2e_status" -eq 0 ] && [ "$e2e_offline_status" -eq 0 ] && [ "$clippy_status" -eq 0 ] && [ "$bench_status" -eq 0 ] && [ "$records_status" -eq 0 ]
