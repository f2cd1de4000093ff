"""Pilot behind docs/studies.md, "Why BC-CNN's a is not trustworthy at cpu": does BC-CNN's loss depend on
the transformer's size with a bigger CNN or a larger learning rate? Trains a small and a large transformer
for each variant at the `cpu` preset's budget (450k frames), in one pool of 2 one-thread workers (~9 min).

    .venv/bin/python scripts/bccnn_pilot.py [FRAMES] [VARIANT,VARIANT,...] [--store DIR]

Runs are stored like any sweep's (default runs/pilot-bccnn; finished runs are reused).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from agentscaling.model.ladder import ModelShape  # noqa: E402
from agentscaling.studies import get_study  # noqa: E402
from agentscaling.studies.agents import _bccnn_shape, _label, bccnn_lr_rule  # noqa: E402
from agentscaling.studies.base import SizeSpec  # noqa: E402
from agentscaling.sweep import process_executor, sweep_studies  # noqa: E402
from agentscaling.tasks.bccnn import bccnn_counts  # noqa: E402

SMALL_CNN = {"frame_size": 32, "cnn_channels": (8, 16, 16), "cnn_res_blocks": 1, "cnn_out_dim": 64}
BIG_CNN = {"frame_size": 32, "cnn_channels": (16, 32, 32), "cnn_res_blocks": 1, "cnn_out_dim": 256}
VARIANTS = {  # name -> (CNN options, multiplier of the BC-CNN learning-rate rule)
    "preset": (SMALL_CNN, 1.0),
    "lr3": (SMALL_CNN, 3.0),
    "big-cnn": (BIG_CNN, 1.0),
    "big-cnn-lr3": (BIG_CNN, 3.0),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("frames", nargs="?", type=float, default=4.5e5, help="frames per run (default 450k)")
    ap.add_argument("variants", nargs="?", default=",".join(VARIANTS), help=f"comma-separated of {list(VARIANTS)}")
    ap.add_argument("--store", default="runs/pilot-bccnn")
    args = ap.parse_args()
    base = get_study("bc-cnn", "cpu")
    studies = []
    for v in args.variants.split(","):
        opts, lr_mult = VARIANTS[v]
        proto = replace(base, name=f"pilot-bccnn-{v}", task_options=dict(opts), sizes=())
        n_cnn = bccnn_counts(proto, SizeSpec("probe", ModelShape(1, 1, 8), 1e-3, 1.0))["N_cnn"]
        sizes = []
        for target in (n_cnn + 2e4, n_cnn + 4.5e5):   # a small and a large transformer on the same CNN
            shape = _bccnn_shape(target, n_cnn, base.context)
            n = bccnn_counts(proto, SizeSpec("x", shape, 1e-3, 1.0))["N"]
            sizes.append(SizeSpec(_label(n), shape, lr_mult * bccnn_lr_rule(n), 6.0 * n * args.frames))
        studies.append(replace(proto, sizes=tuple(sizes)))
    t0 = time.time()
    ex = process_executor(2)
    try:
        results = sweep_studies(studies, args.store, executor=ex, cost=lambda st, z: z.flops)
    finally:
        ex.shutdown()
    for r in results:
        print(f"{r['study']:28s} {r['size']:>8s} {r['status']:8s} final loss {r.get('final_loss', float('nan')):.4f}")
    print(f"wall {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
