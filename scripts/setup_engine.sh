#!/usr/bin/env bash
# What the engine checks need (idempotent): Node.js, Debian's Chromium (apt, when missing) and the npm
# packages pinned in tests/engine/package-lock.json (three.js, the Khronos glTF validator, playwright-core;
# no browser download: the checks drive /usr/bin/chromium).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null || [ ! -x /usr/bin/chromium ]; then
  echo "installing Node.js and Chromium from the system's package registry ..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm chromium >/dev/null
fi
engine="$root/tests/engine"
stamp="$engine/node_modules/.package-lock.sha256"
want="$(sha256sum "$engine/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing tests/engine's npm packages ..."
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$engine" --no-audit --no-fund --silent
  echo "$want" > "$stamp"
fi
