"""The same job on one worker process, a local pool and a Dask LocalCluster: byte-identical outputs."""

from __future__ import annotations

from pathlib import Path

from batch_helpers import records, tree, write_sequences

from flame_core.batch import BatchJob, DaskEngine, make_engine, run_batch

OUTPUTS = ("normals", "mask", "depth", "landmarks", "points")


def _job(inputs: Path, out: Path, **options) -> BatchJob:
    return BatchJob(inputs=(str(inputs),), out=str(out), outputs=OUTPUTS, size=(48, 40), chunk=3, points=500,
                    **options)


def test_one_process_pool_and_local_cluster_give_the_same_bytes(tmp_path: Path) -> None:
    write_sequences(tmp_path / "seqs", count=2, frames=7)
    runs = {
        "one": _job(tmp_path / "seqs", tmp_path / "one", workers=1),
        "pool": _job(tmp_path / "seqs", tmp_path / "pool", workers=2),
        "dask": _job(tmp_path / "seqs", tmp_path / "dask", workers=2, dask="local"),
    }
    engines = {name: make_engine(job) for name, job in runs.items()}
    summaries = {name: run_batch(job, engine=engines[name], progress=False) for name, job in runs.items()}
    assert all(s.ok and s.frames == 14 for s in summaries.values()), {n: s.line() for n, s in summaries.items()}
    assert "LocalCluster" in summaries["dask"].engine and isinstance(engines["dask"], DaskEngine)
    assert (engines["dask"].dashboard or "").startswith("http://127.0.0.1:")  # shown on the progress line
    files = {name: tree(Path(job.out)) for name, job in runs.items()}
    # 2 sequences x (7 normals + 7 masks + 7 depths + 3 position chunks + landmarks + ply + flame_param)
    assert len(files["one"]) == 2 * (7 * 3 + 3 + 3)
    assert files["one"] == files["pool"] == files["dask"]
    for name, job in runs.items():  # the manifest lists exactly the files written, with their sizes
        listed = {o["path"]: o["bytes"] for r in records(Path(job.out)) for o in r["outputs"]}
        assert listed == {path: len(data) for path, data in files[name].items()}
