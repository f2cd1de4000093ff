"""Frontier fit (Approach 1) and the loss-vs-compute law on synthetic sweeps with known laws."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from agentscaling.errors import UserError
from agentscaling.fit import (
    FitWarning,
    ParametricLaw,
    fit_compute_law,
    fit_compute_law_points,
    fit_frontier,
    sweep_curves,
)

LAWS = [
    ParametricLaw(E=1.5, A=300.0, B=900.0, alpha=0.34, beta=0.28),  # a = 0.45
    ParametricLaw(E=1.5, A=300.0, B=900.0, alpha=0.35, beta=0.35),  # a = 0.50
    ParametricLaw(E=1.5, A=300.0, B=900.0, alpha=0.30, beta=0.50),
]  # a = 0.625
SIZES = np.geomspace(1e6, 1e9, 10)


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("read", ["interpolate", "nearest"])
def test_frontier_recovers_a_on_noise_free_curves(law, read):
    f = fit_frontier(sweep_curves(law, SIZES), bootstrap=0, read=read)
    assert f.a == pytest.approx(law.a, abs=0.03)
    assert f.b == pytest.approx(1 - f.a, abs=1e-9)  # D_opt = C/(6 N_opt) makes b = 1 - a
    assert len(f.models_on_frontier) >= 3
    assert f.c_range_source == "bracketed"


def test_frontier_points_are_the_lowest_loss_run_that_reached_c():
    law = LAWS[1]
    df = sweep_curves(law, SIZES[:5], points_per_run=60)
    f = fit_frontier(df, bootstrap=0, grid_range="overlap", n_grid=40)
    for _, row in f.frontier.iterrows():
        # every run that reached C, read at C by log-log interpolation
        cands = []
        for run, g in df.groupby("run_id"):
            if g["C"].min() <= row["C"] <= g["C"].max():
                cands.append((np.exp(np.interp(np.log(row["C"]), np.log(g["C"]), np.log(g["loss"]))), g["N"].iloc[0]))
        best = min(cands)
        assert row["N_opt"] == best[1]
        assert row["loss_opt"] == pytest.approx(best[0], rel=1e-12)
        assert row["D_opt"] == pytest.approx(row["C"] / (6 * row["N_opt"]))


def test_user_grid_and_overlap_edges_are_warned():
    law = LAWS[2]
    df = sweep_curves(law, SIZES[:6])
    with pytest.warns(FitWarning, match="smallest model is on the frontier"):
        f = fit_frontier(df, bootstrap=0, grid_range="overlap")
    assert f.c_range_source == "overlap"
    g = fit_frontier(df, bootstrap=0, c_min=f.bracketed_range[0], c_max=f.bracketed_range[1])
    assert g.c_range_source == "user" and g.c_range == pytest.approx(f.bracketed_range)
    # the bias of the overlap grid is towards flatter N_opt
    assert f.a < g.a


def test_fewer_than_three_models_on_frontier_warns():
    law = LAWS[1]
    df = sweep_curves(law, SIZES[:2])
    with pytest.warns(FitWarning, match="distinct model size"):
        f = fit_frontier(df, bootstrap=0)
    assert len(f.models_on_frontier) <= 2
    assert any("distinct model size" in w for w in f.to_dict()["warnings"])


def test_frontier_bootstrap_over_runs_is_vectorised_and_covers_truth():
    law = LAWS[0]
    df = sweep_curves(law, SIZES, noise=0.003, seed=1)
    f = fit_frontier(df, bootstrap=1000, seed=0)
    b = f.bootstrap
    assert b.replicates == 1000 and b.unit == "run" and b.n_units == 10
    assert b.valid_fraction > 0.9
    assert f.estimates["a"].contains(law.a)
    lo, hi = f.ci("a")
    assert hi - lo < 0.3
    band = f.line_band(np.geomspace(1e16, 1e20, 5))
    assert (band["lo"] <= band["value"]).all() and (band["value"] <= band["hi"]).all()


def test_compute_law_recovers_a_known_law_and_flags_active_bound():
    C = np.geomspace(1e15, 1e19, 60)
    L = 0.9 + 40.0 * C**-0.08
    f = fit_compute_law_points(C, L)
    assert f["E"] == pytest.approx(0.9, rel=1e-3) and f["c"] == pytest.approx(0.08, rel=1e-3)
    assert f["c0"] == pytest.approx(40.0, rel=1e-2)
    assert f.active_bounds == ()
    # E below the paper's lower bound: E is pinned at 0.1 and flagged.
    L2 = 0.02 + 40.0 * C**-0.08
    with pytest.warns(FitWarning, match="sits on its bound"):
        g = fit_compute_law_points(C, L2)
    assert g["E"] == pytest.approx(0.1, abs=1e-9)
    assert "E" in g.active_bounds and "E" in g.to_dict()["active_bounds"]


def test_compute_law_on_frontier_with_bootstrap():
    law = LAWS[1]
    fr = fit_frontier(sweep_curves(law, SIZES, noise=0.002, seed=2), bootstrap=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        cl = fit_compute_law(fr)
    assert cl.bootstrap is not None and cl.bootstrap.replicates == 100
    lo, hi = cl.ci("c")
    assert lo <= cl["c"] <= hi
    # the fitted law passes through the frontier losses
    resid = np.log(cl.loss(fr.frontier["C"])) - np.log(fr.frontier["loss_opt"])
    assert np.abs(resid).max() < 0.02


def test_frontier_without_run_column_groups_by_n():
    law = LAWS[1]
    df = sweep_curves(law, SIZES[:6]).drop(columns="run_id")
    with pytest.warns(FitWarning, match="each distinct N is treated as one run"):
        f = fit_frontier(df, bootstrap=0)
    assert f.n_runs == 6


def test_frontier_rejects_single_budget_and_single_size():
    df = pd.DataFrame({"run_id": ["a", "b"], "N": [1e6, 2e6], "C": [1e15, 1e15], "loss": [3.0, 2.9]})
    with pytest.raises(UserError, match="one compute budget"):
        fit_frontier(df, bootstrap=0)
    df = sweep_curves(LAWS[0], [1e7])
    with pytest.raises(UserError, match="only 1 model size"):
        fit_frontier(df, bootstrap=0)


def test_frontier_range_that_misses_the_data_is_an_error():
    df = sweep_curves(LAWS[0], SIZES[:4])
    with pytest.raises(UserError, match="grid points"):
        fit_frontier(df, bootstrap=0, c_min=1e40, c_max=1e41)
    with pytest.raises(UserError, match="range is empty"):
        fit_frontier(df, bootstrap=0, c_min=1e20, c_max=1e19)


def test_variable_projection_solver_matches_curve_fit():
    """The bootstrap's closed-form-in-(E, c0) solver finds the same least-squares optimum as curve_fit."""
    from agentscaling.fit.compute_law import _fit_once, _vp_fit

    rng = np.random.default_rng(3)
    x = np.linspace(-4, 4, 50)
    rows = np.array([1.2 + 0.8 * np.exp(-c * x) * np.exp(rng.normal(0, 0.01, x.size)) for c in (0.05, 0.2, 0.5)])
    E, k, c = _vp_fit(x, rows, 0.1)
    for i, row in enumerate(rows):
        sse_cf, p, ok, _ = _fit_once(x, row, 0.1)
        sse_vp = np.sum((E[i] + k[i] * np.exp(-c[i] * x) - row) ** 2)
        assert ok and sse_vp <= sse_cf * (1 + 1e-8)
        assert c[i] == pytest.approx(p[2], rel=1e-4, abs=1e-6)


def test_frontier_ends_where_a_run_ends_while_still_the_best():
    """Runs stopped before they are overtaken hand the frontier to larger models only where they end;
    the frontier then traces where runs stop. By default the grid ends at the first such hand-over
    (too few models remain: not identified); handover="any" keeps it and warns. Runs trained 8x past
    their optimum are overtaken while training, and neither happens."""
    from agentscaling.fit.synthetic import sweep_curves

    law = ParametricLaw(E=1.7, A=400.0, B=400.0, alpha=0.34, beta=0.28)
    sizes = np.geomspace(1e6, 1e8, 6)
    short_data = sweep_curves(law, sizes, past_optimal=0.5)
    trimmed = fit_frontier(short_data, bootstrap=0)
    assert any("the frontier ends at C" in w for w in trimmed.warnings)
    assert len(trimmed.models_on_frontier) < 3
    untrimmed = fit_frontier(short_data, bootstrap=0, handover="any")
    assert any("no model was overtaken while still training" in w for w in untrimmed.warnings)
    assert len(untrimmed.models_on_frontier) >= 3
    long = fit_frontier(sweep_curves(law, sizes, past_optimal=8.0), bootstrap=0)
    assert not any("overtaken" in w or "the frontier ends at C" in w for w in long.warnings)
    assert len(long.models_on_frontier) >= 4


def test_frontier_interval_with_seeds_covers_the_training_noise():
    """Three seeds per size with a per-run loss offset: the frontier is that of the sizes' mean curves and
    the bootstrap resamples seeds within sizes, so the interval covers the noise-free design's a in
    about 95 % of reruns (the seed-resampling bootstrap with m draws, not m - 1, covers ~80 %)."""
    from agentscaling.fit.synthetic import sweep_curves

    law = ParametricLaw(E=1.7, A=400.0, B=400.0, alpha=0.34, beta=0.28)
    base = sweep_curves(law, np.geomspace(1e6, 1e8, 6), past_optimal=8.0, points_per_run=30)
    reference = fit_frontier(base, bootstrap=0).estimates["a"].value
    covered, widths = [], []
    for i in range(30):
        rng = np.random.default_rng(i)
        frames = []
        for s in range(3):
            for rid, g in base.groupby("run_id"):
                noise = 0.01 * rng.standard_normal() + 0.001 * rng.standard_normal(len(g))
                frames.append(g.assign(run_id=f"{rid}-s{s}", seed=s, loss=g["loss"] * np.exp(noise)))
        fit = fit_frontier(pd.concat(frames), bootstrap=200, seed=i)
        est = fit.estimates["a"]
        covered.append(est.lo <= reference <= est.hi)
        widths.append(est.hi - est.lo)
    assert fit.bootstrap.unit == "seed" and fit.n_runs == 18 and len(fit.curves.N) == 6
    assert np.mean(covered) >= 0.85 and 0.0 < np.median(widths) < 0.2
