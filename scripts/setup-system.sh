#!/usr/bin/env bash
# Installs the system packages the engine and its tests need (Debian/Ubuntu), if missing.
# Uses sudo when not root. Checks for a Rust toolchain.
set -Eeuo pipefail
trap 'echo "setup-system: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR

packages=(
  build-essential pkg-config cmake clang libclang-dev   # llama.cpp / whisper.cpp / bindgen
  binutils patch curl                                   # nm (single-ggml test); patching; run.sh's host check
  python3 python3-pip python3-numpy                     # test-model fetch and conversion
  libasound2-dev                                        # cpal (ALSA) for microphone capture
  espeak-ng sox                                         # test speech
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils  # a virtual microphone for tests
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev  # the Tauri app (WebKitGTK)
  libdbus-1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver imagemagick xdotool         # the real app window in tests, screenshots
  strace iproute2 util-linux procps                        # the offline test: network namespace, socket trace
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

# Node.js for the UI build and its tests (Vite 6 needs Node 18 or newer).
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
if [ -z "$node_major" ] || [ "$node_major" -lt 18 ] || ! command -v npm >/dev/null 2>&1; then
  echo "setup-system: installing Node.js and npm" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=900 nodejs npm >&2
  node_major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
  if [ "$node_major" -lt 18 ]; then
    echo "setup-system: Node.js $(node --version) is too old for the UI build (18 or newer is needed)" >&2
    exit 1
  fi
fi

# The python3 on PATH may not be Debian's (pyenv, conda): make sure it has numpy.
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "setup-system: installing numpy for $(command -v python3)" >&2
  python3 -m pip install --quiet --disable-pip-version-check numpy >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages numpy >&2
fi
