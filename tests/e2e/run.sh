#!/usr/bin/env bash
# The end-to-end tests in the real app window: Xvfb + tauri-driver + WebKitWebDriver, on the
# real test models, with a PulseAudio virtual microphone. Screenshots go to $MURMUR_E2E_OUT
# (default target/e2e-screenshots under the cargo target dir); failures save one each.
#   tests/e2e/run.sh            # first run, downloads from 127.0.0.1, chat, record, voice, …
#   tests/e2e/run.sh --offline  # the same app with no network at all (a network namespace)
set -Eeuo pipefail
trap 'echo "e2e: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. scripts/env.sh
: "${MURMUR_TEST_LLM:?run scripts/test.sh, or eval \"\$(bash tests/fixtures/setup.sh)\" first}"

# tauri-driver 2 (never a 3.x alpha), into cargo's bin directory.
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
if ! "$cargo_bin/tauri-driver" --help >/dev/null 2>&1; then
  cargo install tauri-driver --version '^2' --locked >&2
fi
export PATH="$cargo_bin:$PATH"
export MURMUR_E2E_APP="$CARGO_TARGET_DIR/debug/murmur-app"
export MURMUR_E2E_OUT=${MURMUR_E2E_OUT:-$CARGO_TARGET_DIR/e2e-screenshots}
[ -x "$MURMUR_E2E_APP" ] || { echo "e2e: build the app first (cargo build -p murmur)" >&2; exit 1; }

if [ "${1:-}" = "--measure" ]; then
  export MURMUR_CLI="$CARGO_TARGET_DIR/debug/murmur"
  exec xvfb-run -a -s "-screen 0 1280x900x24" node tests/e2e/measure.mjs
fi

# A hung run (a window that never closes) must fail, not stall the suite: 20 minutes at most.
limit=(timeout --kill-after=30 1200)
run() { "${limit[@]}" xvfb-run -a -s "-screen 0 1280x900x24" node --test --test-concurrency=1 tests/e2e/app.test.mjs; }

if [ "${1:-}" = "--offline" ]; then
  if ! unshare --user --map-root-user --net true 2>/dev/null; then
    echo "SKIPPED e2e offline: user and network namespaces are unavailable here" >&2
    [ -n "${MURMUR_TEST_SKIPS:-}" ] && echo "e2e offline: user and network namespaces are unavailable here" >> "$MURMUR_TEST_SKIPS"
    exit 0
  fi
  # No network: a fresh network namespace with only loopback (for the WebDriver pieces).
  export MURMUR_E2E_OFFLINE=1
  # Its screenshots (dark theme) beside the online run's, not over them.
  export MURMUR_E2E_OUT="$MURMUR_E2E_OUT/offline-dark"
  # Every socket the app and its web processes open or use is traced (strace follows all of
  # them from the start): the test checks that none goes beyond this device. Through a
  # seccomp filter (--seccomp-bpf): only these calls stop in the tracer, so the app runs at
  # full speed (with plain ptrace every system call of every thread stops, and a voice turn
  # took several times as long). strace >= 5.3; checked here rather than silently slow.
  trace_dir=$(mktemp -d)
  export MURMUR_E2E_STRACE="$trace_dir/net.trace"
  trace=(strace --seccomp-bpf -f -qq -e signal=none -e trace=socket,connect,bind,sendto,sendmsg,sendmmsg)
  if ! "${trace[@]}" -o /dev/null true 2>"$trace_dir/check" || [ -s "$trace_dir/check" ]; then
    echo "e2e offline: strace cannot filter with seccomp here ($(cat "$trace_dir/check")); strace 5.3 or later is needed" >&2
    exit 1
  fi
  printf '#!/bin/sh\nexec %s -o "%s" "%s" "$@"\n' \
    "${trace[*]}" "$MURMUR_E2E_STRACE" "$MURMUR_E2E_APP" > "$trace_dir/murmur-app"
  chmod +x "$trace_dir/murmur-app"
  export MURMUR_E2E_APP="$trace_dir/murmur-app"
  # This run also shows the dark theme (WebKitGTK follows GTK's).
  export MURMUR_E2E_THEME=Adwaita:dark
  exec "${limit[@]}" unshare --user --map-root-user --net sh -c 'ip link set lo up && exec "$0" "$@"' \
    xvfb-run -a -s "-screen 0 1280x900x24" node --test --test-concurrency=1 tests/e2e/app.test.mjs
fi
run
