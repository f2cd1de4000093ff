"""Charts build valid Vega-Lite specs; the explorer's sliders are client-side and render at other
slider values (so the exported HTML keeps working)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from agentscaling.charts.explorer import coefficient_explorer, refit_dropping_budgets
from agentscaling.charts.scaling import cool, isoflop_chart, residuals_chart, three_panel
from agentscaling.fit import (
    EPOCH_2024,
    FitWarning,
    ParametricLaw,
    chinchilla_points,
    fit_compute_law,
    fit_frontier,
    fit_isoflop,
    fit_parametric,
    isoflop_design,
    sweep_curves,
)

LAW = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)


@pytest.fixture(scope="module")
def fits():
    df = sweep_curves(LAW, np.geomspace(1e6, 1e9, 6), points_per_run=15, noise=0.003)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fr = fit_frontier(df, bootstrap=50)
        return fr, fit_compute_law(fr), fit_parametric(df, bootstrap=0, n_starts=2)


def test_cool_ramp_is_cyan_to_magenta():
    assert cool(0) == "#00ffff" and cool(1) == "#ff00ff"


def test_three_panel_spec(fits):
    fr, cl, p = fits
    spec = three_panel(fr, cl, p).to_dict()
    assert len(spec["hconcat"]) == 3
    text = json.dumps(spec)
    assert '"type": "log"' in text and "#00ffff" in text and "#ff00ff" in text


def test_isoflop_and_residual_specs():
    iso = fit_isoflop(isoflop_design(LAW, np.geomspace(1e17, 1e20, 4)), bootstrap=30)
    assert len(isoflop_chart(iso).to_dict()["hconcat"]) == 3
    p = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, n_starts=2)
    assert len(residuals_chart(p).to_dict()["hconcat"]) == 3


def test_explorer_has_client_side_sliders_and_renders_at_other_values():
    vlc = pytest.importorskip("vl_convert")
    spec = coefficient_explorer(EPOCH_2024, c_range=(1e18, 1e24)).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert set(params) == {"E", "lA", "lB", "alpha", "beta", "a_pl", "b_pl", "lC"}
    assert all(p["bind"]["input"] == "range" for p in params.values())
    # Move every slider and render: all expressions must stay valid for other values.
    params["alpha"]["value"], params["beta"]["value"], params["E"]["value"] = 0.6, 0.2, 1.0
    params["lC"]["value"] = 23.0
    png = vlc.vegalite_to_png(json.dumps(spec), scale=0.5)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_refit_after_dropping_smallest_budgets_changes_the_data():
    df = chinchilla_points()
    full, c0 = refit_dropping_budgets(df, 0, bootstrap=0, n_starts=2, drop_highest_loss=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        cut, c_min = refit_dropping_budgets(df, 2, bootstrap=0, n_starts=2)
    assert c0 is None and c_min > df["C"].min()
    assert cut.n_points < full.n_points and cut.points.C.min() >= c_min


def test_refit_widget_shows_each_slider_position_as_widget_state():
    """The slider's refits land in the Output widget's own state (not captured by cell message id,
    which headless runners only emulate): the message and the table change with the slider."""
    from agentscaling.charts.explorer import refit_widget

    w = refit_widget(chinchilla_points(), drop_highest_loss=5)
    slider, help_text, out = w.children
    assert "0 to 5" in help_text.value and slider.max == 5
    assert out.outputs[0]["text"].startswith("dropped 0 of 8 compute bins; 240 points")
    first_table = out.outputs[1]["data"]["text/plain"]
    slider.value = 2
    assert len(out.outputs) == 2 and out.outputs[0]["text"].startswith("dropped 2 of 8 compute bins")
    assert out.outputs[1]["data"]["text/plain"] != first_table


def test_explorer_sliders_sit_on_their_step_grid():
    """Slider values and ends are rounded to the step's digits, so the readouts show 0.348, not
    0.34800000000000003; the starting values are the fit's, to the step."""
    from agentscaling.charts.explorer import _params
    from agentscaling.fit import EPOCH_2024

    params = [p.param.to_dict() for p in _params(EPOCH_2024, 1e18, 1e26, 5.88e23)]
    for p in params:
        step = p["bind"]["step"]
        for v in (p["value"], p["bind"]["min"], p["bind"]["max"]):
            assert abs(v / step - round(v / step)) < 1e-6 and len(repr(v)) <= 8, (p["name"], v)
    alpha = next(p for p in params if p["name"] == "alpha")
    assert alpha["value"] == round(EPOCH_2024.alpha, 3)
