"""Parametric L(N, D) fits: the Chinchilla golden test (Epoch AI's re-fit), the optimiser failure
mode, synthetic recovery, bootstrap coverage, and the analytic gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from agentscaling.fit import (
    CHINCHILLA_PUBLISHED,
    CHINCHILLA_UNROUNDED,
    FitWarning,
    ParametricLaw,
    chinchilla_points,
    fit_parametric,
    fit_parametric_lsq,
    sweep_curves,
)
from agentscaling.fit.parametric import _Problem, huber_objective

# Besiroglu et al. 2024 (Epoch AI), 240 points: estimate and bootstrap SE.
EPOCH = {
    "E": (1.817, 0.026),
    "A": (482.01, 124.5),
    "B": (2085.43, 1293.3),
    "alpha": (0.348, 0.015),
    "beta": (0.366, 0.021),
    "a": (0.513, 0.020),
}


@pytest.fixture(scope="module")
def chinchilla_fit():
    return fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=200, seed=1)


def test_golden_chinchilla_recovers_epoch(chinchilla_fit):
    f = chinchilla_fit
    assert f.n_points == 240 and f.n_dropped == 5
    assert f.converged and f.warnings == () and f.at_bounds == ()
    for name in ("E", "alpha", "beta", "a"):
        assert f[name] == pytest.approx(EPOCH[name][0], rel=0.01), name
    # A and B are weakly identified: within one Epoch SE, and Epoch's values inside our 95% CI.
    for name in ("A", "B"):
        value, se = EPOCH[name]
        assert abs(f[name] - value) < se, name
        assert f.estimates[name].contains(value), name
    # The objective matches Epoch's grid-best (fitting.md §1.4): 0.0010182740.
    assert f.objective == pytest.approx(0.0010182740, rel=1e-6)
    assert f.optimizer["starts_agreeing"] >= 2


def test_golden_bootstrap_intervals_match_epoch(chinchilla_fit):
    b = chinchilla_fit.bootstrap
    assert b.unit == "point" and b.n_units == 240 and b.converged_fraction > 0.95
    # Epoch's 95% percentile CIs (fitting.md §1.3); 200 replicates, so compare loosely.
    epoch_ci = {"E": (1.769, 1.871), "alpha": (0.317, 0.373), "beta": (0.331, 0.415)}
    for name, (lo, hi) in epoch_ci.items():
        e = chinchilla_fit.estimates[name]
        width = hi - lo
        assert abs(e.lo - lo) < 0.25 * width and abs(e.hi - hi) < 0.25 * width, (name, e)


@pytest.mark.parametrize("start", [CHINCHILLA_PUBLISHED, CHINCHILLA_UNROUNDED])
def test_default_lbfgs_from_chinchilla_is_flagged_not_converged(start):
    with pytest.warns(FitWarning, match="did not converge"):
        f = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, init=start, solver="scipy-default")
    assert not f.converged
    # It stalls near the start (the failure Epoch AI found): A stays ~406, far from the optimum.
    assert f.law.A == pytest.approx(406.4, rel=0.01)
    assert f.to_dict()["converged"] is False
    assert any("did not converge" in w for w in f.to_dict()["warnings"])


def test_robust_solver_from_chinchilla_start_reaches_the_optimum():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        f = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, init=CHINCHILLA_PUBLISHED)
    assert f.converged
    assert f.law.alpha == pytest.approx(0.3473, abs=1e-3) and f.law.E == pytest.approx(1.8172, abs=1e-3)


def test_mean_reduction_changes_nothing_for_the_robust_solver():
    a = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, n_starts=3)
    b = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, n_starts=3, reduction="mean")
    assert a.law.alpha == pytest.approx(b.law.alpha, rel=1e-6)


LAWS = [
    ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30),
    ParametricLaw(E=0.8, A=60.0, B=3000.0, alpha=0.28, beta=0.42),
    ParametricLaw(E=2.5, A=2000.0, B=500.0, alpha=0.45, beta=0.30),
]


@pytest.mark.parametrize("law", LAWS)
def test_synthetic_recovery_robust(law):
    df = sweep_curves(law, np.geomspace(3e5, 3e8, 8), points_per_run=30, noise=0.005, seed=3)
    f = fit_parametric(df, bootstrap=0)
    assert f.converged
    for name in ("alpha", "beta", "a"):
        truth = getattr(law, name)
        assert (f.a if name == "a" else getattr(f.law, name)) == pytest.approx(truth, rel=0.02), name


def test_synthetic_recovery_lsq():
    law = LAWS[0]
    df = sweep_curves(law, np.geomspace(3e5, 3e8, 8), points_per_run=30, noise=0.003, seed=4)
    f = fit_parametric_lsq(df, bootstrap=0)
    assert f.converged and f.variant == "lsq"
    for name in ("alpha", "beta"):
        assert getattr(f.law, name) == pytest.approx(getattr(law, name), rel=0.02)
    assert f.a == pytest.approx(law.a, rel=0.02)


def test_bootstrap_ci_contains_truth_and_resamples_runs():
    law = LAWS[0]
    df = sweep_curves(law, np.geomspace(3e5, 3e8, 8), points_per_run=25, noise=0.01, seed=5)
    f = fit_parametric(df, bootstrap=150, seed=2)
    assert f.bootstrap.unit == "run" and f.bootstrap.n_units == 8
    assert f.bootstrap.converged_fraction > 0.95
    for name in ("alpha", "beta", "a", "E"):
        truth = law.a if name == "a" else getattr(law, name)
        assert f.estimates[name].contains(truth), (name, f.estimates[name])
    conv = f.bootstrap.samples["converged"]
    assert conv.shape == (150,)


def test_point_bootstrap_is_narrower_than_run_bootstrap():
    """Points along a curve are correlated: resampling points understates uncertainty. The run
    bootstrap must give a wider interval than treating every point as its own run."""
    law = LAWS[0]
    df = sweep_curves(law, np.geomspace(3e5, 3e8, 6), points_per_run=25, noise=0.01, seed=6)
    # Add a shared offset per run (run-level noise), as seeds/LR choices produce in practice.
    rng = np.random.default_rng(0)
    offs = dict(zip(df["run_id"].unique(), rng.normal(0, 0.02, df["run_id"].nunique())))
    df["loss"] = df["loss"] * np.exp(df["run_id"].map(offs))
    by_run = fit_parametric(df, bootstrap=120, seed=0, n_starts=3)
    by_point = fit_parametric(df.drop(columns="run_id"), bootstrap=120, seed=0, n_starts=3)
    w_run = np.subtract(*by_run.ci("alpha")[::-1])
    w_point = np.subtract(*by_point.ci("alpha")[::-1])
    assert w_run > 1.5 * w_point


def test_analytic_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    N, D = np.exp(rng.uniform(15, 22, 60)), np.exp(rng.uniform(18, 25, 60))
    L = LAWS[0].loss(N, D) * np.exp(rng.normal(0, 0.01, 60))
    prob = _Problem.build(N, D, L, 1e-3)
    w = rng.integers(0, 3, 60).astype(float)
    th = prob.to_centred(LAWS[0].to_log()) + rng.normal(0, 0.05, 5)
    f0, g = huber_objective(th, prob.lN, prob.lD, prob.lL, w, 1e-3)
    eps = 1e-7
    num = np.array(
        [
            (
                huber_objective(th + eps * e, prob.lN, prob.lD, prob.lL, w, 1e-3)[0]
                - huber_objective(th - eps * e, prob.lN, prob.lD, prob.lL, w, 1e-3)[0]
            )
            / (2 * eps)
            for e in np.eye(5)
        ]
    )
    np.testing.assert_allclose(g, num, rtol=1e-4, atol=1e-9)


def test_allocation_formulas_are_the_argmin_of_the_law():
    law = LAWS[1]
    C = 1e21
    N = np.geomspace(law.n_opt(C) / 30, law.n_opt(C) * 30, 20001)
    best = N[np.argmin(law.loss(N, C / (6 * N)))]
    assert best == pytest.approx(float(law.n_opt(C)), rel=1e-3)
    assert float(law.d_opt(C)) == pytest.approx(C / (6 * float(law.n_opt(C))), rel=1e-9)


def test_at_compute_adds_allocation_estimates(chinchilla_fit):
    f = fit_parametric(chinchilla_points(), drop_highest_loss=5, bootstrap=0, n_starts=2, at_compute=[5.88e23])
    # Epoch's point estimate gives D/N ~ 18 at Chinchilla's compute (fitting.md §1.3).
    assert f["D_over_N@5.88e+23"] == pytest.approx(18.3, abs=1.5)
    d = f.to_dict()
    assert set(d["coefficients"]["a"]) == {"value", "ci_lo", "ci_hi", "se"}
    assert d["optimizer"]["grad_norm"] < 1e-6


def test_seed_resampling_keeps_sizes_and_gives_the_unbiased_variance_of_a_mean():
    """Runs that are seeds of one size are resampled within it, m - 1 of m per replicate, so the
    replicates' variance of a size's mean seed is s^2/m, not the (m-1)/m-shrunk plug-in value; runs of
    one N that share a seed (isoFLOP budgets) are not seeds."""
    from agentscaling.fit.bootstrap import point_weights, seed_groups

    sizes = np.repeat([1e6, 1e7], 3)
    groups = seed_groups(sizes, np.array([0, 1, 2, 0, 1, 2]))
    assert groups is not None and seed_groups(sizes, np.zeros(6)) is None
    w = point_weights(np.arange(6), 20000, 0, groups)
    np.testing.assert_allclose(w[:, :3].sum(1), 3.0)  # every size keeps the weight of its 3 seeds
    x = np.array([0.0, 1.0, 5.0])
    means = (w[:, :3] * x).sum(1) / 3.0
    np.testing.assert_allclose(means.var(), x.var(ddof=1) / 3, rtol=0.05)

    law = ParametricLaw(E=1.7, A=400.0, B=400.0, alpha=0.34, beta=0.28)
    frames = [
        sweep_curves(law, np.geomspace(1e6, 1e8, 5), points_per_run=12, noise=0.002, seed=s).assign(
            run_id=lambda f, s=s: f["run_id"] + f"-s{s}", seed=s
        )
        for s in range(2)
    ]
    fit = fit_parametric_lsq(pd.concat(frames), bootstrap=20)
    assert fit.bootstrap.unit == "seed"
