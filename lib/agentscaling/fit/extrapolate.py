"""Extrapolation checks: does a fit made on small budgets predict what happens at larger ones?

* `leave_future_out`: refit on everything up to a compute edge and predict the next window
  (Tuyls et al.'s time-series split; Porian et al.'s "accuracy versus experiment compute").
  - parametric / parametric-lsq: windows cut at quantiles of log C over the points; predicts the
    held-out losses.
  - frontier: the frontier is computed once on its grid (reading a curve at C only needs the data
    up to C, so truncating the data would not change it); the N_opt line is refitted on the grid
    points up to each edge and predicts N_opt on the next window.
  - isoflop: the line through the first k budgets predicts N_opt at budget k+1.
* `predict_largest_run`: hold out the largest model size, fit the parametric law on the others and
  predict its whole loss curve (the paper's Fig. 9 check, with a curve instead of a point).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UserError
from .common import FitWarning, emit, jsonable
from .data import Columns, prepare_points
from .frontier import fit_frontier
from .isoflop import fit_isoflop
from .parametric import ParametricFit, fit_parametric, fit_parametric_lsq

PARAMETRIC = {"parametric": fit_parametric, "parametric-lsq": fit_parametric_lsq}


@dataclass(frozen=True)
class ExtrapolationResult:
    method: str
    kind: str  # "leave-future-out" or "largest-run"
    table: pd.DataFrame = field(repr=False)  # one row per fold (or per held-out point)
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    fit: ParametricFit | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "method": self.method,
                "kind": self.kind,
                "summary": self.summary,
                "table": self.table.to_dict(orient="records"),
                "warnings": list(self.warnings),
                "fit": None if self.fit is None else self.fit.to_dict(),
            }
        )


def _canonical(points) -> pd.DataFrame:
    f = points.frame
    return pd.DataFrame({"run_id": f["run_label"], "N": f["N"], "D": f["D"], "C": f["C"], "loss": f["loss"]})


def _quiet(fn, *args, **kwargs):
    """Run a fit collecting its FitWarnings (they go into the fold's row instead of the console)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught if issubclass(w.category, FitWarning)]


def leave_future_out(
    df: pd.DataFrame,
    columns: Columns | None = None,
    *,
    method: str = "parametric",
    n_folds: int = 4,
    train_fraction: float = 0.5,
    min_train_budgets: int = 3,
    **fit_kwargs,
) -> ExtrapolationResult:
    """Refit on the smaller budgets, predict the next window (see module doc). fit_kwargs go to the
    fit function (bootstrap defaults to 0 here)."""
    fit_kwargs.setdefault("bootstrap", 0)
    if method in PARAMETRIC:
        return _lfo_parametric(df, columns, method, n_folds, train_fraction, fit_kwargs)
    if method == "frontier":
        fr = fit_frontier(df, columns, **fit_kwargs)
        g = fr.frontier
        return _lfo_line(method, g["C"].to_numpy(), g["N_opt"].to_numpy(), n_folds, train_fraction, fr.warnings)
    if method == "isoflop":
        iso = fit_isoflop(df, columns, **fit_kwargs)
        p = iso.profiles.loc[iso.profiles["used"]]
        return _lfo_budgets(p["C"].to_numpy(), p["N_opt"].to_numpy(), min_train_budgets, iso.warnings)
    raise UserError(f"method must be one of parametric, parametric-lsq, frontier, isoflop; got {method!r}")


def _edges(logc: np.ndarray, n_folds: int, train_fraction: float) -> np.ndarray:
    if not 0 < train_fraction < 1 or n_folds < 1:
        raise UserError("need 0 < train_fraction < 1 and n_folds >= 1")
    return np.quantile(logc, np.linspace(train_fraction, 1.0, n_folds + 1))


def _lfo_parametric(df, columns, method, n_folds, train_fraction, fit_kwargs) -> ExtrapolationResult:
    points = prepare_points(df, columns, runs_when_missing="point")
    data = _canonical(points)
    logc = np.log(data["C"].to_numpy())
    edges = _edges(logc, n_folds, train_fraction)
    rows, msgs = [], []
    for k in range(n_folds):
        train = data.loc[logc <= edges[k]]
        test = data.loc[(logc > edges[k]) & (logc <= edges[k + 1])]
        row = {
            "fold": k,
            "c_train_max": float(np.exp(edges[k])),
            "c_test_max": float(np.exp(edges[k + 1])),
            "n_train": len(train),
            "n_test": len(test),
        }
        if test.empty:
            continue
        try:
            fit, w = _quiet(PARAMETRIC[method], train, **fit_kwargs)
        except UserError as e:
            msgs.append(f"fold {k}: {e}")
            rows.append(row | {"error": str(e)})
            continue
        pred = fit.law.loss(test["N"], test["D"])
        rel = (pred - test["loss"].to_numpy()) / test["loss"].to_numpy()
        row |= {
            "a": fit.a,
            "alpha": fit.law.alpha,
            "beta": fit.law.beta,
            "E": fit.law.E,
            "converged": fit.converged,
            "rmse_log_loss": float(np.sqrt(np.mean((np.log(pred) - np.log(test["loss"])) ** 2))),
            "mean_rel_error": float(rel.mean()),
            "max_abs_rel_error": float(np.abs(rel).max()),
            "warnings": "; ".join(w),
        }
        rows.append(row)
    table = pd.DataFrame(rows)
    summary = _summary(table, "rmse_log_loss")
    return ExtrapolationResult(method, "leave-future-out", table, summary, emit(msgs))


def _lfo_line(method, C, N_opt, n_folds, train_fraction, fit_warnings) -> ExtrapolationResult:
    lc = np.log(C)
    edges = _edges(lc, n_folds, train_fraction)
    rows = []
    for k in range(n_folds):
        tr = lc <= edges[k]
        te = (lc > edges[k]) & (lc <= edges[k + 1])
        if te.sum() == 0 or np.unique(N_opt[tr]).size < 2:
            continue
        slope, icpt = np.polyfit(lc[tr], np.log(N_opt[tr]), 1)
        err = (slope * lc[te] + icpt - np.log(N_opt[te])) / np.log(10)
        rows.append(
            {
                "fold": k,
                "c_train_max": float(np.exp(edges[k])),
                "c_test_max": float(np.exp(edges[k + 1])),
                "n_train": int(tr.sum()),
                "n_test": int(te.sum()),
                "a": float(slope),
                "models_in_train": int(np.unique(N_opt[tr]).size),
                "rmse_log10_N_opt": float(np.sqrt(np.mean(err**2))),
                "mean_log10_error": float(err.mean()),
            }
        )
    table = pd.DataFrame(rows)
    msgs = [] if rows else ["no fold had >= 2 frontier models in its training window"]
    return ExtrapolationResult(
        method, "leave-future-out", table, _summary(table, "rmse_log10_N_opt"), tuple(fit_warnings) + emit(msgs)
    )


def _lfo_budgets(C, N_opt, min_train, fit_warnings) -> ExtrapolationResult:
    order = np.argsort(C)
    C, N_opt = C[order], N_opt[order]
    rows = []
    for k in range(min_train, C.size):
        slope, icpt = np.polyfit(np.log(C[:k]), np.log(N_opt[:k]), 1)
        err = float((slope * np.log(C[k]) + icpt - np.log(N_opt[k])) / np.log(10))
        rows.append(
            {
                "fold": k - min_train,
                "n_train_budgets": k,
                "c_train_max": float(C[k - 1]),
                "c_test": float(C[k]),
                "a": float(slope),
                "predicted_N_opt": float(np.exp(slope * np.log(C[k]) + icpt)),
                "observed_N_opt": float(N_opt[k]),
                "log10_error": err,
            }
        )
    table = pd.DataFrame(rows)
    msgs = [] if rows else [f"fewer than {min_train + 1} usable budgets; nothing to hold out"]
    s = _summary(table, "log10_error", rms=True)
    return ExtrapolationResult("isoflop", "leave-future-out", table, s, tuple(fit_warnings) + emit(msgs))


def _summary(table: pd.DataFrame, col: str, rms: bool = False) -> dict[str, Any]:
    if table.empty or col not in table:
        return {"folds": 0}
    v = table[col].dropna().to_numpy()
    out: dict[str, Any] = {"folds": int(v.size)}
    out[f"mean_{col}" if not rms else f"rms_{col}"] = (
        float(np.sqrt(np.mean(v**2)) if rms else v.mean()) if v.size else None
    )
    if "a" in table:
        out["a_by_fold"] = [float(x) for x in table["a"].to_numpy()]
    return out


def predict_largest_run(
    df: pd.DataFrame, columns: Columns | None = None, *, method: str = "parametric", **fit_kwargs
) -> ExtrapolationResult:
    """Hold out every run of the largest N, fit `method` on the rest, predict the held-out curve."""
    if method not in PARAMETRIC:
        raise UserError(f"method must be one of {list(PARAMETRIC)}; got {method!r}")
    fit_kwargs.setdefault("bootstrap", 0)
    points = prepare_points(df, columns, runs_when_missing="N")
    data = _canonical(points)
    n_max = data["N"].max()
    held = data.loc[data["N"] == n_max]
    rest = data.loc[data["N"] < n_max]
    if rest["N"].nunique() < 2:
        raise UserError("predicting the largest model needs at least two other model sizes")
    fit = PARAMETRIC[method](rest, **fit_kwargs)
    pred = fit.law.loss(held["N"], held["D"])
    table = held[["run_id", "N", "D", "C", "loss"]].assign(predicted=pred)
    table["rel_error"] = (table["predicted"] - table["loss"]) / table["loss"]
    last = table.sort_values("C").groupby("run_id").tail(1)
    summary = {
        "held_out_N": float(n_max),
        "n_points": len(table),
        "rmse_log_loss": float(np.sqrt(np.mean((np.log(table["predicted"]) - np.log(table["loss"])) ** 2))),
        "mean_rel_error": float(table["rel_error"].mean()),
        "max_abs_rel_error": float(table["rel_error"].abs().max()),
        "final_point_rel_error": float(last["rel_error"].mean()),
        "fit_converged": fit.converged,
    }
    return ExtrapolationResult(method, "largest-run", table.reset_index(drop=True), summary, fit.warnings, fit)
