"""`agentscaling reproduce`: execute every notebook at a preset into reports/<preset>."""

from __future__ import annotations

import argparse
import sys

from .. import presets
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
    p.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args) -> int:
    preset = presets.get(args.preset)
    out = args.out or f"reports/{preset.name}"
    names = [n.strip() for n in args.notebooks.split(",")] if args.notebooks else None
    records = reproduce(preset.name, out, names)
    failed = [r for r in records if r["status"] != "ok"]
    for r in failed:
        print(f"FAILED {r['notebook']}: {r.get('error')}", file=sys.stderr)
    return 1 if failed else 0
