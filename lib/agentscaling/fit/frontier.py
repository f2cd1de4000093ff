"""Frontier fit (Chinchilla's Approach 1; the paper's preferred method, paper.md §5.1).

1. A log-uniform grid of compute values (100 points) over the range where curves overlap: where at
   least two curves coexist (from the second-smallest first logged C to the second-largest last
   logged C; curves.overlap_range), narrowed by default to where the sweep brackets the optimum
   (the frontier model is neither the smallest nor the largest size); or over [c_min, c_max].
2. At each grid C, every run that reached C is read there (log-log interpolation by default, or
   the nearest logged point), and the lowest-loss run gives N_opt(C).
3. D_opt(C) = C / f(N_opt), where f is the frontier run's FLOPs per input (C/D along its curve):
   C / (6 N_opt) under 6ND, which is why D_opt shows a sawtooth; the data's own convention otherwise.
4. Straight lines of log N_opt and log D_opt on log C give N_opt = a0 C^a and D_opt = b0 C^b,
   fitted separately (under 6ND, b = 1 - a up to floating point; a + b is reported with its CI, and
   a warning says when C is not 6ND).

A model is on the frontier at C only by comparison with the models that reached C. When a model
leaves the frontier because its own run ended while it was still the best (it was never overtaken),
the next larger model takes over by default, not because it is better: beyond that point the frontier
traces where the runs stop. By default the grid ends at the first such hand-over (handover=
"overtaken"); designs that train every size past its optimum never have one.

Seeds: when every model size was trained with several seeds (several runs of one N), the frontier is
that of each size's mean curve (the geometric mean of its seeds' losses), and the bootstrap resamples
seeds within sizes. Otherwise it resamples runs: a replicate keeps the runs it drew (duplicates do
not change an argmin), recomputes the frontier on the same grid and refits the lines, all vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import UserError
from .bootstrap import DEFAULT_REPLICATES, run_counts
from .common import AllocationFit, BootstrapInfo, emit, estimates_from_samples, loglog_lines_batched, quiet
from .convention import ConventionCheck, check_convention, convention_warnings
from .curves import RunCurves, overlap_range
from .data import Columns, Points, prepare_points, require_sizes

#: What the frontier and isoFLOP fits do when C is not 6ND.
ALLOCATION_CONSEQUENCE = (
    "C is taken as given: N_opt ∝ C^a and D_opt ∝ C^b are fitted separately and a + b need not be 1"
)

MIN_FRONTIER_MODELS = 3


@dataclass(frozen=True)
class FrontierFit(AllocationFit):
    """estimates: a, b (exponents) and a0, b0 (prefactors) of N_opt = a0 C^a, D_opt = b0 C^b.
    frontier: one row per grid point (C, N_opt, D_opt, loss_opt, run). models_on_frontier: the
    distinct N values that are optimal somewhere on the grid."""

    frontier: pd.DataFrame = field(repr=False)
    models_on_frontier: tuple[float, ...]
    c_range: tuple[float, float]
    c_range_source: str  # "bracketed" (default), "overlap" or "user"
    bracketed_range: tuple[float, float]  # where the frontier is neither the smallest nor the largest N
    read: str
    n_runs: int
    points: Points = field(repr=False, compare=False)
    curves: RunCurves = field(repr=False, compare=False)
    convention: ConventionCheck | None = None

    def line_band(self, C, which: str = "N") -> pd.DataFrame:
        """Pointwise percentile band of the fitted line at C from the bootstrap (for charts)."""
        C = np.asarray(C, float)
        k = "a" if which == "N" else "b"
        centre = (self.n_opt if which == "N" else self.d_opt)(C)
        if self.bootstrap is None:
            return pd.DataFrame({"C": C, "value": centre, "lo": np.nan, "hi": np.nan})
        s, p = self.bootstrap.samples[k], self.bootstrap.samples[k + "0"]
        ok = np.isfinite(s) & np.isfinite(p)
        lines = p[ok, None] * C[None, :] ** s[ok, None]
        q = (100 * (1 - self.bootstrap.ci_level) / 2, 100 * (1 + self.bootstrap.ci_level) / 2)
        lo, hi = np.percentile(lines, q, axis=0) if ok.any() else (np.full(C.size, np.nan),) * 2
        return pd.DataFrame({"C": C, "value": centre, "lo": lo, "hi": hi})

    def _extra(self):
        return {
            "n_models_on_frontier": len(self.models_on_frontier),
            "models_on_frontier": list(self.models_on_frontier),
            "c_range": list(self.c_range),
            "c_range_source": self.c_range_source,
            "bracketed_range": list(self.bracketed_range),
            "grid_points": len(self.frontier),
            "read": self.read,
            "n_runs": self.n_runs,
            "n_points": len(self.points),
            "resample_unit": self.points.unit,
            "derived_columns": list(self.points.derived),
            "compute_convention": None if self.convention is None else self.convention.to_dict(),
        }


def _frontier_from_matrix(M: np.ndarray, N_runs: np.ndarray):
    """Argmin run per grid row of M (G, R) with NaN = not reached; returns (run index or -1, loss)."""
    filled = np.where(np.isnan(M), np.inf, M)
    idx = filled.argmin(-1)
    best = np.take_along_axis(filled, idx[..., None], -1)[..., 0]
    idx = np.where(np.isfinite(best), idx, -1)
    return idx, np.where(np.isfinite(best), best, np.nan)


@quiet
def fit_frontier(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    c_min: float | None = None,
    c_max: float | None = None,
    n_grid: int = 100,
    read: str = "interpolate",
    bootstrap: int = DEFAULT_REPLICATES,
    ci_level: float = 0.95,
    seed: int | None = 0,
    grid_range: str = "bracketed",
    handover: str = "overtaken",
    drop_highest_loss: int = 0,
    dropna: bool = False,
) -> FrontierFit:
    """Fit N_opt ∝ C^a and D_opt ∝ C^b on the loss-vs-compute frontier (see module doc). Without a
    run column each distinct N is taken as one run (one curve per size).

    The grid spans [c_min, c_max] when both are given. Otherwise it starts from the overlap range
    (where >= 2 curves coexist; a missing c_min or c_max comes from it), and with
    grid_range="bracketed" (default, when neither bound is given) it is narrowed to where the
    frontier model is neither the smallest nor the largest size: outside that range the true
    optimum may lie beyond the sampled sizes, the frontier sticks to the extreme size, and the
    fitted a is biased towards 0. If fewer than 3 sizes remain, the overlap range is kept (with a
    warning). grid_range="overlap" keeps the overlap range, with warnings where the ends are long.
    handover="overtaken" (default) ends the grid where a model leaves the frontier only because its run
    ended (see the module doc); "any" keeps the whole range.
    """
    points = prepare_points(df, columns, runs_when_missing="N", drop_highest_loss=drop_highest_loss, dropna=dropna)
    msgs = list(points.notes)
    require_sizes(points, 2, "the frontier fit")
    convention = check_convention(points)
    msgs += convention_warnings(convention, ALLOCATION_CONSEQUENCE)
    if np.ptp(np.log(points.C)) <= 1e-12:
        raise UserError(
            "all points are at one compute budget; the frontier fit needs loss curves logged over "
            "a range of compute (use the isoFLOP or parametric fit for single-budget data)"
        )
    if points.unit == "N":
        msgs.append("no run column: each distinct N is treated as one run (one loss curve per size)")
    run_curves = RunCurves.from_points(points)
    groups = points.seed_groups
    curves = run_curves if groups is None else run_curves.mean_by_size(groups)
    if groups is None and "seed" in points.frame.columns and points.frame["seed"].nunique() > 1:
        msgs.append(
            "some model sizes have several seeds and others one: the runs are resampled as independent curves, "
            "so the interval does not include the training noise of the single-seed sizes"
        )
    single = np.mean([x.size == 1 for x in curves.log_c])
    if single > 0.5:
        msgs.append(
            f"{single:.0%} of runs have a single logged point; the frontier method needs loss curves (a single "
            "point is only read at its exact C). Consider the parametric or isoFLOP fit"
        )
    if grid_range not in ("bracketed", "overlap"):
        raise UserError(f"grid_range must be 'bracketed' or 'overlap'; got {grid_range!r}")
    if handover not in ("overtaken", "any"):
        raise UserError(f"handover must be 'overtaken' or 'any'; got {handover!r}")
    if n_grid < 3:
        raise UserError("n_grid must be at least 3")
    if c_min is not None and c_max is not None:
        lo, hi, source = float(c_min), float(c_max), "user"
    else:
        lo, hi = overlap_range(curves)
        lo, hi = (lo if c_min is None else float(c_min)), (hi if c_max is None else float(c_max))
        source = "overlap" if (c_min is None and c_max is None) else "user"
    _check_range(lo, hi)
    grid, M, idx, best = _frontier_on(curves, lo, hi, n_grid, read)
    if source == "overlap" and grid_range == "bracketed":
        ok = idx >= 0
        br = _bracketed_range(grid[ok], curves.N[idx[ok]], curves.N)
        inner = ok & (grid >= br[0]) & (grid <= br[1]) if np.isfinite(br[0]) else np.zeros_like(ok)
        n_inner = np.unique(curves.N[idx[inner]]).size if inner.any() else 0
        if n_inner >= MIN_FRONTIER_MODELS and br[1] > br[0]:
            lo, hi, source = br[0], br[1], "bracketed"
            grid, M, idx, best = _frontier_on(curves, lo, hi, n_grid, read)
        else:
            msgs.append(
                f"only {n_inner} model size(s) are optimal away from the smallest and largest sizes; the grid "
                "keeps the whole overlap range, whose ends are biased towards the extreme sizes"
            )
    keep = idx >= 0
    if not keep.all():
        msgs.append(f"{int((~keep).sum())} of {n_grid} grid points have no run that reached them; dropped")
    if keep.sum() < 2:
        raise UserError("fewer than two grid points have any run; choose c_min/c_max inside the logged compute")
    C = grid[keep]
    run_opt = idx[keep]
    keep_idx = np.flatnonzero(keep)
    if handover == "overtaken":
        end = _first_handover_by_ending(C, run_opt, curves)
        if end is not None:
            hi = float(C[end])
            msgs.append(
                f"the frontier ends at C = {hi:.3g}: there {curves.labels[run_opt[end]]} leaves it because its run "
                "ends while it is still the best (it was never overtaken); beyond that a larger model would lead only "
                "because the smaller ones were not trained that far. Train the smaller models longer to extend it"
            )
            C, run_opt, keep_idx = C[: end + 1], run_opt[: end + 1], keep_idx[: end + 1]
            if C.size < 2:
                raise UserError(
                    "the frontier ends before its first hand-over: no model was overtaken while still training, "
                    "so the frontier only traces where the runs stop (train the smaller models longer, or use the "
                    "parametric fit)"
                )
    N_opt = curves.N[run_opt]
    D_opt = C / curves.flops_per_input[run_opt]
    frontier = pd.DataFrame(
        {"C": C, "N_opt": N_opt, "D_opt": D_opt, "loss_opt": best[keep_idx], "run": [curves.labels[i] for i in run_opt]}
    )
    models = tuple(sorted(set(map(float, N_opt))))
    bracketed = _bracketed_range(C, N_opt, curves.N)
    if source != "bracketed":
        msgs += _edge_warnings(C, bracketed)
    if len(models) < MIN_FRONTIER_MODELS:
        msgs.append(
            f"only {len(models)} distinct model size(s) on the frontier (< {MIN_FRONTIER_MODELS}); a and b "
            "rest on too few models to be trusted"
        )
    msgs += _past_optimum_warnings(C, run_opt, curves)
    lC = np.log(C)
    ones = np.ones((1, C.size), bool)
    sa, ia = loglog_lines_batched(lC, np.log(N_opt)[None], ones)
    sb, ib = loglog_lines_batched(lC, np.log(D_opt)[None], ones)
    point = {
        "a": float(sa[0]),
        "b": float(sb[0]),
        "a0": float(np.exp(ia[0])),
        "b0": float(np.exp(ib[0])),
        "a_plus_b": float(sa[0] + sb[0]),
    }

    estimates = estimates_from_samples(point, None, ci_level)
    boot = None
    if bootstrap:
        if groups is None:
            samples, valid = _bootstrap(M[keep_idx], curves.N, curves.flops_per_input, lC, bootstrap, seed)
        else:
            samples, valid = _bootstrap_seeds(
                run_curves.read(C, read), groups, curves.N, curves.flops_per_input, lC, bootstrap, seed
            )
        frac = float(valid.mean())
        if frac < 0.9:
            msgs.append(f"only {frac:.1%} of bootstrap replicates had >= 2 models on the frontier; intervals use those")
        boot = BootstrapInfo(
            replicates=bootstrap,
            unit=points.unit if groups is None else "seed",
            n_units=run_curves.n_runs,
            ci_level=ci_level,
            seed=seed,
            converged_fraction=1.0,
            valid_fraction=frac,
            samples=samples,
        )
        estimates = estimates_from_samples(point, samples, ci_level, mask=valid)
    return FrontierFit(
        method="frontier",
        estimates=estimates,
        converged=True,
        warnings=emit(msgs),
        bootstrap=boot,
        frontier=frontier,
        models_on_frontier=models,
        c_range=(float(lo), float(hi)),
        c_range_source=source,
        bracketed_range=bracketed,
        read=read,
        n_runs=run_curves.n_runs,
        points=points,
        curves=curves,
        convention=convention,
    )


def _past_optimum_warnings(C: np.ndarray, run_opt: np.ndarray, curves: RunCurves) -> list[str]:
    """The frontier method needs runs trained past their compute-optimal point, so that a larger model
    overtakes a smaller one while the smaller one is still training. If every model leaves the
    frontier only because its own curve ends there, no curve was overtaken: the frontier then traces
    where the runs stop (the budget design) rather than the loss law, and a reflects that design."""
    left_by_ending = overtaken = 0
    for j in range(C.size - 1):
        r, nxt = run_opt[j], run_opt[j + 1]
        if nxt == r:
            continue
        if C[j + 1] > curves.c_last[r] * (1 + 1e-9):
            left_by_ending += 1
        else:
            overtaken += 1
    if left_by_ending and not overtaken:
        return [
            f"no model was overtaken while still training: each of the {left_by_ending} hand-overs on the frontier "
            "happens where a run's curve ends, so no run went past its compute-optimal point. The frontier traces "
            "where the runs stop (the budget design), not the loss law; do not read a and b from it (train the "
            "smaller models longer, or use the parametric fit)"
        ]
    return []


def _first_handover_by_ending(C: np.ndarray, run_opt: np.ndarray, curves: RunCurves) -> int | None:
    """Index of the last grid point before the first hand-over to a larger model that happens because
    the leading model's run ended (not because it was overtaken); None when there is none."""
    for j in range(C.size - 1):
        r, nxt = run_opt[j], run_opt[j + 1]
        if nxt != r and curves.N[nxt] > curves.N[r] and C[j + 1] > curves.c_last[r] * (1 + 1e-9):
            return j
    return None


def _check_range(lo: float, hi: float) -> None:
    if not (lo > 0 and hi > lo):
        raise UserError(
            f"the frontier's compute range is empty (c_min={lo:.4g}, c_max={hi:.4g}); the curves do not "
            "overlap there. Pass --c-min/--c-max inside the logged range, or use the parametric fit"
        )


def _frontier_on(curves: RunCurves, lo: float, hi: float, n_grid: int, read: str):
    grid = np.geomspace(lo, hi, n_grid)
    M = curves.read(grid, read)
    idx, best = _frontier_from_matrix(M, curves.N)
    return grid, M, idx, best


def _bracketed_range(C: np.ndarray, N_opt: np.ndarray, N_all: np.ndarray) -> tuple[float, float]:
    """The C range where the frontier model is neither the smallest nor the largest size run: outside
    it the true optimum may lie beyond the sampled sizes, which flattens the N_opt line."""
    inner = (N_opt > N_all.min()) & (N_opt < N_all.max())
    if not inner.any():
        return (float("nan"), float("nan"))
    return float(C[inner][0]), float(C[inner][-1])


EDGE_FRACTION = 0.2


def _edge_warnings(C: np.ndarray, bracketed: tuple[float, float]) -> list[str]:
    lo, hi = np.log(C[0]), np.log(C[-1])
    if not np.isfinite(bracketed[0]):
        return [
            "the frontier never leaves the smallest or largest model size; the sweep does not bracket the "
            "optimum anywhere on the grid"
        ]
    msgs = []
    f_lo = (np.log(bracketed[0]) - lo) / (hi - lo)
    f_hi = (hi - np.log(bracketed[1])) / (hi - lo)
    if f_lo > EDGE_FRACTION:
        msgs.append(
            f"the smallest model is on the frontier for C < {bracketed[0]:.3g} ({f_lo:.0%} of the grid in "
            "log C), where the optimum may be smaller than any model run; this flattens N_opt (consider "
            f"--c-min {bracketed[0]:.3g})"
        )
    if f_hi > EDGE_FRACTION:
        msgs.append(
            f"the largest model is on the frontier for C > {bracketed[1]:.3g} ({f_hi:.0%} of the grid in "
            "log C), where the optimum may be larger than any model run; this flattens N_opt (consider "
            f"--c-max {bracketed[1]:.3g})"
        )
    return msgs


def _bootstrap_seeds(
    M_runs: np.ndarray,
    groups: np.ndarray,
    N_sizes: np.ndarray,
    fpi_sizes: np.ndarray,
    lC: np.ndarray,
    replicates: int,
    seed: int | None,
    chunk: int = 4_000_000,
):
    """The hierarchical frontier bootstrap: each replicate draws every size's seeds with replacement,
    averages them (the geometric mean, as the point estimate does) and recomputes the frontier."""
    G, R = M_runs.shape
    S = N_sizes.size
    counts = run_counts(R, replicates, seed, groups).astype(float)
    reached = np.isfinite(M_runs)
    logM = np.where(reached, np.log(np.where(reached, M_runs, 1.0)), 0.0)
    assign = np.zeros((R, S))
    assign[np.arange(R), groups] = 1.0
    means = np.full((replicates, G, S), np.nan)
    step = max(1, chunk // max(1, G * R))
    for s in range(0, replicates, step):
        w = counts[s : s + step]
        num = np.einsum("br,gr,rs->bgs", w, logM, assign)
        den = np.einsum("br,gr,rs->bgs", w, reached.astype(float), assign)
        drawn = np.einsum("br,rs->bs", w, assign)[:, None, :]
        # a size counts at C only when every seed drawn for it reached C (as in the point estimate)
        means[s : s + step] = np.where((den > 0) & (den == drawn), np.exp(num / np.where(den > 0, den, 1.0)), np.nan)
    return _lines_from_frontiers(means, N_sizes, fpi_sizes, lC)


def _bootstrap(
    M: np.ndarray,
    N_runs: np.ndarray,
    fpi_runs: np.ndarray,
    lC: np.ndarray,
    replicates: int,
    seed: int | None,
    chunk: int = 4_000_000,
):
    """Vectorised frontier bootstrap. Returns coefficient samples (plus the per-replicate frontier
    N_opt and loss on the grid, for the compute-law bootstrap) and the valid mask."""
    G, R = M.shape
    present = run_counts(R, replicates, seed) > 0
    N_opt = np.full((replicates, G), np.nan)
    F_opt = np.full((replicates, G), np.nan)
    L_opt = np.full((replicates, G), np.nan)
    step = max(1, chunk // max(1, G * R))
    for s in range(0, replicates, step):
        pk = present[s : s + step]
        Mk = np.where(pk[:, None, :], M[None], np.nan)
        idx, best = _frontier_from_matrix(Mk, N_runs)
        N_opt[s : s + step] = np.where(idx >= 0, N_runs[idx.clip(0)], np.nan)
        F_opt[s : s + step] = np.where(idx >= 0, fpi_runs[idx.clip(0)], np.nan)
        L_opt[s : s + step] = best
    return _lines(N_opt, F_opt, L_opt, lC)


def _lines_from_frontiers(M: np.ndarray, N_runs: np.ndarray, fpi_runs: np.ndarray, lC: np.ndarray):
    """Frontiers of (replicates, G, runs) loss matrices, and their lines."""
    idx, best = _frontier_from_matrix(M, N_runs)
    N_opt = np.where(idx >= 0, N_runs[idx.clip(0)], np.nan)
    F_opt = np.where(idx >= 0, fpi_runs[idx.clip(0)], np.nan)
    return _lines(N_opt, F_opt, best, lC)


def _lines(N_opt: np.ndarray, F_opt: np.ndarray, L_opt: np.ndarray, lC: np.ndarray):
    """Coefficient samples of the replicates' frontiers (plus their N_opt and loss on the grid, for the
    compute-law bootstrap) and the valid mask."""
    ok = np.isfinite(N_opt)
    logN = np.log(np.where(ok, N_opt, 1.0))
    n_models = np.array([np.unique(row[np.isfinite(row)]).size for row in N_opt])
    sa, ia = loglog_lines_batched(lC, logN, ok)
    logD = lC[None] - np.log(np.where(ok, F_opt, 1.0))
    sb, ib = loglog_lines_batched(lC, logD, ok)
    valid = (n_models >= 2) & np.isfinite(sa)
    samples = {
        "a": np.where(valid, sa, np.nan),
        "b": np.where(valid, sb, np.nan),
        "a0": np.where(valid, np.exp(ia), np.nan),
        "b0": np.where(valid, np.exp(ib), np.nan),
        "a_plus_b": np.where(valid, sa + sb, np.nan),
        "N_opt_grid": N_opt,
        "loss_opt_grid": L_opt,
        "n_models": n_models.astype(float),
    }
    return samples, valid
