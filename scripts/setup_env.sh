#!/usr/bin/env bash
# Create or reuse the project's Python environments under .venv/ (idempotent):
#   .venv                     Blender 5.0 (bpy 5.0.1, numpy 1.26): main environment, demo, tests
#   .venv/envs/blender-4.2    Blender 4.2 LTS (bpy 4.2.23, numpy 1.26): tests
#   .venv/envs/numpy2         plain Python with numpy 2.x: core tests, type check
# An environment is rebuilt only when its requirements file changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed (bpy is built for it)"'

ensure_env() {  # ensure_env DIR REQUIREMENTS
  local dir="$root/$1" reqs="$root/scripts/requirements/$2"
  local stamp="$dir/.requirements.sha256" want
  want="$(sha256sum "$reqs" | cut -d' ' -f1)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "setting up $1 from scripts/requirements/$2 ..."
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$want" > "$stamp"
}

ensure_env .venv blender-5.0.txt
ensure_env .venv/envs/blender-4.2 blender-4.2.txt
ensure_env .venv/envs/numpy2 numpy2.txt
