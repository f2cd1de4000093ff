"""Loss-vs-compute law on the efficient frontier: L_opt(C) = E + c0 C^(-c) (paper.md §5.3).

Fitted with scipy.optimize.curve_fit under the paper's bounds c0 in [0, inf), c in [-1, 1],
E in [0.1, inf) (the lower bound on E is configurable). Internally C is divided by its geometric
mean C_ref (c0 = k C_ref^c) so that the amplitude is O(1); this is a reparametrisation only.
A parameter that ends on a bound is flagged: the paper's E = 0.1 in three of four fits is exactly
that, and then c is not a free estimate. Curve_fit is started from a few values of E across
[e_min, min L) and the lowest sum of squares is kept.

Because the law is linear in (E, c0) for a fixed c, it can also be solved by variable projection:
for each c the bounded 2-parameter least squares has a closed form, and the sum of squares is
profiled over c in [-1, 1] (a 201-point grid, then golden-section refinement). This exact bounded
solver (`_vp_fit`) seeds one of curve_fit's starts for the point estimate and solves all bootstrap
replicates at once.

The bootstrap reuses the frontier's replicates (the frontier loss recomputed from resampled runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from ..errors import UserError
from ._threads import blas_single_thread
from .common import BootstrapInfo, FitResultBase, emit, estimates_from_samples, quiet
from .frontier import FrontierFit

E_MIN_DEFAULT = 0.1
C_BOUNDS = (-1.0, 1.0)


@dataclass(frozen=True)
class ComputeLawFit(FitResultBase):
    """estimates: E, c0, c. active_bounds (= at_bounds): names of parameters on a bound."""

    e_min: float
    active_bounds: tuple[str, ...]
    data: pd.DataFrame = field(repr=False)  # the (C, loss) points fitted

    def loss(self, C):
        return self["E"] + self["c0"] * np.asarray(C, float) ** (-self["c"])

    def _extra(self):
        return {
            "e_min": self.e_min,
            "active_bounds": list(self.active_bounds),
            "n_points": len(self.data),
            "bounds": {"c0": [0.0, None], "c": list(C_BOUNDS), "E": [self.e_min, None]},
        }


def _model(x, E, k, c):
    return E + k * np.exp(-c * x)  # x = log(C / C_ref)


def _fit_once(x: np.ndarray, L: np.ndarray, e_min: float, p0=None, extra_start=None):
    """Best curve_fit over a few starts; returns (sse, (E, k, c), ok, message) or None."""
    lmin = float(L.min())
    if p0 is not None:
        starts = [p0]
    else:
        span = max(lmin - e_min, 1e-6)
        starts = []
        for f in (0.01, 0.5, 0.9):
            E0 = e_min + f * span
            slope = np.polyfit(x, np.log(np.maximum(L - E0, 1e-12)), 1)[0]
            starts.append(
                (
                    E0,
                    max(float(np.exp(np.mean(np.log(np.maximum(L - E0, 1e-12))))), 1e-9),
                    float(np.clip(-slope, -0.99, 0.99)),
                )
            )
        if extra_start is not None and np.all(np.isfinite(extra_start)):
            starts.append(tuple(extra_start))
    best = None
    for s in starts:
        try:
            p, _, _, mesg, ier = curve_fit(
                _model,
                x,
                L,
                p0=s,
                bounds=([e_min, 0.0, C_BOUNDS[0]], [np.inf, np.inf, C_BOUNDS[1]]),
                full_output=True,
                max_nfev=5000,
            )
        except (RuntimeError, ValueError) as e:
            mesg, ier, p = str(e), 0, None
        if p is None:
            continue
        sse = float(np.sum((_model(x, *p) - L) ** 2))
        if best is None or sse < best[0]:
            best = (sse, p, ier in (1, 2, 3, 4), str(mesg))
    return best


def _vp_sse(W, Y, U, per_replicate: bool):
    """Profiled SSE over (E' = E - e_min >= 0, k >= 0) for fixed u = exp(-c x). W, Y: (K, G) with
    Y = L - e_min. U: (M, G) shared c values (per_replicate False) -> (K, M) results; or (K, G), one
    c per replicate -> (K,). Returns sse, E', k."""
    sw, swy, swyy = W.sum(1), (W * Y).sum(1), (W * Y * Y).sum(1)
    if per_replicate:
        swu, swuu, swuy = (W * U).sum(1), (W * U * U).sum(1), (W * Y * U).sum(1)
    else:
        swu, swuu, swuy = W @ U.T, W @ (U * U).T, (W * Y) @ U.T
        sw, swy, swyy = sw[:, None], swy[:, None], swyy[:, None]

    def sse(e, k):
        return e * e * sw + k * k * swuu + swyy + 2 * e * k * swu - 2 * e * swy - 2 * k * swuy

    with np.errstate(all="ignore"):
        det = sw * swuu - swu * swu
        e_u = (swuu * swy - swu * swuy) / det
        k_u = (sw * swuy - swu * swy) / det
        cands = [
            (e_u, k_u),
            (np.zeros_like(e_u), np.maximum(swuy / swuu, 0)),
            (np.maximum(swy / sw, 0), np.zeros_like(e_u)),
            (np.zeros_like(e_u), np.zeros_like(e_u)),
        ]
        best_s, best_e, best_k = np.full(e_u.shape, np.inf), np.zeros_like(e_u), np.zeros_like(e_u)
        for e, k in cands:
            ok = (e >= 0) & (k >= 0) & np.isfinite(e) & np.isfinite(k)
            val = np.where(ok, sse(e, k), np.inf)
            better = val < best_s
            best_s, best_e, best_k = (
                np.where(better, val, best_s),
                np.where(better, e, best_e),
                np.where(better, k, best_k),
            )
    return best_s, best_e, best_k


def _vp_fit(x: np.ndarray, L: np.ndarray, e_min: float, n_grid: int = 201, iters: int = 60):
    """Exact bounded least squares of L = E + k exp(-c x) for many replicates: L (K, G) with NaN for
    missing points. Returns E, k, c arrays (K,) (NaN where a replicate has < 4 points)."""
    L = np.atleast_2d(L)
    W = np.isfinite(L).astype(float)
    Y = np.where(W > 0, L - e_min, 0.0)
    cs = np.linspace(C_BOUNDS[0], C_BOUNDS[1], n_grid)
    sse, _, _ = _vp_sse(W, Y, np.exp(-cs[:, None] * x[None]), per_replicate=False)
    j = np.argmin(sse, 1)
    step = cs[1] - cs[0]
    lo, hi = np.clip(cs[j] - step, *C_BOUNDS), np.clip(cs[j] + step, *C_BOUNDS)
    g = (np.sqrt(5) - 1) / 2

    def f(c):
        return _vp_sse(W, Y, np.exp(-c[:, None] * x[None]), per_replicate=True)

    c1, c2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = f(c1)[0], f(c2)[0]
    for _ in range(iters):
        left = f1 <= f2
        hi = np.where(left, c2, hi)
        lo = np.where(left, lo, c1)
        c2n = np.where(left, c1, lo + g * (hi - lo))
        c1n = np.where(left, hi - g * (hi - lo), c2)
        c1, c2 = c1n, c2n
        fe = f(np.where(left, c1, c2))[0]
        f1, f2 = np.where(left, fe, f2), np.where(left, f1, fe)
    # the grid ends are candidates too (the optimum may sit on the bound c = +-1)
    c_best = np.where(f1 <= f2, c1, c2)
    for edge in C_BOUNDS:
        ce = np.full_like(c_best, edge)
        better = f(ce)[0] < f(c_best)[0]
        c_best = np.where(better, ce, c_best)
    s, e, k = f(c_best)
    bad = W.sum(1) < 4
    E = np.where(bad, np.nan, e + e_min)
    return E, np.where(bad, np.nan, k), np.where(bad, np.nan, c_best)


@quiet
@blas_single_thread
def fit_compute_law_points(
    C,
    L,
    *,
    e_min: float = E_MIN_DEFAULT,
    ci_level: float = 0.95,
    replicate_losses: np.ndarray | None = None,
    bootstrap_info: BootstrapInfo | None = None,
) -> ComputeLawFit:
    """Fit L = E + c0 C^(-c) to points (C, L). replicate_losses (K, len(C)), NaN where a replicate
    has no point, gives a bootstrap (all rows solved at once by variable projection)."""
    C, L = np.asarray(C, float), np.asarray(L, float)
    good = np.isfinite(C) & np.isfinite(L) & (C > 0)
    if good.sum() < 4:
        raise UserError(f"the loss-vs-compute fit has 3 parameters and needs at least 4 points; got {int(good.sum())}")
    C, L = C[good], L[good]
    msgs: list[str] = []
    if L.min() <= e_min:
        msgs.append(f"some frontier losses ({L.min():.4g}) are at or below the lower bound on E ({e_min:g})")
    c_ref = float(np.exp(np.log(C).mean()))
    x = np.log(C / c_ref)
    Ev, kv, cv = (float(v[0]) for v in _vp_fit(x, L[None], e_min))
    best = _fit_once(x, L, e_min, extra_start=(Ev, kv, cv))
    if best is None:
        raise UserError("curve_fit failed from every start for the loss-vs-compute law")
    sse, (E, k, c), ok, mesg = best
    if not ok:
        msgs.append(f"loss-vs-compute fit did not converge ({mesg})")
    active = []
    for name, val, bound in (("E", E, e_min), ("c0", k, 0.0), ("c", c, C_BOUNDS[0]), ("c", c, C_BOUNDS[1])):
        if abs(val - bound) <= 1e-6 * max(1.0, abs(bound)):
            active.append(name)
            msgs.append(
                f"{name} = {val:.4g} sits on its bound {bound:g}: the bound, not the data, sets it "
                "(the other parameters are conditional on it)"
            )
    point = {"E": float(E), "c0": float(k * c_ref**c), "c": float(c)}
    estimates = estimates_from_samples(point, None, ci_level)
    boot = None
    if replicate_losses is not None:
        R = np.asarray(replicate_losses, float)[:, good]
        Eb, kb, cb = _vp_fit(x, R, e_min)
        out = np.column_stack([Eb, kb * c_ref**cb, cb])
        conv = np.isfinite(out).all(1)
        samples = {"E": out[:, 0], "c0": out[:, 1], "c": out[:, 2]}
        frac = float(conv.mean())
        if frac < 0.95:
            msgs.append(f"only {frac:.1%} of bootstrap replicates converged; intervals use the converged ones")
        base = bootstrap_info
        boot = BootstrapInfo(
            replicates=R.shape[0],
            unit=base.unit if base else "run",
            n_units=base.n_units if base else 0,
            ci_level=ci_level,
            seed=base.seed if base else None,
            converged_fraction=frac,
            valid_fraction=float(np.isfinite(out).all(1).mean()),
            samples=samples,
        )
        estimates = estimates_from_samples(point, samples, ci_level, mask=conv)
    return ComputeLawFit(
        method="compute-law",
        estimates=estimates,
        converged=bool(ok),
        warnings=emit(msgs),
        bootstrap=boot,
        at_bounds=tuple(dict.fromkeys(active)),
        e_min=e_min,
        active_bounds=tuple(dict.fromkeys(active)),
        data=pd.DataFrame({"C": C, "loss": L}),
    )


def fit_compute_law(
    frontier: FrontierFit, *, e_min: float = E_MIN_DEFAULT, bootstrap: bool = True, ci_level: float | None = None
) -> ComputeLawFit:
    """Fit the loss-vs-compute law to a frontier fit's (C, loss_opt) points; with bootstrap=True and
    a bootstrapped frontier, also refit each of the frontier's replicates."""
    reps = None
    info = frontier.bootstrap
    if bootstrap and info is not None:
        reps = info.samples["loss_opt_grid"]
    return fit_compute_law_points(
        frontier.frontier["C"].to_numpy(),
        frontier.frontier["loss_opt"].to_numpy(),
        e_min=e_min,
        ci_level=ci_level or (info.ci_level if info else 0.95),
        replicate_losses=reps,
        bootstrap_info=info,
    )
