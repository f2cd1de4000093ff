"""The GPU path's logic, on CPU: per-run throughput and MFU against a (here overridden) peak, GPU resources
asked of a Dask cluster only where workers declare them, and the prepared device check."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from agentscaling.model.gpt import GPT, GPTConfig, masked_next_token_loss
from agentscaling.train import TrainConfig, train
from agentscaling.train.throughput import PEAK_ENV, peak_flops


def _tiny_run(**cfg):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=32, context=8, n_layer=1, n_head=2, n_embd=16))
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 32, size=(4, 8)))

    def batch_fn(step):
        return {"x": x, "y": torch.roll(x, -1, dims=1)}

    config = TrainConfig(lr=1e-3, steps=20, n_log=3, **cfg)
    return train(model, masked_next_token_loss, batch_fn, config, inputs_per_batch=32, n_params=5000)


def test_every_run_records_its_throughput_and_mfu(monkeypatch):
    """A run's inputs/s and 6N FLOP/s; MFU against the peak of AGENTSCALING_PEAK_FLOPS (no table entry for a
    CPU, so none without it); bf16 autocast on CPU takes the same path."""
    monkeypatch.delenv(PEAK_ENV, raising=False)
    speed = _tiny_run().extra["throughput"]
    assert speed["inputs_per_s"] > 0 and speed["flops_per_s"] == pytest.approx(6 * 5000 * speed["inputs_per_s"])
    assert speed["peak_flops"] is None and speed["mfu"] is None and speed["device_name"] == "cpu"
    monkeypatch.setenv(PEAK_ENV, "1e12")
    speed = _tiny_run(precision="bf16").extra["throughput"]
    assert speed["precision"] == "bf16" and speed["mfu"] == pytest.approx(speed["flops_per_s"] / 1e12)
    monkeypatch.setenv(PEAK_ENV, "fast")
    with pytest.raises(ValueError, match="number of FLOP/s"):
        peak_flops("cpu")


def test_cuda_runs_ask_for_a_gpu_only_where_workers_declare_one():
    pytest.importorskip("distributed")
    from distributed import Client

    from agentscaling.executors import gpu_resources

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as plain:
        assert gpu_resources(plain, "cpu") is None
        with pytest.warns(UserWarning, match="--resources GPU=1"):
            assert gpu_resources(plain, "cuda") is None
    with Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None, resources={"GPU": 1}
    ) as gpus:
        assert gpu_resources(gpus, "cuda") == {"GPU": 1}
        assert gpu_resources(gpus, "cuda:0") == {"GPU": 1}


def test_the_device_check_says_no_gpu_and_runs_its_logic_on_cpu(project_root):
    script = str(project_root / "benchmarks" / "gpu_check.py")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.count("\n") == 1
    assert json.loads(out.stdout)["gpu"] is None
    args = [sys.executable, script, "--device", "cpu", "--preset", "smoke", "--budget-s", "20"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    checks = [r["check"] for r in rows]
    assert checks[:5] == ["device", "throughput", "throughput", "throughput", "train"] and checks[-1] == "done"
    train_row = rows[4]
    assert train_row["status"] == "done" and train_row["last_loss"] < train_row["first_loss"]
    hours = {r["study"]: r["hours"] for r in rows if r["check"] == "study_hours"}
    assert hours and all(h > 0 for h in hours.values())
