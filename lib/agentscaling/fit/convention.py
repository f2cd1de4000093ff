"""Which compute convention the data follows: is C = 6ND, or do the FLOPs per input follow
another law of N?

With both C and D given, C/D is the training FLOPs per input (token or sample) of each run. Its
log-log regression on N gives C/D ≈ c N^gamma; 6ND is c = 6, gamma = 1. A FLOP counter per layer
(CNNs, attention included, forward and backward counted separately) can give C/(6ND) far from 1,
or gamma < 1 (FLOPs per sample growing as N^0.74-0.85 for small CNNs).

C is always taken as given: the frontier and isoFLOP fits regress N_opt and D_opt on C separately
(a + b need not be 1), and the parametric fit, whose a assumes C ∝ N D, converts its allocation to
the convention found here. The check only says whether the data's convention differs from 6ND
enough to matter: the median C/(6ND) is outside [1/RATIO_TOL, RATIO_TOL], or the fitted C/(6ND)
changes by more than RATIO_TOL across the sampled N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Points
from .law import SIX_ND, ComputeConvention

RATIO_TOL = 1.25


@dataclass(frozen=True)
class ConventionCheck:
    """The data's compute convention. `fitted`: c, gamma of C/D = c N^gamma (6ND exactly when C or
    D was derived). `convention`: what fits should use: 6ND when the data is close to it, else
    `fitted`."""

    fitted: ComputeConvention
    ratio_median: float  # median C / (6 N D)
    ratio_range: tuple[float, float]
    n_decades: float  # decades of N the regression spans
    derived: bool  # C or D was derived from the other (no information about the convention)

    @property
    def drift(self) -> float:
        """Factor by which the fitted C/(6ND) changes across the sampled N."""
        return float(np.exp(abs(self.fitted.gamma - 1.0) * self.n_decades * np.log(10)))

    @property
    def is_6nd(self) -> bool:
        if self.derived:
            return True
        lr = abs(np.log(self.ratio_median))
        return bool(lr <= np.log(RATIO_TOL) and self.drift <= RATIO_TOL)

    @property
    def convention(self) -> ComputeConvention:
        return SIX_ND if self.is_6nd else self.fitted

    def to_dict(self) -> dict:
        return {
            "is_6nd": self.is_6nd,
            "derived": self.derived,
            "flops_per_input": {"c": self.fitted.c, "gamma": self.fitted.gamma},
            "c_over_6nd_median": self.ratio_median,
            "c_over_6nd_range": list(self.ratio_range),
            "used": self.convention.to_dict(),
        }


def check_convention(points: Points) -> ConventionCheck:
    """Fit C/D = c N^gamma over the points (see module doc)."""
    N, D, C = points.N, points.D, points.C
    ratio = C / (6.0 * N * D)
    derived = bool({"C", "D"} & set(points.derived))
    lN = np.log(N)
    span = float(np.ptp(lN))
    if derived or span <= 1e-12:
        fitted = SIX_ND if derived else ComputeConvention(float(np.exp(np.median(np.log(C / D)) - lN[0])), 1.0)
    else:
        gamma, logc = np.polyfit(lN, np.log(C / D), 1)
        fitted = ComputeConvention(float(np.exp(logc)), float(gamma))
    return ConventionCheck(
        fitted=fitted,
        ratio_median=float(np.median(ratio)),
        ratio_range=(float(ratio.min()), float(ratio.max())),
        n_decades=span / np.log(10),
        derived=derived,
    )


def convention_warnings(check: ConventionCheck, consequence: str) -> list[str]:
    """One warning when the data's C is not 6ND; `consequence` says what the fit does about it."""
    if check.is_6nd:
        return []
    lo, hi = check.ratio_range
    return [
        f"C is not 6ND: C/(6ND) has median {check.ratio_median:.3g} (range {lo:.3g}-{hi:.3g}) and the FLOPs per "
        f"input grow as N^{check.fitted.gamma:.3f} (6ND: N^1; C/D = {check.fitted.c:.3g} N^{check.fitted.gamma:.3f}); "
        + consequence
    ]
