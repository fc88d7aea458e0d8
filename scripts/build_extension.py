"""Build the FLAME Head extension zips with Blender's own extension tool.

    .venv/bin/python scripts/build_extension.py [--output-dir build/extension] [--validate-only]

1. The wheels named in ``blender_manifest.toml`` (the source of truth) are fetched into ``wheels/``
   with ``pip download --only-binary=:all: --no-deps --platform <tags> --python-version 3.11``;
   files already there are kept (so a filled ``wheels/`` works offline).
2. Blender's ``blender_ext.py`` (shipped inside the ``bpy`` package of this interpreter) validates
   the source folder and builds one zip per platform (``--split-platforms``), then validates each zip.

Prints the zips, one per line, after a ``built:`` line. ``--validate-only`` validates the source
folder and any zips already in the output folder, without fetching or building.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.11"


def blender_ext_tool() -> Path:
    """``blender_ext.py`` inside this interpreter's ``bpy`` package (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bpy is not installed for this interpreter (run scripts/setup_env.sh)")
    for location in spec.submodule_search_locations:
        pattern = os.path.join(location, "*", "scripts", "addons_core", "bl_pkg", "cli", "blender_ext.py")
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[-1])
    sys.exit("blender_ext.py not found inside the bpy package")


def manifest_wheels() -> list[Path]:
    with open(ROOT / "blender_manifest.toml", "rb") as f:
        manifest = tomllib.load(f)
    return [ROOT / w for w in manifest.get("wheels", [])]


def fetch_wheel(wheel: Path) -> None:
    """Download exactly ``wheel`` (name, version and platform tags come from its file name)."""
    if wheel.exists():
        return
    name, version, _python, _abi, platform = wheel.name[: -len(".whl")].split("-")
    wheel.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps",
        "--python-version", PYTHON_VERSION, "-d", str(wheel.parent), f"{name}=={version}",
    ]
    for tag in platform.split("."):
        command[5:5] = ["--platform", tag]
    subprocess.run(command, check=True)
    if not wheel.exists():
        got = sorted(p.name for p in wheel.parent.glob(f"{name}-{version}-*.whl"))
        sys.exit(f"pip did not fetch {wheel.name} (the manifest's name); wheels/ has {got}")


def run_tool(tool: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, str(tool), *args], cwd=ROOT, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        sys.exit(f"blender_ext {args[0]} failed:\n{output}")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="build/extension", help="where the zips go (default build/extension)")
    parser.add_argument("--validate-only", action="store_true", help="validate the source and existing zips only")
    args = parser.parse_args(argv)
    out = (ROOT / args.output_dir).resolve()
    tool = blender_ext_tool()
    print(f"extension tool: {tool}")

    if not args.validate_only:
        for wheel in manifest_wheels():
            fetch_wheel(wheel)
    print(run_tool(tool, "validate", str(ROOT)))
    if not args.validate_only:
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("flame_head-*.zip"):
            old.unlink()
        print(run_tool(tool, "build", "--split-platforms", "--source-dir", str(ROOT), "--output-dir", str(out)))
    zips = sorted(out.glob("flame_head-*.zip"))
    if not zips:
        sys.exit(f"no extension zip in {out}")
    for z in zips:
        run_tool(tool, "validate", str(z))
    print("built:")
    for z in zips:
        print(z)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
