"""isoFLOP profiles shaped like the loss law, solved by variable projection (the default profile
estimator of fit_isoflop).

At a fixed budget, L(N, D) = E + A/N^alpha + B/D^beta is a function of N alone along the budget's
sizes. Each budget b gets its own linear coefficients (E_b, A_b, B_b >= 0) and all budgets share the
shape exponents (alpha, beta):

    L = E_b + A_b exp(-alpha (x - xc_b)) + B_b exp(-beta (z - zc_b)),   x = log N, z = log D,

centred per budget (xc_b, zc_b: the budget's mean log N and log D) for conditioning. For fixed
exponents the coefficients are a non-negative least-squares problem per budget with three unknowns,
solved exactly (every active set, closed form); the exponents are found by a grid and a pattern
search over the summed objective (Open-Athena's VPNLS idea: search only the nonlinear parameters).
Residuals are relative (weights 1/L^2), so the loss scale does not matter.

N_opt at a budget is the minimum of that profile along the budget's own D-N relation: log D is
regressed on log N within the budget (slope -g; g = 1 under C = 6ND, g = gamma under FLOPs per input
∝ N^gamma), so the D term is B_b exp(g beta (x - xc_b)) and the minimum is closed-form:

    x* = xc_b + log(alpha A_b / (g beta B_b)) / (alpha + g beta).

Unlike a parabola, the profile's asymmetry (third derivative over second: g beta - alpha) is part of
the model, so a wide or lopsided profile moves no minimum. On a narrow profile only that asymmetry is
identified, not alpha and beta themselves: the exponents can then wander along a valley (even to
their search bounds) while the minima stay put, which is why they are reported as a diagnostic of
the profile shape, not as coefficients of the law (use fit_parametric for those).

All bootstrap replicates are solved at once: the same objective with the replicate's run weights,
and a vectorised pattern search started from the point estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Search range of the shape exponents alpha and beta.
EXPONENT_BOUNDS = (0.01, 3.0)
#: Log-spaced starting grid for the exponents (per axis).
GRID_POINTS = 25
#: Best grid points refined for the point estimate.
N_STARTS = 3
#: Rows x candidates evaluated at once (bounds memory to a few hundred MB).
BATCH_ELEMENTS = 2_000_000

_DIRS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]], float)


@dataclass(frozen=True)
class ProfileDesign:
    """Rows sorted by budget: x = log N, z = log D, y = loss; `starts` marks each budget's first row.
    Per budget: centres xc, zc and the D-N slope g (log D = zc - g (x - xc))."""

    x: np.ndarray
    z: np.ndarray
    y: np.ndarray
    bidx: np.ndarray
    starts: np.ndarray
    xc: np.ndarray
    zc: np.ndarray
    g: np.ndarray

    @classmethod
    def build(cls, x, z, y, bidx) -> "ProfileDesign":
        """bidx: budget index 0..nb-1 per row, rows already sorted by it."""
        x, z, y = (np.asarray(v, float) for v in (x, z, y))
        bidx = np.asarray(bidx, int)
        if bidx.size and np.any(np.diff(bidx) < 0):
            raise ValueError("rows must be sorted by budget")
        nb = int(bidx.max()) + 1
        starts = np.searchsorted(bidx, np.arange(nb))
        cnt = np.bincount(bidx, minlength=nb)
        xc = np.bincount(bidx, x, nb) / cnt
        zc = np.bincount(bidx, z, nb) / cnt
        dx, dz = x - xc[bidx], z - zc[bidx]
        sxx = np.bincount(bidx, dx * dx, nb)
        with np.errstate(all="ignore"):
            g = np.where(sxx > 0, -np.bincount(bidx, dx * dz, nb) / sxx, np.nan)
        return cls(x, z, y, bidx, starts, xc, zc, g)

    @property
    def n_budgets(self) -> int:
        return self.starts.size

    def _sums(self, V: np.ndarray) -> np.ndarray:
        """Per-budget sums of V (M, n) -> (M, nb)."""
        return np.add.reduceat(V, self.starts, axis=1)

    def solve(self, theta: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Profiled objective for exponent pairs theta (M, 2) under row weights W (M, n) (one row of
        W per pair): returns the summed weighted SSE (M,) and the coefficients (M, nb, 3)."""
        al, be = theta[:, 0:1], theta[:, 1:2]
        u = np.exp(-al * (self.x - self.xc[self.bidx]))
        v = np.exp(-be * (self.z - self.zc[self.bidx]))
        w = W / self.y**2
        wy = w * self.y
        S = {
            "11": self._sums(w),
            "1u": self._sums(w * u),
            "1v": self._sums(w * v),
            "uu": self._sums(w * u * u),
            "uv": self._sums(w * u * v),
            "vv": self._sums(w * v * v),
            "1y": self._sums(wy),
            "uy": self._sums(wy * u),
            "vy": self._sums(wy * v),
            "yy": self._sums(wy * self.y),
        }
        sse, coef = nnls3(S)
        return sse.sum(1), coef


def _det2(a, b, c):
    return a * c - b * b


def nnls3(S: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Exact non-negative least squares of y on (1, u, v) from weighted sums S (any shape): the
    unconstrained solution of every active set, the best one that is non-negative. Returns the SSE
    and the coefficients (..., 3) as (E, A, B)."""
    s11, s1u, s1v, suu, suv, svv = S["11"], S["1u"], S["1v"], S["uu"], S["uv"], S["vv"]
    r1, ru, rv, yy = S["1y"], S["uy"], S["vy"], S["yy"]
    shape = yy.shape
    best = np.full(shape, np.inf)
    coef = np.zeros(shape + (3,))
    tiny = 1e-13

    def consider(c: np.ndarray, ok: np.ndarray):
        nonlocal best, coef
        c = np.where(ok[..., None], c, 0.0)
        sse = np.maximum(yy - (c[..., 0] * r1 + c[..., 1] * ru + c[..., 2] * rv), 0.0)
        ok = ok & np.all(c >= 0, axis=-1) & np.isfinite(sse)
        better = ok & (sse < best)
        best = np.where(better, sse, best)
        coef = np.where(better[..., None], c, coef)

    zero = np.zeros(shape)
    with np.errstate(all="ignore"):
        # all three
        c11 = suu * svv - suv * suv
        c12 = s1v * suv - s1u * svv
        c13 = s1u * suv - s1v * suu
        det = s11 * c11 + s1u * c12 + s1v * c13
        scale = np.abs(s11 * suu * svv) + 1e-300
        ok = np.abs(det) > tiny * scale
        c22 = s11 * svv - s1v * s1v
        c23 = s1u * s1v - s11 * suv
        c33 = s11 * suu - s1u * s1u
        e = (c11 * r1 + c12 * ru + c13 * rv) / det
        a = (c12 * r1 + c22 * ru + c23 * rv) / det
        b = (c13 * r1 + c23 * ru + c33 * rv) / det
        consider(np.stack([e, a, b], -1), ok)
        # pairs
        for (p, q), (spp, spq, sqq, rp, rq) in {
            (0, 1): (s11, s1u, suu, r1, ru),
            (0, 2): (s11, s1v, svv, r1, rv),
            (1, 2): (suu, suv, svv, ru, rv),
        }.items():
            d = _det2(spp, spq, sqq)
            ok = np.abs(d) > tiny * (np.abs(spp * sqq) + 1e-300)
            cp = (sqq * rp - spq * rq) / d
            cq = (spp * rq - spq * rp) / d
            c = [zero, zero, zero]
            c[p], c[q] = cp, cq
            consider(np.stack(c, -1), ok)
        # singles
        for k, (skk, rk) in enumerate(((s11, r1), (suu, ru), (svv, rv))):
            c = [zero, zero, zero]
            c[k] = rk / skk
            consider(np.stack(c, -1), skk > 0)
    return best, coef


def _in_bounds(theta: np.ndarray) -> np.ndarray:
    return np.clip(theta, *EXPONENT_BOUNDS)


def _objective(design: ProfileDesign, theta: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Objective for many (theta, weights) pairs, in batches that bound memory."""
    out = np.empty(theta.shape[0])
    step = max(1, BATCH_ELEMENTS // max(1, design.x.size))
    for s in range(0, theta.shape[0], step):
        out[s : s + step] = design.solve(theta[s : s + step], W[s : s + step])[0]
    return out


def pattern_search(
    design: ProfileDesign, theta0: np.ndarray, W: np.ndarray, step: float, tol: float, max_iter: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    """Compass search over (alpha, beta) for K problems at once (theta0 (K, 2), weights W (K, n)):
    move to the best of 8 neighbours at distance `step` when it improves, otherwise halve the step,
    until the step is below `tol`. Returns theta (K, 2) and the objective (K,)."""
    theta = _in_bounds(np.array(theta0, float))
    f = _objective(design, theta, W)
    s = np.full(theta.shape[0], float(step))
    for _ in range(max_iter):
        act = np.nonzero(s >= tol)[0]
        if act.size == 0:
            break
        cand = _in_bounds(theta[act, None, :] + s[act, None, None] * _DIRS[None])
        fc = _objective(design, cand.reshape(-1, 2), np.repeat(W[act], len(_DIRS), axis=0)).reshape(act.size, -1)
        j = np.argmin(fc, 1)
        fb = fc[np.arange(act.size), j]
        better = fb < f[act] - 1e-14 * np.abs(f[act])
        theta[act[better]] = cand[better, j[better]]
        f[act[better]] = fb[better]
        s[act[~better]] *= 0.5
    return theta, f


def fit_shape(design: ProfileDesign) -> tuple[np.ndarray, float, int]:
    """Point estimate of (alpha, beta): a log grid over EXPONENT_BOUNDS, then pattern search from the
    best N_STARTS grid points. Returns theta (2,), the objective, and how many starts reached it."""
    axis = np.geomspace(EXPONENT_BOUNDS[0] * 2, EXPONENT_BOUNDS[1] * 0.8, GRID_POINTS)
    grid = np.array(np.meshgrid(axis, axis, indexing="ij")).reshape(2, -1).T
    ones = np.ones((grid.shape[0], design.x.size))
    f = _objective(design, grid, ones)
    order = np.argsort(f, kind="stable")[:N_STARTS]
    th, fs = pattern_search(design, grid[order], ones[: order.size], step=0.1, tol=1e-7)
    k = int(np.argmin(fs))
    agree = int(np.sum(np.abs(fs - fs[k]) <= 1e-9 * max(abs(fs[k]), 1e-300) + 1e-15))
    return th[k], float(fs[k]), agree


def vertices(design: ProfileDesign, theta: np.ndarray, coef: np.ndarray):
    """Minimum of each budget's profile for exponents theta (K, 2) and coefficients (K, nb, 3):
    (x*, z*, loss*) each (K, nb); NaN where the profile has no interior minimum (A_b or B_b = 0, or
    D does not fall with N)."""
    al, be = theta[:, 0:1], theta[:, 1:2]
    g = design.g[None]
    E, A, B = coef[..., 0], coef[..., 1], coef[..., 2]
    with np.errstate(all="ignore"):
        ok = (A > 0) & (B > 0) & (g > 0)
        u = np.log(al * A / (g * be * B)) / (al + g * be)
        loss = E + A * np.exp(-al * u) + B * np.exp(g * be * u)
    u = np.where(ok, u, np.nan)
    return design.xc[None] + u, design.zc[None] - g * u, np.where(ok, loss, np.nan)


def profile_values(theta, coef_b, xc, zc, g, x):
    """One budget's fitted profile at log N = x (along its D-N relation), for charts."""
    al, be = theta
    E, A, B = coef_b
    u = x - xc
    return E + A * np.exp(-al * u) + B * np.exp(g * be * u), zc - g * u


def at_exponent_bounds(theta: np.ndarray, tol: float = 1e-6) -> tuple[str, ...]:
    lo, hi = EXPONENT_BOUNDS
    return tuple(n for n, v in zip(("alpha", "beta"), theta) if v <= lo + tol or v >= hi - tol)
