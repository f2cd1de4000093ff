"""Input validation and column mapping: a plain DataFrame of logged points (one row per point)
becomes a `Points` object with canonical columns run, N, D, C, loss.

Rules (the same for every method and the CLI):
- N and loss are required. Of D and C at least one: a missing D is derived as C/(6N) (the
  paper's C = 6ND), a missing C as 6ND. Give both when C follows another convention (FLOPs counted
  per layer, attention included, ...): C is then taken as given (fit/convention.py checks it).
- An optional budget column gives each row's nominal isoFLOP budget (the isoFLOP fit groups rows by
  it instead of by C); it is validated like the other numeric columns.
- The run column groups points into training runs (curves); the bootstrap resamples runs. When the
  default column `run_id` is absent the caller chooses the fallback: each point is its own run
  (independent final-loss points, as in the Chinchilla CSV) or each distinct N is one run
  (one curve per model size). A run column that was named explicitly must exist.
- An optional seed column (default `seed`, used when present) marks runs of one N that differ only in
  their training seed: when every size has at least two runs with distinct seeds, the fits average
  or resample seeds within sizes (fit/bootstrap.py).
- NaN/inf or non-positive values are errors (never silently dropped); `dropna=True` drops
  non-finite rows with a FitWarning instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import UserError
from ..paths import data_file
from .bootstrap import seed_groups

DEFAULT_RUN_COL = "run_id"
DEFAULT_SEED_COL = "seed"


@dataclass(frozen=True)
class Columns:
    """Which input columns hold what. D or C may be absent from the data (see module doc)."""

    run: str | None = DEFAULT_RUN_COL
    N: str = "N"
    D: str = "D"
    C: str = "C"
    loss: str = "loss"
    budget: str | None = None  # nominal isoFLOP budget of each row (optional)
    seed: str | None = DEFAULT_SEED_COL  # training seed of each run (optional)


@dataclass(frozen=True)
class Points:
    """Validated points. `frame` has columns run (int code), run_label, N, D, C, loss (and budget
    when a budget column was given), in input order after any drops; `unit` says what a run is:
    "run" (a column), "point" or "N"."""

    frame: pd.DataFrame = field(repr=False)
    unit: str
    derived: tuple[str, ...]  # columns computed here, e.g. ("D",)
    n_dropped: int = 0
    notes: tuple[str, ...] = ()  # messages for the result's warnings (already non-fatal)

    @property
    def N(self) -> np.ndarray:
        return self.frame["N"].to_numpy(float)

    @property
    def D(self) -> np.ndarray:
        return self.frame["D"].to_numpy(float)

    @property
    def C(self) -> np.ndarray:
        return self.frame["C"].to_numpy(float)

    @property
    def loss(self) -> np.ndarray:
        return self.frame["loss"].to_numpy(float)

    @property
    def run(self) -> np.ndarray:
        return self.frame["run"].to_numpy(int)

    @property
    def has_budget(self) -> bool:
        return "budget" in self.frame.columns

    @property
    def budget(self) -> np.ndarray:
        return self.frame["budget"].to_numpy(float)

    @property
    def seed_groups(self) -> np.ndarray | None:
        """A size code per run (0..R-1 order) when the runs are seeds of their sizes (see
        bootstrap.seed_groups), else None."""
        if self.unit != "run" or "seed" not in self.frame.columns:
            return None
        per_run = self.frame.groupby("run", sort=True)[["N", "seed"]].first()
        return seed_groups(per_run["N"].to_numpy(float), per_run["seed"].to_numpy())

    @property
    def resample_unit(self) -> str:
        """What a bootstrap replicate resamples: "seed" (within sizes) or the unit."""
        return "seed" if self.seed_groups is not None else self.unit

    @property
    def n_runs(self) -> int:
        return int(self.frame["run"].nunique())

    @property
    def n_sizes(self) -> int:
        return int(np.unique(self.N).size)

    def __len__(self) -> int:
        return len(self.frame)


def prepare_points(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    runs_when_missing: str = "point",
    drop_highest_loss: int = 0,
    dropna: bool = False,
    c_range: tuple[float | None, float | None] = (None, None),
) -> Points:
    """Validate `df` and map it onto canonical columns. Raises UserError on bad input.

    runs_when_missing: "point" or "N" (see module doc). drop_highest_loss: drop the k points with
    the highest loss first (Epoch AI drop 5 Chinchilla points this way). c_range: keep only points
    with c_min <= C <= c_max.
    """
    cols = columns or Columns()
    if not isinstance(df, pd.DataFrame):
        raise UserError(f"expected a pandas DataFrame of logged points, got {type(df).__name__}")
    if len(df) == 0:
        raise UserError("the table of points is empty")
    if runs_when_missing not in ("point", "N"):
        raise ValueError("runs_when_missing must be 'point' or 'N'")

    available = list(map(str, df.columns))
    missing = [c for c in (cols.N, cols.loss) if c not in df.columns]
    if missing:
        raise UserError(
            f"missing column(s) {missing}; available: {available} "
            "(map yours with --n-col/--loss-col or Columns(N=..., loss=...))"
        )
    has_d, has_c = cols.D in df.columns, cols.C in df.columns
    if not (has_d or has_c):
        raise UserError(
            f"need a tokens column {cols.D!r} or a compute column {cols.C!r}; available: "
            f"{available} (map yours with --d-col/--c-col)"
        )
    if cols.run is not None and cols.run not in df.columns and cols.run != DEFAULT_RUN_COL:
        raise UserError(f"run column {cols.run!r} not found; available: {available}")
    if cols.budget is not None and cols.budget not in df.columns:
        raise UserError(f"budget column {cols.budget!r} not found; available: {available}")
    if cols.seed is not None and cols.seed not in df.columns and cols.seed != DEFAULT_SEED_COL:
        raise UserError(f"seed column {cols.seed!r} not found; available: {available}")

    out = pd.DataFrame(index=df.index)
    for canon, name, present in (
        ("N", cols.N, True),
        ("D", cols.D, has_d),
        ("C", cols.C, has_c),
        ("loss", cols.loss, True),
        ("budget", cols.budget, cols.budget is not None),
    ):
        if present:
            try:
                out[canon] = pd.to_numeric(df[name], errors="raise").astype(float)
            except (ValueError, TypeError) as e:
                raise UserError(f"column {name!r} is not numeric: {e}") from None

    notes: list[str] = []
    used = [c for c in ("N", "D", "C", "loss", "budget") if c in out.columns]
    bad = ~np.isfinite(out[used].to_numpy(float)).all(axis=1)
    if bad.any():
        first = out.index[bad][0]
        msg = (
            f"{int(bad.sum())} row(s) have NaN or infinite values in "
            f"{[c for c in used if not np.isfinite(out[c]).all()]}"
            f" (first at index {first})"
        )
        if not dropna:
            raise UserError(msg + "; clean the data or pass dropna=True to drop them")
        notes.append(msg + "; dropped")
        out = out.loc[~bad]
        df = df.loc[out.index]
    for c in used:
        nonpos = out[c] <= 0
        if nonpos.any():
            raise UserError(
                f"column for {c} has {int(nonpos.sum())} non-positive value(s) (first at index "
                f"{out.index[nonpos.to_numpy()][0]}); N, D, C, loss and budgets must be > 0 for log-space fits"
            )

    derived: list[str] = []
    if not has_d:
        out["D"] = out["C"] / (6.0 * out["N"])
        derived.append("D")
    if not has_c:
        out["C"] = 6.0 * out["N"] * out["D"]
        derived.append("C")

    if cols.run is not None and cols.run in df.columns:
        labels = df[cols.run]
        if labels.isna().any():
            raise UserError(f"run column {cols.run!r} has {int(labels.isna().sum())} missing value(s)")
        unit = "run"
    elif runs_when_missing == "N":
        labels = out["N"]
        unit = "N"
    else:
        labels = pd.Series(np.arange(len(out)), index=out.index)
        unit = "point"
    out["run_label"] = labels.astype(str).to_numpy()
    out["run"] = pd.factorize(labels)[0]
    if unit == "run" and cols.seed is not None and cols.seed in df.columns:
        seeds = df[cols.seed]
        if seeds.isna().any():
            raise UserError(f"seed column {cols.seed!r} has {int(seeds.isna().sum())} missing value(s)")
        if (seeds.groupby(out["run"].to_numpy()).nunique() > 1).any():
            raise UserError(f"seed column {cols.seed!r} changes within a run; a run has one seed")
        out["seed"] = seeds.astype(str).to_numpy()

    lo, hi = c_range
    if lo is not None or hi is not None:
        keep = np.ones(len(out), bool)
        if lo is not None:
            keep &= out["C"].to_numpy() >= lo
        if hi is not None:
            keep &= out["C"].to_numpy() <= hi
        if not keep.any():
            raise UserError(f"no points with C in [{lo}, {hi}] (data span {out['C'].min():.3g}–{out['C'].max():.3g})")
        out = out.loc[keep]

    n_dropped = 0
    if drop_highest_loss:
        if drop_highest_loss < 0 or drop_highest_loss >= len(out):
            raise UserError(f"drop_highest_loss={drop_highest_loss} must be in [0, {len(out) - 1}]")
        order = np.argsort(-out["loss"].to_numpy(), kind="stable")
        out = out.drop(index=out.index[order[:drop_highest_loss]])
        n_dropped = drop_highest_loss

    if unit == "run":
        n_per_run = out.groupby("run")["N"].nunique()
        if (n_per_run > 1).any():
            bad_run = out.loc[out["run"] == n_per_run.index[(n_per_run > 1).to_numpy()][0], "run_label"].iloc[0]
            raise UserError(f"run {bad_run!r} has more than one N; each run must be one model size")
    out["run"] = pd.factorize(out["run"])[0]
    keep_cols = ["run", "run_label", "N", "D", "C", "loss"] + [c for c in ("budget", "seed") if c in out.columns]
    frame = out[keep_cols].reset_index(drop=True)
    return Points(frame=frame, unit=unit, derived=tuple(derived), n_dropped=n_dropped, notes=tuple(notes))


def require_sizes(points: Points, k: int, method: str) -> None:
    if points.n_sizes < k:
        only = f"only {points.n_sizes} model size" + ("s" if points.n_sizes != 1 else "")
        raise UserError(f"{method} needs at least {k} distinct model sizes N; the data has {only}")


def identifiability_warnings(points: Points, min_decades: float = 1.5) -> list[str]:
    """Warnings for L(N, D) fits: too narrow an N range, or D tied to N (one D per N, or a single
    budget, where log D = log C - log 6N), so alpha and beta cannot be told apart."""
    msgs = []
    lN, lD = np.log10(points.N), np.log10(points.D)
    span = float(lN.max() - lN.min())
    if span < min_decades:
        msgs.append(f"N spans only {span:.2f} decades (< {min_decades}); alpha, A and E are weakly identified")
    if np.ptp(lD) < 1e-12:
        msgs.append("D takes a single value; beta and B are not identifiable")
    elif np.ptp(lN) > 0:
        slope, icpt = np.polyfit(lN, lD, 1)
        resid = lD - (slope * lN + icpt)
        r2 = 1 - resid.var() / lD.var()
        if r2 > 0.95 or resid.std() < 0.1:
            msgs.append(
                f"D does not vary independently of N (log D on log N: R^2={r2:.3f}, residual SD "
                f"{resid.std():.3f} decades); alpha and beta are confounded"
            )
    if np.ptp(np.log10(points.C)) < 1e-9:
        msgs.append("all points are at one compute budget; D is determined by N")
    return msgs


def chinchilla_points() -> pd.DataFrame:
    """Epoch AI's 245 points digitised from Chinchilla's Figure 4 (data/chinchilla_points.csv), as
    canonical columns N, C, D (= C/6N, imputed as Epoch do) and loss; no run column (each point is
    a separate training run)."""
    raw = pd.read_csv(data_file("chinchilla_points.csv"))
    out = pd.DataFrame(
        {
            "N": raw["Model Size"].astype(float),
            "C": raw["Training FLOP"].astype(float),
            "loss": raw["loss"].astype(float),
        }
    )
    out["D"] = out["C"] / (6 * out["N"])
    return out[["N", "D", "C", "loss"]]
