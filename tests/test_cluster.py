"""Sweeps on a real Dask cluster: a worker killed mid-run loses nothing (Dask retries its job, which
resumes from the run's checkpoint, under the run's lock), and the CLI's --dask-local gives the same runs
as the local pool."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from agentscaling.cli import main
from agentscaling.executors import SCHEDULER_ENV, dask_client, dask_cluster
from agentscaling.store import RunStore
from agentscaling.studies import get_study
from agentscaling.sweep import sweep_studies

pytest.importorskip("distributed")


def _six_runs():
    dense = get_study("lm-shakespeare-dense", "smoke")
    sparse = get_study("lm-shakespeare-sparse", "smoke")
    return [dense, sparse.with_sizes([z.label for z in sparse.sizes[:2]])]


def _final_losses(store):
    return {
        (r.study, r.read_config()["size_label"]): r.read_config()["result"]["final_loss"]
        for r in RunStore(store).runs()
    }


def test_a_killed_worker_s_run_is_retried_and_resumes_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTSCALING_CHECKPOINT_S", "0.2")  # read by the workers, which inherit it
    studies = _six_runs()
    reference = sweep_studies(studies, tmp_path / "reference")
    assert [r["status"] for r in reference] == ["done"] * 6

    store = tmp_path / "cluster"
    results: list = []
    with dask_cluster(local_workers=2) as address, dask_client(address) as client:
        sweeper = threading.Thread(target=lambda: results.extend(sweep_studies(studies, store, executor=client)))
        sweeper.start()
        victim, deadline = None, time.time() + 120
        while victim is None and time.time() < deadline and sweeper.is_alive():
            for run in RunStore(store).runs():
                attempts = run.path / "attempts.json"
                if run.status == "running" and run.checkpoint_path.exists() and attempts.exists():
                    victim = run
                    break
            time.sleep(0.02)
        assert victim is not None, "no run was caught mid-training with a checkpoint"
        killed_pid = json.loads((victim.path / "attempts.json").read_text())[-1]["pid"]
        os.kill(killed_pid, signal.SIGKILL)
        sweeper.join(timeout=300)
        assert not sweeper.is_alive()

    assert [r["status"] for r in results] == ["done"] * 6, results
    attempts = {r.id: json.loads((r.path / "attempts.json").read_text()) for r in RunStore(store).runs()}
    assert len(attempts) == 6
    again = attempts.pop(victim.id)
    assert len(again) == 2 and again[0]["pid"] == killed_pid and again[1]["resumed"] and again[1]["pid"] != killed_pid
    assert all(len(a) == 1 and not a[0]["resumed"] for a in attempts.values())
    assert not victim.checkpoint_path.exists()
    assert [p for p in store.rglob("*") if p.name.endswith(".tmp")] == []
    got, want = _final_losses(store), _final_losses(tmp_path / "reference")
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-9)


def test_sweep_cli_on_a_local_dask_cluster(tmp_path, capsys):
    """`agentscaling sweep --dask-local 2` trains the same runs as the local pool, and leaves no scheduler
    address behind in the environment; a bad address is one clear error."""
    sizes = ",".join(z.label for z in get_study("lm-shakespeare-sparse", "smoke").sizes[:2])
    args = ["sweep", "lm-shakespeare-sparse", "--preset", "smoke", "--sizes", sizes, "--no-progress"]
    assert main([*args, "--store", str(tmp_path / "pool"), "--workers", "2"]) == 0
    assert main([*args, "--store", str(tmp_path / "dask"), "--dask-local", "2"]) == 0
    assert SCHEDULER_ENV not in os.environ
    assert _final_losses(tmp_path / "dask") == pytest.approx(_final_losses(tmp_path / "pool"), rel=1e-9)
    capsys.readouterr()
    assert main([*args, "--store", str(tmp_path / "x"), "--scheduler", "localhost:1"]) == 2
    assert "tcp://HOST:PORT" in capsys.readouterr().err
