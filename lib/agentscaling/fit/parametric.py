"""Parametric fits of L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla's Approach 3).

Two variants:

* `fit_parametric` (robust; Hoffmann et al. 2022 as corrected by Epoch AI 2024): log-sum-exp
  parametrisation log L = LSE(a - alpha log N, b - beta log D, e) with A = e^a, B = e^b, E = e^e;
  Huber loss (delta = 1e-3) on log L residuals, summed over points; L-BFGS-B from the best starts of
  Chinchilla's 4,500-point grid.
* `fit_parametric_lsq` (the paper's): ordinary least squares on L itself with
  scipy.optimize.curve_fit.

Why the robust solver is built the way it is: with delta = 1e-3 the summed objective is ~1e-3 and
its gradient ~1e-5, so L-BFGS-B with SciPy's default tolerances stops almost where it starts (this
is how Chinchilla's published values came about). The solver therefore (1) centres log N and log D
(a - alpha log N = (a - alpha m) - alpha (log N - m): the same objective, far better conditioned),
(2) divides the objective by delta so that it is O(number of points), and (3) uses tight
tolerances. Every fit, and every bootstrap replicate, is then checked independently of the
optimiser's own verdict: the gradient of the mean Huber loss (in units of delta, in centred
coordinates) must be below `grad_tol`. `solver="scipy-default"` runs the naive recipe (raw
parameters, raw objective, SciPy defaults) so that its failure can be shown, and it is caught by
the same check.

The allocation (a, b, G, N_opt, D_opt) assumes a compute convention. With C = 6ND (or C or D
derived from the other) it is Chinchilla's a = beta/(alpha+beta). When the data's C/D follows another
law of N (fit/convention.py), the allocation is converted to it (law.py): a = beta/(alpha+gamma beta),
with the 6ND values kept as a_6nd and b_6nd.

Boundary fits: a term of the law that contributes less than BOUNDARY_TERM of the smallest loss
anywhere in the data (E -> 0, A or B -> 0), or an exponent within BOUNDARY_EXPONENT_TOL of
EXPONENT_LIMITS, is listed in `at_bounds` with a warning: the bound, not the data, sets it.

Bootstrap replicates (weighted refits from the point estimate) are solved all at once by a
Levenberg-Marquardt-damped Newton method on the exact Hessian (`_newton_batch`), ~15x faster than
one L-BFGS-B call per replicate and identical to it (objective within 1e-14 relative on the
Chinchilla points). A replicate it leaves unconverged is refitted with L-BFGS-B; each replicate's
convergence (the same gradient check) is recorded and intervals use the converged ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit, minimize, nnls

from ..errors import UserError
from ._threads import blas_single_thread
from .bootstrap import DEFAULT_REPLICATES, map_chunks, point_weights, split
from .common import BootstrapInfo, FitResultBase, bound_message, emit, estimates_from_samples, near_bounds, quiet
from .convention import ConventionCheck, check_convention, convention_warnings
from .data import Columns, Points, identifiability_warnings, prepare_points, require_sizes
from .law import SIX_ND, ComputeConvention, ParametricLaw

#: Chinchilla's initialisation grid (Hoffmann et al. 2022, App. D.2), in LSE coordinates.
CHINCHILLA_GRID = dict(
    a=np.arange(0, 30, 5.0),
    b=np.arange(0, 30, 5.0),
    e=np.arange(-1, 1.5, 0.5),
    alpha=np.arange(0, 2.5, 0.5),
    beta=np.arange(0, 2.5, 0.5),
)

ROBUST_OPTIONS = dict(ftol=1e-15, gtol=1e-10, maxiter=10_000, maxfun=50_000, maxls=50)

#: A term of the law below this fraction of the smallest loss everywhere in the data is at its bound 0.
BOUNDARY_TERM = 1e-3
#: The exponents' physical range (also curve_fit's bounds) and how close to it counts as "at" it.
EXPONENT_LIMITS = (0.0, 3.0)
BOUNDARY_EXPONENT_TOL = 1e-3


def chinchilla_grid() -> np.ndarray:
    g = CHINCHILLA_GRID
    return np.array(list(itertools.product(g["a"], g["b"], g["e"], g["alpha"], g["beta"])), float)


# ---------------------------------------------------------------------------------------------
# Objective: summed Huber loss on log-loss residuals of the LSE model, with analytic gradient.
# ---------------------------------------------------------------------------------------------


def _lse(theta: np.ndarray, lN: np.ndarray, lD: np.ndarray):
    """Prediction log L̂ and softmax weights; theta (..., 5) broadcasts against the data (n,)."""
    a, b, e, al, be = (theta[..., i, None] for i in range(5))
    t1 = a - al * lN
    t2 = b - be * lD
    m = np.maximum(np.maximum(t1, t2), e)
    x1, x2, x3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
    s = x1 + x2 + x3
    return m + np.log(s), x1 / s, x2 / s, x3 / s


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def huber_objective(theta: np.ndarray, lN, lD, lL, w, delta: float) -> tuple[float, np.ndarray]:
    """Sum_i w_i Huber_delta(log L̂_i - log L_i) and its gradient with respect to theta."""
    pred, s1, s2, s3 = _lse(np.asarray(theta, float), lN, lD)
    r = pred - lL
    psi = w * np.clip(r, -delta, delta)
    g = np.array([psi @ s1, psi @ s2, psi @ s3, -(psi * s1) @ lN, -(psi * s2) @ lD])
    return float(w @ huber(r, delta)), g


def grid_objective(thetas: np.ndarray, lN, lD, lL, delta: float, chunk: int = 2_000_000) -> np.ndarray:
    """The objective at many parameter vectors at once (vectorised; chunked to bound memory)."""
    out = np.empty(len(thetas))
    step = max(1, chunk // max(1, lN.size))
    for i in range(0, len(thetas), step):
        pred = _lse(thetas[i : i + step], lN, lD)[0]
        out[i : i + step] = huber(pred - lL, delta).sum(1)
    return out


@dataclass(frozen=True)
class _Problem:
    """Data in centred coordinates: theta_c = (a - alpha mN, b - beta mD, e, alpha, beta)."""

    lN: np.ndarray
    lD: np.ndarray
    lL: np.ndarray
    mN: float
    mD: float
    delta: float

    @classmethod
    def build(cls, N, D, L, delta):
        lN, lD = np.log(N), np.log(D)
        mN, mD = float(lN.mean()), float(lD.mean())
        return cls(lN - mN, lD - mD, np.log(L), mN, mD, delta)

    def to_centred(self, theta):
        a, b, e, al, be = theta
        return np.array([a - al * self.mN, b - be * self.mD, e, al, be])

    def from_centred(self, tc):
        a, b, e, al, be = tc
        return np.array([a + al * self.mN, b + be * self.mD, e, al, be])

    def scaled(self, tc, w):
        f, g = huber_objective(tc, self.lN, self.lD, self.lL, w, self.delta)
        return f / self.delta, g / self.delta

    def grad_norm(self, tc, w) -> float:
        """Max |gradient| of the weighted-mean Huber loss in units of delta (centred coordinates):
        the convergence check, independent of the optimiser, the objective's scale and reduction."""
        _, g = huber_objective(tc, self.lN, self.lD, self.lL, w, self.delta)
        return float(np.max(np.abs(g)) / (self.delta * w.sum()))


def _minimise_robust(prob: _Problem, tc0: np.ndarray, w: np.ndarray, grad_tol: float):
    res = minimize(prob.scaled, tc0, args=(w,), jac=True, method="L-BFGS-B", options=ROBUST_OPTIONS)
    gn = prob.grad_norm(res.x, w)
    # L-BFGS-B reports "ABNORMAL" when the line search cannot improve at machine precision, which
    # happens at a minimum of this nearly piecewise-linear objective: the gradient check decides.
    hit_limit = res.nit >= ROBUST_OPTIONS["maxiter"] or res.nfev >= ROBUST_OPTIONS["maxfun"]
    ok = bool(np.all(np.isfinite(res.x)) and gn <= grad_tol and not hit_limit)
    return res, gn, ok


def _batch_eval(prob: _Problem, T: np.ndarray, W: np.ndarray):
    """Scaled objective, gradient and exact Hessian for K parameter vectors T (K, 5) with weights
    W (K, n), in centred coordinates. The Hessian of sum w h(r(theta)) / delta is
    sum (w h''(r)/delta) grad_r grad_r^T + sum (w h'(r)/delta) hess_r, where hess_r of the LSE is
    sum_j s_j J_j J_j^T - grad_r grad_r^T (J_j = d z_j / d theta)."""
    lN, lD, lL, delta = prob.lN, prob.lD, prob.lL, prob.delta
    pred, s1, s2, s3 = _lse(T, lN, lD)
    r = pred - lL
    inside = np.abs(r) <= delta
    f = (W * huber(r, delta)).sum(1) / delta
    psi = W * np.clip(r, -delta, delta) / delta
    G = np.stack([s1, s2, s3, -s1 * lN, -s2 * lD], -1)  # grad of r per point: (K, n, 5)
    g = np.einsum("kn,kni->ki", psi, G)
    c = W * inside / delta - psi
    H = np.matmul(G.transpose(0, 2, 1) * c[:, None, :], G)
    p1, p2 = psi * s1, psi * s2
    H[:, 0, 0] += p1.sum(1)
    H[:, 1, 1] += p2.sum(1)
    H[:, 2, 2] += (psi * s3).sum(1)
    t = -(p1 @ lN)
    H[:, 0, 3] += t
    H[:, 3, 0] += t
    H[:, 3, 3] += p1 @ (lN * lN)
    t = -(p2 @ lD)
    H[:, 1, 4] += t
    H[:, 4, 1] += t
    H[:, 4, 4] += p2 @ (lD * lD)
    return f, g, H


def _newton_batch(prob: _Problem, T0: np.ndarray, W: np.ndarray, tol: float, maxit: int = 200):
    """Levenberg-Marquardt-damped Newton on the exact Hessian, for many weighted fits at once
    (bootstrap replicates). Each replicate keeps its own damping; a step is accepted only if it
    does not increase the objective. Stops a replicate when its mean-gradient norm is <= tol."""
    T = T0.copy()
    K = T.shape[0]
    lam = np.full(K, 1e-3)
    f, g, H = _batch_eval(prob, T, W)
    wsum = W.sum(1)
    nit = np.zeros(K, int)
    eye = np.eye(5)[None]
    for _ in range(maxit):
        gn = np.abs(g).max(1) / wsum
        idx = np.nonzero(gn > tol)[0]
        if idx.size == 0:
            break
        Ha, ga = H[idx], g[idx]
        d = np.maximum(np.abs(np.diagonal(Ha, axis1=1, axis2=2)), 1e-12)
        A = Ha + lam[idx, None, None] * eye * d[:, None, :]
        with np.errstate(all="ignore"):
            try:
                step = -np.linalg.solve(A, ga[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular damped system: fall back to a short gradient step
                step = -ga / d
        fn, gnew, Hn = _batch_eval(prob, T[idx] + step, W[idx])
        ok = np.isfinite(fn) & (fn <= f[idx])
        acc, rej = idx[ok], idx[~ok]
        T[acc] += step[ok]
        f[acc], g[acc], H[acc] = fn[ok], gnew[ok], Hn[ok]
        lam[acc] = np.maximum(lam[acc] / 3, 1e-12)
        lam[rej] *= 4
        nit[idx] += 1
    return T, np.abs(g).max(1) / wsum, nit


#: Points x replicates evaluated at once by the batched solver (bounds memory to ~100 MB).
BATCH_ELEMENTS = 500_000


@blas_single_thread
def _bootstrap_chunk(args) -> tuple[np.ndarray, np.ndarray]:
    """Refit one block of replicates: batched Newton from the point estimate; any replicate it
    does not converge is refitted with L-BFGS-B (and flagged if that fails too)."""
    prob, tc_hat, weights, grad_tol = args
    K, n = weights.shape
    thetas = np.full((K, 5), np.nan)
    conv = np.zeros(K, bool)
    step = max(1, BATCH_ELEMENTS // n)
    for s in range(0, K, step):
        W = weights[s : s + step]
        T, gn, _ = _newton_batch(prob, np.tile(tc_hat, (len(W), 1)), W, tol=grad_tol * 1e-3)
        for j in np.nonzero(~(gn <= grad_tol))[0]:
            res, gn[j], _ = _minimise_robust(prob, tc_hat, W[j], grad_tol)
            T[j] = res.x
        ok = np.isfinite(T).all(1) & (gn <= grad_tol)
        thetas[s : s + step] = np.array([prob.from_centred(t) for t in T])
        conv[s : s + step] = ok
    return thetas, conv


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParametricFit(FitResultBase):
    """A fitted L(N, D). estimates: E, A, B, alpha, beta, a, b, G (+ N_opt/D_opt/D_over_N at any
    requested compute). `optimizer` records the solver's message, iterations, gradient check and
    how many starts agreed; `points` keeps the fitted data for charts and residuals."""

    law: ParametricLaw
    variant: str  # "robust" or "lsq"
    objective: float
    optimizer: Mapping[str, Any]
    n_points: int
    n_runs: int
    n_dropped: int
    points: Points = field(repr=False, compare=False)
    convention: ConventionCheck | None = None

    @property
    def a(self) -> float:
        """N_opt ∝ C^a under the data's compute convention (Chinchilla's beta/(alpha+beta) under 6ND)."""
        return self["a"]

    @property
    def b(self) -> float:
        return self["b"]

    def residuals(self) -> pd.DataFrame:
        """Per point: N, D, C, loss, predicted loss and the log residual log(L̂) - log(L)."""
        f = self.points.frame[["run_label", "N", "D", "C", "loss"]].copy()
        f["predicted"] = self.law.loss(f["N"], f["D"])
        f["log_residual"] = np.log(f["predicted"]) - np.log(f["loss"])
        return f

    def _extra(self):
        return {
            "variant": self.variant,
            "objective": self.objective,
            "optimizer": dict(self.optimizer),
            "n_points": self.n_points,
            "n_runs": self.n_runs,
            "n_dropped": self.n_dropped,
            "resample_unit": self.points.unit,
            "derived_columns": list(self.points.derived),
            "compute_convention": None if self.convention is None else self.convention.to_dict(),
        }


def _derived(law: ParametricLaw, at_compute: Sequence[float], conv: ComputeConvention = SIX_ND) -> dict[str, float]:
    a, b = law.allocation_exponents(conv)
    d = {"E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta, "a": a, "b": b, "G": law.G_for(conv)}
    if not conv.is_6nd:
        d["a_6nd"], d["b_6nd"] = law.a, law.b
    for C in at_compute:
        n, dd = float(law.n_opt(C, conv)), float(law.d_opt(C, conv))
        d[f"N_opt@{C:.3g}"], d[f"D_opt@{C:.3g}"], d[f"D_over_N@{C:.3g}"] = n, dd, dd / n
    return d


def _samples_from_thetas(thetas: np.ndarray, at_compute, conv: ComputeConvention = SIX_ND) -> dict[str, np.ndarray]:
    """Coefficient samples from bootstrap parameter vectors (vectorised)."""
    a_, b_, e_, al, be = thetas.T
    A, B, E = np.exp(a_), np.exp(b_), np.exp(e_)
    c, g = conv.c, conv.gamma
    with np.errstate(all="ignore"):
        G = (al * A / (g * be * B)) ** (1.0 / (al + g * be))
        a = be / (al + g * be)
        s = {"E": E, "A": A, "B": B, "alpha": al, "beta": be, "a": a, "b": 1.0 - g * a, "G": G}
        if not conv.is_6nd:
            s["a_6nd"], s["b_6nd"] = be / (al + be), al / (al + be)
        for C in at_compute:
            n = G * (C / c) ** a
            d = C / (c * n**g)
            s[f"N_opt@{C:.3g}"], s[f"D_opt@{C:.3g}"], s[f"D_over_N@{C:.3g}"] = n, d, d / n
    return s


def boundary_terms(law: ParametricLaw, points: Points) -> tuple[str, ...]:
    """Coefficients of `law` at or near a bound (see module doc)."""
    floor = BOUNDARY_TERM * float(points.loss.min())
    with np.errstate(all="ignore"):
        terms = {
            "E": law.E,
            "A": float(np.max(law.A / points.N**law.alpha)),
            "B": float(np.max(law.B / points.D**law.beta)),
        }
    out = [k for k, v in terms.items() if not v > floor]
    out += near_bounds(
        {"alpha": law.alpha, "beta": law.beta},
        {"alpha": EXPONENT_LIMITS, "beta": EXPONENT_LIMITS},
        BOUNDARY_EXPONENT_TOL,
    )
    return tuple(out)


def _convention_and_bounds(law: ParametricLaw, points: Points, msgs: list[str]):
    """The compute convention the allocation uses, and the coefficients at a bound (with warnings)."""
    check = check_convention(points)
    conv = check.convention
    if not conv.is_6nd:
        a, _ = law.allocation_exponents(conv)
        msgs += convention_warnings(
            check,
            f"the allocation is converted to it: a = beta/(alpha + gamma beta) = {a:.3f} (the 6ND formula "
            f"beta/(alpha + beta) would give {law.a:.3f}, kept as a_6nd)",
        )
    at_bounds = boundary_terms(law, points)
    if at_bounds:
        msgs.append(
            bound_message(
                at_bounds,
                f"E = {law.E:.3g}, A = {law.A:.3g}, B = {law.B:.3g}, alpha = {law.alpha:.3g}, beta = {law.beta:.3g}",
            )
        )
    return check, at_bounds


def _check_enough(points: Points, method: str) -> None:
    require_sizes(points, 2, method)
    if len(points) < 6:
        raise UserError(f"{method} has 5 free parameters and needs at least 6 points; got {len(points)}")


def _init_thetas(init, prob: _Problem, n_starts: int) -> tuple[np.ndarray, int]:
    """Starting points (raw LSE coordinates), best first; and how many grid points were scored."""
    if isinstance(init, str):
        if init != "grid":
            raise UserError(f"init must be 'grid', a ParametricLaw or a list of them; got {init!r}")
        grid = chinchilla_grid()
        lN, lD = prob.lN + prob.mN, prob.lD + prob.mD
        vals = grid_objective(grid, lN, lD, prob.lL, prob.delta)
        order = np.argsort(vals, kind="stable")
        return grid[order[:n_starts]], len(grid)
    inits = [init] if isinstance(init, (ParametricLaw, np.ndarray)) else list(init)
    thetas = [i.to_log() if isinstance(i, ParametricLaw) else np.asarray(i, float) for i in inits]
    return np.array(thetas, float), 0


@quiet
@blas_single_thread
def fit_parametric(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    delta: float = 1e-3,
    reduction: str = "sum",
    init: Any = "grid",
    n_starts: int = 8,
    solver: str = "robust",
    grad_tol: float = 1e-6,
    bootstrap: int = DEFAULT_REPLICATES,
    ci_level: float = 0.95,
    seed: int | None = 0,
    n_jobs: int = 1,
    drop_highest_loss: int = 0,
    c_range: tuple[float | None, float | None] = (None, None),
    at_compute: Sequence[float] = (),
    dropna: bool = False,
) -> ParametricFit:
    """Robust Chinchilla/Epoch fit of L(N, D) (see module doc).

    init: "grid" (score Chinchilla's 4,500 grid points, run L-BFGS-B from the best `n_starts`), or a
    ParametricLaw / LSE vector / list of them as explicit starts. solver: "robust" or
    "scipy-default" (the naive recipe, kept to demonstrate its failure). reduction: "sum" (Epoch)
    or "mean" (Hoffmann et al.); it only changes the scale that "scipy-default" sees.
    bootstrap: replicates resampling runs (points when there is no run column); each starts from
    the point estimate; intervals use the converged replicates. at_compute: also report N_opt,
    D_opt and D/N at these budgets.
    """
    if solver not in ("robust", "scipy-default"):
        raise UserError(f"solver must be 'robust' or 'scipy-default'; got {solver!r}")
    if reduction not in ("sum", "mean"):
        raise UserError(f"reduction must be 'sum' or 'mean'; got {reduction!r}")
    points = prepare_points(
        df, columns, runs_when_missing="point", drop_highest_loss=drop_highest_loss, dropna=dropna, c_range=c_range
    )
    _check_enough(points, "the parametric fit")
    msgs = list(points.notes) + identifiability_warnings(points)
    prob = _Problem.build(points.N, points.D, points.loss, delta)
    w1 = np.ones(len(points))
    starts, n_scored = _init_thetas(init, prob, n_starts)

    fits = []
    for th0 in starts:
        if solver == "robust":
            res, gn, ok = _minimise_robust(prob, prob.to_centred(th0), w1, grad_tol)
            theta = prob.from_centred(res.x)
        else:
            scale = 1.0 if reduction == "sum" else 1.0 / len(points)
            lN, lD = prob.lN + prob.mN, prob.lD + prob.mD

            def raw(th):
                f, g = huber_objective(th, lN, lD, prob.lL, w1, delta)
                return f * scale, g * scale

            res = minimize(raw, th0, jac=True, method="L-BFGS-B")
            theta = res.x
            gn = prob.grad_norm(prob.to_centred(theta), w1)
            ok = bool(res.success and gn <= grad_tol)
        f = huber_objective(prob.to_centred(theta), prob.lN, prob.lD, prob.lL, w1, delta)[0]
        fits.append((f, theta, res, gn, ok))
    fits.sort(key=lambda t: t[0] if np.isfinite(t[0]) else np.inf)
    best_f, theta, res, gn, ok = fits[0]
    agree = sum(abs(f - best_f) <= 1e-9 * max(abs(best_f), 1e-300) + 1e-15 for f, *_ in fits)
    if not ok:
        msgs.append(
            f"parametric fit did not converge (max |gradient| of the mean Huber loss {gn:.2e} in units "
            f"of delta > {grad_tol:g}; optimiser: {res.message}); do not trust these coefficients"
        )
    if len(fits) > 1 and agree < 2:
        msgs.append(f"only 1 of {len(fits)} starts reached the best objective; the optimum may not be global")
    law = ParametricLaw.from_log(theta)
    if law.alpha <= 0 or law.beta <= 0:
        msgs.append(
            f"non-positive exponent (alpha={law.alpha:.3g}, beta={law.beta:.3g}): the allocation "
            "formulas N_opt, D_opt do not apply"
        )

    check, at_bounds = _convention_and_bounds(law, points, msgs)
    point = _derived(law, at_compute, check.convention)
    boot = None
    estimates = estimates_from_samples(point, None, ci_level)
    if bootstrap:
        weights = point_weights(points.run, bootstrap, seed, points.seed_groups)
        tc_hat = prob.to_centred(theta)
        chunks = [(prob, tc_hat, weights[idx], grad_tol) for idx in split(bootstrap, max(1, n_jobs))]
        outs = map_chunks(_bootstrap_chunk, chunks, n_jobs)
        thetas = np.concatenate([o[0] for o in outs])
        conv = np.concatenate([o[1] for o in outs])
        samples = _samples_from_thetas(thetas, at_compute, check.convention)
        samples["converged"] = conv.astype(float)
        frac = float(conv.mean())
        if frac < 0.95:
            msgs.append(f"only {frac:.1%} of bootstrap replicates converged; intervals use the converged ones")
        boot = BootstrapInfo(
            replicates=bootstrap,
            unit=points.resample_unit,
            n_units=points.n_runs,
            ci_level=ci_level,
            seed=seed,
            converged_fraction=frac,
            valid_fraction=frac,
            samples=samples,
        )
        estimates = estimates_from_samples(point, samples, ci_level, mask=conv)

    optimizer = {
        "solver": solver,
        "message": str(res.message),
        "nit": int(res.nit),
        "nfev": int(res.nfev),
        "grad_norm": gn,
        "grad_tol": grad_tol,
        "starts": len(fits),
        "starts_agreeing": int(agree),
        "grid_points_scored": n_scored,
        "delta": delta,
        "reduction": reduction,
    }
    return ParametricFit(
        method="parametric",
        estimates=estimates,
        converged=ok,
        warnings=emit(msgs),
        bootstrap=boot,
        at_bounds=at_bounds,
        law=law,
        variant="robust",
        objective=best_f,
        optimizer=optimizer,
        n_points=len(points),
        n_runs=points.n_runs,
        n_dropped=points.n_dropped,
        points=points,
        convention=check,
    )


# ---------------------------------------------------------------------------------------------
# The paper's variant: least squares on L with scipy.optimize.curve_fit.
# ---------------------------------------------------------------------------------------------

#: Bounds used for curve_fit (E, A, B, alpha, beta). The paper reports none; these only exclude
#: unphysical values (negative terms, exponents beyond 3).
LSQ_BOUNDS = ([0.0, 0.0, 0.0, 0.0, 0.0], [np.inf, np.inf, np.inf, 3.0, 3.0])
#: Exponent grid for starting values: for each (alpha, beta) the linear parameters (E, A, B) are
#: solved by non-negative least squares, and curve_fit starts from the best `n_starts` of them.
LSQ_EXPONENT_GRID = np.arange(0.05, 1.51, 0.05)


def _lsq_model(X, E, A, B, alpha, beta):
    N, D = X
    return E + A * N ** (-alpha) + B * D ** (-beta)


def _lsq_starts(N, D, L, n_starts: int) -> list[np.ndarray]:
    cands = []
    for al in LSQ_EXPONENT_GRID:
        xn = N ** (-al)
        for be in LSQ_EXPONENT_GRID:
            M = np.column_stack([np.ones_like(N), xn, D ** (-be)])
            scale = M.max(0)
            coef, rnorm = nnls(M / scale, L)
            cands.append((rnorm, np.r_[coef / scale, al, be]))
    cands.sort(key=lambda t: t[0])
    return [c[1] for c in cands[:n_starts]]


def _curve_fit(N, D, L, p0):
    try:
        p, _, info, mesg, ier = curve_fit(
            _lsq_model, (N, D), L, p0=p0, bounds=LSQ_BOUNDS, x_scale="jac", full_output=True, max_nfev=20_000
        )
    except (RuntimeError, ValueError) as e:
        return None, str(e), False
    return p, str(mesg), bool(ier in (1, 2, 3, 4))


def _lsq_batch(N, D, L, P0: np.ndarray, W: np.ndarray, maxit: int = 100, gtol: float = 1e-6):
    """Weighted least squares for many replicates at once: Levenberg-Marquardt on the same sum of
    squares, in the well-conditioned coordinates (E, log A - alpha m_N, log B - beta m_D, alpha,
    beta) with centred log N, log D (a reparametrisation: the same minimiser while A, B > 0).
    Returns parameters (E, A, B, alpha, beta) and a per-replicate "converged in the interior" flag
    (max |gradient| / SSE <= gtol, no exponent on a bound); the caller refits the others with
    curve_fit. At gtol = 1e-6 the solutions are at least as good as curve_fit's own (SSE within
    1e-14 relative or lower on the Chinchilla bootstrap)."""
    lnN, lnD = np.log(N), np.log(D)
    mN, mD = float(lnN.mean()), float(lnD.mean())
    xN, xD = lnN - mN, lnD - mD
    lo, hi = (
        np.array([0.0, -np.inf, -np.inf, LSQ_BOUNDS[0][3], LSQ_BOUNDS[0][4]]),
        np.array([np.inf, np.inf, np.inf, LSQ_BOUNDS[1][3], LSQ_BOUNDS[1][4]]),
    )

    def evaluate(Q, Wk):
        E, a, b, al, be = (Q[:, i, None] for i in range(5))
        tn, td = np.exp(a - al * xN), np.exp(b - be * xD)
        r = E + tn + td - L
        J = np.stack([np.ones_like(tn), tn, td, -tn * xN, -td * xD], -1)
        JW = J * Wk[..., None]
        return (
            (Wk * r * r).sum(1),
            np.matmul(JW.transpose(0, 2, 1), r[..., None])[..., 0],
            np.matmul(JW.transpose(0, 2, 1), J),
        )

    with np.errstate(divide="ignore"):
        Q = np.column_stack(
            [P0[:, 0], np.log(P0[:, 1]) - P0[:, 3] * mN, np.log(P0[:, 2]) - P0[:, 4] * mD, P0[:, 3], P0[:, 4]]
        )
    K = len(Q)
    lam = np.full(K, 1e-3)
    sse, g, H = evaluate(Q, W)
    done = np.zeros(K, bool)
    for _ in range(maxit):
        done = np.abs(g).max(1) <= gtol * np.maximum(sse, 1e-300)
        idx = np.nonzero(~done)[0]
        if idx.size == 0:
            break
        d = np.maximum(np.diagonal(H[idx], axis1=1, axis2=2), 1e-300)
        A_ = H[idx] + lam[idx, None, None] * np.eye(5)[None] * d[:, None, :]
        with np.errstate(all="ignore"):
            try:
                step = -np.linalg.solve(A_, g[idx][..., None])[..., 0]
            except np.linalg.LinAlgError:
                break
        Qn = np.clip(Q[idx] + step, lo, hi)
        sn, gn, Hn = evaluate(Qn, W[idx])
        ok = np.isfinite(sn) & (sn <= sse[idx])
        acc, rej = idx[ok], idx[~ok]
        Q[acc], sse[acc], g[acc], H[acc] = Qn[ok], sn[ok], gn[ok], Hn[ok]
        lam[acc] = np.maximum(lam[acc] / 3, 1e-15)
        lam[rej] = np.minimum(lam[rej] * 4, 1e15)
    P = np.column_stack([Q[:, 0], np.exp(Q[:, 1] + Q[:, 3] * mN), np.exp(Q[:, 2] + Q[:, 4] * mD), Q[:, 3], Q[:, 4]])
    on_bound = (Q[:, [0, 3, 4]] <= lo[[0, 3, 4]] + 1e-12) | (Q[:, [3, 4]].max(1, keepdims=True) >= hi[3] - 1e-12)
    return P, done & ~on_bound.any(1) & np.isfinite(P).all(1)


@blas_single_thread
def _lsq_chunk(args):
    """Bootstrap block for the lsq variant: batched LM from the point estimate; replicates it does
    not settle (or that end on a bound) are refitted with curve_fit exactly as the point estimate."""
    N, D, L, p_hat, counts = args
    K, n = counts.shape
    out = np.full((K, 5), np.nan)
    conv = np.zeros(K, bool)
    step = max(1, BATCH_ELEMENTS // n)
    for s in range(0, K, step):
        P, ok = _lsq_batch(N, D, L, np.tile(p_hat, (min(step, K - s), 1)), counts[s : s + step].astype(float))
        out[s : s + step], conv[s : s + step] = P, ok
    for k in np.nonzero(~conv)[0]:
        idx = np.repeat(np.arange(n), counts[k].astype(int))
        p, _, ok = _curve_fit(N[idx], D[idx], L[idx], p_hat)
        out[k] = p if p is not None else np.nan
        conv[k] = ok and p is not None
    return out, conv


@quiet
@blas_single_thread
def fit_parametric_lsq(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    n_starts: int = 3,
    bootstrap: int = DEFAULT_REPLICATES,
    ci_level: float = 0.95,
    seed: int | None = 0,
    n_jobs: int = 1,
    drop_highest_loss: int = 0,
    c_range: tuple[float | None, float | None] = (None, None),
    at_compute: Sequence[float] = (),
    dropna: bool = False,
) -> ParametricFit:
    """The paper's parametric fit: curve_fit (trust-region reflective, because of the bounds in
    LSQ_BOUNDS) of L = E + A/N^alpha + B/D^beta on the raw losses, from the best `n_starts` of an
    NNLS-seeded exponent grid (LSQ_EXPONENT_GRID). Converged means curve_fit reported success; a
    parameter at or near a bound is listed in at_bounds with a warning. Bootstrap replicates are solved together by
    `_lsq_batch` (same objective), with curve_fit as the fallback."""
    points = prepare_points(
        df, columns, runs_when_missing="point", drop_highest_loss=drop_highest_loss, dropna=dropna, c_range=c_range
    )
    _check_enough(points, "the parametric fit")
    msgs = list(points.notes) + identifiability_warnings(points)
    N, D, L = points.N, points.D, points.loss
    best = None
    for p0 in _lsq_starts(N, D, L, n_starts):
        p, mesg, ok = _curve_fit(N, D, L, p0)
        if p is None:
            continue
        sse = float(np.sum((_lsq_model((N, D), *p) - L) ** 2))
        if best is None or sse < best[0]:
            best = (sse, p, mesg, ok)
    if best is None:
        raise UserError("curve_fit failed from every starting point; the data cannot support this fit")
    sse, p, mesg, ok = best
    if not ok:
        msgs.append(f"least-squares fit did not converge ({mesg}); do not trust these coefficients")
    lo, hi = LSQ_BOUNDS
    law = ParametricLaw(*map(float, p))
    check, at_bounds = _convention_and_bounds(law, points, msgs)
    point = _derived(law, at_compute, check.convention)
    estimates = estimates_from_samples(point, None, ci_level)
    boot = None
    if bootstrap:
        rng_counts = point_weights(points.run, bootstrap, seed, points.seed_groups)  # per-point multiplicities
        chunks = [(N, D, L, p, rng_counts[idx]) for idx in split(bootstrap, max(1, n_jobs) * 4)]
        outs = map_chunks(_lsq_chunk, chunks, n_jobs)
        ps = np.concatenate([o[0] for o in outs])
        conv = np.concatenate([o[1] for o in outs])
        thetas = np.column_stack([np.log(ps[:, 1]), np.log(ps[:, 2]), np.log(ps[:, 0]), ps[:, 3], ps[:, 4]])
        with np.errstate(divide="ignore"):
            samples = _samples_from_thetas(thetas, at_compute, check.convention)
        samples["E"], samples["A"], samples["B"] = ps[:, 0], ps[:, 1], ps[:, 2]  # exact, even when 0
        frac = float(conv.mean())
        if frac < 0.95:
            msgs.append(f"only {frac:.1%} of bootstrap replicates converged; intervals use the converged ones")
        boot = BootstrapInfo(
            replicates=bootstrap,
            unit=points.resample_unit,
            n_units=points.n_runs,
            ci_level=ci_level,
            seed=seed,
            converged_fraction=frac,
            valid_fraction=float(np.isfinite(ps).all(1).mean()),
            samples=samples,
        )
        estimates = estimates_from_samples(point, samples, ci_level, mask=conv)
    optimizer = {
        "solver": "scipy.optimize.curve_fit (trf)",
        "message": mesg,
        "starts": n_starts,
        "bounds": {"lower": lo, "upper": [None if not np.isfinite(h) else h for h in hi]},
    }
    return ParametricFit(
        method="parametric-lsq",
        estimates=estimates,
        converged=ok,
        warnings=emit(msgs),
        bootstrap=boot,
        at_bounds=at_bounds,
        law=law,
        variant="lsq",
        objective=sse,
        optimizer=optimizer,
        n_points=len(points),
        n_runs=points.n_runs,
        n_dropped=points.n_dropped,
        points=points,
        convention=check,
    )
