"""`agentscaling design`: would a study's design identify the exponent? (analysis.design)"""

from __future__ import annotations

import argparse
import json

import pandas as pd

from .. import presets
from ..errors import UserError
from .design import MAX_ABS_BIAS, MIN_COVERAGE, plan_studies
from .fits import FITTERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design",
        help="simulate a study's design on known laws: bias, interval width and coverage of a",
        description="Lay synthetic training curves from laws with a known a on each study's design (its sizes, "
        "inputs, seeds and log points; the law's optimum anywhere in the middle of the ladder), fit them with the "
        f"method, and report the bias, CI half-width and coverage of a. A design is approved when |bias| <= "
        f"{MAX_ABS_BIAS} and coverage >= {MIN_COVERAGE:.0%}.",
    )
    p.add_argument("study", help="study name, or several, comma-separated")
    p.add_argument("--preset", default="cpu", help=f"{', '.join(presets.NAMES)} (default cpu)")
    p.add_argument("--method", default="frontier", help=f"fitting method(s), comma-separated: {', '.join(FITTERS)}")
    p.add_argument("--a", type=float, default=0.5, help="the true exponent of the synthetic laws (default 0.5)")
    p.add_argument("--sims", type=int, default=40, help="simulated sweeps per design (default 40)")
    p.add_argument("--bootstrap", type=int, default=100, help="bootstrap replicates per fit (default 100)")
    p.add_argument("--noise", type=float, default=0.005, help="run-to-run spread of the loss, relative (default 0.005)")
    p.add_argument("--json", action="store_true", help="print one JSON object per row")
    p.set_defaults(func=cmd_design)


def cmd_design(args) -> int:
    names = [n.strip() for n in args.study.split(",") if n.strip()]
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    if not names or not methods:
        raise UserError("name at least one study and one method")
    if args.sims < 2 or args.bootstrap < 20:
        raise UserError("--sims must be >= 2 and --bootstrap >= 20")
    table = plan_studies(
        names,
        presets.get(args.preset),
        methods,
        a=args.a,
        n_sim=args.sims,
        bootstrap=args.bootstrap,
        noise_run=args.noise,
    )
    if args.json:
        for row in table.to_dict("records"):
            print(json.dumps(row, default=float))
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 3):
        print(table.to_string(index=False))
    return 0
