"""PyTorch's CPU flash attention vs a prototype kernel of ours, at the attention shapes of the studies.

    .venv/bin/python benchmarks/attention_kernel.py             # every shape, 1 thread (as sweep workers)
    .venv/bin/python benchmarks/attention_kernel.py --quick     # three shapes, fewer rounds
    .venv/bin/python benchmarks/attention_kernel.py --json      # one JSON object per line

Attention is 23 % of the predicted training time of all `cpu` studies and 38-74 % of the arena token
studies' steps (the cost model's attention terms), at head dimensions of 8-16 where the flash kernel's
small GEMMs are inefficient. `benchmarks/csrc/causal_attention.cpp` is a prototype kernel for them (built
here with torch.utils.cpp_extension: needs g++ and ninja, ~30 s the first time; the library does not use
it). Each shape: forward + backward of causal attention on [B, T, 3·H·D] projections, as the model calls
it, the two variants alternating for --rounds rounds (median). Also printed: the largest difference of
the outputs and of the gradients (relative to the gradient's scale) from the flash kernel's.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# (label, batch, heads, context, head dim): the largest size of each study at `cpu` (costmodel.spec_for),
# and the throughput benchmark's 3M/ctx256 model.
SHAPES = (
    ("wm-token-256", 6, 7, 544, 8),
    ("wm-token-64 / bc-token-64", 16, 7, 160, 8),
    ("wm-tpf-64", 13, 4, 160, 8),
    ("wm-extrapolation", 16, 6, 160, 16),
    ("lm-books-char", 128, 8, 64, 16),
    ("lm-shakespeare (1M)", 256, 5, 16, 32),
    ("train_throughput 3M/ctx256", 16, 6, 256, 32),
)
QUICK = ("wm-token-256", "wm-token-64 / bc-token-64", "train_throughput 3M/ctx256")


def build():
    from torch.utils.cpp_extension import load

    src = Path(__file__).resolve().parent / "csrc" / "causal_attention.cpp"
    build_dir = Path(tempfile.gettempdir()) / "agentscaling_attention_kernel"
    build_dir.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    ext = load("agentscaling_attention_prototype", [str(src)], build_directory=str(build_dir),
               extra_cflags=["-O3", "-march=native", "-mprefer-vector-width=512"], verbose=False)
    return ext, time.perf_counter() - t0


def attention_fn(ext):
    class Attention(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v):
            scale = 1.0 / math.sqrt(q.shape[-1])
            o, lse = ext.forward(q, k, v, scale)
            ctx.save_for_backward(q, k, v, o, lse)
            ctx.scale = scale
            return o

        @staticmethod
        def backward(ctx, go):
            q, k, v, o, lse = ctx.saved_tensors
            return tuple(ext.backward(go.contiguous(), q, k, v, o, lse, ctx.scale))

    return Attention.apply


def measure(label, B, H, T, D, attn, rounds):
    torch.manual_seed(0)
    qkv = torch.randn(B, T, 3 * H * D, requires_grad=True)
    go = torch.randn(B, T, H * D)

    def flash():
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in qkv.split(H * D, 2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, H * D)
        y.backward(go)
        return y

    def ours():
        q, k, v = qkv.view(B, T, 3, H, D).permute(2, 0, 3, 1, 4).reshape(3, B * H, T, D).unbind(0)
        y = attn(q, k, v).view(B, H, T, D).transpose(1, 2).reshape(B, T, H * D)
        y.backward(go)
        return y

    outs = []
    for f in (flash, ours):
        qkv.grad = None
        outs.append((f().detach(), qkv.grad.clone()))
    (y0, g0), (y1, g1) = outs
    times = {"flash": [], "ours": []}
    for _ in range(rounds + 1):
        for name, f in (("flash", flash), ("ours", ours)):
            qkv.grad = None
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v[1:]) * 1e3 for k, v in times.items()}
    return {"bench": "attention_kernel", "shape": label, "B": B, "H": H, "T": T, "D": D,
            "flash_ms": round(med["flash"], 3), "ours_ms": round(med["ours"], 3),
            "speedup": round(med["flash"] / med["ours"], 3),
            "max_abs_diff_out": float((y0 - y1).abs().max()),
            "max_rel_diff_grad": float((g0 - g1).abs().max() / g0.abs().max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="three shapes, 3 rounds")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 7; quick 3)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rounds = args.rounds or (3 if args.quick else 7)
    ext, build_s = build()
    attn = attention_fn(ext)
    shapes = [s for s in SHAPES if not args.quick or s[0] in QUICK]
    if not args.json:
        print(f"torch {torch.__version__}, {args.threads} thread(s); extension built/loaded in {build_s:.1f} s")
        print(f"{'shape':28s} {'B':>4s} {'H':>3s} {'T':>4s} {'D':>3s} {'flash ms':>9s} {'ours ms':>8s} "
              f"{'speed-up':>8s} {'|Δout|':>8s} {'|Δgrad|':>8s}")
    for s in shapes:
        r = measure(*s, attn=attn, rounds=rounds)
        if args.json:
            print(json.dumps({**r, "threads": args.threads, "build_s": round(build_s, 1)}), flush=True)
        else:
            print(f"{r['shape']:28s} {r['B']:4d} {r['H']:3d} {r['T']:4d} {r['D']:3d} {r['flash_ms']:9.2f} "
                  f"{r['ours_ms']:8.2f} {r['speedup']:7.2f}x {r['max_abs_diff_out']:8.1e} "
                  f"{r['max_rel_diff_grad']:8.1e}")


if __name__ == "__main__":
    main()
