"""flame_core installs on its own: the wheel holds the core package and the flame-core command only."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_holds_flame_core_and_its_command(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "out", "__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("flame_head-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("flame_head-")}
    assert packages == {"flame_core"}
    assert "flame_core/io/safe_pickle.py" in names and "flame_core/sequence/vhap.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "flame-core = flame_core.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
