"""One tiny world-model study end to end through the CLI at the smoke preset: arena data, a frame
tokenizer and its token cache are prepared (or found), every size trains, and the runs record D, C,
held-out loss and epochs under the paper's counting rules."""

import os
import subprocess
import sys

import numpy as np

from agentscaling.store import RunStore, load_runs
from agentscaling.studies import get_study

STUDY = "wm-tpf-16-s0"


def test_smoke_sweep_of_a_world_model_study(tmp_path, project_root):
    store = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=str(project_root / "lib"), OMP_NUM_THREADS="1")
    res = subprocess.run(
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
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    study = get_study(STUDY, "smoke")
    runs = list(RunStore(store).runs(STUDY))
    assert len(runs) == len(study.sizes) and all(r.status == "done" for r in runs)
    df = load_runs(store, STUDY)
    S = study.context
    assert S == 2 * (16 + 16)
    for run in runs:
        cfg = run.read_config()
        curve = run.read_curve()
        # D counts every input token; C = 6·N·D with N from the study's counts
        assert (curve["D"] == curve["step"] * study.batch_size * S).all()
        np.testing.assert_allclose(curve["C"], 6.0 * cfg["counts"]["N"] * curve["D"])
        assert (curve["D_supervised"] < curve["D"]).all()
        assert np.isfinite(curve["val_loss"]).all() and (curve["loss"] == curve["val_loss"]).all()
        assert curve["epochs"].iloc[-1] > 0 and cfg["counts"]["epochs_planned"] > 0
        data = cfg["task"]["data"]
        assert data["tokens_per_frame"] == 16 and data["codebook_size"] + 68 == study.vocab_size
        assert curve["val_loss"].iloc[-1] < np.log(study.vocab_size)  # it learned something
    assert set(df["size"]) == {z.label for z in study.sizes}
