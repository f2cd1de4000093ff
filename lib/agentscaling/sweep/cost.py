"""Predict the wall time of a study's runs before they run, and the order a pool should run them in.

    from agentscaling.sweep.calibrate import load_or_calibrate
    from agentscaling.sweep.cost import predict_study, format_estimate
    model = load_or_calibrate(threads=1)                 # measures ~30 small configs once, then cached
    print(format_estimate(predict_study(get_study("lm-shakespeare-dense", "cpu"), model)))

    agentscaling sweep lm-shakespeare-dense --preset cpu --dry-run     # the same, from the CLI
    agentscaling cost calibrate [--threads 1] [--force]                # (re-)measure the calibration
    agentscaling cost compare lm-shakespeare-dense --preset cpu        # predicted vs measured runs

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
calibration (agentscaling.sweep.calibrate) is cached as JSON under data/cache/costmodel/, keyed by CPU,
core count, torch version, threads, device and grid.

A run costs steps × step time + (validation: at each of the len(log_steps(steps, n_log)) log points,
val_sequences sequences in chunks of the batch size) + a fixed per-run cost (task and model set-up,
writes). A study run with `--workers W > 1` uses W processes of 1 thread each (executors.worker_pool),
scheduled in submission order (ProcessPoolExecutor: the next size goes to the first free worker), each
paying a process start; with one worker it runs in this process at torch's thread count.

Assumptions, stated in every estimate: an otherwise idle machine (the prediction is the best case;
other busy processes slow 2-thread torch several-fold), the calibration's thread count, and GPT-shaped
models, or BC-CNN's Impala CNN feeding a GPT (its convolutions are one more term, calibrated on BC-CNN
points of the grid); other encoders are predicted without their cost."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy.optimize import nnls

from ..errors import UserError
from ..model.bccnn import CNNConfig, cnn_flops_train
from ..prepare import locate
from ..store import RunStore
from ..studies import PreparedData, SizeSpec, Study
from ..tokenize import ActionTokenizer, SequenceBuilder
from ..train import log_steps
from .core import open_size_run

# a calibration of another version is measured again (docs/performance.md lists what each version changed)
CALIBRATION_VERSION = 5
TRAIN_FEATURES = (
    "step",
    "layers",
    "matmul_flops",
    "attn_flops",
    "attn_scores",
    "elementwise",
    "logits",
    "cnn_flops",
    "params",
)
EVAL_FEATURES = ("step", "layers", "matmul_flops", "attn_flops", "attn_scores", "elementwise", "logits", "cnn_flops")
RUN_OVERHEAD_S = 1.0  # per run: build the task (memory-mapped corpus), init the model, write config/curve/model
STALE_CALIBRATION_H = 3.0  # hours after which a dry run suggests re-measuring
WORKER_START_S = 4.0  # per worker process: spawn, import torch and the library


@dataclass(frozen=True)
class StepSpec:
    """What one training step (or one held-out forward chunk) computes."""

    n_layer: int
    n_embd: int
    vocab_size: int
    context: int
    batch: int
    supervised: int  # positions per sequence that go through the output head
    n_head: int = 1
    # BC-CNN: (frame_size, channels, res_blocks, out_dim) of the Impala CNN that encodes each input frame
    # (model.bccnn.CNNConfig); the inputs are then frames, the "vocabulary" the 68 action logits
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
                raise UserError(
                    f"StepSpec.cnn must be (frame_size, channels, res_blocks, out_dim), got {self.cnn!r}: {e}"
                ) from None
        if self.supervised > self.context:
            raise UserError(f"supervised positions ({self.supervised}) exceed the context ({self.context})")
        if self.n_embd % self.n_head:
            raise UserError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}")

    def cnn_config(self) -> CNNConfig:
        f, ch, r, o = self.cnn
        return CNNConfig(frame_size=f, channels=ch, res_blocks=r, out_dim=o)

    @property
    def cnn_flops(self) -> int:
        """Training FLOPs of the CNN per input frame (6·MACs; 0 without a CNN)."""
        if not self.cnn:
            return 0
        return cnn_flops_train(self.cnn_config())

    @property
    def n_params_total(self) -> int:
        L, d = self.n_layer, self.n_embd
        return L * (12 * d * d + 13 * d) + 2 * d + (self.vocab_size + self.context) * d

    def _common(self, flop_factor: float) -> list[float]:
        L, d, T, B = self.n_layer, self.n_embd, self.context, self.batch
        tokens = B * T
        return [
            1.0,
            float(L),
            flop_factor * (12.0 * L * d * d * tokens + self.vocab_size * d * B * self.supervised),
            flop_factor * 2.0 * L * d * T * tokens,
            float(L * B * self.n_head * T * T),
            float(L * d * tokens),
            # softmax/cross-entropy over the logits: memory-bound, independent of d; it dominates the
            # GPT-2 BPE models (vocab 50,257, d = 8-32), whose logits are 100M floats per step
            float(B * self.supervised * self.vocab_size),
            flop_factor / 6.0 * self.cnn_flops * tokens,
        ]

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
    if study.task in ("wm", "bc") and "context_steps" in o:
        sb = SequenceBuilder(
            int(study.data.tokens_per_frame),
            ActionTokenizer(1),
            int(o["context_steps"]),
            task=study.task,
            wm_first_frame=bool(o.get("wm_first_frame", True)),
        )
        return max(1, sb.supervised_per_sequence)
    return study.context


def spec_for(study, size, batch: int | None = None) -> StepSpec:
    s = size.shape
    cnn: tuple = ()
    if study.cnn is not None:
        c = study.cnn
        cnn = (c.frame_size, c.channels, c.res_blocks, c.out_dim)
    return StepSpec(
        n_layer=s.n_layer,
        n_embd=s.n_embd,
        n_head=s.n_head,
        vocab_size=study.vocab_size,
        context=study.context,
        batch=batch or study.batch_size,
        supervised=supervised_positions(study),
        cnn=cnn,
    )


# ---------------------------------------------------------------------------------------------- model
@dataclass
class RunEstimate:
    label: str
    N: int
    steps: int
    tokens_per_s: float  # training inputs per second (steps only)
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
    wall_s: float  # predicted makespan of the whole sweep (all sizes, as if none were done)
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
        return RunEstimate(
            label=size.label,
            N=int(study.counts(size)["N"]),
            steps=steps,
            tokens_per_s=spec.batch * spec.context / t_step,
            train_s=steps * t_step,
            val_s=self.validation_seconds(study, size, steps),
            overhead_s=self.run_overhead_s,
        )

    # -- serialisation
    def to_json(self) -> dict[str, Any]:
        return {
            "version": CALIBRATION_VERSION,
            "train_features": list(TRAIN_FEATURES),
            "eval_features": list(EVAL_FEATURES),
            "train_coef": self.train_coef.tolist(),
            "eval_coef": self.eval_coef.tolist(),
            "threads": self.threads,
            "device": self.device,
            "run_overhead_s": self.run_overhead_s,
            "worker_start_s": self.worker_start_s,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "CostModel":
        if d.get("version") != CALIBRATION_VERSION:
            raise UserError(
                f"cost-model calibration version {d.get('version')!r} != {CALIBRATION_VERSION}; recalibrate"
            )
        return cls(
            train_coef=np.array(d["train_coef"]),
            eval_coef=np.array(d["eval_coef"]),
            threads=int(d["threads"]),
            device=d.get("device", "cpu"),
            run_overhead_s=float(d.get("run_overhead_s", RUN_OVERHEAD_S)),
            worker_start_s=float(d.get("worker_start_s", WORKER_START_S)),
            meta=d.get("meta", {}),
        )


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
    """The order a pool receives jobs in (sweep_studies submits the longest first when workers > 1)."""
    return sorted(durations, reverse=True) if workers > 1 else list(durations)


def predict_studies(
    studies: Sequence[Any], model: CostModel, workers: int = 1, store: str | os.PathLike | None = None
) -> tuple[list[StudyEstimate], float, float]:
    """Per-study estimates and the (whole, remaining) wall time of all their runs swept in one pool, as
    sweep_studies runs them: every run of every study submitted at once, longest first."""
    ests = [predict_study(st, model, workers=workers, store=store) for st in studies]
    slow, start = _pool_factors(model, workers)
    dur = [r.total_s * slow for e in ests for r in e.runs]
    left = [r.total_s * slow for e in ests for r in e.runs if r.status not in ("done", "diverged")]
    return ests, makespan(lpt_order(dur, workers), workers, start), makespan(lpt_order(left, workers), workers, start)


def run_status(study: Study, size: SizeSpec, store: str | os.PathLike, prepared: PreparedData | None) -> str:
    """The status of a size's run in `store`, creating nothing: "new" while its data is not prepared."""
    if prepared is None:
        return "new"
    try:
        return open_size_run(study, size, RunStore(store), prepared, create=False).status
    except (OSError, ValueError):
        return "unknown"


def _calibration_age(model: CostModel, now: float | None = None) -> str:
    """', <age> ago (<timestamp>)' from the calibration's timestamp, with a hint to re-measure once it is a
    few hours old: a shared machine's speed drifts (the per-step costs of the same code rose by up to 1.5x
    within three hours on a shared 2-core host), and the model only knows the speed it measured."""
    created = model.meta.get("created")
    try:
        t = dt.datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return ""
    hours = ((time.time() if now is None else now) - t) / 3600.0
    age = f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days"
    text = f", {age} ago ({created})"
    if hours >= STALE_CALIBRATION_H:
        text += "; the machine's speed may have drifted since: re-measure with agentscaling cost calibrate --force"
    return text


def predict_study(study, model: CostModel, workers: int = 1, store: str | os.PathLike | None = None) -> StudyEstimate:
    """Per-size and whole-sweep wall times of `study` (sizes in the study's order, as `sweep` submits them)."""
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    if not study.sizes:
        raise UserError(f"study {study.name} has no sizes")
    jobs = [(rep, z) for rep in study.replicas() for z in study.sizes]
    runs = [model.predict_run(rep, z) for rep, z in jobs]
    if len(jobs) > len(study.sizes):
        for r, (rep, _) in zip(runs, jobs):
            r.label = f"{r.label}/s{rep.seed}"
    notes = [
        f"assumes an otherwise idle machine; calibrated at {model.threads} torch thread(s) on {model.device}"
        + _calibration_age(model)
    ]
    cpus = os.cpu_count() or 1
    load = model.meta.get("loadavg_before")
    if model.threads > 1 and isinstance(load, (int, float)) and load > 0.5 * cpus:
        notes.append(
            f"the calibration was measured at load average {load:.1f} on {cpus} CPUs: predictions are "
            f"pessimistic; re-measure on an idle machine (agentscaling cost calibrate --force)"
        )
    slow, start = _pool_factors(model, workers)
    if slow > 1.0:
        notes.append(f"{workers} workers on {cpus} CPUs: each run slowed by {slow:.1f}x (time sharing)")
    if study.task not in ("lm", "wm", "bc", "bc-cnn"):
        notes.append(f"task {study.task!r}: only the GPT's cost is modelled")
    if store is not None:
        prepared = locate(study)
        for r, (rep, z) in zip(runs, jobs):
            r.status = run_status(rep, z, store, prepared)
    dur = [r.total_s * slow for r in runs]
    wall = makespan(lpt_order(dur, workers), workers, start)
    remaining = makespan(
        lpt_order([d for d, r in zip(dur, runs) if r.status not in ("done", "diverged")], workers), workers, start
    )
    return StudyEstimate(
        study=study.name,
        preset=study.preset,
        workers=workers,
        threads=model.threads,
        runs=runs,
        wall_s=wall,
        remaining_wall_s=remaining,
        notes=notes,
    )


def _fmt_s(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def format_estimate(est: StudyEstimate) -> str:
    lines = [
        f"{est.study} [{est.preset}]: predicted wall time per size "
        f"({est.workers} worker(s), {est.threads} thread(s) each)",
        f"{'size':>9s} {'N':>11s} {'steps':>7s} {'tok/s':>9s} {'train s':>9s} {'val s':>8s} {'other s':>7s} "
        f"{'total s':>9s}  status",
    ]
    for r in est.runs:
        lines.append(
            f"{r.label:>9s} {r.N:>11,d} {r.steps:>7d} {r.tokens_per_s:>9,.0f} {r.train_s:>9.1f} "
            f"{r.val_s:>8.1f} {r.overhead_s:>7.1f} {r.total_s:>9.1f}  {r.status}"
        )
    lines.append(
        f"{'total':>9s} {'':>11s} {'':>7s} {'':>9s} {sum(r.train_s for r in est.runs):>9.1f} "
        f"{sum(r.val_s for r in est.runs):>8.1f} {sum(r.overhead_s for r in est.runs):>7.1f} "
        f"{est.total_run_s:>9.1f}"
    )
    lines.append(
        f"predicted sweep wall time: {est.wall_s:.0f} s ({_fmt_s(est.wall_s)})"
        + (
            f"; remaining (sizes not finished): {est.remaining_wall_s:.0f} s ({_fmt_s(est.remaining_wall_s)})"
            if est.remaining_wall_s != est.wall_s
            else ""
        )
    )
    lines += [f"note: {n}" for n in est.notes]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- fitting
def fit_coefficients(X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Non-negative least squares of t ≈ X·c in relative error (rows weighted by 1/t)."""
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


# An assumed sustained throughput of one H100/H200 in bf16 until one is measured (benchmarks/): 40 % MFU of the
# 989 TFLOP/s dense peak on the PaLM count (6N + attention); convolutions at 10 % (tiny channel counts); tiny
# models are launch-bound, at least 10 ms per optimiser step.
GPU_FLOPS = 0.40 * 989e12
GPU_CONV_FLOPS = 0.10 * 989e12
GPU_MIN_STEP_S = 0.01


def gpu_hours(
    study: Study,
    flops_per_s: float | Callable[[float], float] = GPU_FLOPS,
    conv_flops_per_s: float = GPU_CONV_FLOPS,
    min_step_s: float = GPU_MIN_STEP_S,
) -> float:
    """Hours one GPU takes for the whole study (every size and seed) at a sustained throughput: the
    transformer's PaLM FLOPs at `flops_per_s` (a number, or a function of the model's N), convolutions
    at `conv_flops_per_s`, and never under `min_step_s` per optimiser step. benchmarks/gpu_check.py
    passes the throughput it measured."""
    total = 0.0
    for r in study.plan():
        rate = flops_per_s(float(r["N"])) if callable(flops_per_s) else flops_per_s
        flops_s = (r["C_true"] - r["conv_flops"]) / rate + r["conv_flops"] / conv_flops_per_s
        total += max(flops_s, r["steps"] * min_step_s)
    return total * len(study.replicas()) / 3600.0


def assumed_gpu_hours(study: Study) -> float:
    """gpu_hours at the assumed throughput above (until a GPU has measured one)."""
    return gpu_hours(study)


def _spec_from_point(p: dict[str, Any]) -> StepSpec:
    """A StepSpec from a calibration point as stored in JSON (StepSpec restores the CNN's tuples)."""
    return StepSpec(
        **{k: int(p[k]) for k in ("n_layer", "n_embd", "vocab_size", "context", "batch", "supervised", "n_head")},
        cnn=p.get("cnn") or (),
    )


def model_from_points(
    points: list[dict[str, Any]], threads: int, device: str = "cpu", meta: dict[str, Any] | None = None
) -> CostModel:
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
    return CostModel(
        train_coef=fit_coefficients(Xt, tt),
        eval_coef=fit_coefficients(Xe, te),
        threads=threads,
        device=device,
        meta=meta,
    )
