"""isoFLOP profiles (Chinchilla's Approach 2): N_opt at each compute budget, then N_opt ∝ C^a and
D_opt ∝ C^b.

Budgets (where the profiles are taken), in order of precedence:
* a budget column (Columns(budget=...), CLI --budget-col): each row is a point at its nominal
  budget, e.g. checkpoints of one run per size at fixed FLOP values; runs stay the bootstrap unit.
* `budgets=[...]`: every run is read there (curves: log-log interpolation; single points: when
  within rel_tol of their own C).
* one point per run (an isoFLOP design): points whose C agree within `rel_tol` form one budget
  (its C is their geometric mean).
* loss curves: `n_budgets` log-spaced values over the overlap range; every run that reached a
  budget is read there (Porian et al. 2024).
`c_min`/`c_max` then keep the budgets inside [c_min, c_max]: they filter, never move or re-create
budgets. A budget needs >= min_sizes distinct N; fewer and it is dropped with a warning naming it.

Per budget, N_opt is the minimum of the profile of loss against N (fit=...):
* "law" (default): the profile shape implied by L = E + A/N^alpha + B/D^beta at fixed C, with the
  exponents shared by all budgets and solved by variable projection (fit/profile_law.py). Exact for
  wide and lopsided profiles, which the parabola is not (docs/fitting.md has the simulation that
  chose it).
* "parabola": a parabola in log N (Chinchilla), vertex = N_opt; a vertex outside the sampled sizes
  excludes the budget. Kept as it always was, to compare against.
* "akima": an Akima spline in log-log (Porian et al.), minimised on a 25x finer grid.
A budget is unbracketed when its lowest sampled loss is at its smallest or largest size (strictly
lower than every interior size): the optimum may lie outside the sizes. Unbracketed budgets are
excluded by default (unbracketed="exclude") and counted in the result; fit="parabola" keeps them
(with a warning), as it always did, unless asked otherwise.

D_opt is read off each budget's own D-N relation (log D regressed on log N within the budget), so
C is taken as given: with C = 6ND, D_opt = C/(6 N_opt) and b = 1 - a; with another convention, b
is whatever the data says, and a + b is reported with its interval (fit/convention.py warns when C
is not 6ND).

The bootstrap resamples runs (their points at every budget together) and refits everything with
the same rules: the parabolas as batched weighted normal equations, the law profile by a vectorised
pattern search from the point estimate, Akima per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.interpolate import Akima1DInterpolator

from ..errors import UserError
from . import profile_law
from .bootstrap import DEFAULT_REPLICATES, run_counts
from .common import AllocationFit, BootstrapInfo, emit, estimates_from_samples, loglog_lines_batched, quiet
from .convention import ConventionCheck, check_convention, convention_warnings
from .curves import RunCurves, overlap_range
from .data import Columns, Points, prepare_points, require_sizes
from .frontier import ALLOCATION_CONSEQUENCE

FITS = ("law", "parabola", "akima")
DEFAULT_FIT = "law"
UNBRACKETED = ("exclude", "keep")
AKIMA_OVERSAMPLE = 25
_INTERNAL = ("p0", "p1", "p2", "x0", "E_b", "A_b", "B_b", "xc", "zc", "g")


@dataclass(frozen=True)
class IsoflopFit(AllocationFit):
    """estimates: a, b, a0, b0, a_plus_b. profiles: one row per budget (C, n_sizes, n_runs,
    width_decades, best_position (where the lowest sampled loss sits, 0 = smallest size, 1 = largest),
    bracketed, N_opt, D_opt, loss_opt, edge, used, status, and the fitted profile's coefficients).
    sliced: the (C, run, N, D, loss) points the profiles were fitted to. shape: the law profile's
    shared exponents (fit="law")."""

    profiles: pd.DataFrame = field(repr=False)
    sliced: pd.DataFrame = field(repr=False)
    fit: str
    n_runs: int
    points: Points = field(repr=False, compare=False)
    budget_source: str = "clustered"  # "column", "given", "clustered" or "grid"
    c_filter: tuple[float | None, float | None] = (None, None)
    n_filtered: int = 0  # budgets outside [c_min, c_max]
    unbracketed: str = "exclude"
    convention: ConventionCheck | None = None
    shape: dict[str, Any] | None = None

    @property
    def n_unbracketed(self) -> int:
        p = self.profiles
        return int((~p["bracketed"] & (p["status"] != "too few sizes")).sum())

    def profile_curve(self, C: float, n: int = 100) -> pd.DataFrame:
        """The fitted profile at budget C (one of profiles.C) over its sampled N range, for charts;
        empty for a budget that got no profile (too few sizes, or excluded as unbracketed)."""
        row = self.profiles.loc[np.isclose(self.profiles["C"], C, rtol=1e-9)]
        if row.empty:
            raise KeyError(f"no budget {C:g}")
        r = row.iloc[0]
        needs = {"parabola": "p2", "law": "E_b"}.get(self.fit)
        if r["status"] in ("too few sizes", "unbracketed") or (needs and not np.isfinite(r.get(needs, np.nan))):
            return pd.DataFrame(
                {"C": pd.Series(dtype=float), "N": pd.Series(dtype=float), "loss": pd.Series(dtype=float)}
            )
        pts = self.sliced.loc[np.isclose(self.sliced["C"], C, rtol=1e-9)]
        x = np.linspace(np.log(pts["N"].min()), np.log(pts["N"].max()), n)
        if self.fit == "parabola":
            y = r["p2"] * (x - r["x0"]) ** 2 + r["p1"] * (x - r["x0"]) + r["p0"]
        elif self.fit == "law":
            theta = (self.shape["alpha"], self.shape["beta"])
            y = profile_law.profile_values(theta, (r["E_b"], r["A_b"], r["B_b"]), r["xc"], r["zc"], r["g"], x)[0]
        else:
            ux, uy = _per_n(np.log(pts["N"].to_numpy()), pts["loss"].to_numpy())
            y = np.exp(Akima1DInterpolator(ux, np.log(uy))(x))
        return pd.DataFrame({"C": C, "N": np.exp(x), "loss": y})

    def _extra(self):
        prof = self.profiles.drop(columns=[c for c in _INTERNAL if c in self.profiles])
        return {
            "fit": self.fit,
            "budget_source": self.budget_source,
            "c_filter": list(self.c_filter),
            "n_budgets": len(self.profiles),
            "n_budgets_used": int(self.profiles["used"].sum()),
            "n_budgets_filtered": self.n_filtered,
            "n_unbracketed": self.n_unbracketed,
            "unbracketed": self.unbracketed,
            "budgets": prof.to_dict(orient="records"),
            "profile_shape": self.shape,
            "n_runs": self.n_runs,
            "n_points": len(self.points),
            "resample_unit": self.points.unit,
            "derived_columns": list(self.points.derived),
            "compute_convention": None if self.convention is None else self.convention.to_dict(),
        }


# ---------------------------------------------------------------------------------------------
# Budgets
# ---------------------------------------------------------------------------------------------


def _cluster_budgets(C: np.ndarray, rel_tol: float) -> np.ndarray:
    """Group compute values whose neighbours are within rel_tol; returns a cluster id per value."""
    order = np.argsort(C)
    gaps = np.diff(np.log(C[order])) > np.log1p(rel_tol)
    ids = np.empty(C.size, int)
    ids[order] = np.concatenate([[0], np.cumsum(gaps)])
    return ids


def _sliced_frame(C, run, N, D, loss) -> pd.DataFrame:
    return pd.DataFrame({"C": C, "run": run, "N": N, "D": D, "loss": loss})


def _budget_points(points: Points, curves: RunCurves, budgets, n_budgets: int, read: str, rel_tol: float):
    """The (C, run, N, D, loss) points at each budget, and where the budgets came from."""
    f = points.frame
    if points.has_budget:
        if budgets is not None:
            raise UserError("give the budgets either as a budget column or as budgets=[...], not both")
        return _sliced_frame(f["budget"], f["run"], f["N"], f["D"], f["loss"]), "column"
    single = all(x.size == 1 for x in curves.log_c)
    if budgets is None and single:
        ids = _cluster_budgets(f["C"].to_numpy(), rel_tol)
        Cb = np.exp(pd.Series(np.log(f["C"].to_numpy())).groupby(ids).transform("mean").to_numpy())
        return _sliced_frame(Cb, f["run"], f["N"], f["D"], f["loss"]), "clustered"
    source = "given"
    if budgets is None:
        lo, hi = overlap_range(curves)
        if not hi > lo:
            raise UserError(
                f"no compute range for isoFLOP budgets ({lo:.4g}-{hi:.4g}); the curves do not overlap. "
                "Pass budgets=[...] or a budget column"
            )
        budgets, source = np.geomspace(lo, hi, n_budgets), "grid"
    budgets = np.asarray(budgets, float)
    if budgets.size == 0 or (budgets <= 0).any() or not np.isfinite(budgets).all():
        raise UserError("budgets must be positive finite compute values")
    M = curves.read(budgets, read, rel_tol=rel_tol)
    bi, ri = np.nonzero(np.isfinite(M))
    C = budgets[bi]
    D = C / curves.flops_per_input[ri] if not single else _own_d(points, ri)
    return _sliced_frame(C, ri, curves.N[ri], D, M[bi, ri]), source


def _own_d(points: Points, runs: np.ndarray) -> np.ndarray:
    """D of single-point runs (each run code has one point)."""
    f = points.frame.drop_duplicates("run").set_index("run")
    return f.loc[runs, "D"].to_numpy(float)


def _filter_budgets(sliced: pd.DataFrame, c_min, c_max) -> tuple[pd.DataFrame, int]:
    """Keep budgets in [c_min, c_max] (a relative slack of 1e-9 for values typed from a table)."""
    C = sliced["C"].to_numpy()
    keep = np.ones(C.size, bool)
    if c_min is not None:
        keep &= C >= c_min * (1 - 1e-9)
    if c_max is not None:
        keep &= C <= c_max * (1 + 1e-9)
    n_out = int(np.unique(C[~keep]).size)
    if not keep.any():
        have = ", ".join(f"{c:.3g}" for c in np.unique(C))
        raise UserError(f"no isoFLOP budget with {range_text(c_min, c_max)}; the budgets are {have}")
    return sliced.loc[keep].reset_index(drop=True), n_out


def range_text(c_min, c_max) -> str:
    if c_min is not None and c_max is not None:
        return f"{c_min:.3g} <= C <= {c_max:.3g}"
    return f"C >= {c_min:.3g}" if c_min is not None else f"C <= {c_max:.3g}"


def _per_n(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average repeated sizes (geometric mean of loss) so splines see unique abscissae."""
    ux, inv = np.unique(x, return_inverse=True)
    return ux, np.exp(np.bincount(inv, np.log(y)) / np.bincount(inv))


def _screen(C: float, x: np.ndarray, y: np.ndarray, n_runs: int, min_sizes: int) -> dict[str, Any]:
    """What a budget's sampled sizes say before any profile is fitted."""
    ux, uy = _per_n(x, y)
    row = {
        "C": C,
        "n_sizes": int(ux.size),
        "n_runs": n_runs,
        "width_decades": float((ux[-1] - ux[0]) / np.log(10)),
        "best_position": np.nan,
        "bracketed": False,
        "N_opt": np.nan,
        "D_opt": np.nan,
        "loss_opt": np.nan,
        "edge": True,
        "used": False,
        "status": "too few sizes",
    }
    if ux.size >= 2:
        best = ux[uy == uy.min()].mean()  # tied minima (digitised data): their middle
        row["best_position"] = float((best - ux[0]) / (ux[-1] - ux[0]))
    if ux.size >= min_sizes:
        inner = uy[1:-1].min()
        row["bracketed"] = bool(inner <= uy[0] and inner <= uy[-1])
        row["edge"] = not row["bracketed"]
        row["status"] = "pending"
    return row


def _d_line(x: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """log D = zc - g (log N - xc) within a budget: (xc, zc, g)."""
    xc, zc = float(x.mean()), float(z.mean())
    sxx = float(((x - xc) ** 2).sum())
    g = -float(((x - xc) * (z - zc)).sum()) / sxx if sxx > 0 else float("nan")
    return xc, zc, g


# ---------------------------------------------------------------------------------------------
# Profile estimators
# ---------------------------------------------------------------------------------------------


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


def _vertex_parabola(row: dict, x: np.ndarray, y: np.ndarray, msgs: list[str]) -> None:
    C = row["C"]
    p2, p1, p0, x0 = _parabola(x, y)
    row.update(p0=p0, p1=p1, p2=p2, x0=x0)
    if not (np.isfinite(p2) and p2 > 0):
        row["status"] = "no minimum"
        msgs.append(f"budget C={C:.3g}: the parabola in log N opens downwards (no minimum); budget dropped")
        return
    xv = x0 - p1 / (2 * p2)
    lo, hi = x.min(), x.max()
    outside = xv < lo or xv > hi
    row.update(N_opt=float(np.exp(xv)), loss_opt=float(p0 - p1 * p1 / (4 * p2)), edge=bool(row["edge"] or outside))
    if outside:
        row["status"] = "minimum outside sizes"
        msgs.append(
            f"budget C={C:.3g}: the parabola's minimum N={np.exp(xv):.3g} lies outside the sampled sizes "
            f"[{np.exp(lo):.3g}, {np.exp(hi):.3g}]; budget excluded from the power-law fit"
        )
    else:
        row.update(used=True, status="used")


def _vertex_akima(row: dict, x: np.ndarray, y: np.ndarray) -> None:
    xm, ym, at_edge = _akima_min(*_per_n(x, y))
    row.update(N_opt=float(np.exp(xm)), loss_opt=ym, edge=bool(row["edge"] or at_edge), used=True, status="used")


def _vertices_law(rows: list[dict], groups: list[pd.DataFrame], msgs: list[str]):
    """Fit the shared-exponent law profile to the candidate budgets (rows with status "pending") and
    set their N_opt. Returns the ProfileDesign and the shape dict (None when nothing to fit)."""
    cand = [i for i, r in enumerate(rows) if r["status"] == "pending"]
    if not cand:
        return None, None
    sub = [groups[i] for i in cand]
    bidx = np.concatenate([np.full(len(g), k) for k, g in enumerate(sub)])
    x = np.concatenate([np.log(g["N"].to_numpy()) for g in sub])
    z = np.concatenate([np.log(g["D"].to_numpy()) for g in sub])
    y = np.concatenate([g["loss"].to_numpy() for g in sub])
    design = profile_law.ProfileDesign.build(x, z, y, bidx)
    theta, objective, agree = profile_law.fit_shape(design)
    coef = design.solve(theta[None], np.ones((1, x.size)))[1]
    xs, zs, ls = (v[0] for v in profile_law.vertices(design, theta[None], coef))
    at_bounds = profile_law.at_exponent_bounds(theta)
    for k, i in enumerate(cand):
        r, xb = rows[i], x[bidx == k]
        E, A, B = coef[0, k]
        r.update(E_b=E, A_b=A, B_b=B, xc=design.xc[k], zc=design.zc[k], g=design.g[k])
        if not np.isfinite(xs[k]):
            r["status"] = "no minimum"
            msgs.append(f"budget C={r['C']:.3g}: the fitted profile is monotone in N (no minimum); budget dropped")
            continue
        r.update(N_opt=float(np.exp(xs[k])), D_opt=float(np.exp(zs[k])), loss_opt=float(ls[k]))
        if xs[k] < xb.min() or xs[k] > xb.max():
            r.update(status="minimum outside sizes", edge=True)
            msgs.append(
                f"budget C={r['C']:.3g}: the profile's minimum N={np.exp(xs[k]):.3g} lies outside the sampled sizes "
                f"[{np.exp(xb.min()):.3g}, {np.exp(xb.max()):.3g}]; budget excluded from the power-law fit"
            )
        else:
            r.update(used=True, status="used")
    shape = {
        "alpha": float(theta[0]),
        "beta": float(theta[1]),
        "bounds": list(profile_law.EXPONENT_BOUNDS),
        "at_bounds": list(at_bounds),
        "objective": objective,
        "starts_agreeing": agree,
        "budgets_in_fit": len(cand),
    }
    return design, shape


# ---------------------------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------------------------


@quiet
def fit_isoflop(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    budgets: Sequence[float] | None = None,
    n_budgets: int = 8,
    c_min: float | None = None,
    c_max: float | None = None,
    fit: str = DEFAULT_FIT,
    unbracketed: str | None = None,
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
    (one final-loss point per run) or "auto": with a run column, the run column; without one, one
    run per N ("curves") when sizes have >= 5 points each (median), else each point its own run.
    unbracketed: "exclude" or "keep" budgets whose lowest loss is at an edge (None: "keep" for
    fit="parabola", the classic estimator, "exclude" otherwise)."""
    if fit not in FITS:
        raise UserError(f"fit must be one of {FITS}; got {fit!r}")
    if design not in ("auto", "curves", "points"):
        raise UserError(f"design must be 'auto', 'curves' or 'points'; got {design!r}")
    unbracketed = unbracketed or ("keep" if fit == "parabola" else "exclude")
    if unbracketed not in UNBRACKETED:
        raise UserError(f"unbracketed must be one of {UNBRACKETED}; got {unbracketed!r}")
    if min_sizes < 3:
        raise UserError("min_sizes must be at least 3 (a profile minimum needs three sizes)")
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
    convention = check_convention(points)
    msgs += convention_warnings(convention, ALLOCATION_CONSEQUENCE)
    if points.has_budget and points.unit == "N":
        msgs.append(
            "no run column: rows with the same N are taken as checkpoints of one run (the bootstrap resamples "
            "sizes); name the run column to resample runs"
        )
    curves = RunCurves.from_points(points)
    sliced, source = _budget_points(points, curves, budgets, n_budgets, read, rel_tol)
    if sliced["C"].nunique() < 2:
        raise UserError(
            "the isoFLOP fit needs at least two compute budgets with data; all points are at one budget"
            if not sliced.empty
            else "no run reached any of the budgets"
        )
    sliced, n_filtered = _filter_budgets(sliced, c_min, c_max)  # asked for: counted in the result, no warning
    sliced = sliced.sort_values(["C", "N"], kind="stable").reset_index(drop=True)

    profiles, law_design, shape = _profiles(sliced, fit, min_sizes, unbracketed, msgs)
    used = profiles["used"].to_numpy(bool)
    if used.sum() < 2:
        emit(msgs)  # the per-budget reasons, before the error
        raise UserError(_too_few_message(profiles, min_sizes, n_filtered))
    if used.sum() < 3:
        msgs.append(f"only {int(used.sum())} budgets gave a minimum; a and b rest on 2 points")
    point = _lines(profiles, used)
    estimates = estimates_from_samples(point, None, ci_level)
    boot = None
    if bootstrap:
        if fit == "law":
            samples, valid = _bootstrap_law(
                sliced, profiles, curves.n_runs, min_sizes, bootstrap, seed, law_design, shape
            )
        else:
            samples, valid = _bootstrap_profiles(sliced, profiles, curves.n_runs, min_sizes, bootstrap, seed, fit)
        boot = _bootstrap_info(samples, valid, points.unit, curves.n_runs, ci_level, seed, msgs)
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
        budget_source=source,
        c_filter=(c_min, c_max),
        n_filtered=n_filtered,
        unbracketed=unbracketed,
        convention=convention,
        shape=shape,
    )


def _profiles(sliced: pd.DataFrame, fit: str, min_sizes: int, unbracketed: str, msgs: list[str]):
    """Screen every budget, then find N_opt at those still pending. Returns the profiles table and,
    for fit="law", the shape fit's design and summary."""
    rows, groups = _screen_all(sliced, min_sizes, unbracketed, fit, msgs)
    law_design, shape = None, None
    if fit == "law":
        law_design, shape = _vertices_law(rows, groups, msgs)
    for r, g in zip(rows, groups):
        if r["status"] != "pending":
            continue
        x, y = np.log(g["N"].to_numpy()), g["loss"].to_numpy()
        if fit == "parabola":
            _vertex_parabola(r, x, y, msgs)
        else:
            _vertex_akima(r, x, y)
    return _finish_profiles(rows, groups), law_design, shape


def _bootstrap_info(samples, valid, unit, n_units, ci_level, seed, msgs: list[str]) -> BootstrapInfo:
    frac = float(valid.mean())
    if frac < 0.9:
        msgs.append(f"only {frac:.1%} of bootstrap replicates had >= 2 usable budgets; intervals use those")
    return BootstrapInfo(
        replicates=valid.size,
        unit=unit,
        n_units=n_units,
        ci_level=ci_level,
        seed=seed,
        converged_fraction=1.0,
        valid_fraction=frac,
        samples=samples,
    )


def _screen_all(sliced: pd.DataFrame, min_sizes: int, unbracketed: str, fit: str, msgs: list[str]):
    rows, groups = [], []
    unbr = []
    for C, g in sliced.groupby("C", sort=True):
        row = _screen(float(C), np.log(g["N"].to_numpy()), g["loss"].to_numpy(), int(g["run"].nunique()), min_sizes)
        if row["status"] == "too few sizes":
            msgs.append(f"budget C={C:.3g}: only {row['n_sizes']} model size(s) (< {min_sizes}); budget dropped")
        elif not row["bracketed"]:
            unbr.append(f"C={C:.3g}")
            if unbracketed == "exclude":
                row["status"] = "unbracketed"
        rows.append(row)
        groups.append(g)
    if unbr:
        what = "excluded from the fit" if unbracketed == "exclude" else f"kept ({fit} minimum used where it is inside)"
        msgs.append(
            f"{len(unbr)} of {len(rows)} budget(s) unbracketed ({', '.join(unbr)}): the lowest loss is at the edge of "
            f"the sampled sizes, so the sweep does not bracket the optimum and it may lie outside the sampled sizes; "
            f"{what}"
        )
    return rows, groups


def _finish_profiles(rows: list[dict], groups: list[pd.DataFrame]) -> pd.DataFrame:
    """Profiles table; D_opt from each budget's own D-N line where the estimator did not set it."""
    for r, g in zip(rows, groups):
        if np.isfinite(r["N_opt"]) and not np.isfinite(r["D_opt"]) and r["n_sizes"] >= 2:
            xc, zc, gd = _d_line(np.log(g["N"].to_numpy()), np.log(g["D"].to_numpy()))
            r["D_opt"] = float(np.exp(zc - gd * (np.log(r["N_opt"]) - xc)))
    return pd.DataFrame(rows)


def _too_few_message(profiles: pd.DataFrame, min_sizes: int, n_filtered: int) -> str:
    st = profiles["status"].value_counts()
    n_out = int(st.get("minimum outside sizes", 0) + st.get("unbracketed", 0))
    parts = [f"{n_out} had their minimum outside or at the edge of the sampled sizes"]
    if st.get("too few sizes", 0):
        parts.append(f"{int(st['too few sizes'])} had fewer than {min_sizes} sizes")
    if st.get("no minimum", 0):
        parts.append(f"{int(st['no minimum'])} had no minimum")
    if n_filtered:
        parts.append(f"{n_filtered} were outside c_min/c_max")
    return (
        f"only {int(profiles['used'].sum())} of {len(profiles)} budget(s) gave an isoFLOP minimum inside the sampled "
        f"sizes ({'; '.join(parts)}); need at least 2 to fit N_opt ∝ C^a. Sample sizes around the optimum at each "
        "budget"
    )


def _lines(profiles: pd.DataFrame, used: np.ndarray) -> dict[str, float]:
    lC = np.log(profiles["C"].to_numpy())
    lN = np.log(profiles["N_opt"].to_numpy())
    lD = np.log(profiles["D_opt"].to_numpy())
    sa, ia = loglog_lines_batched(lC, np.where(used, lN, 0.0)[None], used[None])
    sb, ib = loglog_lines_batched(lC, np.where(used, lD, 0.0)[None], used[None])
    return {
        "a": float(sa[0]),
        "b": float(sb[0]),
        "a0": float(np.exp(ia[0])),
        "b0": float(np.exp(ib[0])),
        "a_plus_b": float(sa[0] + sb[0]),
    }


# ---------------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------------


def _present(x: np.ndarray, W: np.ndarray, min_sizes: int):
    """For one budget's rows (log N x) under replicate weights W (K, n): whether each replicate
    keeps >= min_sizes distinct sizes, and its smallest and largest log N."""
    ux, inv = np.unique(x, return_inverse=True)
    present = np.zeros((W.shape[0], ux.size))
    np.add.at(present.T, inv, (W > 0).T)
    has = present > 0
    enough = has.sum(1) >= min_sizes
    lo = np.where(has, ux[None], np.inf).min(1)
    hi = np.where(has, ux[None], -np.inf).max(1)
    return enough, lo, hi


def _replicate_lines(budgets: np.ndarray, N_opt: np.ndarray, D_opt: np.ndarray):
    lC = np.log(budgets)
    ok = np.isfinite(N_opt) & np.isfinite(D_opt)
    sa, ia = loglog_lines_batched(lC, np.log(np.where(ok, N_opt, 1.0)), ok)
    sb, ib = loglog_lines_batched(lC, np.log(np.where(ok, D_opt, 1.0)), ok)
    valid = np.isfinite(sa) & np.isfinite(sb)
    samples = {
        "a": sa,
        "b": sb,
        "a0": np.exp(ia),
        "b0": np.exp(ib),
        "a_plus_b": sa + sb,
        "N_opt_budgets": N_opt,
    }
    return samples, valid


def _bootstrap_profiles(sliced, profiles, n_runs, min_sizes, replicates, seed, fit):
    """Parabola (batched) and Akima (per replicate) replicates, budget by budget; a budget enters a
    replicate only under the point estimate's rules (enough sizes; a parabola minimum inside the
    sizes this replicate sampled). Budgets the point estimate left out stay out."""
    counts = run_counts(n_runs, replicates, seed).astype(float)
    budgets = profiles["C"].to_numpy()
    N_opt = np.full((replicates, budgets.size), np.nan)
    D_opt = np.full((replicates, budgets.size), np.nan)
    for j, C in enumerate(budgets):
        if profiles["status"].iloc[j] in ("too few sizes", "unbracketed"):
            continue
        g = sliced.loc[sliced["C"] == C]
        x, y, runs = np.log(g["N"].to_numpy()), g["loss"].to_numpy(), g["run"].to_numpy()
        xc, zc, gd = _d_line(x, np.log(g["D"].to_numpy()))
        W = counts[:, runs]
        enough, lo_x, hi_x = _present(x, W, min_sizes)
        xv = np.full(replicates, np.nan)
        if fit == "parabola":
            p2, p1, _, x0 = _parabola(x, y, W)
            xv = x0 - p1 / (2 * p2)
            ok = enough & np.isfinite(p2) & (p2 > 0) & (xv >= lo_x) & (xv <= hi_x)
            xv = np.where(ok, xv, np.nan)
        else:
            for k in np.nonzero(enough)[0]:
                m = W[k] > 0
                xv[k] = _akima_min(*_per_n(x[m], y[m]))[0]
        N_opt[:, j] = np.exp(xv)
        D_opt[:, j] = np.exp(zc - gd * (xv - xc))
    return _replicate_lines(budgets, N_opt, D_opt)


def _bootstrap_law(sliced, profiles, n_runs, min_sizes, replicates, seed, design, shape):
    """Law-profile replicates: the budgets of the point estimate's shape fit, refitted with each
    replicate's run weights (pattern search from the point estimate's exponents), all at once."""
    counts = run_counts(n_runs, replicates, seed).astype(float)
    budgets = profiles["C"].to_numpy()
    N_opt = np.full((replicates, budgets.size), np.nan)
    D_opt = np.full((replicates, budgets.size), np.nan)
    cols = np.nonzero(profiles["xc"].notna().to_numpy())[0]  # the budgets of the shape fit, in its order
    rows = sliced["C"].isin(budgets[cols]).to_numpy()
    W = counts[:, sliced["run"].to_numpy()[rows]]
    theta0 = np.tile([shape["alpha"], shape["beta"]], (replicates, 1))
    theta, _ = profile_law.pattern_search(design, theta0, W, step=0.05, tol=1e-5)
    coef = np.concatenate([design.solve(theta[s : s + 256], W[s : s + 256])[1] for s in range(0, replicates, 256)])
    xs, zs, _ = profile_law.vertices(design, theta, coef)
    for k, j in enumerate(cols):
        m = design.bidx == k
        enough, lo_x, hi_x = _present(design.x[m], W[:, m], min_sizes)
        ok = enough & np.isfinite(xs[:, k]) & (xs[:, k] >= lo_x) & (xs[:, k] <= hi_x)
        N_opt[:, j] = np.where(ok, np.exp(xs[:, k]), np.nan)
        D_opt[:, j] = np.where(ok, np.exp(zs[:, k]), np.nan)
    samples, valid = _replicate_lines(budgets, N_opt, D_opt)
    samples["alpha_profile"], samples["beta_profile"] = theta[:, 0], theta[:, 1]
    return samples, valid
