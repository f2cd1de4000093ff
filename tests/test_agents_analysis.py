"""The WM/BC analysis: a against tokens per frame, the extrapolation error, optimal sizes."""

import numpy as np
import pandas as pd
import pytest

from agentscaling.analysis.claims import tpf_claims
from agentscaling.analysis.extrapolation import extrapolation_check
from agentscaling.analysis.tokens_per_frame import a_vs_tpf, a_vs_tpf_or_none
from agentscaling.errors import UserError


def _tpf(slope, noise, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for k in (16, 36, 64, 100, 256):
        for s in range(3):
            rows.append({"tokens_per_frame": k, "seed": s, "a": 0.5 + slope * np.log10(k) + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def test_a_vs_tokens_per_frame_recovers_a_known_line():
    fit = a_vs_tpf(_tpf(0.05, 0.002))
    assert fit.slope == pytest.approx(0.05, abs=0.005)
    assert fit.intercept == pytest.approx(0.5, abs=0.01)
    assert fit.R > 0.95 and fit.slope_lo > 0 and fit.p_slope_positive == 1.0
    assert fit.predict(100) == pytest.approx(0.5 + 0.05 * 2, abs=0.01)
    (row,) = tpf_claims(fit, _tpf(0.05, 0.002))
    assert row.verdict.startswith("holds") and row.ci_low > 0


def test_a_vs_tokens_per_frame_flat_data_is_not_a_rise():
    fit = a_vs_tpf(_tpf(0.0, 0.03, seed=3))
    assert fit.slope_lo < 0 < fit.slope_hi  # the CI straddles zero
    (row,) = tpf_claims(fit, _tpf(0.0, 0.03, seed=3))
    assert row.verdict.startswith("inconclusive")
    with pytest.raises(UserError):
        a_vs_tpf(pd.DataFrame({"tokens_per_frame": [16, 16], "a": [0.5, 0.6]}))


def test_extrapolation_error_on_a_synthetic_law():
    E, c0, c = 1.0, 20.0, 0.1
    law = lambda C: E + c0 * np.asarray(C, float) ** -c  # noqa: E731
    n_opt = lambda C: 0.1 * np.asarray(C, float) ** 0.5  # noqa: E731
    d_opt = lambda C: np.asarray(C, float) / (6 * n_opt(C))  # noqa: E731
    C_star, N_x = 1e15, 2e6
    C = np.geomspace(1e12, 1e16, 200)
    # a curve that touches the law only at C_star and lies above it elsewhere
    loss = law(C) + 0.02 * (np.log10(C) - np.log10(C_star)) ** 2
    chk = extrapolation_check(C, loss, N_x, n_opt, d_opt, law, c_fit_range=(1e11, 1e13), C_largest=1e14)
    assert chk.C_star == pytest.approx(C_star, rel=0.03)
    assert chk.dex_N == pytest.approx(np.log10(N_x / n_opt(C_star)), abs=0.01)
    assert chk.dex_D == pytest.approx(np.log10(C_star / (6 * N_x) / d_opt(C_star)), abs=0.01)
    assert chk.dex_N == pytest.approx(-chk.dex_D, abs=0.02)  # with D_opt = C/6N_opt the errors mirror
    assert chk.loss_error_end == pytest.approx(0.02, rel=1e-3)  # one decade past C_star
    assert chk.factor_vs_largest == pytest.approx(100.0) and not chk.within_fitted_range
    assert len(chk.table()) == 7


def test_extrapolation_closest_point_is_searched_beyond_the_fitted_range():
    law = lambda C: 2.0 + np.zeros_like(np.asarray(C, float))  # noqa: E731
    C = np.geomspace(1e10, 1e14, 50)
    loss = np.where(C < 1e11, 2.0, 2.5)  # touches the law only inside the fitted range
    chk = extrapolation_check(C, loss, 1e6, lambda C: 1e6, lambda C: C / 6e6, law, (1e9, 1e12), 1e13)
    assert chk.C_star >= 1e12 and chk.gap_min == pytest.approx(0.5)


def test_per_ladder_bootstrap_widens_the_slope_ci_and_few_points_give_no_verdict():
    t = _tpf(0.05, 0.002)
    t["study"] = [f"s{i}" for i in range(len(t))]
    narrow = a_vs_tpf(t)
    rng = np.random.default_rng(1)
    wide = a_vs_tpf(t, samples={s: a + rng.normal(0, 0.1, 200) for s, a in zip(t["study"], t["a"])})
    assert wide.slope == narrow.slope  # the point estimate does not change
    assert (wide.slope_hi - wide.slope_lo) > 3 * (narrow.slope_hi - narrow.slope_lo)
    one_seed = t[t["seed"] == 0]
    (row,) = tpf_claims(a_vs_tpf(one_seed), one_seed)
    assert row.verdict.startswith("not identified") and "2 seeds per level" in row.verdict


def test_seed_spread_is_the_relative_spread_of_final_losses():
    """Per size: the standard deviation of the seeds' log final loss (earlier points ignored), then the
    study's median; a size with one seed gives no spread."""
    from agentscaling.analysis.fits import StudyFits, seed_spread

    rows = []
    for N, finals in ((1e4, (2.0, 2.2)), (1e5, (1.5, 1.5 * np.exp(0.02))), (1e6, (1.2,))):
        for seed, final in enumerate(finals):
            for step, loss in ((10, 9.0 + seed), (20, final)):
                rows.append({"run_id": f"{N:g}-s{seed}", "N": N, "seed": seed, "step": step, "loss": loss})
    table = seed_spread([StudyFits("s", "smoke", "N", points=pd.DataFrame(rows))])
    per_size = table[table["N"] != "median"].set_index("N")["relative spread"]
    assert list(per_size.index) == [1e4, 1e5]
    assert per_size[1e4] == pytest.approx(np.log(2.2 / 2.0) / np.sqrt(2))
    assert per_size[1e5] == pytest.approx(0.02 / np.sqrt(2))
    assert table.iloc[-1]["relative spread"] == pytest.approx(np.median(per_size))


def test_pooled_levels_keep_their_points_and_their_own_uncertainty_decides():
    """One fit per level (its seeds pooled): the line's interval comes from the levels' own replicates,
    so precise levels on a rising line hold and imprecise ones stay inconclusive; too few levels give no
    verdict."""
    rng = np.random.default_rng(0)
    levels = (16, 64, 256)
    a = {k: 0.5 + 0.05 * np.log10(k) for k in levels}

    def pooled(sd):
        t = pd.DataFrame(
            {"study": [f"wm-tpf-{k}" for k in levels], "tokens_per_frame": levels, "seed": "pooled (3)"}
        ).assign(a=[a[k] for k in levels])
        return t, {f"wm-tpf-{k}": a[k] + rng.normal(0, sd, 400) for k in levels}

    t, samples = pooled(0.005)
    precise = a_vs_tpf(t, samples=samples, resample_points=False)
    assert precise.slope == pytest.approx(0.05, abs=1e-9) and precise.slope_lo > 0
    (row,) = tpf_claims(precise, t, method="parametric-lsq")
    assert row.verdict.startswith("holds") and row.method == "parametric-lsq"
    t, samples = pooled(0.15)  # the planner's half-width at cpu: a rise of 0.05 per decade is not decidable
    (row,) = tpf_claims(a_vs_tpf(t, samples=samples, resample_points=False), t, method="parametric-lsq")
    assert row.verdict.startswith("inconclusive")
    two = t.iloc[:2]
    (row,) = tpf_claims(a_vs_tpf_or_none(two), two, method="parametric-lsq")
    assert row.verdict.startswith("not identified") and "parametric-lsq fit: too few" in row.verdict
