"""Sub-commands of the sweep layer: studies, sweep, runs, cost."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from .. import presets
from ..errors import UserError
from ..executors import add_dask_arguments, dask_cluster, resolve_device, worker_pool
from ..paths import default_store
from ..prepare import prepare_studies
from ..store import run_summaries
from ..studies import get_study, list_studies
from .calibrate import (
    DEFAULT_GRID,
    QUICK_GRID,
    compare_with_store,
    estimate_studies,
    load_or_calibrate,
    run_cost,
    validate,
)
from .core import sweep_studies
from .cost import format_estimate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("studies", help="list the studies", description="List the studies and what they reproduce.")
    p.add_argument("--preset", default=None, help="also show each study's sizes and budgets at this preset")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser(
        "sweep",
        help="train every size of a study (resumable)",
        description="Prepare a study's data (arena data, tokenizers, token caches: made once), then "
        "train every size once; finished runs are skipped, partial ones resume from their "
        "checkpoint.",
    )
    p.add_argument(
        "study",
        help="study name (see `agentscaling studies`), or several, comma-separated: their runs "
        "then share one pool of workers, longest first",
    )
    p.add_argument("--preset", default="cpu", help=f"{', '.join(presets.NAMES)} (default cpu)")
    p.add_argument("--store", default=None, help="run store directory (default runs/<preset>)")
    p.add_argument("--sizes", default=None, help="comma-separated size labels to train (default all; one study only)")
    p.add_argument("--workers", type=int, default=1, help="parallel local worker processes (1 thread each)")
    p.add_argument(
        "--device", default=None, help="torch device: auto (cuda if available), cpu, cuda (default: the preset's)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_dask_arguments(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="train nothing: print the predicted wall time per size and in total (the cost model; the "
        "first call on a machine measures a ~1.5 min calibration, cached under data/cache/costmodel)",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("runs", help="list runs in a store", description="List the runs of a store.")
    p.add_argument("--store", default=None, help="run store directory (default runs/cpu)")
    p.add_argument("--study", default=None, help="only this study")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per run")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser(
        "cost",
        help="calibrate the cost model, or compare it with finished runs",
        description="The cost model behind `sweep --dry-run`: calibrate it on this machine, set it "
        "beside a store's finished runs, or train a study here to validate it.",
    )
    csub = p.add_subparsers(dest="cost_command", metavar="ACTION")
    csub.required = True
    c = csub.add_parser("calibrate", help="measure (or show the cached) calibration")
    c.add_argument("--threads", type=int, default=None, help="torch threads (default torch's current)")
    c.add_argument("--device", default="cpu")
    c.add_argument("--force", action="store_true", help="re-measure even if cached")
    c.add_argument("--quick", action="store_true", help="a 6-point grid (seconds; less accurate)")
    c.set_defaults(func=cmd_calibrate)
    m = csub.add_parser("compare", help="predicted vs measured wall time of a study's finished runs")
    m.add_argument("study")
    m.add_argument("--preset", default="cpu")
    m.add_argument("--store", default=None, help="run store (default runs/<preset>)")
    m.add_argument("--threads", type=int, default=None, help="threads the runs used (default torch's current)")
    m.set_defaults(func=cmd_compare)
    v = csub.add_parser("validate", help="train a study's sizes here and compare measured with predicted time")
    v.add_argument("study")
    v.add_argument("--preset", default="cpu")
    v.add_argument("--sizes", default=None, help="comma-separated size labels (default all)")
    v.add_argument("--threads", type=int, default=1, help="torch threads for the runs and the calibration (default 1)")
    v.add_argument("--store", default=None, help="run store (default: a fresh temporary directory)")
    v.set_defaults(func=cmd_validate)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_studies(args) -> int:
    studies = list_studies()
    preset = presets.get(args.preset) if args.preset else None
    if args.json:
        out = []
        for name, desc in studies.items():
            item = {"name": name, "description": desc}
            if preset:
                s = get_study(name, preset)
                item["sizes"] = [
                    {"label": z.label, "N": s.counts(z)["N"], "lr": z.lr, "flops": z.flops, "steps": s.steps(z)}
                    for z in s.sizes
                ]
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0
    for name, desc in studies.items():
        print(f"{name:32s} {desc}")
        if preset:
            s = get_study(name, preset)
            for z in s.sizes:
                print(
                    f"    {z.label:>8s}  {z.shape.label:16s} N={s.counts(z)['N']:>11,d}  lr={z.lr:.2e}  "
                    f"C={z.flops:.2e}  steps={s.steps(z)}"
                )
    return 0


def cmd_sweep(args) -> int:
    preset = presets.get(args.preset)
    names = [n.strip() for n in args.study.split(",") if n.strip()]
    if not names:
        raise UserError("no study named")
    studies = [get_study(n, preset) for n in names]
    if args.sizes:
        if len(studies) > 1:
            raise UserError("--sizes applies to one study; name a single study with it")
        studies = [studies[0].with_sizes([s.strip() for s in args.sizes.split(",") if s.strip()])]
    if args.workers < 1:
        raise UserError("--workers must be >= 1")
    device = resolve_device(args.device or preset.device)
    store = args.store or str(default_store(preset.name))
    if args.dry_run:
        ests, wall, left = estimate_studies(studies, workers=args.workers, device=device, store=store, log=_log)
        print("\n\n".join(format_estimate(e) for e in ests))
        if len(ests) > 1:
            print(
                f"\nall {len(ests)} studies in one pool of {args.workers} worker(s), longest runs first: "
                f"{wall:.0f} s ({wall / 60:.1f} min); remaining: {left:.0f} s ({left / 60:.1f} min)"
            )
        return 0
    with dask_cluster(args.scheduler, args.dask_local) as address:
        if address:
            _log(f"runs go to the Dask scheduler at {address}")
        return _sweep(studies, preset, store, device, args)


def _sweep(studies, preset, store, device, args) -> int:
    prepared = prepare_studies(studies, workers=preset.data.workers, progress=not args.no_progress)
    with worker_pool(args.workers) as executor:
        results = sweep_studies(
            studies,
            store,
            executor=executor,
            progress=not args.no_progress,
            device=device,
            cost=run_cost(threads=1, device=device),
            prepared=prepared,
        )
    bad = 0
    for r in results:
        note = " (already finished)" if r.get("skipped") else ""
        msg = r.get("message") or ""
        print(f"{r['study']} {r['size']:>8s}: {r['status']}{note} {msg}".rstrip())
        bad += r["status"] == "failed"
    return 1 if bad else 0


def cmd_runs(args) -> int:
    store = Path(args.store) if args.store else default_store("cpu")
    if not store.is_dir():
        raise UserError(f"no run store at {store}" + ("" if args.store else " (name one with --store)"))
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


def cmd_calibrate(args) -> int:
    grid = QUICK_GRID if args.quick else DEFAULT_GRID
    model = load_or_calibrate(threads=args.threads, device=args.device, recalibrate=args.force, grid=grid, log=_log)
    print(json.dumps({k: v for k, v in model.to_json().items() if k != "meta"}, indent=2))
    for k in ("loo_rel_err_train", "loo_rel_err_eval"):
        if k in model.meta:
            e = np.abs(model.meta[k])
            print(f"{k}: median {np.median(e):.1%}, max {e.max():.1%}")
    return 0


def cmd_compare(args) -> int:
    study = get_study(args.study, args.preset)
    store = args.store or str(default_store(args.preset))
    model = load_or_calibrate(threads=args.threads, log=_log)
    rows = compare_with_store(study, store, model)
    print(f"{'size':>9s} {'status':>9s} {'predicted s':>12s} {'measured s':>11s} {'pred/meas':>9s}")
    for r in rows:
        meas = f"{r['measured_s']:.1f}" if r["measured_s"] else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
        print(f"{r['size']:>9s} {r['status']:>9s} {r['predicted_s']:>12.1f} {meas:>11s} {ratio:>9s}")
    done = [r for r in rows if r["measured_s"]]
    if done:
        p, m = sum(r["predicted_s"] for r in done), sum(r["measured_s"] for r in done)
        print(f"{'total':>9s} {'':>9s} {p:>12.1f} {m:>11.1f} {p / m:>9.2f}")
    return 0


def cmd_validate(args) -> int:
    study = get_study(args.study, args.preset)
    if args.sizes:
        study = study.with_sizes([x.strip() for x in args.sizes.split(",") if x.strip()])
    torch.set_num_threads(args.threads)
    model = load_or_calibrate(threads=args.threads, log=_log)
    with tempfile.TemporaryDirectory(prefix="costmodel-validate-") as tmp:
        rows = validate(study, model, args.store or tmp, log=_log)
    clock = "cpu_s" if args.threads == 1 else "wall_s"
    print(f"{'size':>9s} {'predicted s':>12s} {'wall s':>9s} {'CPU s':>9s} {'pred/' + clock[:-2]:>10s}")
    for r in rows:
        print(
            f"{r['size']:>9s} {r['predicted_s']:>12.1f} {r['wall_s']:>9.1f} {r['cpu_s']:>9.1f} "
            f"{r['predicted_s'] / r[clock]:>10.2f}"
        )
    p, m = sum(r["predicted_s"] for r in rows), sum(r[clock] for r in rows)
    print(
        f"{'total':>9s} {p:>12.1f} {sum(r['wall_s'] for r in rows):>9.1f} "
        f"{sum(r['cpu_s'] for r in rows):>9.1f} {p / m:>10.2f}"
    )
    return 0
