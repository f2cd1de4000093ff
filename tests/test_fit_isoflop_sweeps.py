"""isoFLOP fits of sweeps as other studies release them: nominal budgets given by a column, c_min/c_max
that filter (never re-grid) budgets, unbracketed budgets excluded and counted, an estimator that stays
unbiased on wide and lopsided profiles (the parabola does not), and compute conventions other than 6ND."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agentscaling.charts.scaling import isoflop_chart
from agentscaling.cli import main
from agentscaling.errors import UserError
from agentscaling.fit import (
    Columns,
    ComputeConvention,
    FitWarning,
    IsoflopDesign,
    ParametricLaw,
    fit_frontier,
    fit_isoflop,
    fit_parametric,
    isoflop_bias_study,
    isoflop_design,
    sweep_curves,
)
from agentscaling.fit.simulate import CNN_CONVENTION, LAW_A_HIGH, LAW_A_LOW

LAW = ParametricLaw(E=0.3, A=30.0, B=60.0, alpha=0.45, beta=0.28)  # N_opt 1.8e4 -> 2.1e6 over the budgets
BUDGET = Columns(budget="budget")
#: A published agent-scaling sweep's shape: 1-2-5 budgets 1e13..1e18, 12 sizes over 3 decades, one
#: run per size checkpointed at every budget, FLOPs per sample ∝ N^0.8.
GRID_125 = np.array([k * 10.0**e for e in range(13, 18) for k in (1, 2, 5)] + [1e18])
CNN = ComputeConvention(c=600.0, gamma=0.8)


def checkpoint_sweep(law=LAW, convention=CNN, noise=0.005, seed=0, budgets=GRID_125, sizes=None) -> pd.DataFrame:
    """One run per size, its checkpoints at the given budgets (rows carry their nominal budget)."""
    sizes = np.geomspace(6e3, 6e6, 12) if sizes is None else sizes
    return isoflop_design(law, budgets, sizes=sizes, convention=convention, runs="size", noise=noise, seed=seed)


def quiet_fit(*args, **kwargs):
    """fit_isoflop with its FitWarnings kept on the result only (tests that need them match them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_isoflop(*args, **kwargs)


# ------------------------------------------------------------------------------------------------
# Given budgets
# ------------------------------------------------------------------------------------------------


def test_budget_column_keeps_the_study_budgets_and_resamples_runs():
    df = checkpoint_sweep()
    iso = quiet_fit(df, BUDGET, bootstrap=50)
    assert iso.budget_source == "column"
    np.testing.assert_array_equal(np.sort(iso.profiles["C"].to_numpy()), GRID_125)
    # the bootstrap resamples the 12 runs (one per size), not the 192 checkpoints
    assert iso.bootstrap.unit == "run" and iso.bootstrap.n_units == 12
    d = iso.to_dict()
    assert d["budget_source"] == "column" and d["n_budgets"] == GRID_125.size and d["resample_unit"] == "run"
    assert d["n_unbracketed"] == iso.n_unbracketed == 0 and d["n_budgets_used"] == GRID_125.size
    # without the column the same runs are loss curves and are re-sliced at budgets of the tool's own
    sliced = quiet_fit(df.drop(columns="budget"), bootstrap=0)
    assert sliced.budget_source == "grid"
    assert not np.isin(sliced.profiles["C"].to_numpy(), GRID_125).all()


def test_budget_with_fewer_than_three_sizes_is_dropped_and_named():
    df = checkpoint_sweep()
    small = df["budget"] == 5e16
    df = pd.concat([df.loc[~small], df.loc[small].iloc[4:6]])
    with pytest.warns(FitWarning, match=r"budget C=5e\+16: only 2 model size\(s\)"):
        iso = fit_isoflop(df, BUDGET, bootstrap=0)
    row = iso.profiles.loc[iso.profiles["C"] == 5e16].iloc[0]
    assert row["status"] == "too few sizes" and not row["used"]


def test_budget_column_errors():
    df = checkpoint_sweep()
    with pytest.raises(UserError, match="budget column 'nominal' not found"):
        fit_isoflop(df, Columns(budget="nominal"), bootstrap=0)
    with pytest.raises(UserError, match="not both"):
        fit_isoflop(df, BUDGET, budgets=[1e15, 1e16], bootstrap=0)
    bad = df.copy()
    bad.loc[3, "budget"] = np.nan
    with pytest.raises(UserError, match="NaN or infinite"):
        fit_isoflop(bad, BUDGET, bootstrap=0)
    bad.loc[3, "budget"] = -1.0
    with pytest.raises(UserError, match="non-positive"):
        fit_isoflop(bad, BUDGET, bootstrap=0)


# ------------------------------------------------------------------------------------------------
# c_min / c_max filter budgets
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("c_min", "c_max"), [(5e14, None), (None, 1e16), (2e14, 5e16)])
def test_c_min_c_max_filter_given_budgets_without_regridding(c_min, c_max):
    df = checkpoint_sweep()
    iso = quiet_fit(df, BUDGET, c_min=c_min, c_max=c_max, bootstrap=0)
    keep = GRID_125[(GRID_125 >= (c_min or 0)) & (GRID_125 <= (c_max or np.inf))]
    np.testing.assert_array_equal(np.sort(iso.profiles["C"].to_numpy()), keep)
    assert iso.n_filtered == GRID_125.size - keep.size
    assert iso.to_dict()["n_budgets_filtered"] == GRID_125.size - keep.size


def test_c_min_filters_clustered_budgets_of_a_point_design():
    budgets = np.geomspace(1e17, 1e20, 7)
    df = isoflop_design(LAW_A_HIGH, budgets, sizes_per_budget=9, span=100.0)
    full = fit_isoflop(df, bootstrap=0)
    part = fit_isoflop(df, c_min=budgets[2] * 0.99, bootstrap=0)
    assert full.budget_source == part.budget_source == "clustered"
    np.testing.assert_allclose(part.profiles["C"], full.profiles["C"].to_numpy()[2:], rtol=1e-12)
    # the law profile's shared exponents are refitted on the budgets kept, so N_opt moves a little
    np.testing.assert_allclose(part.profiles["N_opt"], full.profiles["N_opt"].to_numpy()[2:], rtol=1e-3)


def test_c_min_c_max_filter_the_grid_chosen_for_loss_curves():
    df = sweep_curves(LAW_A_HIGH, np.geomspace(1e6, 1e9, 12), points_per_run=40)
    full = quiet_fit(df, bootstrap=0, n_budgets=8)
    grid = full.profiles["C"].to_numpy()
    part = quiet_fit(df, bootstrap=0, n_budgets=8, c_min=grid[2], c_max=grid[6])
    assert part.budget_source == full.budget_source == "grid"
    np.testing.assert_array_equal(part.profiles["C"].to_numpy(), grid[2:7])
    assert part.n_filtered == 3


def test_filter_that_leaves_nothing_is_a_clear_error():
    with pytest.raises(UserError, match=r"no isoFLOP budget with C >= 1e\+20; the budgets are 1e\+13, 2e\+13"):
        fit_isoflop(checkpoint_sweep(), BUDGET, c_min=1e20, bootstrap=0)


def test_cli_budget_col_and_filters(capsys, tmp_path):
    path = tmp_path / "sweep.csv"
    checkpoint_sweep().rename(columns={"budget": "flop_budget"}).to_csv(path, index=False)
    argv = ["fit", str(path), "--method", "isoflop", "--budget-col", "flop_budget", "--bootstrap", "20", "--json"]
    assert main(argv + ["--c-min", "5e14"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert sorted(b["C"] for b in d["budgets"]) == [c for c in GRID_125 if c >= 5e14]
    assert d["fit"] == "law" and d["budget_source"] == "column" and d["resample_unit"] == "run"
    assert d["boundary"] is False and d["at_bounds"] == []
    assert {"a", "b", "a_plus_b"} <= set(d["coefficients"])
    assert d["compute_convention"]["is_6nd"] is False
    assert main(argv + ["--c-max", "1e16"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert sorted(b["C"] for b in d["budgets"]) == [c for c in GRID_125 if c <= 1e16]
    assert main(["fit", str(path), "--method", "frontier", "--budget-col", "flop_budget"]) == 2
    assert "--budget-col applies to --method isoflop only" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# Unbracketed budgets
# ------------------------------------------------------------------------------------------------


def test_unbracketed_budgets_are_excluded_by_default_and_counted():
    df = checkpoint_sweep(noise=0.0, sizes=np.geomspace(3e4, 1e6, 12))  # the optimum leaves the sizes at both ends
    with pytest.warns(FitWarning, match="edge of the sampled sizes"):
        iso = fit_isoflop(df, BUDGET, bootstrap=0)
    p = iso.profiles
    unbr = p.loc[~p["bracketed"]]
    assert len(unbr) == iso.n_unbracketed >= 2
    assert (unbr["status"] == "unbracketed").all() and not unbr["used"].any()
    # the lowest loss of each such budget is at its smallest or largest size
    assert set(unbr["best_position"]) <= {0.0, 1.0}
    kept = quiet_fit(df, BUDGET, bootstrap=0, unbracketed="keep")
    assert kept.n_unbracketed == iso.n_unbracketed and kept.profiles["used"].sum() >= p["used"].sum()
    # charts draw the excluded budgets' points without a profile
    assert iso.profile_curve(unbr["C"].iloc[0]).empty
    assert len(iso.profile_curve(p.loc[p["used"], "C"].iloc[0])) == 100
    assert len(isoflop_chart(iso).to_dict()["hconcat"]) == 3


# ------------------------------------------------------------------------------------------------
# The estimator: bias and coverage on designs with alpha != beta (a small version of docs/fitting.md's study)
# ------------------------------------------------------------------------------------------------

STUDY_DESIGNS = [
    IsoflopDesign("a=0.62 1dec centred", LAW_A_HIGH, 1.0),
    IsoflopDesign("a=0.38 2dec +0.5", LAW_A_LOW, 2.0, "offset", offset=0.5),
    IsoflopDesign("a=0.62 3dec -0.5", LAW_A_HIGH, 3.0, "offset", offset=-0.5),
    IsoflopDesign("a=0.62 3dec fixed", LAW_A_HIGH, 3.0, "fixed", n_sizes=12),
    IsoflopDesign("a=0.38 3dec fixed N^0.8", LAW_A_LOW, 3.0, "fixed", n_sizes=12, convention=CNN_CONVENTION),
]


@pytest.fixture(scope="module")
def study():
    summary, rows = isoflop_bias_study(STUDY_DESIGNS, fits=("law", "parabola"), seeds=12, bootstrap=60)
    return summary.set_index(["design", "fit"]), rows


def test_default_estimator_is_unbiased_and_covers(study):
    summary, rows = study
    law = summary.xs("law", level="fit")
    assert (law["n_ok"] == law["n_fits"]).all()
    assert (law["bias"].abs() <= 0.03).all(), law["bias"]
    assert (law["rmse"] <= 0.03).all(), law["rmse"]
    ok = rows.loc[rows["fit"] == "law"]
    assert ok["covered"].mean() >= 0.85
    assert (law["coverage"] >= 0.75).all(), law["coverage"]


def test_parabola_is_biased_low_on_lopsided_profiles(study):
    """The test above would catch today's quadratic: on fixed sizes spanning 3 decades (the optimum
    travelling across the grid) it is biased low by more than 0.03 and its intervals miss."""
    summary, _ = study
    for design in ("a=0.62 3dec fixed", "a=0.38 3dec fixed N^0.8"):
        par = summary.loc[(design, "parabola")]
        assert par["bias"] < -0.03 and par["coverage"] < 0.5, par
    # where the grid keeps its place relative to the optimum, it is unbiased too
    assert abs(summary.loc[("a=0.62 3dec -0.5", "parabola"), "bias"]) <= 0.01


# ------------------------------------------------------------------------------------------------
# Compute conventions
# ------------------------------------------------------------------------------------------------


def test_isoflop_takes_c_as_given_and_fits_b_separately():
    df = checkpoint_sweep(noise=0.0)
    with pytest.warns(FitWarning, match=r"C is not 6ND.*N\^0\.800"):
        iso = fit_isoflop(df, BUDGET, bootstrap=0)
    a_true, b_true = LAW.allocation_exponents(CNN)
    assert iso.a == pytest.approx(a_true, abs=0.01)
    assert iso.b == pytest.approx(b_true, abs=0.01)
    assert iso["a_plus_b"] == pytest.approx(a_true + b_true, abs=0.01) and iso["a_plus_b"] > 1.05
    assert iso.convention.fitted.gamma == pytest.approx(0.8, abs=1e-9)


def test_6nd_data_gives_no_convention_warning():
    df = isoflop_design(LAW_A_HIGH, np.geomspace(1e17, 1e20, 5), span=100.0)
    iso = quiet_fit(df, bootstrap=0)
    assert not any("6ND" in w for w in iso.warnings)
    assert iso.convention.is_6nd and iso.b == pytest.approx(1 - iso.a, abs=1e-9)
    assert iso["a_plus_b"] == pytest.approx(1.0, abs=1e-9)


def test_convention_warning_when_c_over_6nd_is_constant_but_far_from_one():
    df = isoflop_design(LAW_A_HIGH, np.geomspace(1e17, 1e20, 5), span=100.0)
    df["C"] = 3.0 * df["C"]  # e.g. a budget counted as 3x the 6ND value
    with pytest.warns(FitWarning, match=r"C/\(6ND\) has median 3"):
        iso = fit_isoflop(df, Columns(budget="C"), bootstrap=0)
    assert iso.a == pytest.approx(LAW_A_HIGH.a, abs=0.01)  # a constant factor does not change a


def curves_in_convention(law, conv, sizes):
    df = sweep_curves(law, sizes, points_per_run=30, past_optimal=8.0)
    df["C"] = conv.flops_per_input(df["N"]) * df["D"]
    return df


def test_frontier_reads_d_opt_in_the_data_convention():
    df = curves_in_convention(LAW_A_HIGH, CNN, np.geomspace(1e4, 1e7, 10))
    with pytest.warns(FitWarning, match="C is not 6ND"):
        fr = fit_frontier(df, bootstrap=20)
    assert fr.b == pytest.approx(1 - 0.8 * fr.a, abs=1e-9)  # D_opt = C / (600 N_opt^0.8)
    assert fr["a_plus_b"] == pytest.approx(fr.a + fr.b)


def test_parametric_allocation_is_converted_to_the_data_convention():
    df = curves_in_convention(LAW_A_HIGH, CNN, np.geomspace(1e4, 1e7, 8))
    with pytest.warns(FitWarning, match="the allocation is converted to it"):
        f = fit_parametric(df, bootstrap=0, n_starts=3)
    a_true, b_true = LAW_A_HIGH.allocation_exponents(CNN)
    assert f.a == pytest.approx(a_true, abs=0.01) and f.b == pytest.approx(b_true, abs=0.01)
    assert f["a_6nd"] == pytest.approx(LAW_A_HIGH.a, abs=0.01)
    assert f.to_dict()["compute_convention"]["flops_per_input"]["gamma"] == pytest.approx(0.8)
    # N_opt at a budget is the argmin of the fitted law along that budget's D = C / (600 N^0.8)
    C = 1e16
    N = np.geomspace(1e3, 1e9, 200_001)
    best = N[np.argmin(f.law.loss(N, CNN.tokens(N, C)))]
    assert float(f.law.n_opt(C, CNN)) == pytest.approx(best, rel=1e-3)


# ------------------------------------------------------------------------------------------------
# Real sweeps (shared/data/isoflops, when present): narrow, centred profiles barely move
# ------------------------------------------------------------------------------------------------

ISOFLOPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "isoflops"
NARROW_CENTRED = [
    ("epochai_chinchilla.csv", "epochai_chinchilla__massivetext__chinchilla"),
    ("ml_scalefit.csv", "ml_scalefit__massivetext__chinchilla"),
    ("llama_3.csv", "llama_3__raw_loss"),
]


@pytest.mark.skipif(not ISOFLOPS.is_dir(), reason="shared/data/isoflops is not next to this checkout")
@pytest.mark.parametrize(("name", "experiment"), NARROW_CENTRED)
def test_narrow_centred_real_profiles_agree_with_the_parabola(name, experiment):
    df = pd.read_csv(ISOFLOPS / name)
    df = df.loc[df["experiment"] == experiment]
    cols = Columns(run=None, N="params", D="tokens", C="budget", loss="loss", budget="budget")
    law = quiet_fit(df, cols, bootstrap=0)
    par = quiet_fit(df, cols, bootstrap=0, fit="parabola")
    p = law.profiles
    # narrow: median grid width <= 1.25 decades; centred: every budget bracketed and the lowest loss in
    # the middle half of the grid at the median budget (docs/fitting.md)
    assert p["width_decades"].median() <= 1.25 and law.n_unbracketed == 0
    assert (p["best_position"] - 0.5).abs().median() <= 0.25
    assert law.a == pytest.approx(par.a, abs=0.02)
