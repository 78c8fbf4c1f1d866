#!/usr/bin/env bash
# Installs the system packages the engine and its tests need (Debian/Ubuntu), if missing.
# Uses sudo when not root. Checks for a Rust toolchain.
set -Eeuo pipefail
trap 'echo "setup-system: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR

packages=(
  build-essential pkg-config cmake clang libclang-dev   # llama.cpp / whisper.cpp / bindgen
  binutils patch                                        # nm (single-ggml test); patching whisper-rs-sys
  python3 python3-pip python3-numpy                     # test-model fetch and conversion
  libasound2-dev                                        # cpal (ALSA) for microphone capture
  espeak-ng sox                                         # test speech
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils  # a virtual microphone for tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-system: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=900 "${missing[@]}" >&2
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup-system: no Rust toolchain. Install one with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# The python3 on PATH may not be Debian's (pyenv, conda): make sure it has numpy.
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "setup-system: installing numpy for $(command -v python3)" >&2
  python3 -m pip install --quiet --disable-pip-version-check numpy >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages numpy >&2
fi
