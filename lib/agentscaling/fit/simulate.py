"""How well each isoFLOP profile estimator recovers a known exponent: bias, spread and bootstrap
coverage of a over many noisy synthetic sweeps (the study that chose fit_isoflop's default; its
table is in docs/fitting.md, and a small version runs in the tests).

A design is a known law L = E + A/N^alpha + B/D^beta, a compute convention, budgets and a grid of
sizes: per budget, `width` decades centred on the true N_opt (or `offset` decades off it), or the
same sizes at every budget ("fixed": the optimum travels across the grid from `margin` decades above
the smallest size to `margin` below the largest, so most profiles are lopsided). Each seed draws
multiplicative noise exp(noise * eps) on every loss, fits every estimator with a bootstrap, and
records a - a_true and whether the percentile interval contains a_true. The true a is
beta / (alpha + gamma beta) (law.py).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import UserError
from .bootstrap import map_chunks
from .common import FitWarning
from .data import Columns
from .isoflop import DEFAULT_FIT, fit_isoflop
from .law import SIX_ND, ComputeConvention, ParametricLaw
from .synthetic import isoflop_design

#: The two shapes of the study: the N term steeper than the D term and the reverse (alpha != beta).
LAW_A_HIGH = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.28, beta=0.45)  # a = 0.616
LAW_A_LOW = ParametricLaw(E=1.7, A=1200.0, B=400.0, alpha=0.45, beta=0.28)  # a = 0.384
#: FLOPs per sample growing as N^0.8 (a CNN counted layer by layer), for the convention rows.
CNN_CONVENTION = ComputeConvention(c=600.0, gamma=0.8)


@dataclass(frozen=True)
class IsoflopDesign:
    """One synthetic isoFLOP design (see module doc)."""

    name: str
    law: ParametricLaw
    width: float  # decades of N sampled at each budget
    placement: str = "centred"  # "centred", "offset" or "fixed"
    offset: float = 0.0  # decades (placement "offset")
    margin: float = 0.25  # decades (placement "fixed")
    n_sizes: int = 9
    n_budgets: int = 7
    c_range: tuple[float, float] = (1e17, 1e20)  # budgets for "centred"/"offset"
    convention: ComputeConvention = SIX_ND
    noise: float = 0.005

    @property
    def a_true(self) -> float:
        return self.law.allocation_exponents(self.convention)[0]

    def budgets(self) -> np.ndarray:
        if self.placement != "fixed":
            return np.geomspace(*self.c_range, self.n_budgets)
        lo, hi = self._sizes_range()
        # budgets whose true optimum runs from lo + margin to hi - margin (decades)
        n_targets = 10 ** np.linspace(lo + self.margin, hi - self.margin, self.n_budgets)
        k = float(self.law.n_opt(1.0, self.convention))
        return (n_targets / k) ** (1.0 / self.a_true)

    def _sizes_range(self) -> tuple[float, float]:
        mid = np.log10(float(self.law.n_opt(np.sqrt(np.prod(self.c_range)), self.convention)))
        return mid - self.width / 2, mid + self.width / 2

    def sample(self, seed: int) -> pd.DataFrame:
        if self.placement not in ("centred", "offset", "fixed"):
            raise UserError(f"placement must be 'centred', 'offset' or 'fixed'; got {self.placement!r}")
        kw: dict = dict(convention=self.convention, noise=self.noise, seed=seed)
        if self.placement == "fixed":
            lo, hi = self._sizes_range()
            kw.update(sizes=np.logspace(lo, hi, self.n_sizes), runs="size")
        else:
            off = 10 ** (self.offset if self.placement == "offset" else 0.0)
            kw.update(sizes_per_budget=self.n_sizes, span=10**self.width, offset=off)
        return isoflop_design(self.law, self.budgets(), **kw)


def standard_designs() -> list[IsoflopDesign]:
    """The study's designs: both laws x grids 1, 2, 3 decades wide x centred, 0.5 decade above,
    0.5 decade below, and fixed sizes (12, lopsided); plus fixed sizes under FLOPs per sample ∝ N^0.8."""
    out = []
    for tag, law in (("a=0.62", LAW_A_HIGH), ("a=0.38", LAW_A_LOW)):
        for w in (1.0, 2.0, 3.0):
            out.append(IsoflopDesign(f"{tag} {w:g}dec centred", law, w))
            out.append(IsoflopDesign(f"{tag} {w:g}dec +0.5", law, w, "offset", offset=0.5))
            out.append(IsoflopDesign(f"{tag} {w:g}dec -0.5", law, w, "offset", offset=-0.5))
            out.append(IsoflopDesign(f"{tag} {w:g}dec fixed", law, w, "fixed", n_sizes=12))
    for tag, law in (("a=0.62", LAW_A_HIGH), ("a=0.38", LAW_A_LOW)):
        out.append(IsoflopDesign(f"{tag} 3dec fixed N^0.8", law, 3.0, "fixed", n_sizes=12, convention=CNN_CONVENTION))
    return out


@dataclass(frozen=True)
class _Job:
    design: IsoflopDesign
    seeds: tuple[int, ...]
    fits: tuple[str, ...]
    bootstrap: int
    ci_level: float = 0.95
    columns: Columns = field(default_factory=lambda: Columns(budget="budget"))


def _run_job(job: _Job) -> list[dict]:
    rows = []
    a_true = job.design.a_true
    for seed in job.seeds:
        df = job.design.sample(seed)
        for fit in job.fits:
            row = {"design": job.design.name, "fit": fit, "seed": seed, "a_true": a_true}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FitWarning)
                    r = fit_isoflop(df, job.columns, fit=fit, bootstrap=job.bootstrap, ci_level=job.ci_level, seed=seed)
            except UserError as e:
                rows.append(row | {"error": str(e)})
                continue
            lo, hi = r.ci("a")
            rows.append(
                row
                | {
                    "a": r.a,
                    "err": r.a - a_true,
                    "lo": lo,
                    "hi": hi,
                    "covered": bool(lo is not None and np.isfinite(lo) and lo <= a_true <= hi),
                    "budgets_used": int(r.profiles["used"].sum()),
                    "unbracketed": r.n_unbracketed,
                }
            )
    return rows


def isoflop_bias_study(
    designs: Sequence[IsoflopDesign] | None = None,
    *,
    fits: Sequence[str] = (DEFAULT_FIT, "parabola"),
    seeds: int = 50,
    bootstrap: int = 200,
    ci_level: float = 0.95,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every design x seed with each estimator. Returns (summary, per-fit rows): the summary has
    per design and estimator the true a, the fits that succeeded, bias (mean a - a_true), RMSE,
    coverage of the `ci_level` interval (fraction of successful fits whose interval holds a_true),
    median interval width, mean budgets used and mean unbracketed budgets, and the run time."""
    designs = list(designs) if designs is not None else standard_designs()
    jobs = [_Job(d, tuple(range(seeds)), tuple(fits), bootstrap, ci_level) for d in designs]
    t0 = time.perf_counter()
    rows = [r for out in map_chunks(_run_job, jobs, n_jobs) for r in out]
    elapsed = time.perf_counter() - t0
    per_fit = pd.DataFrame(rows)
    if "error" not in per_fit:
        per_fit["error"] = np.nan
    summary = summarise(per_fit)
    summary.attrs["seconds"] = elapsed
    return summary, per_fit


def summarise(per_fit: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (design, fit), g in per_fit.groupby(["design", "fit"], sort=False):
        ok = g.loc[g["error"].isna()] if "error" in g else g
        width = (ok["hi"] - ok["lo"]).median() if len(ok) else np.nan
        out.append(
            {
                "design": design,
                "fit": fit,
                "a_true": float(g["a_true"].iloc[0]),
                "n_fits": len(g),
                "n_ok": len(ok),
                "bias": float(ok["err"].mean()) if len(ok) else np.nan,
                "rmse": float(np.sqrt((ok["err"] ** 2).mean())) if len(ok) else np.nan,
                "coverage": float(ok["covered"].mean()) if len(ok) else np.nan,
                "ci_width": float(width),
                "budgets_used": float(ok["budgets_used"].mean()) if len(ok) else np.nan,
                "unbracketed": float(ok["unbracketed"].mean()) if len(ok) else np.nan,
            }
        )
    return pd.DataFrame(out)
