"""Extrapolation checks: leave-future-out and predicting the largest model's curve."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agentscaling.errors import UserError
from agentscaling.fit import ParametricLaw, isoflop_design, leave_future_out, predict_largest_run, sweep_curves

LAW = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)
SIZES = np.geomspace(1e6, 1e9, 8)


def test_largest_run_is_predicted_from_the_others_when_the_law_holds():
    df = sweep_curves(LAW, SIZES, points_per_run=20, noise=0.002, seed=0)
    r = predict_largest_run(df, n_starts=3)
    assert r.summary["held_out_N"] == pytest.approx(1e9)
    assert r.summary["rmse_log_loss"] < 0.01
    assert (r.table["N"] == 1e9).all() and len(r.table) == 20
    json.dumps(r.to_dict())


def test_largest_run_misprediction_is_detected_when_the_law_breaks():
    df = sweep_curves(LAW, SIZES, points_per_run=20)
    big = df["N"] == df["N"].max()
    df.loc[big, "loss"] *= 1.08  # the largest model underperforms the law by 8 %
    r = predict_largest_run(df, n_starts=3)
    assert r.summary["mean_rel_error"] == pytest.approx(-0.074, abs=0.01)


def test_leave_future_out_parametric_folds():
    df = sweep_curves(LAW, SIZES, points_per_run=20, noise=0.002, seed=1)
    r = leave_future_out(df, method="parametric", n_folds=3, n_starts=3)
    assert r.kind == "leave-future-out" and len(r.table) == 3
    assert (r.table["c_train_max"] < r.table["c_test_max"]).all()
    assert r.table["rmse_log_loss"].max() < 0.02
    assert r.summary["folds"] == 3 and len(r.summary["a_by_fold"]) == 3


def test_leave_future_out_frontier_and_isoflop():
    df = sweep_curves(LAW, SIZES, points_per_run=30)
    r = leave_future_out(df, method="frontier", n_folds=3)
    assert len(r.table) >= 2
    assert r.table["rmse_log10_N_opt"].max() < 0.2  # within ~1.6x on N_opt
    iso = isoflop_design(LAW, np.geomspace(1e17, 1e21, 7))
    r2 = leave_future_out(iso, method="isoflop", min_train_budgets=3)
    assert len(r2.table) == 4
    assert np.abs(r2.table["log10_error"]).max() < 0.02
    assert r2.table["predicted_N_opt"].iloc[-1] == pytest.approx(float(LAW.n_opt(1e21)), rel=0.05)


def test_unknown_method_is_an_error():
    df = sweep_curves(LAW, SIZES[:3], points_per_run=10)
    with pytest.raises(UserError):
        leave_future_out(df, method="magic")
    with pytest.raises(UserError, match="at least two other"):
        predict_largest_run(df.loc[df["N"] >= df["N"].median()], n_starts=2)
