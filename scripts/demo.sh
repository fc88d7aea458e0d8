#!/usr/bin/env bash
# The main job: set up (or reuse) only the main environment .venv (Blender 5.0), then run the
# headless demo on the built-in head. scripts/test.sh sets up the other environments.
#   bash scripts/demo.sh [--out out/demo] [--frames 90] [--size 512] [--points 100000]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup_env.sh main
exec .venv/bin/python scripts/demo.py "$@"
