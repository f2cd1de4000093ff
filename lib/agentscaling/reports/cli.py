"""`agentscaling reproduce`: execute every notebook at a preset into reports/<preset>."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import presets
from ..executors import add_dask_arguments, dask_cluster
from ..paths import PROJECT_ROOT
from .index import quote_in_readme
from .runner import reproduce


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="execute every notebook into reports/<preset>",
        description="Batch-execute the notebooks with papermill at a preset and export HTML.",
    )
    p.add_argument("--preset", default="cpu", help=f"{', '.join(presets.NAMES)} (default cpu)")
    p.add_argument("--out", default=None, help="output directory (default reports/<preset>)")
    p.add_argument("--notebooks", default=None, help="comma-separated notebook names (default all)")
    add_dask_arguments(p)
    p.set_defaults(func=cmd_reproduce)

    r = sub.add_parser(
        "readme",
        help="copy reports/<preset>/summary.md into README.md's generated block",
        description="Replace README.md's generated results block with a report's summary.md and wall time.",
    )
    r.add_argument("--preset", default="cpu", help=f"{', '.join(presets.NAMES)} (default cpu)")
    r.add_argument("--report", default=None, help="report directory (default reports/<preset>)")
    r.add_argument("--readme", default=None, help="the README to edit (default the project's README.md)")
    r.set_defaults(func=cmd_readme)


def cmd_reproduce(args) -> int:
    preset = presets.get(args.preset)
    out = args.out or f"reports/{preset.name}"
    names = [n.strip() for n in args.notebooks.split(",")] if args.notebooks else None
    with dask_cluster(args.scheduler, args.dask_local) as address:
        if address:
            print(f"[reproduce] the notebooks' runs go to the Dask scheduler at {address}", flush=True)
        records = reproduce(preset.name, out, names)
    failed = [r for r in records if r["status"] != "ok"]
    for r in failed:
        print(f"FAILED {r['notebook']}: {r.get('error')}", file=sys.stderr)
    return 1 if failed else 0


def cmd_readme(args) -> int:
    preset = presets.get(args.preset)
    report = Path(args.report) if args.report else PROJECT_ROOT / "reports" / preset.name
    readme = Path(args.readme) if args.readme else PROJECT_ROOT / "README.md"
    quote_in_readme(readme, report)
    print(f"{readme}: results block replaced from {report / 'summary.md'}")
    return 0
