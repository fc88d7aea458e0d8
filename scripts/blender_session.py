"""Start Blender with the FLAME Head extension for a script, however the script was started.

The example scripts run both ways:

    blender -b --python scripts/X.py -- ARGS     (Blender's own Python)
    .venv/bin/python scripts/X.py ARGS           (Blender as the ``bpy`` module)

:func:`start` returns the script's arguments and makes sure the extension is enabled: the one the
user installed when there is one, otherwise this source folder registered as a local extension
repository for this run only; or, given ``zip_path`` (see :func:`build_zip`), the built extension
installed from its zip as users install it (the benchmarks measure that). With the ``bpy`` module,
Blender's user folder is a temporary one, so a script never touches the user's own configuration.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
EXTENSION_ID = "flame_head"
SOURCE_REPO = "flame_head_source"
ZIP_REPO = "user_default"
#: (system, machine) -> the platform suffix of the built zips.
PLATFORMS = {("Linux", "x86_64"): "linux_x64", ("Windows", "AMD64"): "windows_x64",
             ("Darwin", "arm64"): "macos_arm64", ("Darwin", "x86_64"): "macos_x64"}
_cleanups: list[Callable[[], None]] = []


def _on_exit(callback: Callable[[], None]) -> None:
    _cleanups.append(callback)
    atexit.register(callback)


def script_args() -> list[str]:
    """The script's own arguments: those after ``--`` inside Blender, else ``sys.argv[1:]``."""
    if "--" in sys.argv:
        return sys.argv[sys.argv.index("--") + 1 :]
    return [] if _inside_blender() else sys.argv[1:]


def _inside_blender() -> bool:
    return "bpy" in sys.modules and bool(getattr(sys.modules["bpy"].app, "binary_path", ""))


def build_zip() -> str:
    """Build the extension into a temporary folder (removed at exit); returns this platform's zip."""
    out = tempfile.mkdtemp(prefix="flame-build-")
    _on_exit(lambda: shutil.rmtree(out, ignore_errors=True))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_extension.py"), "--output-dir", out],
                   check=True, capture_output=True)
    suffix = PLATFORMS.get((platform.system(), platform.machine()), "linux_x64")
    found = sorted(Path(out).glob(f"{EXTENSION_ID}-*-{suffix}.zip"))
    if not found:
        sys.exit(f"the build made no {suffix} zip in {out}")
    return str(found[0])


def start(zip_path: str | None = None) -> tuple[list[str], ModuleType]:
    """(the script's arguments, the enabled extension's package); ``zip_path``: install that zip instead."""
    args = script_args()
    if "bpy" not in sys.modules:
        user = tempfile.mkdtemp(prefix="flame-session-")
        os.environ["BLENDER_USER_RESOURCES"] = user
        _on_exit(lambda: shutil.rmtree(user, ignore_errors=True))
    elif zip_path is not None and _inside_blender():
        sys.exit("installing a zip needs Blender as the bpy module (a temporary user folder)")
    import bpy

    if zip_path is not None:
        return args, _install_zip(bpy, zip_path)
    addon_utils = importlib.import_module("addon_utils")  # importable once bpy is

    for name in [addon.module for addon in bpy.context.preferences.addons]:
        if name.rpartition(".")[2] == EXTENSION_ID:
            return args, importlib.import_module(name)
    for module in addon_utils.modules():
        if module.__name__.rpartition(".")[2] == EXTENSION_ID:
            addon_utils.enable(module.__name__, default_set=True)
            return args, importlib.import_module(module.__name__)
    return args, _enable_from_source(bpy, addon_utils)


def _install_zip(bpy: ModuleType, zip_path: str) -> ModuleType:
    """Install and enable the extension from a built zip (into the temporary user folder)."""
    result = bpy.ops.extensions.package_install_files(
        filepath=os.path.abspath(zip_path), repo=ZIP_REPO, enable_on_install=True
    )
    name = f"bl_ext.{ZIP_REPO}.{EXTENSION_ID}"
    if result != {"FINISHED"} or name not in bpy.context.preferences.addons:
        sys.exit(f"could not install the extension from {zip_path}")
    return importlib.import_module(name)


def _enable_from_source(bpy: ModuleType, addon_utils: ModuleType) -> ModuleType:
    """Register this source folder as a local extension repository (for this run) and enable it."""
    folder = Path(tempfile.mkdtemp(prefix="flame-source-repo-"))
    (folder / EXTENSION_ID).symlink_to(ROOT, target_is_directory=True)
    repos = bpy.context.preferences.extensions.repos
    try:
        repo = repos.new(name=SOURCE_REPO, module=SOURCE_REPO, custom_directory=str(folder))
    except TypeError:  # Blender 4.2/4.3 take positional arguments
        repo = repos.new(SOURCE_REPO, SOURCE_REPO, str(folder), "")

    def cleanup() -> None:
        with contextlib.suppress(ReferenceError, RuntimeError):
            repos.remove(repo)
        shutil.rmtree(folder, ignore_errors=True)

    _on_exit(cleanup)
    name = f"bl_ext.{SOURCE_REPO}.{EXTENSION_ID}"
    if addon_utils.enable(name, default_set=True) is None:
        sys.exit(f"could not enable the extension from {ROOT}")
    return importlib.import_module(name)


def run(main: Callable[[], None], name: str) -> None:
    """Run a script's ``main``, report a failure as one line, and leave with its status."""
    status = 0
    try:
        main()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(f"{name}: {exc.code}", file=sys.stderr)
            status = 1 if not isinstance(exc.code, int) else exc.code
    except Exception as exc:
        print(f"{name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        status = 1
    finish(status)


def finish(status: int = 0) -> None:
    """Clean up and leave at once with ``status`` (Blender as a module can crash while tearing down)."""
    for callback in reversed(_cleanups):
        callback()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
