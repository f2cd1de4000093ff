"""Predict the wall time of a study's runs before they run, from throughput measured on this machine.

    from agentscaling.costmodel import load_or_calibrate, predict_study, format_estimate
    model = load_or_calibrate(threads=2)                 # measures ~15 small configs once, then cached
    est = predict_study(get_study("lm-shakespeare-dense", "cpu"), model)
    print(format_estimate(est))

    agentscaling sweep lm-shakespeare-dense --preset cpu --dry-run     # the same, from the CLI
    python -m agentscaling.costmodel calibrate [--threads 1] [--force]
    python -m agentscaling.costmodel compare lm-shakespeare-dense --preset cpu --store runs/cpu

The model. One training step of a GPT (the library's `train()` loop: forward, backward, clipping, fused
AdamW) costs a linear, non-negative combination of
  1                      fixed per-step cost (Python, dispatch, the batch function)
  n_layer                per-layer dispatch (each block adds a fixed number of kernels)
  6·(12·L·d²·B·T + V·d·B·S)   matmul FLOPs of the blocks and of the head (S: supervised positions per sequence)
  12·L·d·T·B·T           attention FLOPs (PaLM's count)
  L·B·H·T²               attention scores (softmax/exp work, per head)
  L·d·B·T                elementwise/LayerNorm/GELU memory traffic
  B·S·V                  softmax and cross-entropy over the logits (memory-bound; dominates large vocabularies)
  N_total                optimizer, clipping and gradient zeroing (memory-bound in the parameters)
  cnn_flops·B·T          a per-frame CNN encoder (BC-CNN): its training FLOPs per frame (6·MACs) times frames
and a held-out forward (the task's val_fn, no grad) the same terms without the optimizer. The
coefficients are fitted (non-negative least squares, relative error) to step times measured on a
small calibration grid in this process, on this machine, at a given torch thread count; the
calibration is cached as JSON under data/cache/costmodel/, keyed by CPU, core count, torch version,
threads, device and grid.

A run costs steps × step time + (validation: at each of the len(log_steps(steps, n_log)) log points,
val_sequences sequences in chunks of the batch size) + a fixed per-run cost (task and model set-up,
writes). A study run with `--workers W > 1` uses W processes of 1 thread each (sweep.process_executor),
scheduled in submission order (ProcessPoolExecutor: the next size goes to the first free worker), each
paying a process start; with one worker it runs in this process at torch's thread count.

Assumptions, stated in every estimate: an otherwise idle machine (the prediction is the best case;
other busy processes slow 2-thread torch several-fold), the calibration's thread count, and GPT-shaped
models, or BC-CNN's Impala CNN feeding a GPT (its convolutions are one more term, calibrated on BC-CNN
points of the grid); other encoders are predicted without their cost."""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import UserError

# 5: the chunked head + cross-entropy from vocabulary 256 up (model.gpt; 4: from 8192), BC-CNN's CNN term, and the
# arena token tasks' heads priced at the positions their masks supervise (BC-Token: 32 of 160)
CALIBRATION_VERSION = 5
TRAIN_FEATURES = ("step", "layers", "matmul_flops", "attn_flops", "attn_scores", "elementwise", "logits", "cnn_flops",
                  "params")
EVAL_FEATURES = ("step", "layers", "matmul_flops", "attn_flops", "attn_scores", "elementwise", "logits", "cnn_flops")
RUN_OVERHEAD_S = 1.0     # per run: build the task (memory-mapped corpus), init the model, write config/curve/model
STALE_CALIBRATION_H = 3.0  # hours after which a dry run suggests re-measuring
WORKER_START_S = 4.0     # per worker process: spawn, import torch and the library


@dataclass(frozen=True)
class StepSpec:
    """What one training step (or one held-out forward chunk) computes."""
    n_layer: int
    n_embd: int
    vocab_size: int
    context: int
    batch: int
    supervised: int          # positions per sequence that go through the output head
    n_head: int = 1
    # BC-CNN: (frame_size, channels, res_blocks, out_dim) of the Impala CNN that encodes each input frame
    # (tasks.bccnn.CNNConfig); the inputs are then frames, the "vocabulary" the 68 action logits
    cnn: tuple = ()

    def __post_init__(self) -> None:
        for k in ("n_layer", "n_embd", "vocab_size", "context", "batch", "supervised", "n_head"):
            v = getattr(self, k)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise UserError(f"StepSpec.{k} must be a positive integer, got {v!r}")
        if self.cnn:  # canonical form (ints, channels a tuple), whether it came from code, a grid or JSON
            try:
                f, ch, r, o = self.cnn
                object.__setattr__(self, "cnn", (int(f), tuple(int(c) for c in ch), int(r), int(o)))
                if min(f, o, *ch) < 1 or r < 0:
                    raise ValueError("sizes must be positive")
            except (TypeError, ValueError) as e:
                raise UserError(f"StepSpec.cnn must be (frame_size, channels, res_blocks, out_dim), got "
                                f"{self.cnn!r}: {e}") from None
        if self.supervised > self.context:
            raise UserError(f"supervised positions ({self.supervised}) exceed the context ({self.context})")
        if self.n_embd % self.n_head:
            raise UserError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}")

    def cnn_config(self):
        from .tasks.bccnn import CNNConfig

        f, ch, r, o = self.cnn
        return CNNConfig(frame_size=f, channels=ch, res_blocks=r, out_dim=o)

    @property
    def cnn_flops(self) -> int:
        """Training FLOPs of the CNN per input frame (6·MACs; 0 without a CNN)."""
        if not self.cnn:
            return 0
        from .tasks.bccnn import cnn_flops_train

        return cnn_flops_train(self.cnn_config())

    @property
    def n_params_total(self) -> int:
        L, d = self.n_layer, self.n_embd
        return L * (12 * d * d + 13 * d) + 2 * d + (self.vocab_size + self.context) * d

    def _common(self, flop_factor: float) -> list[float]:
        L, d, T, B = self.n_layer, self.n_embd, self.context, self.batch
        tokens = B * T
        return [1.0, float(L),
                flop_factor * (12.0 * L * d * d * tokens + self.vocab_size * d * B * self.supervised),
                flop_factor * 2.0 * L * d * T * tokens,
                float(L * B * self.n_head * T * T),
                float(L * d * tokens),
                # softmax/cross-entropy over the logits: memory-bound, independent of d; it dominates the
                # GPT-2 BPE models (vocab 50,257, d = 8-32), whose logits are 100M floats per step
                float(B * self.supervised * self.vocab_size),
                flop_factor / 6.0 * self.cnn_flops * tokens]

    def train_features(self) -> np.ndarray:
        return np.array(self._common(6.0) + [float(self.n_params_total)])

    def eval_features(self) -> np.ndarray:
        return np.array(self._common(2.0))


def supervised_positions(study) -> int:
    """Head positions per sequence: 1 for the last-position losses; for the arena token tasks the positions
    their sequence mask supervises (tokenize.sequences: BC-Token the 16 action tokens of each step, WM the
    image tokens); the whole context otherwise."""
    if study.loss_mask in ("last", "superclass"):
        return 1
    o = study.task_options
    if study.task in ("wm", "bc") and "tokens_per_frame" in o and "context_steps" in o:
        from .tokenize import ActionTokenizer, SequenceBuilder

        sb = SequenceBuilder(int(o["tokens_per_frame"]), ActionTokenizer(1), int(o["context_steps"]), task=study.task,
                             wm_first_frame=bool(o.get("wm_first_frame", True)))
        return max(1, sb.supervised_per_sequence)
    return study.context


def spec_for(study, size, batch: int | None = None) -> StepSpec:
    s = size.shape
    cnn: tuple = ()
    if study.task == "bc-cnn":
        from .tasks.bccnn import cnn_config

        c = cnn_config(study.task_options)
        cnn = (c.frame_size, c.channels, c.res_blocks, c.out_dim)
    return StepSpec(n_layer=s.n_layer, n_embd=s.n_embd, n_head=s.n_head, vocab_size=study.vocab_size,
                    context=study.context, batch=batch or study.batch_size, supervised=supervised_positions(study),
                    cnn=cnn)


# ---------------------------------------------------------------------------------------------- model
@dataclass
class RunEstimate:
    label: str
    N: int
    steps: int
    tokens_per_s: float      # training inputs per second (steps only)
    train_s: float
    val_s: float
    overhead_s: float
    status: str = "new"

    @property
    def total_s(self) -> float:
        return self.train_s + self.val_s + self.overhead_s


@dataclass
class StudyEstimate:
    study: str
    preset: str
    workers: int
    threads: int
    runs: list[RunEstimate]
    wall_s: float            # predicted makespan of the whole sweep (all sizes, as if none were done)
    remaining_wall_s: float  # the same for the sizes not yet done/diverged in the store
    notes: list[str] = field(default_factory=list)

    @property
    def total_run_s(self) -> float:
        return sum(r.total_s for r in self.runs)


@dataclass
class CostModel:
    train_coef: np.ndarray
    eval_coef: np.ndarray
    threads: int
    device: str = "cpu"
    run_overhead_s: float = RUN_OVERHEAD_S
    worker_start_s: float = WORKER_START_S
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.train_coef = np.asarray(self.train_coef, dtype=float)
        self.eval_coef = np.asarray(self.eval_coef, dtype=float)
        if self.train_coef.shape != (len(TRAIN_FEATURES),) or self.eval_coef.shape != (len(EVAL_FEATURES),):
            raise UserError(f"cost model needs {len(TRAIN_FEATURES)} train and {len(EVAL_FEATURES)} eval coefficients")
        if not (np.all(np.isfinite(self.train_coef)) and np.all(np.isfinite(self.eval_coef))):
            raise UserError("cost model coefficients must be finite")
        if np.any(self.train_coef < 0) or np.any(self.eval_coef < 0):
            raise UserError("cost model coefficients must be non-negative")
        if not self.train_coef.any():
            raise UserError("cost model has all-zero training coefficients (empty calibration?)")
        if self.threads < 1:
            raise UserError(f"threads must be >= 1, got {self.threads}")

    # -- per step
    def step_seconds(self, spec: StepSpec) -> float:
        return float(spec.train_features() @ self.train_coef)

    def eval_seconds(self, spec: StepSpec) -> float:
        return float(spec.eval_features() @ self.eval_coef)

    def tokens_per_s(self, spec: StepSpec) -> float:
        return spec.batch * spec.context / self.step_seconds(spec)

    # -- per run
    def validation_seconds(self, study, size, steps: int | None = None) -> float:
        """The task's val_fn at each log point: val_sequences sequences in chunks of the batch size."""
        from .train.trainer import log_steps

        steps = study.steps(size) if steps is None else steps
        n_points = len(log_steps(steps, study.n_log))
        v, B = int(study.val_sequences), int(study.batch_size)
        if v <= 0:
            return 0.0
        per_point = (v // B) * self.eval_seconds(spec_for(study, size, B))
        if v % B:
            per_point += self.eval_seconds(spec_for(study, size, v % B))
        return n_points * per_point

    def predict_run(self, study, size, steps: int | None = None) -> RunEstimate:
        steps = study.steps(size) if steps is None else int(steps)
        if steps < 1:
            raise UserError(f"steps must be >= 1, got {steps}")
        spec = spec_for(study, size)
        t_step = self.step_seconds(spec)
        return RunEstimate(label=size.label, N=int(study.counts(size)["N"]), steps=steps,
                           tokens_per_s=spec.batch * spec.context / t_step, train_s=steps * t_step,
                           val_s=self.validation_seconds(study, size, steps), overhead_s=self.run_overhead_s)

    # -- serialisation
    def to_json(self) -> dict[str, Any]:
        return {"version": CALIBRATION_VERSION, "train_features": list(TRAIN_FEATURES),
                "eval_features": list(EVAL_FEATURES), "train_coef": self.train_coef.tolist(),
                "eval_coef": self.eval_coef.tolist(), "threads": self.threads, "device": self.device,
                "run_overhead_s": self.run_overhead_s, "worker_start_s": self.worker_start_s, "meta": self.meta}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "CostModel":
        if d.get("version") != CALIBRATION_VERSION:
            raise UserError(f"cost-model calibration version {d.get('version')!r} != {CALIBRATION_VERSION}; recalibrate")
        return cls(train_coef=np.array(d["train_coef"]), eval_coef=np.array(d["eval_coef"]),
                   threads=int(d["threads"]), device=d.get("device", "cpu"),
                   run_overhead_s=float(d.get("run_overhead_s", RUN_OVERHEAD_S)),
                   worker_start_s=float(d.get("worker_start_s", WORKER_START_S)), meta=d.get("meta", {}))


def makespan(durations: Sequence[float], workers: int, start_s: float = 0.0) -> float:
    """Wall time of jobs handed out in order to the first free of `workers` (each paying `start_s` once)."""
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    if not durations:
        return 0.0
    free = [start_s] * min(workers, len(durations))
    for d in durations:
        i = int(np.argmin(free))
        free[i] += d
    return float(max(free))


def _pool_factors(model: CostModel, workers: int) -> tuple[float, float]:
    """(slow-down of each run from time sharing when workers exceed the CPUs, start-up per worker)."""
    cpus = os.cpu_count() or 1
    slow = workers / cpus if (workers > 1 and model.device == "cpu" and workers > cpus) else 1.0
    return slow, (model.worker_start_s if workers > 1 else 0.0)


def lpt_order(durations: Sequence[float], workers: int) -> list[float]:
    """The order a pool receives jobs in (sweep.sweep_studies submits the longest first when workers > 1)."""
    return sorted(durations, reverse=True) if workers > 1 else list(durations)


def predict_studies(studies: Sequence[Any], model: CostModel, workers: int = 1,
                    store: str | os.PathLike | None = None) -> tuple[list[StudyEstimate], float, float]:
    """Per-study estimates and the (whole, remaining) wall time of all their runs swept in one pool, as
    experiments.run_studies does: every run of every study submitted at once, longest first."""
    ests = [predict_study(st, model, workers=workers, store=store) for st in studies]
    slow, start = _pool_factors(model, workers)
    dur = [r.total_s * slow for e in ests for r in e.runs]
    left = [r.total_s * slow for e in ests for r in e.runs if r.status not in ("done", "diverged")]
    return ests, makespan(lpt_order(dur, workers), workers, start), makespan(lpt_order(left, workers), workers, start)


def _run_status(study, size, store: str | os.PathLike) -> dict[str, Any]:
    """status.json of a size's run in `store` without creating anything (RunStore.open_run's path rule)."""
    from .io import config_hash, read_json

    p = Path(store) / study.name / f"{size.label}-{config_hash(study.run_config(size))}" / "status.json"
    try:
        return read_json(p) if p.exists() else {"status": "new"}
    except (OSError, ValueError):
        return {"status": "unknown"}


def _calibration_age(model: CostModel, now: float | None = None) -> str:
    """', <age> ago (<timestamp>)' from the calibration's timestamp, with a hint to re-measure once it is a
    few hours old: a shared machine's speed drifts (on our 2-core development host the per-step costs of the same code rose
    by up to 1.5x within three hours), and the model only knows the speed it measured."""
    import datetime as dt

    created = model.meta.get("created")
    try:
        t = dt.datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return ""
    hours = ((time.time() if now is None else now) - t) / 3600.0
    age = f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days"
    text = f", {age} ago ({created})"
    if hours >= STALE_CALIBRATION_H:
        text += ("; the machine's speed may have drifted since: re-measure with "
                 "python -m agentscaling.costmodel calibrate --force")
    return text


def predict_study(study, model: CostModel, workers: int = 1, store: str | os.PathLike | None = None) -> StudyEstimate:
    """Per-size and whole-sweep wall times of `study` (sizes in the study's order, as `sweep` submits them)."""
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    if not study.sizes:
        raise UserError(f"study {study.name} has no sizes")
    runs = [model.predict_run(study, z) for z in study.sizes]
    notes = [f"assumes an otherwise idle machine; calibrated at {model.threads} torch thread(s) on {model.device}"
             + _calibration_age(model)]
    cpus = os.cpu_count() or 1
    load = model.meta.get("loadavg_before")
    if model.threads > 1 and isinstance(load, (int, float)) and load > 0.5 * cpus:
        notes.append(f"the calibration was measured at load average {load:.1f} on {cpus} CPUs: predictions are "
                     f"pessimistic; re-measure on an idle machine (python -m agentscaling.costmodel calibrate --force)")
    slow, start = _pool_factors(model, workers)
    if slow > 1.0:
        notes.append(f"{workers} workers on {cpus} CPUs: each run slowed by {slow:.1f}x (time sharing)")
    if study.task not in ("lm", "wm", "bc", "bc-cnn"):
        notes.append(f"task {study.task!r}: only the GPT's cost is modelled")
    if store is not None:
        for r, z in zip(runs, study.sizes):
            r.status = _run_status(study, z, store)["status"]
    dur = [r.total_s * slow for r in runs]
    wall = makespan(lpt_order(dur, workers), workers, start)
    remaining = makespan(lpt_order([d for d, r in zip(dur, runs) if r.status not in ("done", "diverged")], workers),
                         workers, start)
    return StudyEstimate(study=study.name, preset=study.preset, workers=workers, threads=model.threads, runs=runs,
                         wall_s=wall, remaining_wall_s=remaining, notes=notes)


def _fmt_s(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def format_estimate(est: StudyEstimate) -> str:
    lines = [f"{est.study} [{est.preset}]: predicted wall time per size "
             f"({est.workers} worker(s), {est.threads} thread(s) each)",
             f"{'size':>9s} {'N':>11s} {'steps':>7s} {'tok/s':>9s} {'train s':>9s} {'val s':>8s} {'other s':>7s} "
             f"{'total s':>9s}  status"]
    for r in est.runs:
        lines.append(f"{r.label:>9s} {r.N:>11,d} {r.steps:>7d} {r.tokens_per_s:>9,.0f} {r.train_s:>9.1f} "
                     f"{r.val_s:>8.1f} {r.overhead_s:>7.1f} {r.total_s:>9.1f}  {r.status}")
    lines.append(f"{'total':>9s} {'':>11s} {'':>7s} {'':>9s} {sum(r.train_s for r in est.runs):>9.1f} "
                 f"{sum(r.val_s for r in est.runs):>8.1f} {sum(r.overhead_s for r in est.runs):>7.1f} "
                 f"{est.total_run_s:>9.1f}")
    lines.append(f"predicted sweep wall time: {est.wall_s:.0f} s ({_fmt_s(est.wall_s)})"
                 + (f"; remaining (sizes not finished): {est.remaining_wall_s:.0f} s ({_fmt_s(est.remaining_wall_s)})"
                    if est.remaining_wall_s != est.wall_s else ""))
    lines += [f"note: {n}" for n in est.notes]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- fitting
def fit_coefficients(X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Non-negative least squares of t ≈ X·c in relative error (rows weighted by 1/t)."""
    from scipy.optimize import nnls

    X, t = np.asarray(X, dtype=float), np.asarray(t, dtype=float)
    if X.ndim != 2 or len(X) != len(t) or len(t) == 0:
        raise UserError("calibration needs at least one measured point with matching features")
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise UserError("measured times must be positive and finite")
    scale = X.max(axis=0)
    scale[scale == 0] = 1.0
    A = X / scale / t[:, None]
    c, _ = nnls(A, np.ones(len(t)), maxiter=50 * X.shape[1])
    return c / scale


def loo_relative_errors(X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Leave-one-out relative errors of the fit (a calibration's own accuracy check)."""
    out = []
    for i in range(len(t)):
        keep = np.arange(len(t)) != i
        c = fit_coefficients(X[keep], t[keep])
        out.append(float(X[i] @ c / t[i] - 1.0))
    return np.array(out)


# ---------------------------------------------------------------------------------------------- calibration
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
    (1, 2, 8, 580, 64, 32, 31),       # the 16-tokens-per-frame ladder
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
            raise UserError(f"calibration point {g!r}: expected (n_layer, n_head, n_embd, vocab, context, batch, "
                            "supervised[, (frame_size, channels, res_blocks, out_dim)])")
        L, H, d, V, T, B, S = (int(v) for v in g[:7])
        specs.append(StepSpec(n_layer=L, n_head=H, n_embd=d, vocab_size=V, context=T, batch=B, supervised=S,
                              cnn=g[7] if len(g) == 8 else ()))
    if not specs:
        raise UserError("empty calibration grid")
    return specs


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_point(spec: StepSpec, device: str = "cpu", target_s: float = 0.4, repeats: int = 3
                  ) -> tuple[float, float]:
    """(seconds per training step through `train()`, seconds per held-out forward chunk), best of
    `repeats` timings of about `target_s` each, with batches drawn per step as the LM task does.

    With one CPU thread the clock is this process's CPU time (user + system), which equals the wall
    time on an idle core and is not inflated by other busy processes; otherwise wall time."""
    import torch

    clock = time.process_time if (device == "cpu" and torch.get_num_threads() == 1) else time.perf_counter

    from .train import TrainConfig, train

    dev = torch.device(device)
    torch.manual_seed(0)
    model, batch_fn, loss_fn = (_cnn_point if spec.cnn else _gpt_point)(spec, dev)
    n = spec.n_params_total

    def run(steps: int) -> float:
        cfg = TrainConfig(lr=1e-4, steps=steps, n_log=2, device=device)
        _sync(dev)
        t0 = clock()
        train(model, loss_fn, batch_fn, cfg, inputs_per_batch=spec.batch * spec.context, n_params=n)
        _sync(dev)
        return (clock() - t0) / steps

    run(2)  # warm-up: allocator, kernels, optimizer state
    k = max(2, min(200, math.ceil(target_s / max(run(2), 1e-6))))
    t_train = min(run(k) for _ in range(repeats))

    batch = batch_fn(10**6)

    @torch.no_grad()
    def fwd(reps: int) -> float:
        model.eval()
        _sync(dev)
        t0 = clock()
        for _ in range(reps):
            float(loss_fn(model, batch))
        _sync(dev)
        model.train()
        return (clock() - t0) / reps

    fwd(2)
    k = max(2, min(500, math.ceil(target_s / 2 / max(fwd(2), 1e-6))))
    t_eval = min(fwd(k) for _ in range(repeats))
    return t_train, t_eval


def _gpt_point(spec: StepSpec, dev):
    """A GPT, its batches (windows of random tokens, as the LM task draws them) and its loss."""
    import torch

    from .model.gpt import GPT, GPTConfig, masked_next_token_loss
    from .tasks.lm import sample_windows

    tokens = np.random.default_rng(0).integers(0, spec.vocab_size, size=200_000).astype(np.uint16)
    mask = None
    if spec.supervised < spec.context:
        mask = torch.zeros(spec.batch, spec.context, dtype=torch.bool, device=dev)
        mask[:, -spec.supervised:] = True

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        x, y = sample_windows(tokens, spec.context, spec.batch, np.random.default_rng([0, step]))
        b = {"x": torch.from_numpy(x).to(dev), "y": torch.from_numpy(y).to(dev)}
        if mask is not None:
            b["mask"] = mask
        return b

    model = GPT(GPTConfig(vocab_size=spec.vocab_size, context=spec.context, n_layer=spec.n_layer,
                          n_head=spec.n_head, n_embd=spec.n_embd)).to(dev)
    return model, batch_fn, masked_next_token_loss


def _cnn_point(spec: StepSpec, dev):
    """A BC-CNN model (tasks.bccnn), batches of random uint8 frames and actions, and its loss."""
    import torch

    from .tasks.bccnn import ACTION_NVEC, BCCNN, action_loss

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


def _spec_from_point(p: dict[str, Any]) -> StepSpec:
    """A StepSpec from a calibration point as stored in JSON (StepSpec restores the CNN's tuples)."""
    return StepSpec(**{k: int(p[k]) for k in ("n_layer", "n_embd", "vocab_size", "context", "batch", "supervised",
                                                "n_head")}, cnn=p.get("cnn") or ())


def calibrate(threads: int | None = None, device: str = "cpu", grid: Iterable[Sequence[int]] = DEFAULT_GRID,
              target_s: float = 0.4, repeats: int = 3, log: Callable[[str], None] | None = None,
              measure: Callable[..., tuple[float, float]] = measure_point) -> CostModel:
    """Measure the grid at `threads` torch threads and fit the cost model (threads restored afterwards)."""
    import torch

    specs = _grid_specs(grid)
    _check_device(device)
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
                log(f"  [{i + 1}/{len(specs)}] L{s.n_layer} d{s.n_embd} V{s.vocab_size} {s.batch}x{s.context} "
                    f"S{s.supervised}{' CNN' + str(list(s.cnn[1])) if s.cnn else ''}: {1e3 * tt:.1f} ms/step ({s.batch * s.context / tt:,.0f} tok/s), "
                    f"eval {1e3 * te:.1f} ms")
    finally:
        torch.set_num_threads(old)
    return model_from_points(points, threads=threads, device=device, meta={
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "calibration_s": time.perf_counter() - t0,
        "loadavg_before": load0, "loadavg_after": loadavg(), "clock": meta_clock, **machine_key(threads, device)})


def model_from_points(points: list[dict[str, Any]], threads: int, device: str = "cpu",
                      meta: dict[str, Any] | None = None) -> CostModel:
    """Fit a CostModel to measured points (dicts of StepSpec fields + train_s + eval_s)."""
    if not points:
        raise UserError("no calibration points")
    specs = [_spec_from_point(p) for p in points]
    Xt = np.stack([s.train_features() for s in specs])
    Xe = np.stack([s.eval_features() for s in specs])
    tt = np.array([p["train_s"] for p in points], dtype=float)
    te = np.array([p["eval_s"] for p in points], dtype=float)
    meta = dict(meta or {})
    meta["points"] = points
    if len(points) >= len(TRAIN_FEATURES) + 2:
        meta["loo_rel_err_train"] = loo_relative_errors(Xt, tt).tolist()
        meta["loo_rel_err_eval"] = loo_relative_errors(Xe, te).tolist()
    return CostModel(train_coef=fit_coefficients(Xt, tt), eval_coef=fit_coefficients(Xe, te), threads=threads,
                     device=device, meta=meta)


def _check_device(device: str) -> None:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise UserError(f"unknown device {device!r}: {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} is not available here: calibrate on the machine that will train")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"unsupported device {device!r}")


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
    import torch

    key = {"cpu": cpu_name(), "cpus": os.cpu_count(), "torch": torch.__version__, "threads": threads,
           "device": device, "version": CALIBRATION_VERSION}
    if device.startswith("cuda") and torch.cuda.is_available():
        key["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return key


def cache_path(threads: int, device: str = "cpu", grid: Iterable[Sequence[int]] = DEFAULT_GRID,
               cache_dir: str | os.PathLike | None = None) -> Path:
    from .io import config_hash
    from .paths import CACHE_DIR

    root = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    key = config_hash({**machine_key(threads, device), "grid": [list(g) for g in grid]})
    return root / "costmodel" / f"calibration-{device.replace(':', '')}-t{threads}-{key}.json"


def load_or_calibrate(threads: int | None = None, device: str = "cpu", cache_dir: str | os.PathLike | None = None,
                      recalibrate: bool = False, grid: Iterable[Sequence[int]] = DEFAULT_GRID,
                      log: Callable[[str], None] | None = None, **kw: Any) -> CostModel:
    """The cached calibration for this machine/threads/device, measuring it first if there is none."""
    import torch

    from .io import atomic_write_json, read_json

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
            log(f"warning: load average {loadavg():.1f}: other processes are busy, the calibration will be slow "
                f"and the predictions pessimistic; recalibrate on an idle machine (--force)")
    model = calibrate(threads=threads, device=device, grid=grid, log=log, **kw)
    atomic_write_json(path, model.to_json())
    return model


def cached_model(threads: int, device: str = "cpu", cache_dir: str | os.PathLike | None = None) -> CostModel | None:
    """The cached calibration for this machine, or None (never measures anything)."""
    from .io import read_json

    path = cache_path(threads, device, DEFAULT_GRID, cache_dir)
    try:
        return CostModel.from_json(read_json(path)) if path.exists() else None
    except (UserError, KeyError, ValueError, OSError):
        return None


def run_cost(threads: int = 1, device: str = "cpu") -> Callable[[Any, Any], float]:
    """A (study, size) -> estimated seconds function for ordering jobs (sweep.sweep_studies): the cached
    calibration when there is one, else the run's 6·N·D budget (the right order within a study)."""
    model = cached_model(threads, device)
    if model is None:
        return lambda study, size: float(size.flops)
    return lambda study, size: model.predict_run(study, size).total_s


# ---------------------------------------------------------------------------------------------- entry points
def estimate_studies(studies: Sequence[Any], workers: int = 1, device: str = "cpu",
                     store: str | os.PathLike | None = None, threads: int | None = None,
                     log: Callable[[str], None] | None = None, **kw: Any) -> tuple[list[StudyEstimate], float, float]:
    """What `agentscaling sweep A[,B...] --dry-run` prints (predict_studies with this machine's calibration):
    one worker uses this process's torch threads; several workers use 1 thread each (sweep.process_executor)."""
    import torch

    if workers < 1:
        raise UserError("--workers must be >= 1")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = threads or (1 if workers > 1 else torch.get_num_threads())
    model = load_or_calibrate(threads=threads, device=device, log=log, **kw)
    return predict_studies(studies, model, workers=workers, store=store)


def estimate_sweep(study, workers: int = 1, device: str = "cpu", store: str | os.PathLike | None = None,
                   threads: int | None = None, log: Callable[[str], None] | None = None, **kw: Any) -> StudyEstimate:
    """estimate_studies for one study."""
    return estimate_studies([study], workers, device, store, threads, log, **kw)[0][0]


def compare_with_store(study, store: str | os.PathLike, model: CostModel) -> list[dict[str, Any]]:
    """Predicted vs measured wall time of the study's finished runs in `store` (the status file's wall_s)."""
    rows = []
    for z in study.sizes:
        info = _run_status(study, z, store)
        pred = model.predict_run(study, z)
        measured = info.get("wall_s") if info.get("status") == "done" else None
        rows.append({"size": z.label, "status": info.get("status"), "predicted_s": pred.total_s,
                     "measured_s": measured,
                     "ratio": (pred.total_s / measured) if measured else None})
    return rows


def validate(study, model: CostModel, store: str | os.PathLike, log: Callable[[str], None] | None = None
             ) -> list[dict[str, Any]]:
    """Train every size of `study` in this process (at torch's current threads) and compare each run's
    measured wall and CPU seconds with the prediction. Finished runs in `store` are skipped (use an
    empty store). With one thread the CPU seconds are what an idle core would take, whatever the load."""
    from .sweep import train_size

    rows = []
    for z in study.sizes:
        pred = model.predict_run(study, z)
        t0, c0 = time.perf_counter(), time.process_time()
        res = train_size(study, z, str(store), progress=False, device=model.device)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        row = {"size": z.label, "status": res["status"], "skipped": bool(res.get("skipped")),
               "predicted_s": pred.total_s, "wall_s": wall, "cpu_s": cpu, "loadavg": loadavg()}
        rows.append(row)
        if log:
            log(f"  {z.label}: predicted {pred.total_s:.1f} s, measured wall {wall:.1f} s, CPU {cpu:.1f} s "
                f"({res['status']}{', skipped' if row['skipped'] else ''}; load {row['loadavg']:.1f})")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agentscaling.costmodel", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("calibrate", help="measure (or show the cached) calibration")
    c.add_argument("--threads", type=int, default=None, help="torch threads (default torch's current)")
    c.add_argument("--device", default="cpu")
    c.add_argument("--force", action="store_true", help="re-measure even if cached")
    c.add_argument("--quick", action="store_true", help="a 6-point grid (seconds; less accurate)")
    p = sub.add_parser("predict", help="predicted wall time of a study's sweep")
    p.add_argument("study")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda")
    p.add_argument("--json", action="store_true")
    m = sub.add_parser("compare", help="predicted vs measured wall time of a study's finished runs")
    m.add_argument("study")
    m.add_argument("--preset", default="cpu")
    m.add_argument("--store", default=None, help="run store (default runs/<preset>)")
    m.add_argument("--threads", type=int, default=None, help="threads the runs used (default torch's current)")
    v = sub.add_parser("validate", help="train a study's sizes here and compare measured with predicted time")
    v.add_argument("study")
    v.add_argument("--preset", default="cpu")
    v.add_argument("--sizes", default=None, help="comma-separated size labels (default all)")
    v.add_argument("--threads", type=int, default=1, help="torch threads for the runs and the calibration (default 1)")
    v.add_argument("--store", default=None, help="run store (default: a fresh temporary directory)")
    args = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.cmd == "calibrate":
            grid = QUICK_GRID if args.quick else DEFAULT_GRID
            model = load_or_calibrate(threads=args.threads, device=args.device, recalibrate=args.force, grid=grid, log=log)
            print(json.dumps({k: v for k, v in model.to_json().items() if k != "meta"}, indent=2))
            for k in ("loo_rel_err_train", "loo_rel_err_eval"):
                if k in model.meta:
                    e = np.abs(model.meta[k])
                    print(f"{k}: median {np.median(e):.1%}, max {e.max():.1%}")
            return 0
        from .paths import default_store
        from .studies import get_study

        study = get_study(args.study, args.preset)
        if args.cmd == "predict":
            est = estimate_sweep(study, workers=args.workers, device=args.device, log=log)
            if args.json:
                print(json.dumps({**asdict(est), "runs": [{**asdict(r), "total_s": r.total_s} for r in est.runs]}))
            else:
                print(format_estimate(est))
            return 0
        if args.cmd == "validate":
            import tempfile

            import torch

            if args.sizes:
                study = study.with_sizes([x.strip() for x in args.sizes.split(",") if x.strip()])
            torch.set_num_threads(args.threads)
            model = load_or_calibrate(threads=args.threads, log=log)
            with tempfile.TemporaryDirectory(prefix="costmodel-validate-") as tmp:
                rows = validate(study, model, args.store or tmp, log=log)
            clock = "cpu_s" if args.threads == 1 else "wall_s"
            print(f"{'size':>9s} {'predicted s':>12s} {'wall s':>9s} {'CPU s':>9s} {'pred/' + clock[:-2]:>10s}")
            for r in rows:
                print(f"{r['size']:>9s} {r['predicted_s']:>12.1f} {r['wall_s']:>9.1f} {r['cpu_s']:>9.1f} "
                      f"{r['predicted_s'] / r[clock]:>10.2f}")
            p, m = sum(r["predicted_s"] for r in rows), sum(r[clock] for r in rows)
            print(f"{'total':>9s} {p:>12.1f} {sum(r['wall_s'] for r in rows):>9.1f} "
                  f"{sum(r['cpu_s'] for r in rows):>9.1f} {p / m:>10.2f}")
            return 0
        store = args.store or str(default_store(args.preset))
        model = load_or_calibrate(threads=args.threads, log=log)
        rows = compare_with_store(study, store, model)
        print(f"{'size':>9s} {'status':>9s} {'predicted s':>12s} {'measured s':>11s} {'pred/meas':>9s}")
        for r in rows:
            meas = f"{r['measured_s']:.1f}" if r["measured_s"] else "-"
            ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
            print(f"{r['size']:>9s} {r['status']:>9s} {r['predicted_s']:>12.1f} {meas:>11s} {ratio:>9s}")
        done = [r for r in rows if r["measured_s"]]
        if done:
            p, mm = sum(r["predicted_s"] for r in done), sum(r["measured_s"] for r in done)
            print(f"{'total':>9s} {'':>9s} {p:>12.1f} {mm:>11.1f} {p / mm:>9.2f}")
        return 0
    except UserError as e:
        print(f"costmodel: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
