"""Calibrating the cost model (agentscaling.sweep.cost) on this machine: time a grid of small training
steps and held-out forwards through the library's own trainer, fit the coefficients, cache them.

The cache key is the CPU, core count, torch version, thread count, device and grid; a calibration is
measured once (about 90 s on 2 cores) and reused. A shared machine's speed drifts, so a dry run says
how old the calibration is (`agentscaling cost calibrate --force` measures it again)."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from .. import paths
from ..action_space import ACTION_NVEC
from ..errors import UserError
from ..executors import resolve_device
from ..io import atomic_write_json, config_hash, read_json
from ..model.bccnn import BCCNN, action_loss
from ..model.gpt import GPT, GPTConfig, masked_next_token_loss
from ..prepare import locate, prepare
from ..store import RunStore
from ..tasks.lm import sample_windows
from ..train import TrainConfig, split_batch, train
from .core import open_size_run, train_size
from .cost import (
    CALIBRATION_VERSION,
    CostModel,
    StepSpec,
    StudyEstimate,
    model_from_points,
    predict_studies,
    run_status,
)

# (n_layer, n_head, n_embd, vocab, context, batch, supervised): the Shakespeare presets' shapes at context 16
# (dense and last-position loss, two batch sizes) plus longer contexts and larger vocabularies.
DEFAULT_GRID: tuple[tuple[int, ...], ...] = (
    (1, 4, 16, 65, 16, 256, 16),
    (1, 6, 24, 65, 16, 256, 16),
    (2, 6, 48, 65, 16, 256, 16),
    (2, 4, 64, 65, 16, 256, 16),
    (2, 7, 112, 65, 16, 256, 16),
    (3, 5, 160, 65, 16, 256, 16),
    (4, 8, 256, 65, 16, 256, 16),
    (1, 4, 16, 65, 16, 64, 16),
    (2, 4, 64, 65, 16, 64, 16),
    (2, 4, 64, 65, 16, 256, 1),
    (3, 5, 160, 65, 16, 256, 1),
    (2, 4, 64, 256, 64, 64, 64),
    (2, 2, 64, 1024, 256, 32, 256),
    (4, 4, 128, 1024, 256, 32, 256),
    (3, 6, 192, 4096, 64, 32, 64),
    # the arena token studies' shapes (vocab 580, 2 steps of 64+16 or 256+16 tokens, many thin heads), with
    # the head positions their masks supervise (WM: the 2k - 1 image-token targets; BC-Token: the 32
    # action tokens): without them the fit extrapolates the attention terms to T = 544 and over-predicts
    # those runs 4-6x
    (1, 2, 8, 580, 544, 6, 511),
    (2, 5, 20, 580, 544, 6, 511),
    (2, 7, 56, 580, 544, 6, 511),
    (1, 3, 12, 580, 160, 16, 127),
    (2, 7, 56, 580, 160, 16, 127),
    (1, 3, 12, 580, 160, 16, 32),
    (2, 7, 56, 580, 160, 16, 32),
    (1, 2, 8, 580, 64, 32, 31),  # the 16-tokens-per-frame ladder
    (2, 4, 32, 580, 64, 32, 31),
    # the GPT-2 BPE book studies: tiny widths, a 50,257-row head
    (2, 2, 8, 50257, 64, 32, 64),
    (3, 6, 24, 50257, 64, 32, 64),
    (3, 4, 32, 50257, 64, 32, 64),
    # BC-CNN: the cpu preset's Impala CNN (32 px, channels 8/16/16, 1 residual block, 64-d out) under
    # its smallest and largest transformer and two batch sizes. One CNN only: the cost of these tiny
    # convolutions is not proportional to their FLOPs (a 3.7x-FLOP CNN of 16/32/32 channels cost 2.1x per
    # frame), so the term is calibrated on this CNN and extrapolates to any other
    (1, 6, 24, 68, 4, 64, 4, (32, (8, 16, 16), 1, 64)),
    (3, 7, 112, 68, 4, 64, 4, (32, (8, 16, 16), 1, 64)),
    (2, 4, 64, 68, 4, 32, 4, (32, (8, 16, 16), 1, 64)),
)
QUICK_GRID: tuple[tuple[int, ...], ...] = (
    (1, 4, 16, 65, 16, 64, 16),
    (1, 4, 16, 65, 16, 256, 16),
    (2, 4, 64, 65, 16, 256, 16),
    (2, 4, 64, 65, 16, 256, 1),
    (2, 2, 64, 256, 64, 32, 64),
    (3, 5, 160, 65, 16, 256, 16),
)


def _grid_specs(grid: Iterable[Sequence[int]]) -> list[StepSpec]:
    specs = []
    for g in grid:
        if len(g) not in (7, 8):
            raise UserError(
                f"calibration point {g!r}: expected (n_layer, n_head, n_embd, vocab, context, batch, "
                "supervised[, (frame_size, channels, res_blocks, out_dim)])"
            )
        L, H, d, V, T, B, S = (int(v) for v in g[:7])
        specs.append(
            StepSpec(
                n_layer=L,
                n_head=H,
                n_embd=d,
                vocab_size=V,
                context=T,
                batch=B,
                supervised=S,
                cnn=g[7] if len(g) == 8 else (),
            )
        )
    if not specs:
        raise UserError("empty calibration grid")
    return specs


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_point(
    spec: StepSpec, device: str = "cpu", target_s: float = 0.4, repeats: int = 3, precision: str = "fp32"
) -> tuple[float, float]:
    """(seconds per training step through `train()`, seconds per held-out forward chunk), best of
    `repeats` timings of about `target_s` each, with batches drawn per step as the LM task does.

    With one CPU thread the clock is this process's CPU time (user + system), which equals the wall
    time on an idle core and is not inflated by other busy processes; otherwise wall time."""
    clock = time.process_time if (device == "cpu" and torch.get_num_threads() == 1) else time.perf_counter
    dev = torch.device(device)
    torch.manual_seed(0)
    model, batch_fn, loss_fn = (_cnn_point if spec.cnn else _gpt_point)(spec, dev)
    n = spec.n_params_total

    micro = 0  # found by the warm-up (halving on out-of-memory), then fixed so no timing includes a failed try

    def run(steps: int) -> float:
        nonlocal micro
        cfg = TrainConfig(lr=1e-4, steps=steps, n_log=2, device=device, precision=precision, micro_batches=micro)
        _sync(dev)
        t0 = clock()
        res = train(model, loss_fn, batch_fn, cfg, inputs_per_batch=spec.batch * spec.context, n_params=n)
        _sync(dev)
        micro = res.extra["micro_batches"]
        return (clock() - t0) / steps

    run(2)  # warm-up: allocator, kernels, optimizer state, micro-batches
    k = max(2, min(200, math.ceil(target_s / max(run(2), 1e-6))))
    t_train = min(run(k) for _ in range(repeats))

    chunks = split_batch(batch_fn(10**6), micro)

    @torch.no_grad()
    def fwd(reps: int) -> float:
        model.eval()
        _sync(dev)
        t0 = clock()
        for _ in range(reps):
            sum(float(loss_fn(model, c)) for c in chunks)
        _sync(dev)
        model.train()
        return (clock() - t0) / reps

    fwd(2)
    k = max(2, min(500, math.ceil(target_s / 2 / max(fwd(2), 1e-6))))
    t_eval = min(fwd(k) for _ in range(repeats))
    return t_train, t_eval


def _gpt_point(spec: StepSpec, dev):
    """A GPT, its batches (windows of random tokens, as the LM task draws them) and its loss."""
    tokens = np.random.default_rng(0).integers(0, spec.vocab_size, size=200_000).astype(np.uint16)
    mask = None
    if spec.supervised < spec.context:
        mask = torch.zeros(spec.batch, spec.context, dtype=torch.bool, device=dev)
        mask[:, -spec.supervised :] = True

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        x, y = sample_windows(tokens, spec.context, spec.batch, np.random.default_rng([0, step]))
        b = {"x": torch.from_numpy(x).to(dev), "y": torch.from_numpy(y).to(dev)}
        if mask is not None:
            b["mask"] = mask
        return b

    model = GPT(
        GPTConfig(
            vocab_size=spec.vocab_size,
            context=spec.context,
            n_layer=spec.n_layer,
            n_head=spec.n_head,
            n_embd=spec.n_embd,
        )
    ).to(dev)
    return model, batch_fn, masked_next_token_loss


def _cnn_point(spec: StepSpec, dev):
    """A BC-CNN model (model.bccnn), batches of random uint8 frames and actions, and its loss."""
    cnn = spec.cnn_config()
    model = BCCNN(cnn, spec.n_layer, spec.n_head, spec.n_embd, spec.context).to(dev)
    nvec = np.array(ACTION_NVEC)
    shape = (spec.batch, spec.context)

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([0, step])
        frames = rng.integers(0, 256, size=(*shape, cnn.frame_size, cnn.frame_size, 3), dtype=np.uint8)
        actions = (rng.random((*shape, len(nvec))) * nvec).astype(np.int64)
        return {"frames": torch.from_numpy(frames).to(dev), "actions": torch.from_numpy(actions).to(dev)}

    return model, batch_fn, lambda m, b: action_loss(m(b["frames"]), b["actions"], ACTION_NVEC)[0]


def calibrate(
    threads: int | None = None,
    device: str = "cpu",
    grid: Iterable[Sequence[int]] = DEFAULT_GRID,
    target_s: float = 0.4,
    repeats: int = 3,
    log: Callable[[str], None] | None = None,
    measure: Callable[..., tuple[float, float]] = measure_point,
) -> CostModel:
    """Measure the grid at `threads` torch threads and fit the cost model (threads restored afterwards)."""
    specs = _grid_specs(grid)
    resolve_device(device)
    threads = threads or torch.get_num_threads()
    if threads < 1:
        raise UserError(f"threads must be >= 1, got {threads}")
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    load0, t0 = loadavg(), time.perf_counter()
    points = []
    meta_clock = "process CPU time" if (device == "cpu" and threads == 1) else "wall time"
    try:
        for i, s in enumerate(specs):
            tt, te = measure(s, device=device, target_s=target_s, repeats=repeats)
            points.append({**asdict(s), "train_s": tt, "eval_s": te})
            if log:
                log(
                    f"  [{i + 1}/{len(specs)}] L{s.n_layer} d{s.n_embd} V{s.vocab_size} {s.batch}x{s.context} "
                    f"S{s.supervised}{' CNN' + str(list(s.cnn[1])) if s.cnn else ''}: {1e3 * tt:.1f} ms/step "
                    f"({s.batch * s.context / tt:,.0f} tok/s), "
                    f"eval {1e3 * te:.1f} ms"
                )
    finally:
        torch.set_num_threads(old)
    return model_from_points(
        points,
        threads=threads,
        device=device,
        meta={
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "calibration_s": time.perf_counter() - t0,
            "loadavg_before": load0,
            "loadavg_after": loadavg(),
            "clock": meta_clock,
            **machine_key(threads, device),
        },
    )


def loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(threads: int, device: str = "cpu") -> dict[str, Any]:
    key = {
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": threads,
        "device": device,
        "version": CALIBRATION_VERSION,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        key["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return key


def cache_path(
    threads: int,
    device: str = "cpu",
    grid: Iterable[Sequence[int]] = DEFAULT_GRID,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    root = Path(cache_dir) if cache_dir is not None else paths.CACHE_DIR
    key = config_hash({**machine_key(threads, device), "grid": [list(g) for g in grid]})
    return root / "costmodel" / f"calibration-{device.replace(':', '')}-t{threads}-{key}.json"


def load_or_calibrate(
    threads: int | None = None,
    device: str = "cpu",
    cache_dir: str | os.PathLike | None = None,
    recalibrate: bool = False,
    grid: Iterable[Sequence[int]] = DEFAULT_GRID,
    log: Callable[[str], None] | None = None,
    **kw: Any,
) -> CostModel:
    """The cached calibration for this machine/threads/device, measuring it first if there is none."""
    grid = tuple(tuple(g) for g in grid)
    threads = threads or torch.get_num_threads()
    path = cache_path(threads, device, grid, cache_dir)
    if path.exists() and not recalibrate:
        try:
            return CostModel.from_json(read_json(path))
        except (UserError, KeyError, ValueError, json.JSONDecodeError) as e:
            if log:
                log(f"ignoring unreadable calibration {path} ({e}); recalibrating")
    if log:
        log(f"calibrating the cost model ({len(grid)} configs, {threads} thread(s), {device}; cached in {path})")
        if loadavg() > (os.cpu_count() or 1) * 0.5 and threads > 1:
            log(
                f"warning: load average {loadavg():.1f}: other processes are busy, the calibration will be slow "
                f"and the predictions pessimistic; recalibrate on an idle machine (--force)"
            )
    model = calibrate(threads=threads, device=device, grid=grid, log=log, **kw)
    atomic_write_json(path, model.to_json())
    return model


def cached_model(threads: int, device: str = "cpu", cache_dir: str | os.PathLike | None = None) -> CostModel | None:
    """The cached calibration for this machine, or None (never measures anything)."""
    path = cache_path(threads, device, DEFAULT_GRID, cache_dir)
    try:
        return CostModel.from_json(read_json(path)) if path.exists() else None
    except (UserError, KeyError, ValueError, OSError):
        return None


def run_cost(threads: int = 1, device: str = "cpu") -> Callable[[Any, Any], float]:
    """A (study, size) -> estimated seconds function for ordering jobs (sweep_studies): the cached
    calibration when there is one (the function then has in_seconds = True), else the run's 6·N·D
    budget (the right order within a study, but no time)."""
    model = cached_model(threads, device)
    if model is None:
        return lambda study, size: float(size.flops)

    def seconds(study, size) -> float:
        return model.predict_run(study, size).total_s

    seconds.in_seconds = True  # a progress bar may turn it into time left
    return seconds


# ---------------------------------------------------------------------------------------------- entry points
def estimate_studies(
    studies: Sequence[Any],
    workers: int = 1,
    device: str = "cpu",
    store: str | os.PathLike | None = None,
    threads: int | None = None,
    log: Callable[[str], None] | None = None,
    **kw: Any,
) -> tuple[list[StudyEstimate], float, float]:
    """What `agentscaling sweep A[,B...] --dry-run` prints (predict_studies with this machine's calibration):
    one worker uses this process's torch threads; several workers use 1 thread each (executors.worker_pool)."""
    if workers < 1:
        raise UserError("--workers must be >= 1")
    device = resolve_device(device)
    threads = threads or (1 if workers > 1 else torch.get_num_threads())
    model = load_or_calibrate(threads=threads, device=device, log=log, **kw)
    return predict_studies(studies, model, workers=workers, store=store)


def estimate_sweep(
    study,
    workers: int = 1,
    device: str = "cpu",
    store: str | os.PathLike | None = None,
    threads: int | None = None,
    log: Callable[[str], None] | None = None,
    **kw: Any,
) -> StudyEstimate:
    """estimate_studies for one study."""
    return estimate_studies([study], workers, device, store, threads, log, **kw)[0][0]


def compare_with_store(study, store: str | os.PathLike, model: CostModel) -> list[dict[str, Any]]:
    """Predicted vs measured wall time of the study's finished runs in `store` (the status file's wall_s)."""
    rows = []
    prepared = locate(study)
    for rep, z in [(rep, z) for rep in study.replicas() for z in study.sizes]:
        status = run_status(rep, z, store, prepared)
        info = open_size_run(rep, z, RunStore(store), prepared, create=False).status_info if status == "done" else {}
        pred = model.predict_run(rep, z)
        measured = info.get("wall_s") if status == "done" else None
        rows.append(
            {
                "size": z.label if rep.seed == study.seed else f"{z.label}/s{rep.seed}",
                "status": status,
                "predicted_s": pred.total_s,
                "measured_s": measured,
                "ratio": (pred.total_s / measured) if measured else None,
            }
        )
    return rows


def validate(
    study, model: CostModel, store: str | os.PathLike, log: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Train every size of `study` in this process (at torch's current threads) and compare each run's
    measured wall and CPU seconds with the prediction. Finished runs in `store` are skipped (use an
    empty store). With one thread the CPU seconds are what an idle core would take, whatever the load."""
    prepared = prepare(study)
    rows = []
    for rep, z in [(rep, z) for rep in study.replicas() for z in study.sizes]:
        pred = model.predict_run(rep, z)
        t0, c0 = time.perf_counter(), time.process_time()
        res = train_size(rep, z, prepared, str(store), progress=False, device=model.device)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        row = {
            "size": z.label,
            "status": res["status"],
            "skipped": bool(res.get("skipped")),
            "predicted_s": pred.total_s,
            "wall_s": wall,
            "cpu_s": cpu,
            "loadavg": loadavg(),
        }
        rows.append(row)
        if log:
            log(
                f"  {z.label}: predicted {pred.total_s:.1f} s, measured wall {wall:.1f} s, CPU {cpu:.1f} s "
                f"({res['status']}{', skipped' if row['skipped'] else ''}; load {row['loadavg']:.1f})"
            )
    return rows
