"""A sweep killed with SIGKILL mid-run and started again finishes every run once, reuses finished
runs, resumes the partial one from its checkpoint, and leaves no half-written file."""

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from agentscaling.cli import main
from agentscaling.store import RunStore, load_runs
from agentscaling.studies import get_study
from agentscaling.sweep import sweep_studies
from agentscaling.sweep.cost import lpt_order, makespan

STUDY = "lm-shakespeare-dense"


def cli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "agentscaling", *args], capture_output=True, text=True, env=env, **kw)


def _env(root):
    env = dict(os.environ, AGENTSCALING_CHECKPOINT_S="0.3", PYTHONPATH=str(root / "lib"))
    return env


def test_sigkill_mid_sweep_then_resume(tmp_path, project_root):
    store = tmp_path / "store"
    env = _env(project_root)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentscaling",
            "sweep",
            STUDY,
            "--preset",
            "smoke",
            "--store",
            str(store),
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # wait until one run is done and a later one has written a checkpoint, then kill -9
    deadline = time.time() + 120
    victim = None
    while time.time() < deadline and victim is None:
        runs = list(RunStore(store).runs(STUDY))
        done = [r for r in runs if r.status == "done"]
        partial = [r for r in runs if r.status == "running" and r.checkpoint_path.exists()]
        if done and partial:
            victim = partial[0]
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert victim is not None, "sweep never reached a state with a finished run and a checkpointed one"
    before = {r.id: (r.path / "model.pt").stat().st_mtime_ns for r in RunStore(store).runs(STUDY) if r.status == "done"}
    ckpt_step = victim.load_checkpoint()["step"]
    assert ckpt_step > 0

    res = cli("sweep", STUDY, "--preset", "smoke", "--store", str(store), "--no-progress", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("already finished") == len(before)

    runs = list(RunStore(store).runs(STUDY))
    assert len(runs) == 4 and all(r.status == "done" for r in runs)
    for r in runs:  # finished runs were reused, not retrained
        if r.id in before:
            assert (r.path / "model.pt").stat().st_mtime_ns == before[r.id]
        assert not r.checkpoint_path.exists()
        curve = r.read_curve()
        assert curve["step"].is_unique and curve["step"].is_monotonic_increasing
        assert curve["step"].iloc[-1] == r.read_config()["config"]["steps"]
    leftovers = [p for p in store.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []

    # the resumed run's curve equals an uninterrupted run of the same size
    label = victim.read_config()["size_label"]
    fresh = tmp_path / "fresh"
    res = cli("sweep", STUDY, "--preset", "smoke", "--store", str(fresh), "--sizes", label, "--no-progress", env=env)
    assert res.returncode == 0, res.stderr
    a = RunStore(store).open_run(STUDY, json.loads(victim.config_path.read_text())["config"], label).read_curve()
    b = next(RunStore(fresh).runs(STUDY)).read_curve()
    assert a["step"].tolist() == b["step"].tolist()
    np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-9)
    np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-9)


def test_runs_json_and_load_runs(tmp_path, project_root):
    store = tmp_path / "s"
    env = _env(project_root)
    res = cli("sweep", STUDY, "--preset", "smoke", "--store", str(store), "--no-progress", env=env)
    assert res.returncode == 0, res.stderr
    res = cli("runs", "--store", str(store), "--json", env=env)
    rows = json.loads(res.stdout)
    assert len(rows) >= 4
    for r in rows:
        assert {"run_id", "study", "status", "N", "D", "C", "final_loss"} <= set(r)
        assert r["C"] == 6 * r["N"] * r["D"]
    rows = sorted(rows, key=lambda r: r["N"])
    losses = [r["final_loss"] for r in rows]
    assert losses == sorted(losses, reverse=True), losses  # bigger models reach lower loss

    df = load_runs(store, STUDY)
    assert {"run_id", "N", "D", "C", "loss", "train_loss", "val_loss", "step", "epochs"} <= set(df.columns)
    assert df.groupby("run_id")["N"].nunique().eq(1).all()
    cfg = json.loads(next(Path(rows[0]["path"]).glob("config.json")).read_text())
    assert {"config", "environment", "counting_conventions", "counts"} <= set(cfg)
    assert cfg["environment"]["torch"]


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    cases = (
        ["sweep", "no-such-study", "--preset", "smoke"],
        ["sweep", STUDY, "--preset", "huge"],
        ["sweep", STUDY, "--preset", "smoke", "--sizes", "7T", "--store", str(tmp_path)],
        ["reproduce", "--preset", "smoke", "--notebooks", "99_nothing", "--out", str(tmp_path)],
        ["runs", "--store", str(tmp_path / "nonexistent"), "--json"],
    )
    for args in cases:  # in this process: the same main() the command runs
        assert main(args) == 2, args
        out, err = capsys.readouterr()
        lines = [ln for ln in err.strip().splitlines() if ln]
        assert out == "" and len(lines) == 1 and lines[0].startswith("agentscaling: error:"), (args, err)
    res = cli(*cases[-1])  # and once through the installed entry point
    assert res.returncode == 2 and res.stdout == "" and res.stderr.startswith("agentscaling: error: no run store")


def test_several_studies_share_one_pool_longest_runs_first(tmp_path):
    """sweep_studies hands every run of every study to the executor at once, longest first (LPT), and
    reports them back in study and size order; a failed run is reported, not raised."""

    class Recorder:  # a pool stand-in: records the submission order, trains nothing
        def __init__(self):
            self.submitted = []

        def submit(self, fn, study, size, *args):
            self.submitted.append((study.name, size.label))
            fut = cf.Future()
            if size.label == study.sizes[0].label and study.name.endswith("sparse"):
                fut.set_exception(RuntimeError("boom"))
            else:
                fut.set_result({"status": "done", "run_id": f"{study.name}/{size.label}"})
            return fut

    studies = [get_study("lm-shakespeare-dense", "smoke"), get_study("lm-shakespeare-sparse", "smoke")]
    cost = {
        (st.name, z.label): float(z.flops) * (3.0 if st.name.endswith("sparse") else 1.0)
        for st in studies
        for z in st.sizes
    }
    ex = Recorder()
    res = sweep_studies(studies, tmp_path, executor=ex, cost=lambda st, z: cost[(st.name, z.label)])
    assert ex.submitted == sorted(cost, key=lambda k: -cost[k])
    assert [(r["study"], r["size"]) for r in res] == [(st.name, z.label) for st in studies for z in st.sizes]
    failed = [r for r in res if r["status"] == "failed"]
    assert len(failed) == 1 and "boom" in failed[0]["message"]
    # the dry-run's model of that schedule: longest first never loses to the given order here
    d = [1.0, 1.0, 1.0, 3.0]
    assert makespan(lpt_order(d, 2), 2) == 3.0 < makespan(d, 2) == 4.0


def test_a_dask_client_is_an_executor(tmp_path):
    """Sweeps fan out over Dask for more than one machine: a distributed.Client works as the executor
    (here an in-process cluster), and a second sweep skips the finished run."""
    from distributed import Client

    study = get_study("lm-shakespeare-dense", "smoke")
    study = study.with_sizes([study.sizes[0].label])
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        first = sweep_studies([study], tmp_path, executor=client, cost=lambda st, z: z.flops)
        again = sweep_studies([study], tmp_path, executor=client)
    assert [r["status"] for r in first] == ["done"] and not first[0].get("skipped")
    assert again[0]["status"] == "done" and again[0]["skipped"]
    assert (tmp_path / study.name).is_dir()


def test_atomic_writes_respect_the_umask(tmp_path):
    """Reports and run files are written through a temporary file (mkstemp: 0600) and renamed; the result
    must carry the permissions of a plain open(), or other users cannot read a shared report."""
    from agentscaling.io import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o600


def test_the_pool_progress_note_shows_runs_in_flight_and_time_left(tmp_path):
    """A notebook cell that trains in worker processes shows, beside its runs-done bar, the runs in flight
    (step and loss from their status.json) and the time left by the cost model (only when it is seconds)."""
    from agentscaling.prepare import prepare_studies
    from agentscaling.sweep.core import _PoolWatch, open_size_run

    st = get_study(STUDY, "smoke")
    prepared = prepare_studies([st])
    jobs = [(st, z) for z in st.sizes]
    run = open_size_run(st, st.sizes[1], RunStore(tmp_path), prepared[st.name])
    run.set_status("running", "step 30/120", step=30, steps=120, train_loss=2.5)

    def seconds(study, size):
        return 60.0

    seconds.in_seconds = True
    note = _PoolWatch(jobs, prepared, str(tmp_path), seconds, workers=2).note(list(range(len(jobs))))
    assert f"{STUDY} {st.sizes[1].label}/s0: step 30/120, loss 2.500" in note
    left = (60.0 * (len(jobs) - 1) + 60.0 * 0.75) / 2 / 60
    assert f"≈ {left:.1f} min left (cost model)" in note
    flops_only = _PoolWatch(jobs, prepared, str(tmp_path), lambda s, z: z.flops, workers=2).note([0, 1])
    assert "min left" not in flops_only and "step 30/120" in flops_only
