"""Extrapolation (paper §4.3, Fig. 9): does one much larger run land where the ladder's frontier and
loss law predict? The paper's procedure on the large run's curve (notebook 05)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..errors import UserError
from .fits import StudyFits, study_points


@dataclass
class ExtrapolationCheck:
    N_x: float  # the extrapolation model's N
    C_end: float  # its final compute
    factor_vs_largest: float  # C_end / the ladder's largest final C
    factor_vs_frontier: float  # C_end / the top of the fitted frontier range
    C_star: float  # the point of its curve whose loss is closest to the extrapolated law
    D_star: float  # = C_star / (6 N_x)
    loss_star: float
    law_star: float
    N_pred: float  # N_opt(C_star) from the frontier line
    D_pred: float  # D_opt(C_star)
    dex_N: float  # log10(N_x / N_pred): + means the run is larger than predicted
    dex_D: float  # log10(D_star / D_pred)
    loss_end: float  # the run's final held-out loss
    law_end: float  # the extrapolated frontier loss at C_end
    loss_error_end: float  # loss_end - law_end (+: worse than predicted)
    rel_loss_error_end: float
    gap_min: float  # loss_star - law_star
    within_fitted_range: bool  # C_star inside the fitted frontier range (then it is not an extrapolation)
    dex_N_lo: float | None = None  # 95 % interval of dex_N over the bootstrap of the frontier line (C* held)
    dex_N_hi: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> pd.DataFrame:
        rows = [
            ("extrapolation model N", f"{self.N_x:,.0f}"),
            (
                "final compute C (× ladder's largest run; × top of fitted frontier range)",
                f"{self.C_end:.3g} (×{self.factor_vs_largest:.1f}; ×{self.factor_vs_frontier:.1f})",
            ),
            ("point closest to the extrapolated loss law: C*", f"{self.C_star:.3g}"),
            (
                "N_opt(C*) predicted vs actual N (dex, 95 % interval)",
                f"{self.N_pred:,.0f} vs {self.N_x:,.0f} ({self.dex_N:+.2f} dex"
                + (f" [{self.dex_N_lo:+.2f}, {self.dex_N_hi:+.2f}])" if self.dex_N_lo is not None else ")"),
            ),
            (
                "D_opt(C*) predicted vs actual D = C*/6N (dex)",
                f"{self.D_pred:.3g} vs {self.D_star:.3g} ({self.dex_D:+.2f} dex)",
            ),
            ("loss at C*: run vs law", f"{self.loss_star:.4f} vs {self.law_star:.4f} ({self.gap_min:+.4f})"),
            (
                "loss at the final C: run vs law",
                f"{self.loss_end:.4f} vs {self.law_end:.4f} "
                f"({self.loss_error_end:+.4f}, {100 * self.rel_loss_error_end:+.1f} %)",
            ),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value"])


def _interp_loglog(C: np.ndarray, L: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.exp(np.interp(np.log(grid), np.log(C), np.log(L)))


def extrapolation_check(
    C: Sequence[float],
    loss: Sequence[float],
    N_x: float,
    n_opt,
    d_opt,
    law,
    c_fit_range: tuple[float, float],
    C_largest: float,
    n_grid: int = 400,
) -> ExtrapolationCheck:
    """The paper's procedure on one curve (C, loss) of a model of N_x parameters: on a fine log grid
    beyond the fitted range (the whole curve if it does not reach past it), find C* where the curve's
    loss is closest to the extrapolated law `law(C)`; compare N_x and D* = C*/(6 N_x) with the
    predicted N_opt(C*), D_opt(C*) (dex = log10 ratio), and the final loss with law(C_end)."""
    C = np.asarray(C, float)
    L = np.asarray(loss, float)
    ok = np.isfinite(C) & np.isfinite(L) & (C > 0) & (L > 0)
    C, L = C[ok], L[ok]
    order = np.argsort(C)
    C, L = C[order], L[order]
    if len(C) < 2:
        raise UserError("the extrapolation run needs at least two logged points")
    lo = max(C[0], c_fit_range[1]) if C[-1] > c_fit_range[1] else C[0]
    grid = np.geomspace(lo, C[-1], n_grid)
    Lg = _interp_loglog(C, L, grid)
    Pg = np.asarray(law(grid), float)
    i = int(np.argmin(np.abs(Lg - Pg)))
    Cs, Ls, Ps = float(grid[i]), float(Lg[i]), float(Pg[i])
    Ds = Cs / (6.0 * N_x)
    Np, Dp = float(n_opt(Cs)), float(d_opt(Cs))
    law_end = float(law(C[-1]))
    return ExtrapolationCheck(
        N_x=float(N_x),
        C_end=float(C[-1]),
        factor_vs_largest=float(C[-1] / C_largest),
        factor_vs_frontier=float(C[-1] / c_fit_range[1]),
        C_star=Cs,
        D_star=Ds,
        loss_star=Ls,
        law_star=Ps,
        N_pred=Np,
        D_pred=Dp,
        dex_N=float(np.log10(N_x / Np)),
        dex_D=float(np.log10(Ds / Dp)),
        loss_end=float(L[-1]),
        law_end=law_end,
        loss_error_end=float(L[-1] - law_end),
        rel_loss_error_end=float((L[-1] - law_end) / law_end),
        gap_min=Ls - Ps,
        within_fitted_range=bool(Cs <= c_fit_range[1]),
    )


def extrapolation_points(store, preset: str | presets.Preset, name: str = "wm-extrapolation") -> pd.DataFrame:
    """The extrapolation run's logged points."""
    return study_points(store, name, preset)


def check_extrapolation(base: StudyFits, run_points: pd.DataFrame) -> ExtrapolationCheck:
    """extrapolation_check with the base study's frontier fit and loss-vs-compute law."""
    if "frontier" not in base.fits or base.compute_law is None:
        raise UserError(
            f"{base.study} has no frontier fit and loss law to extrapolate "
            f"({base.errors.get('frontier') or base.errors.get('compute-law')})"
        )
    f = base.fits["frontier"]
    largest = float(base.points.groupby("run_id")["C"].max().max())
    N_x = float(run_points["N"].iloc[0])
    check = extrapolation_check(
        run_points["C"], run_points["loss"], N_x, f.n_opt, f.d_opt, base.compute_law.loss, f.c_range, largest
    )
    if f.bootstrap is not None:
        a = np.asarray(f.bootstrap.samples["a"], float)
        a0 = np.asarray(f.bootstrap.samples["a0"], float)
        ok = np.isfinite(a) & np.isfinite(a0) & (a0 > 0)
        if ok.sum() >= 10:
            dex = np.log10(N_x / (a0[ok] * check.C_star ** a[ok]))
            check.dex_N_lo, check.dex_N_hi = (float(v) for v in np.percentile(dex, (2.5, 97.5)))
    return check
