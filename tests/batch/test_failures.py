"""Bad sequences fail alone with readable errors; the rest of the batch completes; the exit status says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

from batch_helpers import ROOT, batch_command, child_env, records, tree, write_bad_sequences, write_sequences


def test_corrupt_empty_and_other_model_sequences_fail_alone(tmp_path: Path) -> None:
    bad = write_bad_sequences(tmp_path / "seqs")
    write_sequences(tmp_path / "seqs", count=2, frames=5)
    out = tmp_path / "out"
    result = subprocess.run(batch_command(str(tmp_path / "seqs"), "-o", str(out), "--workers", "2", "--size", "32",
                                          "--chunk", "2"),
                            cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for name, path in bad.items():
        line = next((line for line in lines if f"failed: {path.stem}:" in line), None)
        assert line is not None, (name, result.stderr)
        assert str(path) in line
    assert any("not a readable .npz" in line for line in lines if "corrupt" in line)
    assert any("5143 vertices" in line and "5023" in line for line in lines if "other_model" in line)
    summary = lines[-1]
    assert summary.startswith("batch FAILED: 5 sequences; tasks: 6 run, 0 already done, 3 failed"), summary
    failed = {r["sequence"] for r in records(out, "sequence")}
    assert failed == {"corrupt", "empty", "other_model"}
    written = tree(out)
    assert sorted(written) == [f"take{i}/normals/{f:05d}.png" for i in range(2) for f in range(5)]
    assert all(r["status"] == "done" for r in records(out))
