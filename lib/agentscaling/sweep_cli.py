"""Sub-commands of the foundation: studies, sweep, runs, reproduce."""
from __future__ import annotations

import argparse
import json
import sys

from .errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("studies", help="list the studies", description="List the studies and what they reproduce.")
    p.add_argument("--preset", default=None, help="also show each study's sizes and budgets at this preset")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser("sweep", help="train every size of a study (resumable)",
                       description="Train every size of a study once; finished runs are skipped, partial ones "
                                   "resume from their checkpoint.")
    p.add_argument("study", help="study name (see `agentscaling studies`), or several, comma-separated: their runs "
                                 "then share one pool of workers, longest first")
    p.add_argument("--preset", default="cpu", help="smoke, cpu, gpu or paper (default cpu)")
    p.add_argument("--store", default=None, help="run store directory (default runs/<preset>)")
    p.add_argument("--sizes", default=None, help="comma-separated size labels to train (default all; one study only)")
    p.add_argument("--workers", type=int, default=1, help="parallel local worker processes (1 thread each)")
    p.add_argument("--device", default="auto", help="torch device: auto (cuda if available), cpu, cuda")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--dry-run", action="store_true",
                   help="train nothing: print the predicted wall time per size and in total (agentscaling.costmodel; "
                        "the first call on a machine measures a ~1.5 min calibration, cached under data/cache/costmodel)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("runs", help="list runs in a store", description="List the runs of a store.")
    p.add_argument("--store", default=None, help="run store directory (default runs/cpu)")
    p.add_argument("--study", default=None, help="only this study")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per run")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("reproduce", help="execute every notebook into reports/<preset>",
                       description="Batch-execute the notebooks with papermill at a preset and export HTML.")
    p.add_argument("--preset", default="cpu", help="smoke, cpu, gpu or paper (default cpu)")
    p.add_argument("--out", default=None, help="output directory (default reports/<preset>)")
    p.add_argument("--notebooks", default=None, help="comma-separated notebook names (default all)")
    p.set_defaults(func=cmd_reproduce)


def _check_preset(preset: str) -> None:
    from .studies import PRESETS

    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")


def cmd_studies(args) -> int:
    from .studies import get_study, list_studies

    studies = list_studies()
    if args.preset:
        _check_preset(args.preset)
    if args.json:
        out = []
        for name, desc in studies.items():
            item = {"name": name, "description": desc}
            if args.preset:
                s = get_study(name, args.preset)
                item["sizes"] = [{"label": z.label, "N": s.counts(z)["N"], "lr": z.lr, "flops": z.flops,
                                  "steps": s.steps(z)} for z in s.sizes]
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0
    for name, desc in studies.items():
        print(f"{name:32s} {desc}")
        if args.preset:
            s = get_study(name, args.preset)
            for z in s.sizes:
                print(f"    {z.label:>8s}  {z.shape.label:16s} N={s.counts(z)['N']:>11,d}  lr={z.lr:.2e}  "
                      f"C={z.flops:.2e}  steps={s.steps(z)}")
    return 0


def cmd_sweep(args) -> int:
    from .costmodel import run_cost
    from .paths import default_store
    from .studies import get_study
    from .sweep import auto_device, process_executor, sweep_studies

    _check_preset(args.preset)
    names = [n.strip() for n in args.study.split(",") if n.strip()]
    if not names:
        raise UserError("no study named")
    studies = [get_study(n, args.preset) for n in names]
    if args.sizes:
        if len(studies) > 1:
            raise UserError("--sizes applies to one study; name a single study with it")
        studies = [studies[0].with_sizes([s.strip() for s in args.sizes.split(",") if s.strip()])]
    if args.workers < 1:
        raise UserError("--workers must be >= 1")
    store = args.store or str(default_store(args.preset))
    if getattr(args, "dry_run", False):
        from .costmodel import estimate_studies, format_estimate

        ests, wall, left = estimate_studies(studies, workers=args.workers, device=args.device, store=store,
                                            log=lambda m: print(m, file=sys.stderr, flush=True))
        print("\n\n".join(format_estimate(e) for e in ests))
        if len(ests) > 1:
            print(f"\nall {len(ests)} studies in one pool of {args.workers} worker(s), longest runs first: "
                  f"{wall:.0f} s ({wall / 60:.1f} min); remaining: {left:.0f} s ({left / 60:.1f} min)")
        return 0
    executor = process_executor(args.workers) if args.workers > 1 else None
    try:
        results = sweep_studies(studies, store, executor=executor, progress=not args.no_progress, device=args.device,
                                cost=run_cost(threads=1, device=auto_device(args.device)))
    finally:
        if executor is not None:
            executor.shutdown()
    bad = 0
    for r in results:
        note = " (already finished)" if r.get("skipped") else ""
        msg = r.get("message") or ""
        print(f"{r['study']} {r['size']:>8s}: {r['status']}{note} {msg}".rstrip())
        bad += r["status"] == "failed"
    return 1 if bad else 0


def cmd_runs(args) -> int:
    from .paths import default_store
    from .store import run_summaries

    store = args.store or str(default_store("cpu"))
    rows = run_summaries(store, args.study)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print(f"no runs in {store}")
        return 0
    for r in rows:
        loss = f"{r['final_loss']:.4f}" if isinstance(r["final_loss"], float) else "-"
        n = f"{r['N']:,}" if r["N"] else "-"
        print(f"{r['study']:28s} {str(r['size']):>8s} {r['status']:9s} N={n:>12s} loss={loss}  {r['run_id']}")
    return 0


def cmd_reproduce(args) -> int:
    from .notebooks import reproduce

    _check_preset(args.preset)
    out = args.out or f"reports/{args.preset}"
    names = [n.strip() for n in args.notebooks.split(",")] if args.notebooks else None
    records = reproduce(args.preset, out, names)
    failed = [r for r in records if r["status"] != "ok"]
    for r in failed:
        print(f"FAILED {r['notebook']}: {r.get('error')}", file=sys.stderr)
    return 1 if failed else 0
