"""How fast are the fits? Times the robust parametric fit (point estimate and 1000 bootstrap
replicates) on Epoch AI's 240 Chinchilla points, plus the other methods on a synthetic sweep.

    .venv/bin/python benchmarks/fit_speed.py            # full table
    .venv/bin/python benchmarks/fit_speed.py --quick    # the headline numbers only (< 1 minute)
    .venv/bin/python benchmarks/fit_speed.py --json     # one JSON object per line

Target: robust parametric fit + 1000 bootstrap replicates <= 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np


def _time(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="headline numbers only (< 1 minute)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--replicates", type=int, default=1000)
    args = ap.parse_args()

    from agentscaling.fit import (
        ParametricLaw,
        chinchilla_points,
        fit_compute_law,
        fit_frontier,
        fit_isoflop,
        fit_parametric,
        fit_parametric_lsq,
        sweep_curves,
    )

    warnings.simplefilter("ignore")
    chin = chinchilla_points()
    K = args.replicates
    rows = []

    def record(name, seconds, fit, **extra):
        row = {"benchmark": name, "seconds": round(seconds, 3), **extra}
        if fit is not None:
            row["converged"] = bool(fit.converged)
            if fit.bootstrap is not None:
                row["replicates"] = fit.bootstrap.replicates
                row["converged_fraction"] = round(fit.bootstrap.converged_fraction, 4)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)

    s, f = _time(lambda: fit_parametric(chin, drop_highest_loss=5, bootstrap=0), repeat=2)
    record("parametric robust, point estimate (4500-start grid, 8 L-BFGS-B starts), 240 pts", s, f, a=round(f.a, 4))
    s, f = _time(lambda: fit_parametric(chin, drop_highest_loss=5, bootstrap=K, n_jobs=1))
    record(f"parametric robust + {K} bootstrap, 1 process", s, f, a_ci=[round(x, 4) for x in f.ci("a")])
    s, f = _time(lambda: fit_parametric(chin, drop_highest_loss=5, bootstrap=K, n_jobs=2))
    record(f"parametric robust + {K} bootstrap, 2 processes", s, f, a_ci=[round(x, 4) for x in f.ci("a")])
    if not args.quick:
        law = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)
        sweep = sweep_curves(law, np.geomspace(1e6, 1e9, 10), points_per_run=40, noise=0.005, seed=0)
        s, f = _time(lambda: fit_parametric_lsq(chin, drop_highest_loss=5, bootstrap=K))
        record(f"parametric lsq (curve_fit) + {K} bootstrap, 240 pts", s, f)
        s, f = _time(lambda: fit_parametric(sweep, bootstrap=K))
        record(f"parametric robust + {K} bootstrap, synthetic sweep 10 runs x 40 pts", s, f)
        s, f = _time(lambda: fit_frontier(sweep, bootstrap=K))
        record(f"frontier (100-point grid) + {K} bootstrap, 10 runs", s, f)
        s, g = _time(lambda: fit_compute_law(f))
        record(f"loss-vs-compute law on the frontier + its {K} replicates", s, g)
        s, f = _time(lambda: fit_isoflop(sweep, bootstrap=K))
        record(f"isoflop law profiles (the default) + {K} bootstrap, 10 runs", s, f)
        s, f = _time(lambda: fit_isoflop(sweep, bootstrap=K, fit="parabola"))
        record(f"isoflop parabola + {K} bootstrap, 10 runs", s, f)
        s, f = _time(lambda: fit_isoflop(sweep, bootstrap=K // 5, fit="akima"))
        record(f"isoflop akima + {K // 5} bootstrap, 10 runs", s, f)

    if not args.json:
        print(
            f"# fit_speed on {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        w = max(len(r["benchmark"]) for r in rows)
        print(f"{'benchmark':<{w}}  {'seconds':>8}  {'converged':>9}  notes")
        for r in rows:
            notes = {k: v for k, v in r.items() if k not in ("benchmark", "seconds", "converged")}
            print(
                f"{r['benchmark']:<{w}}  {r['seconds']:>8.2f}  {str(r.get('converged', '')):>9}  "
                f"{', '.join(f'{k}={v}' for k, v in notes.items())}"
            )


if __name__ == "__main__":
    main()
