"""The prepared device check: on one H100/H200-class GPU, in under 8 minutes, measure what the `gpu`
preset's hours rest on, and print them as JSON lines.

    .venv/bin/python benchmarks/gpu_check.py                     # on a GPU machine; "no GPU" line elsewhere
    .venv/bin/python benchmarks/gpu_check.py --device cpu --preset smoke --budget-s 60   # the logic, on CPU

What it does (each line of output is one JSON object with a "check" key):
1. device: the GPU's name, torch/CUDA versions, the dense bf16 peak it is judged against
   (agentscaling.train.throughput.PEAK_FLOPS; override with AGENTSCALING_PEAK_FLOPS).
2. throughput: three sizes of the study's ladder (smallest, middle, largest) at the study's exact step
   shape (layers, width, vocabulary, context, batch) on windows of random tokens, bf16 autocast, fused
   AdamW, through the library's own trainer: seconds per step, inputs/s, model FLOP/s (PaLM count)
   and MFU.
3. train: a few hundred steps of the largest size (as many as fit in a quarter of the budget) with the
   throughput the trainer itself records for every run (TrainResult.extra["throughput"]).
4. calibration: the cost model (agentscaling.sweep.calibrate) measured on this device, cached under
   data/cache/costmodel, with its leave-one-out errors.
5. study_hours: for every study of the preset, the hours one such GPU takes (sweep.cost.gpu_hours) at
   the FLOP/s measured for the three sizes, interpolated in log N (held at the nearest end outside
   them), and never under the shortest step the calibration measured (a tiny model: launch overhead),
   beside the hours assumed so far (40 % MFU of 989 TFLOP/s, 10 ms floor).
A step's batch that does not fit the GPU's memory is split into micro-batches (the trainer doubles
their number on out-of-memory); the rows say how many were used.
Nothing is written except the calibration cache; the steps train on random tokens, so no data is
generated. Exits 0 without a GPU (one line saying so) unless a device is named."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import torch

from agentscaling import presets
from agentscaling.executors import resolve_device
from agentscaling.studies import get_study, list_studies
from agentscaling.sweep.calibrate import QUICK_GRID, _gpt_point, load_or_calibrate, measure_point
from agentscaling.sweep.cost import GPU_CONV_FLOPS, GPU_MIN_STEP_S, assumed_gpu_hours, gpu_hours, spec_for
from agentscaling.train import TrainConfig, train
from agentscaling.train.throughput import device_name, peak_flops


def emit(**row) -> None:
    print(json.dumps(row, default=float), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None, help="cuda (default when a GPU is visible) or cpu to test the logic")
    ap.add_argument("--preset", default="gpu", help="the preset whose studies are measured (default gpu)")
    ap.add_argument("--study", default="wm-token-64", help="the study whose ladder is measured")
    ap.add_argument("--budget-s", type=float, default=420.0, help="wall-clock budget in seconds (default 420)")
    args = ap.parse_args(argv)
    if args.device is None and not torch.cuda.is_available():
        emit(check="device", gpu=None, message="no CUDA GPU is visible: nothing to measure (exit 0)")
        return 0
    device = resolve_device(args.device or "cuda")
    preset = presets.get(args.preset)
    precision = "bf16" if device.startswith("cuda") else preset.precision
    t_start = time.perf_counter()
    peak = peak_flops(device, precision)
    emit(
        check="device",
        gpu=device_name(device),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        precision=precision,
        peak_flops=peak,
    )

    study = get_study(args.study, preset)
    sizes = study.sizes
    picks = sorted({0, len(sizes) // 2, len(sizes) - 1})
    measured = {}
    for i in picks:
        z = sizes[i]
        spec = spec_for(study, z)
        step_s, _ = measure_point(spec, device=device, target_s=1.0, repeats=2, precision=precision)
        inputs = spec.batch * spec.context
        flops = study.counts(z)["flops_per_input_attn"] * inputs / step_s
        measured[i] = {"step_s": step_s, "flops_per_s": flops, "N": float(study.counts(z)["N"])}
        emit(
            check="throughput",
            study=study.name,
            size=z.label,
            N=int(study.counts(z)["N"]),
            batch=spec.batch,
            context=spec.context,
            step_s=step_s,
            inputs_per_s=inputs / step_s,
            flops_per_s=flops,
            mfu=flops / peak if peak else None,
        )

    largest = sizes[-1]
    spec = spec_for(study, largest)
    steps = max(10, min(300, math.floor(args.budget_s / 4 / measured[len(sizes) - 1]["step_s"])))
    model, batch_fn, loss_fn = _gpt_point(spec, torch.device(device))
    cfg = TrainConfig(
        lr=largest.lr, steps=steps, warmup_steps=min(50, steps // 5), n_log=5, device=device, precision=precision
    )
    res = train(
        model,
        loss_fn,
        batch_fn,
        cfg,
        inputs_per_batch=spec.batch * spec.context,
        n_params=int(study.counts(largest)["N"]),
        flops_per_input_attn=study.counts(largest)["flops_per_input_attn"],
    )
    emit(
        check="train",
        study=study.name,
        size=largest.label,
        steps=res.steps_done,
        status=res.status,
        first_loss=float(res.curve["train_loss"].iloc[0]),
        last_loss=float(res.curve["train_loss"].iloc[-1]),
        wall_s=res.wall_s,
        micro_batches=res.extra["micro_batches"],
        **res.extra["throughput"],
    )
    del model

    min_step = GPU_MIN_STEP_S
    left = args.budget_s - (time.perf_counter() - t_start)
    if left > 60:
        cm = load_or_calibrate(threads=1, device=device, grid=QUICK_GRID, log=lambda m: print(m, file=sys.stderr))
        loo = cm.meta.get("loo_rel_err_train")
        min_step = min(p["train_s"] for p in cm.meta["points"])
        emit(
            check="calibration",
            device=device,
            points=len(cm.meta.get("points", [])),
            loo_rel_err_train_max=max(abs(e) for e in loo) if loo else None,
            min_step_s=min_step,
        )
    else:
        emit(check="calibration", skipped=f"only {left:.0f} s of the budget left")

    points = sorted(measured.values(), key=lambda m: m["N"])
    log_n = np.log([m["N"] for m in points])
    log_rate = np.log([m["flops_per_s"] for m in points])

    def rate(n: float) -> float:  # np.interp holds the end values outside the measured sizes
        return float(np.exp(np.interp(math.log(n), log_n, log_rate)))

    total = assumed_total = 0.0
    for name in list_studies():
        st = get_study(name, preset)
        hours = gpu_hours(st, flops_per_s=rate, conv_flops_per_s=GPU_CONV_FLOPS, min_step_s=min_step)
        assumed = assumed_gpu_hours(st)
        total, assumed_total = total + hours, assumed_total + assumed
        emit(check="study_hours", study=name, hours=hours, assumed_hours=assumed)
    emit(check="study_hours", study="all", hours=total, assumed_hours=assumed_total, min_step_s=min_step)
    emit(check="done", wall_s=time.perf_counter() - t_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
