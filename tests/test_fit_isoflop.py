"""isoFLOP profiles (Approach 2): recovery on synthetic designs and sliced curves, edge warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agentscaling.errors import UserError
from agentscaling.fit import FitWarning, ParametricLaw, fit_isoflop, isoflop_design, sweep_curves

LAW = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)
BUDGETS = np.geomspace(1e17, 1e20, 6)


@pytest.mark.parametrize("fit", ["parabola", "akima"])
def test_isoflop_design_recovers_a(fit):
    df = isoflop_design(LAW, BUDGETS, sizes_per_budget=9, noise=0.0)
    iso = fit_isoflop(df, fit=fit, bootstrap=0)
    assert iso.a == pytest.approx(LAW.a, abs=0.01)
    assert iso.b == pytest.approx(LAW.b, abs=0.01)
    assert iso.profiles["used"].all() and len(iso.profiles) == 6
    assert np.allclose(iso.profiles["N_opt"], LAW.n_opt(iso.profiles["C"]), rtol=0.03)


def test_isoflop_bootstrap_with_noise_contains_truth():
    df = isoflop_design(LAW, BUDGETS, sizes_per_budget=9, noise=0.002, seed=0)
    iso = fit_isoflop(df, bootstrap=1000, seed=0)
    assert iso.a == pytest.approx(LAW.a, abs=0.02)
    assert iso.estimates["a"].contains(LAW.a)
    assert iso.bootstrap.valid_fraction > 0.95 and iso.bootstrap.unit == "run"


def test_isoflop_from_sliced_curves():
    df = sweep_curves(LAW, np.geomspace(1e6, 1e9, 12), points_per_run=50)
    iso = fit_isoflop(df, bootstrap=0, n_budgets=6)
    assert iso.profiles["used"].sum() >= 3
    assert iso.a == pytest.approx(LAW.a, abs=0.03)
    # every sliced point lies on the run's curve (log-log interpolation)
    assert set(iso.sliced.columns) >= {"C", "run", "N", "loss"}


def test_off_centre_sampling_warns_about_edges():
    """The classic parabola keeps unbracketed budgets (with a warning); the default excludes them."""
    df = isoflop_design(LAW, BUDGETS, sizes_per_budget=7, span=6.0, offset=2.2)
    with pytest.warns(FitWarning, match="edge of the sampled sizes"):
        iso = fit_isoflop(df, bootstrap=0, fit="parabola")
    assert iso.profiles["edge"].all()
    assert any("edge" in w for w in iso.to_dict()["warnings"])


def test_minimum_outside_sampled_sizes_is_excluded_then_an_error():
    df = isoflop_design(LAW, BUDGETS, sizes_per_budget=7, span=6.0, offset=6.0)
    with pytest.warns(FitWarning, match="outside the sampled sizes"):
        with pytest.raises(UserError, match="6 had their minimum outside"):
            fit_isoflop(df, bootstrap=0)


def test_budget_with_too_few_sizes_is_dropped_with_warning():
    df = isoflop_design(LAW, BUDGETS, sizes_per_budget=9)
    first = df["C"] == df["C"].min()
    df = pd.concat([df.loc[~first], df.loc[first].iloc[:2]])
    with pytest.warns(FitWarning, match="only 2 model size"):
        iso = fit_isoflop(df, bootstrap=0)
    assert iso.profiles["used"].sum() == 5


def test_isoflop_all_points_at_one_budget_is_an_error():
    df = isoflop_design(LAW, [1e19], sizes_per_budget=9)
    with pytest.raises(UserError, match="one budget"):
        fit_isoflop(df, bootstrap=0)
