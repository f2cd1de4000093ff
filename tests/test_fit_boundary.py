"""Boundary fits are flagged (at_bounds, boundary in the JSON, a warning) and raw numpy/SciPy
warnings never reach the user."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from agentscaling.fit import (
    FitWarning,
    ParametricLaw,
    chinchilla_points,
    fit_compute_law_points,
    fit_frontier,
    fit_isoflop,
    fit_parametric,
    fit_parametric_lsq,
    prepare_points,
    sweep_curves,
)
from agentscaling.fit.common import emit, quiet
from agentscaling.fit.parametric import boundary_terms

NO_FLOOR = ParametricLaw(E=1e-9, A=60.0, B=300.0, alpha=0.3, beta=0.35)  # no irreducible loss
WITH_FLOOR = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)


@pytest.fixture(scope="module")
def no_floor_sweep():
    return sweep_curves(NO_FLOOR, np.geomspace(1e5, 1e8, 8), points_per_run=15, noise=0.01, seed=0)


@pytest.mark.parametrize("fit", [fit_parametric, fit_parametric_lsq])
def test_e_driven_to_zero_is_a_boundary_fit(fit, no_floor_sweep):
    with pytest.warns(FitWarning, match="boundary fit: E at or near the bound"):
        f = fit(no_floor_sweep, bootstrap=0)
    assert f.law.E < 1e-3 * no_floor_sweep["loss"].min()
    assert f.at_bounds == ("E",) and f.boundary
    d = f.to_dict()
    assert d["at_bounds"] == ["E"] and d["boundary"] is True


def test_interior_fit_is_not_flagged():
    df = sweep_curves(WITH_FLOOR, np.geomspace(3e5, 3e8, 8), points_per_run=20, noise=0.005, seed=1)
    f = fit_parametric(df, bootstrap=0)
    assert f.at_bounds == () and not f.boundary and f.to_dict()["boundary"] is False
    assert not any("boundary" in w for w in f.warnings)


def test_golden_chinchilla_fit_is_not_a_boundary_fit():
    f = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, n_starts=3)
    assert f.at_bounds == () and f.warnings == ()


def test_boundary_rules_for_terms_and_exponents(no_floor_sweep):
    pts = prepare_points(no_floor_sweep)
    assert boundary_terms(ParametricLaw(E=1.0, A=60.0, B=300.0, alpha=0.3, beta=0.35), pts) == ()
    assert boundary_terms(ParametricLaw(E=1.0, A=1e-12, B=300.0, alpha=0.3, beta=0.35), pts) == ("A",)
    assert "alpha" in boundary_terms(ParametricLaw(E=1.0, A=60.0, B=300.0, alpha=2.9995, beta=0.35), pts)
    assert boundary_terms(ParametricLaw(E=1.0, A=60.0, B=300.0, alpha=0.3, beta=-0.01), pts) == ("beta",)


def test_compute_law_on_its_e_bound_is_a_boundary_fit():
    C = np.geomspace(1e15, 1e19, 40)
    with pytest.warns(FitWarning, match="sits on its bound"):
        f = fit_compute_law_points(C, 0.02 + 40.0 * C**-0.08)
    assert f.at_bounds == f.active_bounds == ("E",)
    assert f.to_dict()["boundary"] is True


def test_every_allocation_fit_reports_the_fields():
    df = sweep_curves(WITH_FLOOR, np.geomspace(1e6, 1e9, 8), points_per_run=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for f in (fit_frontier(df, bootstrap=0), fit_isoflop(df, bootstrap=0)):
            d = f.to_dict()
            assert d["at_bounds"] == [] and d["boundary"] is False


@quiet
def _noisy_numerics():
    with np.errstate(all="warn"):
        np.log(np.zeros(2))
        np.exp(np.array([1e4]))
    warnings.warn("raw", RuntimeWarning)
    return emit(["a message for the user"])


def test_quiet_keeps_numpy_warnings_in_and_fit_warnings_out():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _noisy_numerics()
    assert [w.category for w in caught] == [FitWarning]


@pytest.mark.parametrize("fit", [fit_parametric, fit_parametric_lsq, fit_frontier, fit_isoflop, fit_compute_law_points])
def test_public_fits_are_quiet(fit):
    assert getattr(fit, "quiet_numerics", False)
