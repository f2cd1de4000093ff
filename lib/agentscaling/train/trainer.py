"""A generic, resumable training loop: model + batch function + loss function.

The paper's protocol: AdamW at a constant learning rate per model size after a short warmup (an
optional cosine or warmup-stable-decay cooldown is available), gradient clipping, one precision per
study. Batches are a pure function of the step (`batch_fn(step)`), so a run resumed from a
checkpoint continues with exactly the batches it would have seen, and its curve equals the curve of
an uninterrupted run.

Logged at log-spaced steps: step, inputs seen D (the paper counts every input, supervised or not),
supervised inputs, C = 6·N·D, C with attention, training loss (mean since the previous log point),
held-out loss, learning rate, wall time, epochs. NaN/inf, or a loss that blows up past
`divergence_factor` × its first logged value, stops the run with status `diverged`."""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .throughput import throughput

Batch = dict[str, torch.Tensor]
LossOut = torch.Tensor | tuple[torch.Tensor, dict[str, float]]


@dataclass(frozen=True)
class TrainConfig:
    lr: float
    steps: int
    warmup_steps: int = 0
    schedule: str = "constant"  # constant | cosine | wsd
    cooldown_frac: float = 0.2  # wsd: fraction of steps spent decaying to min_lr
    min_lr_frac: float = 0.0
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0
    seed: int = 0
    n_log: int = 40  # log-spaced log points (plus the last step)
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    device: str = "cpu"
    progress: bool = False
    checkpoint_every_s: float = 60.0
    divergence_factor: float = 1.5
    compile: bool = False  # torch.compile the model for the training steps (GPU; adds minutes of compilation)
    # a step's batch is split into this many micro-batches whose gradients add up (same step, less memory);
    # 0 = automatic: 1, doubled whenever the device runs out of memory
    micro_batches: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.schedule not in ("constant", "cosine", "wsd"):
            raise ValueError(f"unknown schedule {self.schedule!r}: use constant, cosine or wsd")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"unknown precision {self.precision!r}: use fp32 or bf16")
        if self.micro_batches < 0:
            raise ValueError(f"micro_batches must be >= 0 (0 = automatic), got {self.micro_batches}")

    def lr_at(self, step: int) -> float:
        """Learning rate for optimiser step `step` (0-based)."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "cosine":
            t = (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps)
            return self.lr * (self.min_lr_frac + (1 - self.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))
        if self.schedule == "wsd":
            decay_start = self.steps - int(self.cooldown_frac * self.steps)
            if step >= decay_start:
                t = (step - decay_start) / max(1, self.steps - decay_start)
                return self.lr * (1 - (1 - self.min_lr_frac) * t)
        return self.lr


@dataclass
class TrainResult:
    status: str  # done | diverged
    message: str
    curve: pd.DataFrame
    steps_done: int
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        return float(self.curve["loss"].iloc[-1]) if len(self.curve) else float("nan")


def log_steps(steps: int, n_log: int) -> np.ndarray:
    """1-based steps at which to log: log-spaced from 1 to `steps`, always including `steps`."""
    pts = np.unique(np.round(np.geomspace(1, steps, max(2, n_log))).astype(int))
    return np.union1d(pts, [steps])


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices and embeddings only (nanoGPT), never on biases or LayerNorm gains."""
    seen: set[int] = set()
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = _param_groups(model, cfg.weight_decay)
    try:  # the fused kernel is faster on CPU and GPU where available
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


STATUS_EVERY_S = 5.0  # a running run's step and loss in its status.json, for progress bars elsewhere
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
_allocator_tuned: bool | None = None


def tune_cpu_allocator() -> bool:
    """Keep freed CPU memory inside the process (glibc malloc), once per process.

    By default glibc serves every allocation above its mmap threshold (dynamic, at most 32 MiB) with a
    fresh mmap and returns it on free, so each training step page-faults its large activations back in
    (logits of 8192 x 1024 fp32 are 32 MiB: ~33k page faults and ~20 % extra time per step at context 256).
    Raising the mmap and trim thresholds lets the heap keep them; the numbers do not change, the
    resident memory stays at the peak of the run. Linux/glibc only; AGENTSCALING_MALLOC_TUNE=0 disables it."""
    global _allocator_tuned
    if _allocator_tuned is not None:
        return _allocator_tuned
    _allocator_tuned = False
    if not sys.platform.startswith("linux") or os.environ.get("AGENTSCALING_MALLOC_TUNE", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) or libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        _allocator_tuned = bool(ok and libc.mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1))
    except (OSError, AttributeError):  # not glibc
        pass
    return _allocator_tuned


def _split_loss(out: LossOut) -> tuple[torch.Tensor, dict[str, float]]:
    return (out[0], out[1]) if isinstance(out, tuple) else (out, {})


def _batch_rows(batch: Batch) -> int:
    return int(batch.get("x", next(iter(batch.values()))).shape[0])


def split_batch(batch: Batch, k: int) -> list[Batch]:
    """`batch` cut into `k` micro-batches along its first dimension (that of batch['x'], else of its
    first tensor); tensors with another first dimension (a shared mask, say) go whole into each."""
    if k == 1:
        return [batch]
    n = _batch_rows(batch)
    if k > n:
        raise ValueError(f"cannot split a batch of {n} into {k} micro-batches")
    bounds = np.linspace(0, n, k + 1).round().astype(int)
    return [
        {key: (v[a:b] if torch.is_tensor(v) and v.dim() and v.shape[0] == n else v) for key, v in batch.items()}
        for a, b in zip(bounds[:-1], bounds[1:])
    ]


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def train(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Batch], LossOut],
    batch_fn: Callable[[int], Batch],
    cfg: TrainConfig,
    *,
    run=None,
    val_fn: Callable[[torch.nn.Module], float] | None = None,
    inputs_per_batch: int,
    supervised_per_batch: int | None = None,
    n_params: int,
    flops_per_input_attn: float | None = None,
    epoch_inputs: int | None = None,
) -> TrainResult:
    """Train `model` for cfg.steps steps; with `run` (a store.Run) it checkpoints and resumes.

    `n_params` is the N of C = 6·N·D; `inputs_per_batch` the D added by one step;
    `flops_per_input_attn` the per-input compute with attention (PaLM); `epoch_inputs` the size of
    the training split in inputs, to record epochs."""
    device = torch.device(cfg.device)
    if device.type == "cpu":
        tune_cpu_allocator()
    torch.manual_seed(cfg.seed)
    model.to(device)
    opt = make_optimizer(model, cfg)
    logs = set(int(s) for s in log_steps(cfg.steps, cfg.n_log))
    supervised_per_batch = inputs_per_batch if supervised_per_batch is None else supervised_per_batch

    rows: list[dict[str, Any]] = []
    start_step, wall_before = 0, 0.0
    loss_sum, loss_n = 0.0, 0
    metric_sums: dict[str, float] = {}
    if run is not None and (ckpt := run.load_checkpoint()) is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start_step = int(ckpt["step"])
        wall_before = float(ckpt["wall_s"])
        loss_sum, loss_n = float(ckpt["loss_sum"]), int(ckpt["loss_n"])
        metric_sums = dict(ckpt.get("metric_sums", {}))
        rows = _rows_from_columns(ckpt["curve"])
    if run is not None:
        run.set_status("running", f"step {start_step}/{cfg.steps}")

    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16)
        if cfg.precision == "bf16"
        else torch.autocast(device.type, enabled=False)
    )
    # the compiled module shares the parameters; evaluation and checkpoints use `model` itself
    step_model = torch.compile(model) if cfg.compile else model
    t0 = time.perf_counter()
    last_ckpt = last_status = time.monotonic()
    first_loss = rows[0]["train_loss"] if rows else None
    bar = None
    if cfg.progress:
        bar = tqdm(total=cfg.steps, initial=start_step, desc=getattr(run, "id", "train"), leave=False)

    def checkpoint(step: int) -> None:
        run.save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "wall_s": wall_before + time.perf_counter() - t0,
                "loss_sum": loss_sum,
                "loss_n": loss_n,
                "metric_sums": metric_sums,
                "curve": _columns_from_rows(rows),
            }
        )
        run.write_curve(pd.DataFrame(rows))
        run.set_status("running", f"step {step}/{cfg.steps} (checkpointed)")

    model.train()
    status, message = "done", ""
    step = start_step
    # on-device float64 accumulator: no host sync per step, and the same sums whether or not a run resumes
    acc = torch.zeros((), dtype=torch.float64, device=device)
    auto_micro = cfg.micro_batches == 0
    micro = max(1, cfg.micro_batches)
    for step in range(start_step, cfg.steps):
        lr = cfg.lr_at(step)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = batch_fn(step)
        while True:
            opt.zero_grad(set_to_none=True)
            try:
                loss, metrics = _accumulate(step_model, loss_fn, split_batch(batch, micro), autocast)
                break
            except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:
                if not (_out_of_memory(exc) and auto_micro and micro < _batch_rows(batch)):
                    raise
                del exc
                opt.zero_grad(set_to_none=True)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                micro = min(2 * micro, _batch_rows(batch))
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        acc += loss.detach().double()
        loss_n += 1
        for k, v in metrics.items():
            metric_sums[k] = metric_sums.get(k, 0.0) + float(v)
        done = step + 1
        if bar is not None:
            bar.update(1)
        if done in logs:
            loss_sum += float(acc)
            acc.zero_()
            train_loss = loss_sum / max(1, loss_n)
            if not math.isfinite(train_loss):
                status, message = "diverged", f"training loss became {train_loss} by step {done} (lr={lr:g})"
                break
            val_loss = float(val_fn(model)) if val_fn is not None else float("nan")
            model.train()
            D = done * inputs_per_batch
            row = {
                "step": done,
                "D": D,
                "D_supervised": done * supervised_per_batch,
                "C": 6.0 * n_params * D,
                "C_attn": (flops_per_input_attn * D) if flops_per_input_attn else float("nan"),
                "train_loss": train_loss,
                "val_loss": val_loss,
                "loss": val_loss if val_fn is not None else train_loss,
                "lr": lr,
                "wall_s": wall_before + time.perf_counter() - t0,
                "epochs": D / epoch_inputs if epoch_inputs else float("nan"),
                **{k: v / max(1, loss_n) for k, v in metric_sums.items()},
            }
            rows.append(row)
            loss_sum, loss_n, metric_sums = 0.0, 0, {}
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.4f}")
            if first_loss is None:
                first_loss = train_loss
            elif done > cfg.warmup_steps and train_loss > cfg.divergence_factor * first_loss:
                status = "diverged"
                message = (
                    f"training loss {train_loss:.4g} at step {done} exceeds {cfg.divergence_factor}x "
                    f"its first logged value {first_loss:.4g} (lr={lr:g})"
                )
                break
            if run is not None and time.monotonic() - last_ckpt >= cfg.checkpoint_every_s and done < cfg.steps:
                checkpoint(done)
                last_ckpt = time.monotonic()
        elif done % 50 == 0 and not bool(torch.isfinite(acc)):
            status, message = "diverged", f"training loss became non-finite by step {done} (lr={lr:g})"
            break
        elif run is not None and time.monotonic() - last_ckpt >= cfg.checkpoint_every_s:
            loss_sum += float(acc)
            acc.zero_()
            if not math.isfinite(loss_sum):
                status, message = "diverged", f"training loss became {loss_sum} by step {done} (lr={lr:g})"
                break
            checkpoint(done)
            last_ckpt = time.monotonic()
        if run is not None and time.monotonic() - last_status >= STATUS_EVERY_S:
            # what a sweep's progress bar shows for runs in other processes (no host sync: the last logged loss)
            run.set_status(
                "running",
                f"step {done}/{cfg.steps}",
                step=done,
                steps=cfg.steps,
                train_loss=rows[-1]["train_loss"] if rows else None,
            )
            last_status = time.monotonic()
    if bar is not None:
        bar.close()
    session_s = time.perf_counter() - t0
    wall = wall_before + session_s
    curve = pd.DataFrame(rows)
    if run is not None:
        run.write_curve(curve)
    trained = step + 1 - start_step if cfg.steps > start_step else 0
    speed = throughput(trained * inputs_per_batch, session_s, n_params, flops_per_input_attn, device, cfg.precision)
    return TrainResult(
        status=status,
        message=message,
        curve=curve,
        steps_done=step + 1,
        wall_s=wall,
        extra={"config": asdict(cfg), "throughput": speed, "micro_batches": micro},
    )


def _accumulate(model, loss_fn, chunks: list[Batch], autocast) -> tuple[torch.Tensor, dict[str, float]]:
    """Backward through every micro-batch; returns the mean loss and metrics over them (equal to the
    whole batch's when the loss is a mean over equally supervised rows, as every task's is)."""
    k = len(chunks)
    total: torch.Tensor | None = None
    metrics: dict[str, float] = {}
    for chunk in chunks:
        with autocast:
            loss, m = _split_loss(loss_fn(model, chunk))
        (loss / k if k > 1 else loss).backward()
        total = loss.detach() / k if total is None else total + loss.detach() / k
        for key, v in m.items():
            metrics[key] = metrics.get(key, 0.0) + float(v) / k
    assert total is not None
    return total, metrics


def _columns_from_rows(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Curve rows as a dict of float lists (checkpoints load with weights_only=True)."""
    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    return {k: [float(r.get(k, float("nan"))) for r in rows] for k in keys}


def _rows_from_columns(cols: dict[str, list[float]]) -> list[dict[str, Any]]:
    n = len(next(iter(cols.values()))) if cols else 0
    ints = {"step", "D", "D_supervised"}
    return [{k: (int(v[i]) if k in ints else v[i]) for k, v in cols.items()} for i in range(n)]
