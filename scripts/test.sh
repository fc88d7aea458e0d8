#!/usr/bin/env bash
# Set up (or reuse) the environments under .venv/ and run every check:
# ruff, the type check, the core tests on numpy 1.26 and 2.x, the batch tests (real processes and Dask,
# numpy 2.x environment only), and the Blender tests in real
# Blender 5.0 and 4.2 LTS (and 5.3 where Python 3.13 is available). Extra arguments go to every pytest run (e.g. -x, -k name).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup_env.sh || { echo "environment set-up failed"; exit 1; }

main=.venv/bin/python
np2=.venv/envs/numpy2/bin/python
failed=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
step() {  # step NAME COMMAND...: run, remember failures, keep going
  local name=$1; shift
  echo; echo "== $name"
  "$@" 2>&1 | tee -a "$log" || failed+=("$name")
}

step "ruff" .venv/bin/ruff check .
step "mypy (flame_core, and flame_addon against fake-bpy-module)" .venv/envs/numpy2/bin/mypy flame_core flame_addon
step "core tests, numpy 2.x" env PYTHONPATH="$root" "$np2" -m pytest tests/core "$@"
step "batch tests (process pool, Dask LocalCluster, Dask scheduler + workers), numpy 2.x" \
  env PYTHONPATH="$root" "$np2" -m pytest tests/batch "$@"
step "core tests, numpy 1.26 (Blender 5.0 environment)" env PYTHONPATH="$root" "$main" -m pytest tests/core "$@"
if [ -x .venv/envs/blender-5.3/bin/python ]; then
  step "core tests, numpy 2.5 (Blender 5.3 environment, Python 3.13)" \
    env PYTHONPATH="$root" .venv/envs/blender-5.3/bin/python -m pytest tests/core "$@"
fi
step "Blender tests, Blender 5.0, 4.2 LTS (and 5.3)" bash scripts/run_blender_tests.sh "$@"

# One closing tally over every pytest run above.
count() { grep -oE "[0-9]+ $1" "$log" | awk '{s += $1} END {print s + 0}'; }
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
fi
echo "$(count passed) passed, $(count failed) failed"
[ ${#failed[@]} -eq 0 ]
