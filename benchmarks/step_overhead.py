"""How much of a preset's training time is per-step overhead, and what batching several runs could save.

    .venv/bin/python benchmarks/step_overhead.py                 # the cpu preset, 1-thread workers
    .venv/bin/python benchmarks/step_overhead.py --preset smoke  # any preset
    .venv/bin/python benchmarks/step_overhead.py --json          # one JSON object per line

Small models are overhead-bound: a training step pays a fixed cost (Python, op dispatch, the optimizer
and clipping launches, the batch) whatever the model's size. The cost model measures it: its `step`
coefficient is the intercept of the per-step time regressed on the step's FLOPs and memory traffic
(`agentscaling.sweep.cost`, calibrated once per machine, ~80 s, then cached under data/cache/costmodel).
This script sets that fixed cost against every study's predicted training time, per size and per study,
and finds the runs that could share one batched step (several models trained as one, e.g. with
`torch.func.vmap`): only runs of one step shape and one number of steps can, and batching K of them
saves at most (K - 1) of their K fixed costs. Nothing is trained here (`--quick` is accepted and the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from agentscaling.studies import get_study, list_studies  # noqa: E402
from agentscaling.sweep.calibrate import load_or_calibrate  # noqa: E402
from agentscaling.sweep.cost import TRAIN_FEATURES, spec_for  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1, as sweeps run)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--quick", action="store_true", help="no effect: nothing is trained")
    args = ap.parse_args()

    model = load_or_calibrate(threads=args.threads, log=lambda m: print(m, file=sys.stderr))
    fixed = float(model.train_coef[TRAIN_FEATURES.index("step")])
    rows, groups = [], defaultdict(list)
    for name in list_studies():
        study = get_study(name, args.preset)
        train_s = fixed_s = 0.0
        per_size = []
        for size in study.sizes:
            run = model.predict_run(study, size)
            step_s = run.train_s / run.steps
            train_s += run.train_s
            fixed_s += run.steps * fixed
            per_size.append(
                {
                    "size": size.label,
                    "steps": run.steps,
                    "step_ms": round(step_s * 1e3, 3),
                    "fixed_share": round(fixed / step_s, 4),
                }
            )
            groups[(spec_for(study, size), run.steps)].append((name, size.label))
        rows.append(
            {
                "study": name,
                "train_s": round(train_s, 1),
                "fixed_s": round(fixed_s, 1),
                "fixed_share": round(fixed_s / train_s, 4),
                "sizes": per_size,
            }
        )

    total = sum(r["train_s"] for r in rows)
    total_fixed = sum(r["fixed_s"] for r in rows)
    shared = [(k, v) for k, v in groups.items() if len(v) > 1]
    saving = sum((len(v) - 1) * k[1] * fixed for k, v in shared)
    summary = {
        "preset": args.preset,
        "threads": args.threads,
        "fixed_ms_per_step": round(fixed * 1e3, 3),
        "train_s": round(total, 1),
        "fixed_s": round(total_fixed, 1),
        "fixed_share": round(total_fixed / total, 4) if total else 0.0,
        "batchable_groups": len(shared),
        "batchable_runs": sum(len(v) for _, v in shared),
        "max_batching_saving_s": round(saving, 1),
        "max_batching_saving_share": round(saving / total, 4) if total else 0.0,
    }
    if args.json:
        for r in rows:
            print(json.dumps({"bench": "step_overhead", **r}))
        print(json.dumps({"bench": "step_overhead_summary", **summary}))
        return
    print(
        f"preset {args.preset}, {args.threads} thread(s): fixed cost {fixed * 1e3:.2f} ms per training step "
        f"(cost model `step` coefficient)"
    )
    print(f"{'study':28s} {'train s':>9s} {'fixed s':>8s} {'share':>7s}  fixed share per size")
    for r in rows:
        shares = " ".join(f"{s['fixed_share']:.0%}" for s in r["sizes"])
        print(f"{r['study']:28s} {r['train_s']:9.1f} {r['fixed_s']:8.1f} {r['fixed_share']:7.1%}  {shares}")
    print(f"{'all':28s} {total:9.1f} {total_fixed:8.1f} {summary['fixed_share']:7.1%}")
    print(
        f"runs that could share a batched step (same step shape and steps): {summary['batchable_runs']} "
        f"in {len(shared)} groups; batching each group into one model saves at most {saving:.0f} s of "
        f"serial training ({summary['max_batching_saving_share']:.1%} of all)"
    )


if __name__ == "__main__":
    main()
