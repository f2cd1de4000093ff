"""`agentscaling fit CSV --method ...`: fit a scaling law to a table of logged points."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import pandas as pd

from ..errors import UserError
from .common import FitWarning, jsonable
from .compute_law import fit_compute_law
from .data import DEFAULT_RUN_COL, DEFAULT_SEED_COL, Columns
from .frontier import fit_frontier
from .isoflop import DEFAULT_FIT, FITS, fit_isoflop
from .parametric import fit_parametric, fit_parametric_lsq

METHODS = ("frontier", "parametric", "parametric-lsq", "isoflop")
BUDGET_SOURCES = {
    "column": "the budget column",
    "given": "the budgets given",
    "clustered": "the C values, grouped",
    "grid": "a grid over the curves",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit",
        help="fit a scaling law (frontier, parametric, isoFLOP) to a CSV of logged points",
        description="Fit a scaling law to a table with one row per logged point (run, N, D, C, loss). "
        "D missing: derived as C/(6N); C missing: 6ND; both given: C is taken as given (any FLOP convention). "
        "Prints every coefficient with its bootstrap CI, the convergence flag, boundary flags and warnings.",
    )
    p.add_argument("csv", help="CSV (or .parquet) file of logged points")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="parametric",
        help="frontier: Approach 1 (+ loss-vs-compute law); parametric: robust Huber/LSE fit "
        "(Chinchilla/Epoch); parametric-lsq: the paper's curve_fit; isoflop: Approach 2",
    )
    p.add_argument("--n-col", default="N", help="parameters column (default N)")
    p.add_argument("--d-col", default="D", help="tokens column (default D)")
    p.add_argument("--c-col", default="C", help="compute column (default C)")
    p.add_argument("--loss-col", default="loss", help="loss column (default loss)")
    p.add_argument(
        "--run-col",
        default=None,
        help="run id column (default run_id if present; otherwise each point is a run for parametric "
        "fits and each distinct N is a run for frontier/isoflop)",
    )
    p.add_argument(
        "--seed-col",
        default=None,
        metavar="NAME",
        help="training-seed column (default seed if present): when every size has runs with >= 2 distinct "
        "seeds, the bootstrap resamples seeds within sizes",
    )
    p.add_argument(
        "--budget-col",
        default=None,
        metavar="NAME",
        help="isoflop: column with each row's nominal FLOP budget (rows are grouped by it; runs stay the "
        "bootstrap unit)",
    )
    p.add_argument("--bootstrap", type=int, default=1000, metavar="K", help="bootstrap replicates over runs (0: none)")
    p.add_argument("--drop-highest-loss", type=int, default=0, metavar="K", help="drop the K highest-loss points first")
    p.add_argument(
        "--c-min",
        type=float,
        default=None,
        metavar="X",
        help="frontier: grid start; isoflop: keep budgets >= X (never re-gridded); parametric: drop points with C < X",
    )
    p.add_argument(
        "--c-max",
        type=float,
        default=None,
        metavar="Y",
        help="frontier: grid end; isoflop: keep budgets <= Y (never re-gridded); parametric: drop points with C > Y",
    )
    p.add_argument(
        "--grid-range",
        choices=("bracketed", "overlap"),
        default="bracketed",
        help="frontier grid when --c-min/--c-max are not given (default bracketed)",
    )
    p.add_argument(
        "--isoflop-fit",
        choices=FITS,
        default=DEFAULT_FIT,
        help="isoflop profile: law (default; the loss law's profile, exponents shared across budgets), parabola "
        "(Chinchilla's, biased on wide lopsided profiles), akima (Porian et al.)",
    )
    p.add_argument(
        "--unbracketed",
        choices=("exclude", "keep"),
        default=None,
        help="isoflop budgets whose lowest loss is at the smallest or largest size (default: exclude; keep for "
        "parabola)",
    )
    p.add_argument("--e-min", type=float, default=0.1, help="frontier loss-vs-compute law: lower bound on E")
    p.add_argument("--ci-level", type=float, default=0.95, help="CI level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--jobs", type=int, default=1, help="processes for the parametric bootstrap")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_fit)


def _read_table(path: str):
    p = Path(path)
    if not p.exists():
        raise UserError(f"file {p} not found")
    try:
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except Exception as e:  # pandas raises many types for malformed files
        raise UserError(f"could not read {p}: {e}") from None


def fit_table(df, args: argparse.Namespace) -> dict:
    """Run the chosen fit on a DataFrame and return its JSON-able result."""
    if args.bootstrap < 0:
        raise UserError("--bootstrap must be >= 0")
    if not 0 < args.ci_level < 1:
        raise UserError("--ci-level must be in (0, 1)")
    cols = Columns(
        run=args.run_col or DEFAULT_RUN_COL,
        N=args.n_col,
        D=args.d_col,
        C=args.c_col,
        loss=args.loss_col,
        budget=args.budget_col,
        seed=args.seed_col or DEFAULT_SEED_COL,
    )
    if args.budget_col is not None and args.method != "isoflop":
        raise UserError("--budget-col applies to --method isoflop only")
    common = dict(
        bootstrap=args.bootstrap, ci_level=args.ci_level, seed=args.seed, drop_highest_loss=args.drop_highest_loss
    )
    if args.method == "parametric":
        res = fit_parametric(df, cols, c_range=(args.c_min, args.c_max), n_jobs=args.jobs, **common)
        return res.to_dict()
    if args.method == "parametric-lsq":
        res = fit_parametric_lsq(df, cols, c_range=(args.c_min, args.c_max), n_jobs=args.jobs, **common)
        return res.to_dict()
    if args.method == "frontier":
        res = fit_frontier(df, cols, c_min=args.c_min, c_max=args.c_max, grid_range=args.grid_range, **common)
        out = res.to_dict()
        try:
            out["compute_law"] = fit_compute_law(res, e_min=args.e_min).to_dict()
        except UserError as e:
            out["compute_law"] = {"error": str(e)}
        return out
    res = fit_isoflop(
        df, cols, c_min=args.c_min, c_max=args.c_max, fit=args.isoflop_fit, unbracketed=args.unbracketed, **common
    )
    return res.to_dict()


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.6g}"


def format_result(d: dict) -> str:
    lines = [f"method: {d['method']}   converged: {d['converged']}"]
    boot = d.get("bootstrap")
    if boot:
        lines.append(
            f"bootstrap: {boot['replicates']} replicates over {boot['n_units']} {boot['unit']}s, "
            f"converged {boot['converged_fraction']:.1%}, valid {boot['valid_fraction']:.1%}"
        )
    lvl = f"{int(round(100 * boot['ci_level']))}% CI" if boot else "CI"
    lines.append(f"{'coefficient':<14}{'value':>14}{lvl + ' lo':>14}{lvl + ' hi':>14}")
    for name, c in d["coefficients"].items():
        lines.append(f"{name:<14}{_fmt(c['value']):>14}{_fmt(c['ci_lo']):>14}{_fmt(c['ci_hi']):>14}")
    if d.get("method") == "isoflop":
        source = BUDGET_SOURCES.get(d["budget_source"], d["budget_source"])
        lines.append(
            f"isoflop ({d['fit']}): {d['n_budgets_used']} of {d['n_budgets']} budgets used (budgets from {source}); "
            f"{d['n_unbracketed']} unbracketed ({'kept' if d['unbracketed'] == 'keep' else 'excluded'}), "
            f"{d['n_budgets_filtered']} outside c_min/c_max"
        )
    if d.get("at_bounds"):
        lines.append(f"boundary fit: {', '.join(d['at_bounds'])} at a bound (not usable for a verdict)")
    if "compute_law" in d and "coefficients" in d["compute_law"]:
        lines.append("loss-vs-compute law L = E + c0 C^-c on the frontier:")
        for name, c in d["compute_law"]["coefficients"].items():
            lines.append(f"  {name:<12}{_fmt(c['value']):>14}{_fmt(c['ci_lo']):>14}{_fmt(c['ci_hi']):>14}")
    ws = list(d.get("warnings", [])) + list(d.get("compute_law", {}).get("warnings", []))
    for w in ws:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def run_fit(args: argparse.Namespace) -> int:
    df = _read_table(args.csv)
    with warnings.catch_warnings():
        # Warnings are part of the result (printed below / in the JSON), not Python tracebacks.
        warnings.simplefilter("ignore", FitWarning)
        out = fit_table(df, args)
    if args.json:
        print(json.dumps(jsonable(out), allow_nan=False))
    else:
        print(format_result(out))
    if not out.get("converged", True):
        print("agentscaling: warning: the fit did not converge", file=sys.stderr)
    return 0
