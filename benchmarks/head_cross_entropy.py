"""The output head + cross-entropy of the GPT-2 BPE studies: plain (all logits at once) vs chunked
(`agentscaling.model.gpt.chunked_linear_cross_entropy`, the path the library takes on CPU for
vocabularies >= FUSED_CE_MIN_VOCAB), forward + backward, fp32, on the shapes of `lm-books-gpt2` at
`cpu` (2,048 positions per step, vocabulary 50,257, widths 8-32).

    .venv/bin/python benchmarks/head_cross_entropy.py            # widths 8/16/32 at 1 and 2 threads (~1 min)
    .venv/bin/python benchmarks/head_cross_entropy.py --quick    # width 8 and 32, 1 thread
    .venv/bin/python benchmarks/head_cross_entropy.py --json     # one JSON object per line

The two variants run alternately (--rounds rounds of --reps calls each), so machine load hits them
alike; the table shows medians and the median of the per-round ratios. Before timing, the losses and
both gradients are checked equal to rounding.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from agentscaling.model.gpt import chunked_linear_cross_entropy, fused_ce_chunk  # noqa: E402
from agentscaling.sweep.calibrate import cpu_name, loadavg  # noqa: E402
from agentscaling.train.trainer import tune_cpu_allocator  # noqa: E402


def plain(h, w, y):
    return F.cross_entropy(h @ w.t(), y)


def step(fn, h, w, y) -> float:
    h.grad = w.grad = None
    t = time.perf_counter()
    fn(h, w, y).backward()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--positions", type=int, default=2048, help="supervised positions per step (batch x context)")
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    tune_cpu_allocator()
    widths, threads = ((8, 32), (1,)) if args.quick else ((8, 16, 32), (1, 2))
    env = {
        "cpu": cpu_name(),
        "torch": torch.__version__,
        "loadavg_start": round(loadavg(), 2),
        "chunk": fused_ce_chunk(args.vocab),
    }
    if args.json:
        print(json.dumps({"env": env}))
    else:
        print(f"# {env}")
        print(f"{'threads':>7s} {'d':>4s} {'plain ms':>9s} {'chunked ms':>11s} {'speed-up':>9s}  max rel. grad diff")
    g = torch.Generator().manual_seed(0)
    for t in threads:
        torch.set_num_threads(t)
        for d in widths:
            h = torch.randn(args.positions, d, generator=g).requires_grad_()
            w = (0.02 * torch.randn(args.vocab, d, generator=g)).requires_grad_()
            y = torch.randint(0, args.vocab, (args.positions,), generator=g)
            plain(h, w, y).backward()
            ref = (h.grad.clone(), w.grad.clone())
            h.grad = w.grad = None
            chunked_linear_cross_entropy(h, w, y).backward()
            diff = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip((h.grad, w.grad), ref))
            times = {"plain": [], "chunked": []}
            ratios = []
            for _ in range(args.rounds):
                r = {}
                for name, fn in (("plain", plain), ("chunked", chunked_linear_cross_entropy)):
                    step(fn, h, w, y)  # warm
                    r[name] = statistics.median(step(fn, h, w, y) for _ in range(args.reps))
                    times[name].append(r[name])
                ratios.append(r["plain"] / r["chunked"])
            row = {
                "threads": t,
                "d": d,
                "positions": args.positions,
                "vocab": args.vocab,
                "plain_ms": round(1e3 * statistics.median(times["plain"]), 1),
                "chunked_ms": round(1e3 * statistics.median(times["chunked"]), 1),
                "speedup": round(statistics.median(ratios), 2),
                "max_rel_grad_diff": diff,
            }
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(
                    f"{t:>7d} {d:>4d} {row['plain_ms']:>9.1f} {row['chunked_ms']:>11.1f} {row['speedup']:>8.2f}x  "
                    f"{diff:.1e}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
