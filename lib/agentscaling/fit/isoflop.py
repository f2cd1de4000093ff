"""isoFLOP profiles (Chinchilla's Approach 2), built by slicing logged curves at fixed budgets.

* Budgets: with loss curves, `n_budgets` log-spaced values over the overlap range (as the
  frontier) or over [c_min, c_max], or an explicit list; every run that reached a budget is read
  there (Porian et al. 2024). With one point per run (an isoFLOP design), points whose C agree
  within `rel_tol` are grouped into one budget (its C is their geometric mean).
* Per budget, loss against log N is fitted by a parabola (Chinchilla) whose vertex is N_opt, or
  interpolated by an Akima spline in log-log (Porian) whose minimum on a 25x finer grid is N_opt.
  A budget needs >= min_sizes distinct N; a non-convex parabola has no minimum and is dropped; a
  parabola whose vertex lies outside the sampled sizes is excluded (in the point estimate and in
  every bootstrap replicate alike). A lowest sampled loss at the smallest or largest size is
  flagged: the sweep did not bracket the optimum there.
* log N_opt and log D_opt = log(C / 6 N_opt) are regressed on log C: N_opt = a0 C^a, D_opt = b0 C^b.

The bootstrap resamples runs; the parabola replicates are solved as batched weighted normal
equations (no Python loop over replicates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.interpolate import Akima1DInterpolator

from ..errors import UserError
from .bootstrap import DEFAULT_REPLICATES, run_counts
from .common import AllocationFit, BootstrapInfo, emit, estimates_from_samples, loglog_lines_batched
from .curves import RunCurves, overlap_range
from .data import Columns, Points, prepare_points, require_sizes

FITS = ("parabola", "akima")
AKIMA_OVERSAMPLE = 25


@dataclass(frozen=True)
class IsoflopFit(AllocationFit):
    """estimates: a, b, a0, b0. profiles: one row per budget (C, N_opt, D_opt, loss_opt, n_sizes,
    edge, used, and the parabola coefficients in x = log N when fit="parabola"). sliced: the
    (budget, run, N, loss) points the profiles were fitted to."""

    profiles: pd.DataFrame = field(repr=False)
    sliced: pd.DataFrame = field(repr=False)
    fit: str
    n_runs: int
    points: Points = field(repr=False, compare=False)

    def profile_curve(self, C: float, n: int = 100) -> pd.DataFrame:
        """The fitted profile at budget C (one of profiles.C) over its sampled N range, for charts."""
        row = self.profiles.loc[np.isclose(self.profiles["C"], C, rtol=1e-9)]
        if row.empty:
            raise KeyError(f"no budget {C:g}")
        pts = self.sliced.loc[np.isclose(self.sliced["C"], C, rtol=1e-9)]
        x = np.linspace(np.log(pts["N"].min()), np.log(pts["N"].max()), n)
        if self.fit == "parabola":
            r = row.iloc[0]
            y = r["p2"] * (x - r["x0"]) ** 2 + r["p1"] * (x - r["x0"]) + r["p0"]
        else:
            g = pts.groupby("N")["loss"].apply(lambda s: np.exp(np.log(s).mean()))
            y = np.exp(Akima1DInterpolator(np.log(g.index.to_numpy()), np.log(g.to_numpy()))(x))
        return pd.DataFrame({"C": C, "N": np.exp(x), "loss": y})

    def _extra(self):
        prof = self.profiles.drop(columns=[c for c in ("p0", "p1", "p2", "x0") if c in self.profiles])
        return {
            "fit": self.fit,
            "budgets": prof.to_dict(orient="records"),
            "n_runs": self.n_runs,
            "n_points": len(self.points),
            "resample_unit": self.points.unit,
            "derived_columns": list(self.points.derived),
        }


def _cluster_budgets(C: np.ndarray, rel_tol: float) -> np.ndarray:
    """Group compute values whose neighbours are within rel_tol; returns a cluster id per value."""
    order = np.argsort(C)
    gaps = np.diff(np.log(C[order])) > np.log1p(rel_tol)
    ids = np.empty(C.size, int)
    ids[order] = np.concatenate([[0], np.cumsum(gaps)])
    return ids


def _slice(points: Points, curves: RunCurves, budgets, n_budgets, c_min, c_max, read, rel_tol):
    single = all(x.size == 1 for x in curves.log_c)
    f = points.frame
    if budgets is None and single and c_min is None and c_max is None:
        ids = _cluster_budgets(f["C"].to_numpy(), rel_tol)
        Cb = np.exp(pd.Series(np.log(f["C"].to_numpy())).groupby(ids).transform("mean").to_numpy())
        return pd.DataFrame({"C": Cb, "run": f["run"].to_numpy(), "N": f["N"].to_numpy(), "loss": f["loss"].to_numpy()})
    if budgets is None:
        if single:
            cs = f["C"].to_numpy()
            lo, hi = (c_min or cs.min()), (c_max or cs.max())
        else:
            lo, hi = overlap_range(curves)
            lo, hi = (c_min or lo), (c_max or hi)
        if not hi > lo:
            raise UserError(
                f"no compute range for isoFLOP budgets (c_min={lo:.4g}, c_max={hi:.4g}); the curves do "
                "not overlap. Pass budgets or --c-min/--c-max inside the logged range"
            )
        budgets = np.geomspace(lo, hi, n_budgets)
    budgets = np.asarray(budgets, float)
    if budgets.size == 0 or (budgets <= 0).any() or not np.isfinite(budgets).all():
        raise UserError("budgets must be positive finite compute values")
    M = curves.read(budgets, read, rel_tol=rel_tol)
    bi, ri = np.nonzero(np.isfinite(M))
    return pd.DataFrame({"C": budgets[bi], "run": ri, "N": curves.N[ri], "loss": M[bi, ri]})


def _parabola(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None):
    """Weighted least-squares parabola in centred x; w may be (K, n) for K fits at once.
    Returns p2, p1, p0 (shape (K,) or scalars) and the centre x0."""
    x0 = float(x.mean())
    X = np.column_stack([np.ones_like(x), x - x0, (x - x0) ** 2])
    W = np.ones((1, x.size)) if w is None else np.atleast_2d(w)
    XtWX = np.einsum("kn,ni,nj->kij", W, X, X)
    XtWy = np.einsum("kn,ni,n->ki", W, X, y)
    det = np.linalg.det(XtWX)
    ok = np.abs(det) > 1e-12 * np.maximum(1.0, np.abs(XtWX).max(axis=(1, 2))) ** 3
    sol = np.full((W.shape[0], 3), np.nan)
    if ok.any():
        sol[ok] = np.linalg.solve(XtWX[ok], XtWy[ok][..., None])[..., 0]
    p0, p1, p2 = sol.T
    if w is None:
        return float(p2[0]), float(p1[0]), float(p0[0]), x0
    return p2, p1, p0, x0


def _akima_min(x: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """Minimum of an Akima spline through (x, log y) on a 25x finer grid: (x_min, y_min, at_edge)."""
    order = np.argsort(x)
    x, y = x[order], y[order]
    xs = np.linspace(x[0], x[-1], AKIMA_OVERSAMPLE * (x.size - 1) + 1)
    ys = Akima1DInterpolator(x, np.log(y))(xs)
    j = int(np.nanargmin(ys))
    return float(xs[j]), float(np.exp(ys[j])), j in (0, xs.size - 1)


def _per_n(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average repeated sizes (geometric mean of loss) so splines see unique abscissae."""
    ux, inv = np.unique(x, return_inverse=True)
    return ux, np.exp(np.bincount(inv, np.log(y)) / np.bincount(inv))


def fit_isoflop(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    budgets: Sequence[float] | None = None,
    n_budgets: int = 8,
    c_min: float | None = None,
    c_max: float | None = None,
    fit: str = "parabola",
    read: str = "interpolate",
    rel_tol: float = 0.1,
    min_sizes: int = 3,
    bootstrap: int = DEFAULT_REPLICATES,
    ci_level: float = 0.95,
    seed: int | None = 0,
    design: str = "auto",
    drop_highest_loss: int = 0,
    dropna: bool = False,
) -> IsoflopFit:
    """isoFLOP fit (see module doc). design: "curves" (runs logged along training), "points"
    (one final-loss point per run) or "auto": with a run column, "points" when every run has one
    point; without one, "curves" (one run per N) when sizes have >= 5 points each (median), else
    "points" (each point its own run)."""
    if fit not in FITS:
        raise UserError(f"fit must be one of {FITS}; got {fit!r}")
    if design not in ("auto", "curves", "points"):
        raise UserError(f"design must be 'auto', 'curves' or 'points'; got {design!r}")
    cols = columns or Columns()
    has_run = cols.run is not None and cols.run in df.columns
    if design == "auto" and not has_run and cols.N in df.columns:
        design = "curves" if df.groupby(cols.N).size().median() >= 5 else "points"
    points = prepare_points(
        df,
        columns,
        runs_when_missing="N" if design == "curves" else "point",
        drop_highest_loss=drop_highest_loss,
        dropna=dropna,
    )
    msgs = list(points.notes)
    require_sizes(points, min_sizes, "the isoFLOP fit")
    curves = RunCurves.from_points(points)
    sliced = _slice(points, curves, budgets, n_budgets, c_min, c_max, read, rel_tol)
    if sliced.empty or sliced["C"].nunique() < 2:
        raise UserError(
            "the isoFLOP fit needs at least two compute budgets with data; all points are at one budget"
            if points.frame["C"].nunique() == 1 or sliced["C"].nunique() == 1
            else "no run reached any of the budgets"
        )

    rows = []
    for C, g in sliced.groupby("C", sort=True):
        x, y = np.log(g["N"].to_numpy()), g["loss"].to_numpy()
        ux, uy = _per_n(x, y)
        row = {
            "C": C,
            "n_sizes": int(ux.size),
            "n_runs": int(len(g)),
            "N_opt": np.nan,
            "loss_opt": np.nan,
            "edge": False,
            "used": False,
            "p0": np.nan,
            "p1": np.nan,
            "p2": np.nan,
            "x0": np.nan,
        }
        if ux.size < min_sizes:
            msgs.append(f"budget C={C:.3g}: only {ux.size} model size(s) (< {min_sizes}); budget dropped")
            rows.append(row)
            continue
        sampled_edge = int(np.argmin(uy)) in (0, ux.size - 1)
        if fit == "parabola":
            p2, p1, p0, x0 = _parabola(x, y)
            row.update(p0=p0, p1=p1, p2=p2, x0=x0)
            if not (np.isfinite(p2) and p2 > 0):
                msgs.append(f"budget C={C:.3g}: the parabola in log N opens downwards (no minimum); budget dropped")
                rows.append(row)
                continue
            xv = x0 - p1 / (2 * p2)
            outside = xv < ux[0] or xv > ux[-1]
            row.update(
                N_opt=float(np.exp(xv)),
                loss_opt=float(p0 - p1 * p1 / (4 * p2)),
                edge=bool(sampled_edge or outside),
                used=not outside,
            )
            if outside:
                msgs.append(
                    f"budget C={C:.3g}: the parabola's minimum N={np.exp(xv):.3g} lies outside the sampled sizes "
                    f"[{np.exp(ux[0]):.3g}, {np.exp(ux[-1]):.3g}]; budget excluded from the power-law fit"
                )
        else:
            xm, ym, at_edge = _akima_min(ux, uy)
            row.update(N_opt=float(np.exp(xm)), loss_opt=ym, edge=bool(sampled_edge or at_edge), used=True)
        if sampled_edge:
            msgs.append(
                f"budget C={C:.3g}: the lowest loss is at the edge of the sampled sizes; the sweep does not "
                "bracket the optimum there"
            )
        rows.append(row)
    profiles = pd.DataFrame(rows)
    profiles["D_opt"] = profiles["C"] / (6.0 * profiles["N_opt"])
    used = profiles["used"].to_numpy(bool)
    if used.sum() < 2:
        emit(msgs)  # the per-budget reasons, before the error
        n_out = int((profiles["edge"] & ~profiles["used"] & profiles["N_opt"].notna()).sum())
        raise UserError(
            f"only {int(used.sum())} budget(s) gave an isoFLOP minimum inside the sampled sizes "
            f"({n_out} had their minimum outside); need at least 2 to fit N_opt ∝ C^a. Sample sizes "
            "around the optimum at each budget"
        )
    if used.sum() < 3:
        msgs.append(f"only {int(used.sum())} budgets gave a minimum; a and b rest on 2 points")
    lC = np.log(profiles["C"].to_numpy())
    lN = np.log(profiles["N_opt"].to_numpy())
    sa, ia = loglog_lines_batched(lC, np.where(used, lN, 0.0)[None], used[None])
    lD = lC - np.log(6.0) - lN
    sb, ib = loglog_lines_batched(lC, np.where(used, lD, 0.0)[None], used[None])
    point = {"a": float(sa[0]), "b": float(sb[0]), "a0": float(np.exp(ia[0])), "b0": float(np.exp(ib[0]))}
    estimates = estimates_from_samples(point, None, ci_level)
    boot = None
    if bootstrap:
        samples, valid = _bootstrap(sliced, profiles, curves.n_runs, fit, min_sizes, bootstrap, seed)
        frac = float(valid.mean())
        if frac < 0.9:
            msgs.append(f"only {frac:.1%} of bootstrap replicates had >= 2 usable budgets; intervals use those")
        boot = BootstrapInfo(
            replicates=bootstrap,
            unit=points.unit,
            n_units=curves.n_runs,
            ci_level=ci_level,
            seed=seed,
            converged_fraction=1.0,
            valid_fraction=frac,
            samples=samples,
        )
        estimates = estimates_from_samples(point, samples, ci_level, mask=valid)
    return IsoflopFit(
        method="isoflop",
        estimates=estimates,
        converged=True,
        warnings=emit(msgs),
        bootstrap=boot,
        profiles=profiles,
        sliced=sliced,
        fit=fit,
        n_runs=curves.n_runs,
        points=points,
    )


def _bootstrap(
    sliced: pd.DataFrame,
    profiles: pd.DataFrame,
    n_runs: int,
    fit: str,
    min_sizes: int,
    replicates: int,
    seed: int | None,
):
    counts = run_counts(n_runs, replicates, seed).astype(float)
    budgets = profiles["C"].to_numpy()
    N_opt = np.full((replicates, budgets.size), np.nan)
    for j, C in enumerate(budgets):
        g = sliced.loc[sliced["C"] == C]
        x, y, runs = np.log(g["N"].to_numpy()), g["loss"].to_numpy(), g["run"].to_numpy()
        if np.unique(x).size < min_sizes:
            continue
        W = counts[:, runs]  # (K, n) multiplicity of each sliced point
        # distinct sizes present per replicate
        ux, inv = np.unique(x, return_inverse=True)
        present = np.zeros((replicates, ux.size))
        np.add.at(present.T, inv, (W > 0).T)
        enough = (present > 0).sum(1) >= min_sizes
        if fit == "parabola":
            p2, p1, _, x0 = _parabola(x, y, W)
            with np.errstate(all="ignore"):
                xv = x0 - p1 / (2 * p2)
            # The same rule as the point estimate: no minimum, or a minimum outside the sizes this
            # replicate sampled, gives no N_opt for this budget (Porian et al. discard such minima).
            lo_x = np.where(present > 0, ux[None], np.inf).min(1)
            hi_x = np.where(present > 0, ux[None], -np.inf).max(1)
            ok = enough & np.isfinite(p2) & (p2 > 0) & (xv >= lo_x) & (xv <= hi_x)
            N_opt[:, j] = np.where(ok, np.exp(np.where(ok, xv, 0.0)), np.nan)
        else:
            for k in np.nonzero(enough)[0]:
                m = W[k] > 0
                xs, ys = _per_n(x[m], y[m])
                N_opt[k, j] = np.exp(_akima_min(xs, ys)[0])
    lC = np.log(budgets)
    ok = np.isfinite(N_opt)
    lN = np.log(np.where(ok, N_opt, 1.0))
    sa, ia = loglog_lines_batched(lC, lN, ok)
    sb, ib = loglog_lines_batched(lC, lC[None] - np.log(6.0) - lN, ok)
    valid = np.isfinite(sa)
    samples = {"a": sa, "b": sb, "a0": np.exp(ia), "b0": np.exp(ib), "N_opt_budgets": N_opt}
    return samples, valid
