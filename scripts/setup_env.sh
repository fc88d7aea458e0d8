#!/usr/bin/env bash
# Create or reuse the project's Python environments under .venv/ (idempotent):
#   bash scripts/setup_env.sh          all of them (what scripts/test.sh needs)
#   bash scripts/setup_env.sh main     only .venv (what scripts/demo.sh needs)
#   .venv                     Blender 5.0 (bpy 5.0.1, numpy 1.26): main environment, demo, tests
#   .venv/envs/blender-4.2    Blender 4.2 LTS (bpy 4.2.23, numpy 1.26): tests
#   .venv/envs/numpy2         plain Python with numpy 2.x: core tests, type check
#   .venv/envs/blender-5.3    Blender 5.3 (bpy 5.3.0, numpy 2.5, CPython 3.13): tests, when Python 3.13 is
#                             found (python3.13 on PATH, $PYTHON313, or a pyenv install)
# An environment is rebuilt only when its requirements file changed.
set -euo pipefail
which="${1:-all}"
case "$which" in
  main|all) ;;
  *) echo "usage: bash scripts/setup_env.sh [main|all] (got '$which')" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed (bpy is built for it)"'

ensure_env() {  # ensure_env DIR REQUIREMENTS [PYTHON]
  local dir="$root/$1" reqs="$root/scripts/requirements/$2" python="${3:-$python}"
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
[ "$which" = main ] && exit 0
ensure_env .venv/envs/blender-4.2 blender-4.2.txt
ensure_env .venv/envs/numpy2 numpy2.txt

python313="${PYTHON313:-$(command -v python3.13 2>/dev/null || true)}"
if [ -z "$python313" ] || ! "$python313" --version >/dev/null 2>&1; then
  python313="$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1 || true)"
fi
if [ -n "$python313" ]; then
  ensure_env .venv/envs/blender-5.3 blender-5.3.txt "$python313"
else
  echo "note: no Python 3.13 found, so Blender 5.3 is not set up (Blender 5.0 and 4.2 are)"
fi
