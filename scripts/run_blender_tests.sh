#!/usr/bin/env bash
# Build the extension once (Blender 5.0's tool), validate it with each Blender's own tool, then run
# tests/blender in each Blender: bpy 5.0.1 (.venv), bpy 4.2.23 LTS (.venv/envs/blender-4.2) and, where
# set up, bpy 5.3.0 (.venv/envs/blender-5.3).
#   bash scripts/run_blender_tests.sh [pytest args...]
# Each Blender runs in its own pytest process (one Blender per process); the tests install the
# extension from the built zip into a temporary user folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/build/extension"
interpreters=(.venv/bin/python .venv/envs/blender-4.2/bin/python)
# Blender 5.3 (CPython 3.13) too, when scripts/setup_env.sh found a Python 3.13 for it.
[ -x .venv/envs/blender-5.3/bin/python ] && interpreters+=(.venv/envs/blender-5.3/bin/python)

bash scripts/setup_engine.sh  # Chromium and tests/engine's npm packages for the engine checks
.venv/bin/python scripts/build_extension.py --output-dir "$out" 2> >(grep -v "is ignored: it is neither" >&2)
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux_x64 ;;
  Darwin-arm64) platform=macos_arm64 ;;
  Darwin-x86_64) platform=macos_x64 ;;
  *) platform=windows_x64 ;;
esac
zip="$(ls "$out"/flame_head-*-"$platform".zip)"

status=0
for python in "${interpreters[@]}"; do
  version="$("$python" -c 'import importlib.metadata as m; print(m.version("bpy"))')"
  echo "=== Blender $version ($python) ==="
  "$python" scripts/build_extension.py --output-dir "$out" --validate-only >/dev/null
  FLAME_EXTENSION_ZIP="$zip" PYTHONDONTWRITEBYTECODE=1 "$python" -m pytest tests/blender -p no:cacheprovider "$@" \
    || status=$?
done
exit "$status"
