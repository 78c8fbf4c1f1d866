#!/usr/bin/env bash
# Everything a build needs: system packages, then the patched whisper-rs-sys.
set -Eeuo pipefail
trap 'echo "setup: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/setup-system.sh"
bash "$here/setup-deps.sh"
