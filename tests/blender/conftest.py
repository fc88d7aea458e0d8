"""Blender test setup: a throw-away user folder, then the extension installed from its built zip.

The environment variables must be set before ``bpy`` is imported, so this module sets them at
import time (pytest imports it before the test modules). The zip comes from
``$FLAME_EXTENSION_ZIP`` (set by scripts/run_blender_tests.sh) or is built here with Blender's tool.
"""

from __future__ import annotations

import atexit
import glob
import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

_USER = tempfile.mkdtemp(prefix="flame-blender-user-")
os.environ["BLENDER_USER_RESOURCES"] = _USER
atexit.register(shutil.rmtree, _USER, ignore_errors=True)

import bpy  # noqa: E402 - after BLENDER_USER_RESOURCES
import pytest  # noqa: E402
from helpers import make_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REPO = "user_default"
MODULE = f"bl_ext.{REPO}.flame_head"
PLATFORM = {("Linux", "x86_64"): "linux_x64", ("Windows", "AMD64"): "windows_x64",
            ("Darwin", "arm64"): "macos_arm64", ("Darwin", "x86_64"): "macos_x64"}


def _extension_zip() -> str:
    given = os.environ.get("FLAME_EXTENSION_ZIP")
    if given:
        return given
    out = os.path.join(_USER, "build")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_extension.py"), "--output-dir", out],
                   check=True, capture_output=True)
    suffix = PLATFORM[(platform.system(), platform.machine())]
    return glob.glob(os.path.join(out, f"flame_head-*-{suffix}.zip"))[0]


def _install() -> None:
    assert os.path.realpath(bpy.utils.resource_path("USER")).startswith(os.path.realpath(_USER))
    result = bpy.ops.extensions.package_install_files(
        filepath=_extension_zip(), repo=REPO, enable_on_install=True
    )
    assert result == {"FINISHED"}
    assert MODULE in bpy.context.preferences.addons


_install()


@pytest.fixture(scope="session")
def fc() -> ModuleType:
    """The installed extension's own flame_core."""
    return importlib.import_module(f"{MODULE}.flame_core")


@pytest.fixture(scope="session")
def addon() -> ModuleType:
    """The installed extension's flame_addon package."""
    return importlib.import_module(f"{MODULE}.flame_addon")


@pytest.fixture(autouse=True)
def empty_file(addon: ModuleType):
    """Every test starts from an empty file and clean runtime state."""
    bpy.ops.wm.read_homefile(use_empty=True)
    addon.evaluate.forget()
    prefs = bpy.context.preferences.addons[MODULE].preferences
    for name in ("model_path", "landmarks_path", "uv_path", "masks_path", "eyelids_path"):
        setattr(prefs, name, "")
    prefs.teeth = False
    yield
    addon.operators.params.clear_clipboard()


@pytest.fixture
def model_file(fc: ModuleType, tmp_path: Path):
    """A synthetic model saved as .npz by the core; returns (path, the model read back)."""
    path = tmp_path / "synthetic_model.npz"
    fc.save_model(make_model(fc, seed=1), path)
    return str(path), fc.load_model(path)


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave with pytest's own status once everything is reported.

    Blender as a Python module can crash while it tears itself down at interpreter exit (seen with
    bpy 4.2), which would turn a green run into a failure; nothing is left to do by then.
    """
    shutil.rmtree(_USER, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status[-1] if _exit_status else 0)
