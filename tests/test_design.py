"""The design planner: it recovers a known a on a design it approves, and rejects a design that cannot
identify a for the reason that it cannot."""

import pytest

from agentscaling.analysis.design import Design, simulate, synthetic_law
from agentscaling.cli import main


def test_the_synthetic_law_has_its_optimum_where_it_is_placed():
    law = synthetic_law(0.6, n_cross=3e4, d_cross=1e7)
    assert law.a == pytest.approx(0.6)
    # N = 3e4 is compute-optimal at C = 6 * 3e4 * 1e7
    assert float(law.n_opt(6 * 3e4 * 1e7)) == pytest.approx(3e4, rel=1e-9)


def test_a_wide_dense_ladder_is_approved_and_recovers_a():
    wide = Design(
        "wide", tuple(float(n) for n in (3e3, 7e3, 1.5e4, 3e4, 7e4, 1.5e5, 3e5, 7e5, 1.5e6)), 1e7, method="parametric"
    )
    report = simulate(wide, a=0.62, n_sim=10, bootstrap=40, seed=1)
    assert report.approved, report.reasons
    assert abs(report.bias) <= 0.03 and report.identified == 1.0


def test_a_narrow_frontier_ladder_is_rejected():
    """Five sizes over 1.3 decades, all trained on one D (the old cpu WM ladder): the larger models take
    the frontier over only where the smaller runs end, so the frontier ends there and is not identified
    (with handover="any" it would trace the budget and a would be biased up by ~0.2)."""
    narrow = Design("narrow", (5.5e3, 1.1e4, 2.7e4, 5.4e4, 1.1e5), 1e7, method="frontier")
    report = simulate(narrow, a=0.49, n_sim=10, bootstrap=40, seed=1)
    assert not report.approved
    assert report.identified < 0.5 and any("identified" in r for r in report.reasons)


def test_design_cli(capsys):
    assert main(["design", "lm-shakespeare-dense", "--preset", "smoke", "--sims", "3", "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "lm-shakespeare-dense" in out and "coverage" in out
    assert main(["design", "lm-shakespeare-dense", "--preset", "smoke", "--method", "nonsense"]) == 2
