"""Training throughput: our trainer vs Hugging Face transformers' GPT2LMHeadModel, on CPU, fp32.

    .venv/bin/python benchmarks/train_throughput.py            # 6 configs, ~5 min on an idle 2-core machine
    .venv/bin/python benchmarks/train_throughput.py --quick    # fewer/shorter rounds, well under a minute
    .venv/bin/python benchmarks/train_throughput.py --json     # one JSON object per line

What is compared, at each ladder size (same layers/heads/width/context/vocab/batch, fp32, same threads):
- ours: `agentscaling.train.train()` (the library's loop: fused AdamW with decay on matrices only, grad
  clipping at 1.0, loss accumulated on the device) on `agentscaling.model.GPT` with
  `masked_next_token_loss`, called for chunks of steps.
- hf: what a user writes: `GPT2LMHeadModel(GPT2Config(..., resid/embd/attn dropout 0))` with its default
  `attn_implementation="sdpa"` and its default activation `gelu_new` (tanh approximation; ours is the
  exact erf GELU), tied embeddings, `torch.optim.AdamW(model.parameters(), lr, betas=(0.9, 0.95),
  weight_decay=0.1)` (torch's default foreach implementation, decay on every parameter), a plain loop
  `logits = model(input_ids=x).logits; loss = F.cross_entropy(...)`; zero_grad; backward;
  `clip_grad_norm_(…, 1.0)`; step; `loss.item()` every step (free on CPU: nothing is asynchronous).
- hf_eager: the same with `attn_implementation="eager"` (full mode only).
Every variant sees the same batches (windows of Tiny Shakespeare character ids). The variants run
ALTERNATELY in chunks of about --chunk-s seconds for --rounds rounds, so machine load hits them alike;
tokens/s is the median over rounds and the ratio is the median of the per-round ratios.

Achieved FLOP/s: tokens/s × 6·N (N: every parameter except position embeddings, tied head counted once,
so 6·N counts the block and head matmuls) and × (6·N + 12·L·d·T) (PaLM's count with attention), against
the fp32 matmul peak measured in the same run (square torch.mm, n=1024, --threads threads, one probe per
round interleaved with the variants; the median probe is the denominator, the max is also reported).

Equal losses (--loss-steps steps, same seed, same batches): our model's initial weights are copied into
GPT2LMHeadModel and both train through the same `train()` loop and optimizer: with HF's activation set to
the exact "gelu" the two must agree to rounding (a sharp check); with the default "gelu_new" they differ
by the activation only. The scale of "noise" is ours vs ours from another init seed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from agentscaling.counting import count_params_shape, flops_per_input_attn  # noqa: E402
from agentscaling.model.gpt import GPT, GPTConfig, masked_next_token_loss  # noqa: E402
from agentscaling.model.ladder import ModelShape  # noqa: E402
from agentscaling.sweep.calibrate import cpu_name, loadavg  # noqa: E402
from agentscaling.train import TrainConfig, train  # noqa: E402


@dataclass(frozen=True)
class Bench:
    group: str  # "ctx16" (the Tiny Shakespeare cpu preset) | "ctx256" (machine.md's GPT)
    size: str  # nominal size
    shape: ModelShape
    vocab: int
    context: int
    batch: int


# ctx16: the cpu preset's own setting (char vocab 65, context 16, 256 sequences per update); the 0.1M
# and 1M shapes are the preset's ladder sizes, 3M its ladder rule's shape for 3e6.
# ctx256: the minimal GPT of docs/machine.md §4 (vocab 1024, context 256), where attention is no longer tiny.
CONFIGS = (
    Bench("ctx16", "0.1M", ModelShape(2, 4, 64), 65, 16, 256),
    Bench("ctx16", "1M", ModelShape(3, 5, 160), 65, 16, 256),
    Bench("ctx16", "3M", ModelShape(4, 8, 256), 65, 16, 256),
    Bench("ctx256", "0.1M", ModelShape(2, 2, 64), 1024, 256, 32),
    Bench("ctx256", "1M", ModelShape(4, 4, 128), 1024, 256, 32),
    Bench("ctx256", "3M", ModelShape(6, 6, 192), 1024, 256, 16),
)
OVERHEAD_CFG = Bench("overhead", "4.4k", ModelShape(1, 4, 16), 65, 16, 1)  # a 1x16 batch: dispatch cost only
LR, BETAS, WD, CLIP = 1e-3, (0.9, 0.95), 0.1, 1.0


# ------------------------------------------------------------------------------------------- data
def token_stream() -> np.ndarray:
    try:
        from agentscaling.data.text import load_corpus

        return np.asarray(load_corpus("shakespeare", "char").train)
    except Exception as e:  # noqa: BLE001 - a benchmark still runs without the corpus
        warnings.warn(f"Tiny Shakespeare unavailable ({e}); using random tokens")
        return np.random.default_rng(0).integers(0, 65, size=1_000_000).astype(np.uint16)


def make_batches(tokens: np.ndarray, b: Bench, n: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        starts = rng.integers(0, len(tokens) - b.context - 1, size=b.batch)
        win = np.asarray(tokens[starts[:, None] + np.arange(b.context + 1)[None, :]], dtype=np.int64) % b.vocab
        out.append(
            {
                "x": torch.from_numpy(np.ascontiguousarray(win[:, :-1])),
                "y": torch.from_numpy(np.ascontiguousarray(win[:, 1:])),
            }
        )
    return out


# ------------------------------------------------------------------------------------------ models
def ours_model(b: Bench, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(
        GPTConfig(
            vocab_size=b.vocab, context=b.context, n_layer=b.shape.n_layer, n_head=b.shape.n_head, n_embd=b.shape.n_embd
        )
    )


def hf_model(b: Bench, attn: str = "sdpa", activation: str = "gelu_new", seed: int = 0):
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(
        n_layer=b.shape.n_layer,
        n_head=b.shape.n_head,
        n_embd=b.shape.n_embd,
        n_positions=b.context,
        vocab_size=b.vocab,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        activation_function=activation,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=None,
    )
    torch.manual_seed(seed)
    m = GPT2LMHeadModel._from_config(cfg, attn_implementation=attn)
    return m.train()


def copy_ours_into_hf(ours: GPT, hf) -> None:
    """Our weights into GPT2LMHeadModel (its Conv1D stores weights as [in, out]: transpose)."""
    sd, t = ours.state_dict(), hf.transformer
    with torch.no_grad():
        t.wte.weight.copy_(sd["wte.weight"])
        t.wpe.weight.copy_(sd["wpe.weight"])
        for i, blk in enumerate(t.h):
            p = f"blocks.{i}."
            for dst, src in ((blk.ln_1, "ln1"), (blk.ln_2, "ln2")):
                dst.weight.copy_(sd[p + src + ".weight"])
                dst.bias.copy_(sd[p + src + ".bias"])
            for dst, src in (
                (blk.attn.c_attn, "attn.qkv"),
                (blk.attn.c_proj, "attn.proj"),
                (blk.mlp.c_fc, "mlp.fc"),
                (blk.mlp.c_proj, "mlp.proj"),
            ):
                dst.weight.copy_(sd[p + src + ".weight"].t())
                dst.bias.copy_(sd[p + src + ".bias"])
        t.ln_f.weight.copy_(sd["ln_f.weight"])
        t.ln_f.bias.copy_(sd["ln_f.bias"])
    assert hf.lm_head.weight.data_ptr() == t.wte.weight.data_ptr(), "HF head is not tied"


def hf_loss(model, batch) -> torch.Tensor:
    logits = model(input_ids=batch["x"]).logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["y"].reshape(-1))


# ------------------------------------------------------------------------------------------ runners
class OursRunner:
    """Chunks of steps through the library's own `train()` (the code a sweep runs)."""

    def __init__(self, b: Bench, batches):
        self.model, self.batches, self.b = ours_model(b), batches, b
        self.n = count_params_shape(b.shape, b.vocab, b.context)["N"]
        self.done = 0

    def run(self, steps: int) -> float:
        off, nb = self.done, len(self.batches)
        cfg = TrainConfig(lr=LR, steps=steps, betas=BETAS, weight_decay=WD, grad_clip=CLIP, n_log=2)
        t0, c0 = time.perf_counter(), time.process_time()
        train(
            self.model,
            masked_next_token_loss,
            lambda s: self.batches[(off + s) % nb],
            cfg,
            inputs_per_batch=self.b.batch * self.b.context,
            n_params=self.n,
        )
        self.done += steps
        return time.perf_counter() - t0, time.process_time() - c0


class HFRunner:
    """A user's plain loop around GPT2LMHeadModel."""

    def __init__(self, b: Bench, batches, attn: str = "sdpa"):
        self.model, self.batches = hf_model(b, attn), batches
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=LR, betas=BETAS, weight_decay=WD)
        self.done = 0
        self.last_loss = float("nan")

    def run(self, steps: int) -> float:
        m, opt, nb = self.model, self.opt, len(self.batches)
        t0, c0 = time.perf_counter(), time.process_time()
        for s in range(steps):
            loss = hf_loss(m, self.batches[(self.done + s) % nb])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), CLIP)
            opt.step()
            self.last_loss = loss.item()
        self.done += steps
        return time.perf_counter() - t0, time.process_time() - c0


def make_runner(kind: str, b: Bench, batches):
    return OursRunner(b, batches) if kind == "ours" else HFRunner(b, batches, "eager" if kind == "hf_eager" else "sdpa")


def _serve(conn, threads: int) -> None:
    """A worker process holding one variant: ("setup", kind, bench) builds it, ("run", k) trains k steps
    and answers (wall s, this process's CPU s), ("stop",) ends."""
    import traceback

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    tokens, runner = None, None
    while True:
        msg = conn.recv()
        try:
            if msg[0] == "setup":
                tokens = token_stream() if tokens is None else tokens
                runner = make_runner(msg[1], msg[2], make_batches(tokens, msg[2], 8))
                conn.send(("ok", None))
            elif msg[0] == "run":
                conn.send(("ok", runner.run(msg[1])))
            elif msg[0] == "probe":
                conn.send(("ok", matmul_probe(msg[1])))
            elif msg[0] == "profile":
                conn.send(("ok", profile_split(runner, msg[1])))
            else:
                conn.send(("ok", None))
                return
        except Exception:  # noqa: BLE001 - reported to the parent
            conn.send(("error", traceback.format_exc()))


class Remote:
    """A variant living in its own process, so process-wide state (the allocator settings our trainer
    makes, thread pools, caches) is each variant's own, as in real use. Only one process computes at a
    time: the parent waits while a worker runs its chunk."""

    def __init__(self, ctx, threads: int):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, threads), daemon=True)
        self.proc.start()

    def call(self, *msg):
        self.conn.send(msg)
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"benchmark worker failed:\n{value}")
        return value

    def setup(self, kind: str, b: Bench) -> "Remote":
        self.call("setup", kind, b)
        return self

    def run(self, steps: int) -> tuple[float, float]:
        return self.call("run", steps)

    def probe(self, seconds: float) -> tuple[float, float]:
        return self.call("probe", seconds)

    def stop(self) -> None:
        try:
            self.call("stop")
        finally:
            self.proc.join(timeout=10)


GEMM_OPS = ("aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm")


def profile_split(runner, steps: int) -> dict:
    """torch.profiler over `steps` training steps (after 3 warm-up steps): self CPU time per step in GEMMs,
    in attention kernels (any op named *attention*), and in everything else (README, "Where the targets
    stand")."""
    from torch.profiler import ProfilerActivity, profile

    runner.run(3)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        runner.run(steps)
    events = prof.key_averages()
    per_step = lambda sel: sum(e.self_cpu_time_total for e in events if sel(e.key)) / 1e3 / steps  # noqa: E731
    total = per_step(lambda k: True)
    gemm = per_step(lambda k: k in GEMM_OPS)
    attention = per_step(lambda k: "attention" in k)
    return {
        "step_ms": round(total, 2),
        "gemm_ms": round(gemm, 2),
        "attention_ms": round(attention, 2),
        "other_ms": round(total - gemm - attention, 2),
    }


def matmul_probe(seconds: float, n: int = 1024) -> tuple[float, float]:
    """fp32 square-matmul FLOP/s on the current torch threads: (per wall second, per process CPU second)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    k, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        torch.mm(a, b)
        k += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and k >= 3:
            return 2.0 * n**3 * k / dt, 2.0 * n**3 * k / max(time.process_time() - c0, 1e-9)


# ------------------------------------------------------------------------------------------ loss check
def loss_check(b: Bench, batches, steps: int) -> dict:
    """Per-step training losses: ours, HF with our weights (exact gelu, then gelu_new), ours from another
    seed; all through the same train() loop and optimizer on the same batches."""
    n = count_params_shape(b.shape, b.vocab, b.context)["N"]
    nb = len(batches)

    def trajectory(model, loss_fn) -> np.ndarray:
        rec: list[torch.Tensor] = []

        def lf(m, batch):
            loss = loss_fn(m, batch)
            rec.append(loss.detach().clone())
            return loss

        cfg = TrainConfig(lr=LR, steps=steps, betas=BETAS, weight_decay=WD, grad_clip=CLIP, n_log=2, seed=0)
        train(model, lf, lambda s: batches[s % nb], cfg, inputs_per_batch=b.batch * b.context, n_params=n)
        return torch.stack(rec).double().numpy()

    ours = ours_model(b, seed=0)
    hf_exact, hf_new = hf_model(b, activation="gelu"), hf_model(b, activation="gelu_new")
    copy_ours_into_hf(ours, hf_exact)
    copy_ours_into_hf(ours, hf_new)
    with torch.no_grad():
        x = batches[0]["x"]
        d_logits = float((ours(x) - hf_exact(input_ids=x).logits).abs().max())
    la = trajectory(ours, masked_next_token_loss)
    lb = trajectory(hf_exact, hf_loss)
    lc = trajectory(hf_new, hf_loss)
    ld = trajectory(ours_model(b, seed=1), masked_next_token_loss)
    return {
        "loss_steps": steps,
        "init_max_abs_dlogit_hf_gelu": d_logits,
        "loss_first": float(la[0]),
        "loss_last_ours": float(la[-1]),
        "loss_last_hf_gelu": float(lb[-1]),
        "loss_last_hf_gelu_new": float(lc[-1]),
        "max_abs_dloss_hf_gelu": float(np.abs(la - lb).max()),
        "max_abs_dloss_hf_gelu_new": float(np.abs(la - lc).max()),
        "max_abs_dloss_other_seed": float(np.abs(la - ld).max()),
        "loss_equal_within_noise": bool(np.abs(la - lb).max() < max(1e-3, 0.1 * np.abs(la - ld).max())),
    }


# ------------------------------------------------------------------------------------------ throughput
def measure(b: Bench, runners: dict, rounds: int, chunk_s: float, eager: bool, probe_s: float, clock: str) -> dict:
    steps = {}
    for name, r in runners.items():  # warm up (first-step allocations, lazy optimizer state), then size the chunks
        r.run(2)
        steps[name] = max(1, math.ceil(chunk_s / max(r.run(2)[0] / 2, 1e-6)))
    k = max(3, *steps.values())  # equal steps per chunk for every variant
    tokens = b.batch * b.context
    tps = {c: {name: [] for name in runners} for c in ("wall", "cpu")}
    probes = {"wall": [], "cpu": []}
    load0 = loadavg()
    for _ in range(rounds):
        # the probe runs where "ours" runs (its worker process, same threads and OpenMP settings)
        pw, pc = getattr(runners["ours"], "probe", matmul_probe)(probe_s)
        probes["wall"].append(pw)
        probes["cpu"].append(pc)
        for name, r in runners.items():
            wall, cpu = r.run(k)
            tps["wall"][name].append(k * tokens / wall)
            tps["cpu"][name].append(k * tokens / cpu)
    load1 = loadavg()
    counts = count_params_shape(b.shape, b.vocab, b.context)
    n = counts["N"]
    f_attn = flops_per_input_attn(n, b.shape.n_layer, b.shape.n_embd, b.context)

    def summary(c: str, prefix: str) -> dict:
        t = tps[c]
        med = {name: statistics.median(v) for name, v in t.items()}
        peak = statistics.median(probes[c])
        out = {
            f"{prefix}tokens_per_s": med["ours"],
            f"{prefix}hf_tokens_per_s": med["hf"],
            f"{prefix}ratio_vs_hf": statistics.median(o / h for o, h in zip(t["ours"], t["hf"])),
            f"{prefix}flops_per_s_6n": 6.0 * n * med["ours"],
            f"{prefix}flops_per_s_attn": f_attn * med["ours"],
            f"{prefix}hf_flops_per_s_6n": 6.0 * n * med["hf"],
            f"{prefix}matmul_peak_flops": peak,
            f"{prefix}matmul_peak_flops_max": max(probes[c]),
            f"{prefix}peak_fraction": 6.0 * n * med["ours"] / peak,
            f"{prefix}peak_fraction_attn": f_attn * med["ours"] / peak,
        }
        if eager:
            out[f"{prefix}hf_eager_tokens_per_s"] = med["hf_eager"]
            out[f"{prefix}ratio_vs_hf_eager"] = statistics.median(o / h for o, h in zip(t["ours"], t["hf_eager"]))
        return out

    other = "cpu" if clock == "wall" else "wall"
    out = {
        "bench": "train_throughput",
        "clock": clock,
        "group": b.group,
        "size": b.size,
        "shape": b.shape.label,
        "params": n,
        "params_nonembedding": counts["N_nonembedding"],
        "vocab": b.vocab,
        "context": b.context,
        "batch": b.batch,
        "tokens_per_step": tokens,
        "steps_per_chunk": k,
        "rounds": rounds,
        **summary(clock, ""),
        **summary(other, f"{other}_"),
        "loadavg_before": load0,
        "loadavg_after": load1,
    }
    out["ms_per_step"] = 1e3 * tokens / out["tokens_per_s"]
    out["hf_ms_per_step"] = 1e3 * tokens / out["hf_tokens_per_s"]
    return out


def overhead(ours, hf, rounds: int, steps: int, clock: str) -> dict:
    """ms per step when compute is negligible (a 1-layer 4.4k model on a 1×16 batch): Python, dispatch,
    autograd and optimizer bookkeeping."""
    b = OVERHEAD_CFG
    ours.run(5), hf.run(5)
    c = 0 if clock == "wall" else 1
    o, h = [], []
    for _ in range(rounds):
        o.append(1e3 * ours.run(steps)[c] / steps)
        h.append(1e3 * hf.run(steps)[c] / steps)
    return {
        "bench": "train_overhead",
        "clock": clock,
        "size": b.size,
        "shape": b.shape.label,
        "batch": b.batch,
        "context": b.context,
        "ms_per_step": statistics.median(o),
        "hf_ms_per_step": statistics.median(h),
        "ratio_vs_hf": statistics.median(hh / oo for oo, hh in zip(o, h)),
    }


def environment(threads: int) -> dict:
    import transformers

    return {
        "bench": "environment",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "threads": threads,
        "cpu": cpu_name(),
        "loadavg": loadavg(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="2 short rounds, no eager-attention HF, loss check at the smallest sizes only: well under a minute",
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5; quick 2)")
    ap.add_argument(
        "--chunk-s", type=float, default=None, help="seconds per variant per round (default 1.0; quick 0.3)"
    )
    ap.add_argument("--groups", default="ctx16,ctx256", help="config groups: ctx16, ctx256")
    ap.add_argument("--sizes", default=None, help="comma-separated nominal sizes (default all: 0.1M,1M,3M)")
    ap.add_argument(
        "--loss-steps", type=int, default=None, help="steps of the equal-loss check (default 20; quick 10; 0: skip)"
    )
    ap.add_argument("--no-eager", action="store_true", help="skip the eager-attention HF variant")
    ap.add_argument(
        "--no-isolate",
        action="store_true",
        help="run every variant in this process (then process-wide settings our trainer makes, e.g. "
        "its allocator tuning, also apply to HF); default: one worker process per variant",
    )
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="instead of timing: torch.profiler over STEPS steps of ours and of HF (sdpa) per config, "
        "each in a fresh process, and the step split into GEMMs, attention and everything else",
    )
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time base of the main columns: wall seconds (default), or this process's CPU seconds "
        "(robust to other busy processes at --threads 1; both are always in the JSON)",
    )
    args = ap.parse_args(argv)

    if args.threads < 1:
        ap.error("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except ImportError:
        print("transformers is not installed: pip install transformers (a dev dependency)", file=sys.stderr)
        return 2
    rounds = args.rounds or (2 if args.quick else 5)
    chunk_s = args.chunk_s or (0.3 if args.quick else 1.0)
    loss_steps = args.loss_steps if args.loss_steps is not None else (10 if args.quick else 20)
    eager = not (args.no_eager or args.quick)
    groups = {g.strip() for g in args.groups.split(",")}
    sizes = {s.strip() for s in args.sizes.split(",")} if args.sizes else None
    configs = [c for c in CONFIGS if c.group in groups and (sizes is None or c.size in sizes)]
    if not configs:
        ap.error("no config matches --groups/--sizes")

    env = environment(args.threads)
    emit = (lambda r: print(json.dumps(r), flush=True)) if args.json else (lambda r: None)
    tokens = token_stream()
    if args.profile > 0:
        # each variant in a fresh process (as in the timing): our trainer's process-wide settings (its allocator
        # tuning) must not reach HF's step
        import multiprocessing as mp

        emit(env)
        ctx = mp.get_context("spawn")
        for b in configs:
            for kind in ("ours", "hf"):
                worker = Remote(ctx, args.threads)
                try:
                    split = worker.setup(kind, b).call("profile", args.profile)
                finally:
                    worker.stop()
                row = {
                    "bench": "train_profile",
                    "group": b.group,
                    "size": b.size,
                    "variant": kind,
                    "steps": args.profile,
                    **split,
                }
                emit(row)
                if not args.json:
                    print(
                        f"{b.group:7s} {b.size:5s} {kind:5s} per step: {row['step_ms']:7.1f} ms = GEMMs "
                        f"{row['gemm_ms']:6.1f} + attention {row['attention_ms']:6.1f} + other {row['other_ms']:6.1f}"
                    )
        return 0
    kinds = ["ours", "hf"] + (["hf_eager"] if eager else [])
    workers = {}
    if not args.no_isolate:
        import multiprocessing as mp

        if args.clock == "cpu" and args.threads > 1:
            # CPU seconds of a multi-threaded process count spin-waiting OpenMP threads: let them sleep instead
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            env["omp_wait_policy"] = os.environ["OMP_WAIT_POLICY"]
        ctx = mp.get_context("spawn")
        workers = {k: Remote(ctx, args.threads) for k in kinds}

    def runners_for(b: Bench, ks) -> dict:
        if workers:
            return {k: workers[k].setup(k, b) for k in ks}
        batches = make_batches(tokens, b, 8)
        return {k: make_runner(k, b, batches) for k in ks}

    emit(env)
    rows = []
    t_start = time.perf_counter()
    try:
        for b in configs:
            row = measure(
                b, runners_for(b, kinds), rounds, chunk_s, eager, probe_s=0.25 if args.quick else 0.5, clock=args.clock
            )
            row["isolated"] = bool(workers)
            smallest = b.size == "0.1M"
            if loss_steps and (smallest or not args.quick):
                row.update(loss_check(b, make_batches(tokens, b, 8), loss_steps))
            rows.append(row)
            emit(row)
            if not args.json:
                print(
                    f"  measured {b.group} {b.size} ({time.perf_counter() - t_start:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        r = runners_for(OVERHEAD_CFG, ["ours", "hf"])
        ov = overhead(r["ours"], r["hf"], rounds=3, steps=20 if args.quick else 50, clock=args.clock)
        emit(ov)
    finally:
        for w in workers.values():
            w.stop()
    if not args.json:
        print_table(env, rows, ov, eager)
    return 0


def print_table(env: dict, rows: list[dict], ov: dict, eager: bool) -> None:
    clock = rows[0]["clock"] if rows else "wall"
    print(
        f"torch {env['torch']}, transformers {env['transformers']}, {env['cpus']} CPUs ({env['cpu']}), "
        f"{env['threads']} threads, fp32; load average at start {env['loadavg']:.2f}; "
        + (
            "wall-clock seconds"
            if clock == "wall"
            else "per CPU-second of the variant's process (--clock cpu"
            + (", OpenMP passive wait)" if env.get("omp_wait_policy") else ")")
        )
    )
    hdr = (
        f"{'group':7s} {'size':5s} {'shape':13s} {'N':>9s} {'B×T':>8s} {'ours tok/s':>11s} {'HF tok/s':>10s} "
        f"{'ratio':>6s}"
        + (f" {'ratio eager':>11s}" if eager else "")
        + f" {'GFLOP/s 6N':>10s} {'w/ attn':>8s} {'peak':>6s} {'%peak 6N':>8s} {'w/ attn':>8s} {'load':>9s}"
    )
    print(hdr)
    for r in rows:
        line = (
            f"{r['group']:7s} {r['size']:5s} {r['shape']:13s} {r['params']:>9,d} "
            f"{str(r['batch']) + '×' + str(r['context']):>8s} {r['tokens_per_s']:>11,.0f} "
            f"{r['hf_tokens_per_s']:>10,.0f} "
            f"{r['ratio_vs_hf']:>6.2f}"
        )
        if eager:
            line += f" {r['ratio_vs_hf_eager']:>11.2f}"
        line += (
            f" {r['flops_per_s_6n'] / 1e9:>10.1f} {r['flops_per_s_attn'] / 1e9:>8.1f} "
            f"{r['matmul_peak_flops'] / 1e9:>6.0f} {100 * r['peak_fraction']:>7.0f}% "
            f"{100 * r['peak_fraction_attn']:>7.0f}% {r['loadavg_before']:>4.1f}-{r['loadavg_after']:<4.1f}"
        )
        print(line)
    checked = [r for r in rows if "loss_steps" in r]
    if checked:
        print("\nequal losses after equal steps (HF initialised with our weights, same batches, same train() loop):")
        print(
            f"{'group':7s} {'size':5s} {'steps':>5s} {'max|dlogit|0':>12s} {'loss 0→last (ours)':>19s} "
            f"{'max|dloss| HF gelu':>18s} {'HF gelu_new':>11s} {'other seed':>10s}  equal"
        )
        for r in checked:
            print(
                f"{r['group']:7s} {r['size']:5s} {r['loss_steps']:>5d} {r['init_max_abs_dlogit_hf_gelu']:>12.1e} "
                f"{r['loss_first']:>8.4f}→{r['loss_last_ours']:<10.4f} {r['max_abs_dloss_hf_gelu']:>18.1e} "
                f"{r['max_abs_dloss_hf_gelu_new']:>11.1e} {r['max_abs_dloss_other_seed']:>10.1e}  "
                f"{'yes' if r['loss_equal_within_noise'] else 'NO'}"
            )
    print(
        f"\nper-step overhead ({ov['shape']}, batch {ov['batch']}×{ov['context']}): ours {ov['ms_per_step']:.2f} ms, "
        f"HF {ov['hf_ms_per_step']:.2f} ms ({ov['ratio_vs_hf']:.2f}x)"
    )


if __name__ == "__main__":
    sys.exit(main())
