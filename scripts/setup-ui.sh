#!/usr/bin/env bash
# The web UI: npm packages (from package-lock.json, only when it changed) and the production
# bundle in ui/dist, which the app embeds.
set -Eeuo pipefail
trap 'echo "setup-ui: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stamp=node_modules/.murmur-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # npm ci refuses a lock written here (it lacks other platforms' optional packages):
  # install exactly what the lock says, without rewriting it.
  npm install --no-save --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi
npm run --silent ui:build >&2
