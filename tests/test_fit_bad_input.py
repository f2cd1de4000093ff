"""Bad input gives a clear UserError or an explicit FitWarning, never a silent number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agentscaling.errors import UserError
from agentscaling.fit import (
    Columns,
    FitWarning,
    ParametricLaw,
    fit_frontier,
    fit_isoflop,
    fit_parametric,
    fit_parametric_lsq,
    isoflop_design,
    prepare_points,
    sweep_curves,
)

LAW = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)
ALL_FITS = [fit_parametric, fit_parametric_lsq, fit_frontier, fit_isoflop]


@pytest.fixture
def good() -> pd.DataFrame:
    return sweep_curves(LAW, np.geomspace(1e6, 1e8, 5), points_per_run=12)


@pytest.mark.parametrize("fit", ALL_FITS)
def test_missing_loss_column(fit, good):
    with pytest.raises(UserError, match=r"missing column\(s\) \['loss'\]"):
        fit(good.drop(columns="loss"), bootstrap=0)


@pytest.mark.parametrize("fit", ALL_FITS)
def test_missing_both_d_and_c(fit, good):
    with pytest.raises(UserError, match="tokens column 'D' or a compute column 'C'"):
        fit(good.drop(columns=["D", "C"]), bootstrap=0)


def test_explicit_run_column_must_exist(good):
    with pytest.raises(UserError, match="run column 'seed' not found"):
        fit_parametric(good, Columns(run="seed"), bootstrap=0)


@pytest.mark.parametrize("col", ["N", "D", "C", "loss"])
@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_non_positive_values(col, bad, good):
    good.loc[3, col] = bad
    with pytest.raises(UserError, match="non-positive"):
        fit_parametric(good, bootstrap=0)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_and_inf_are_errors_unless_dropped(value, good):
    good.loc[5, "loss"] = value
    with pytest.raises(UserError, match="NaN or infinite"):
        fit_parametric(good, bootstrap=0)
    with pytest.warns(FitWarning, match="dropped"):
        f = fit_parametric(good, bootstrap=0, dropna=True, n_starts=2)
    assert f.n_points == len(good) - 1


def test_non_numeric_column(good):
    good["N"] = good["N"].astype(object)
    good.loc[0, "N"] = "big"
    with pytest.raises(UserError, match="not numeric"):
        fit_parametric(good, bootstrap=0)


@pytest.mark.parametrize("fit", ALL_FITS)
def test_one_model_size_only(fit):
    df = sweep_curves(LAW, [3e7], points_per_run=30)
    with pytest.raises(UserError, match="only 1 model size"):
        fit(df, bootstrap=0)


def test_all_points_at_one_budget():
    df = isoflop_design(LAW, [1e19], sizes_per_budget=9)
    # parametric: D is a function of N; alpha and beta are confounded -> explicit warnings
    with pytest.warns(FitWarning, match="one compute budget"):
        f = fit_parametric(df, bootstrap=0, n_starts=2)
    assert any("D does not vary independently of N" in w for w in f.warnings)
    with pytest.raises(UserError, match="one compute budget"):
        fit_frontier(df, bootstrap=0)
    with pytest.raises(UserError, match="one budget"):
        fit_isoflop(df, bootstrap=0)


def test_narrow_n_range_warns():
    df = sweep_curves(LAW, np.geomspace(1e7, 5e7, 4), points_per_run=20)
    with pytest.warns(FitWarning, match="N spans only 0.70 decades"):
        fit_parametric(df, bootstrap=0, n_starts=2)


def test_empty_and_too_few_points():
    with pytest.raises(UserError, match="empty"):
        fit_parametric(pd.DataFrame({"N": [], "D": [], "loss": []}), bootstrap=0)
    df = pd.DataFrame({"N": [1e6, 2e6, 4e6], "D": [1e8, 1e8, 1e9], "loss": [3.0, 2.9, 2.5]})
    with pytest.raises(UserError, match="at least 6 points"):
        fit_parametric(df, bootstrap=0)


def test_run_with_two_sizes_is_rejected(good):
    good.loc[0, "run_id"] = good.loc[20, "run_id"]
    with pytest.raises(UserError, match="more than one N"):
        fit_frontier(good, bootstrap=0)


def test_not_a_dataframe():
    with pytest.raises(UserError, match="DataFrame"):
        prepare_points([1, 2, 3])


def test_derived_columns_follow_c_equals_6nd(good):
    p = prepare_points(good.drop(columns="D"))
    assert p.derived == ("D",)
    np.testing.assert_allclose(p.D, good["C"] / (6 * good["N"]))
    q = prepare_points(good.drop(columns="C"))
    assert q.derived == ("C",)
    np.testing.assert_allclose(q.C, 6 * good["N"] * good["D"])


def test_drop_highest_loss_bounds(good):
    with pytest.raises(UserError, match="drop_highest_loss"):
        fit_parametric(good, bootstrap=0, drop_highest_loss=len(good))


def test_negative_exponent_gives_nan_allocation_not_complex():
    """A fit that lands on a negative exponent must report NaN allocations (with its warning),
    not crash on Python's complex power."""
    import math

    from agentscaling.fit.law import ParametricLaw

    law = ParametricLaw(E=1.0, A=10.0, B=5.0, alpha=-0.07, beta=0.3)  # base < 0, exponent 1/0.23
    assert math.isnan(law.G)
