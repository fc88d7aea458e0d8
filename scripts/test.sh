#!/usr/bin/env bash
# Set up (or reuse) the environments under .venv/ and run every check:
# ruff, the add-on type check, the core tests on numpy 1.26 and 2.x, and the Blender tests
# in real Blender 5.0 and 4.2 LTS. Extra arguments go to every pytest run (e.g. -x, -k name).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup_env.sh

main=.venv/bin/python
np2=.venv/envs/numpy2/bin/python
b42=.venv/envs/blender-4.2/bin/python
failed=()
step() {  # step NAME COMMAND...: run, remember failures, keep going
  local name=$1; shift
  echo; echo "== $name"
  "$@" || failed+=("$name")
}

step "ruff" .venv/bin/ruff check .
step "mypy (flame_addon against fake-bpy-module)" .venv/envs/numpy2/bin/mypy flame_addon --follow-imports=silent
step "core tests, numpy 2.x" env PYTHONPATH="$root" "$np2" -m pytest tests/core -q "$@"
step "core tests, numpy 1.26 (Blender 5.0 environment)" env PYTHONPATH="$root" "$main" -m pytest tests/core -q "$@"
if [ -f scripts/run_blender_tests.sh ]; then
  step "Blender tests" bash scripts/run_blender_tests.sh "$@"
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all checks passed"
