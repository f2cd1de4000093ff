"""The one verdict rule, on hand-made cases: a wide interval is inconclusive, never "agrees"; a tie is
inconclusive; a reversed ordering says so; a fit that is not identified never gives a verdict."""

from types import SimpleNamespace

from agentscaling.analysis.verdicts import (
    AGREES,
    DISAGREES,
    HOLDS,
    INCONCLUSIVE,
    NOT_IDENTIFIED,
    REVERSED,
    identification,
    ordering_verdict,
    value_verdict,
)


def _fit(value, lo, hi, **extra):
    return SimpleNamespace(estimates={"a": SimpleNamespace(value=value, lo=lo, hi=hi)}, **extra)


def test_value_claims():
    # WM-Token-64's frontier at cpu before the redesign: contains 0.49 but also its rival 0.62
    wide = value_verdict(0.46, 0.26, 0.65, 0.49)
    assert wide.label == INCONCLUSIVE and wide.detail == "± 0.20"
    assert value_verdict(0.50, 0.44, 0.56, 0.49).label == AGREES
    assert value_verdict(0.50, 0.40, 0.60, 0.49).label == AGREES  # half-width exactly 0.10
    assert value_verdict(0.50, 0.39, 0.61, 0.49).label == INCONCLUSIVE
    out = value_verdict(0.80, 0.70, 0.90, 0.49)
    assert out.label == DISAGREES and "excludes 0.49" in out.detail
    assert (
        value_verdict(0.8, 0.3, 1.2, 0.66, not_identified=["2 model size(s) on the frontier (< 3)"]).label
        == NOT_IDENTIFIED
    )
    assert value_verdict(0.5, None, None, 0.49).label == NOT_IDENTIFIED  # no interval, no verdict


def test_ordering_claims():
    assert ordering_verdict(0.51).label == INCONCLUSIVE  # a tie is not "does NOT hold"
    assert ordering_verdict(0.97).label == HOLDS
    assert ordering_verdict(0.95).label == HOLDS
    assert ordering_verdict(0.94).label == INCONCLUSIVE
    assert ordering_verdict(0.03).label == REVERSED
    assert ordering_verdict(0.99, not_identified=["a = -0.05 is not an exponent in (0, 1)"]).label == NOT_IDENTIFIED


def test_identification_of_fits():
    assert identification(_fit(0.5, 0.4, 0.6)) == []
    # a point estimate outside its own interval (smoke wm-64 least squares: 0.056 [0.038, 0.044])
    assert "outside its own interval" in identification(_fit(0.056, 0.038, 0.044))[0]
    assert any("not an exponent" in r for r in identification(_fit(-0.05, -0.06, 1.04)))
    assert any("frontier" in r for r in identification(_fit(0.5, 0.4, 0.6, models_on_frontier=[1e4, 2e4])))
    assert any("bound" in r for r in identification(_fit(0.5, 0.4, 0.6, at_bounds=("E",))))
    assert identification(_fit(0.5, None, None)) == ["no interval"]


def test_the_report_front_page_gathers_every_claim(tmp_path):
    """reports/<preset>/summary.json is every notebook's claim rows; summary.md and index.html show them, and
    a preset that decides nothing says so."""
    import json

    from agentscaling.analysis.verdicts import ClaimRow
    from agentscaling.io import atomic_write_json
    from agentscaling.reports.index import write_index

    row = ClaimRow("wm-token-64", "frontier", "a", 0.46, 0.26, 0.65, 0.49, "inconclusive (± 0.20)").to_dict()
    atomic_write_json(tmp_path / "03_world_modeling.summary.json", {"claims": [row]})
    atomic_write_json(tmp_path / "06_lm_sparse_vs_dense.summary.json", {"claims": []})
    records = [
        {"notebook": f"{n}.ipynb", "status": "ok", "wall_s": 60.0}
        for n in ("03_world_modeling", "06_lm_sparse_vs_dense")
    ]
    write_index(tmp_path, "cpu", records)
    (got,) = json.loads((tmp_path / "summary.json").read_text())
    assert got["verdict"] == "inconclusive (± 0.20)" and got["notebook"] == "03_world_modeling"
    assert (
        "| 03_world_modeling | wm-token-64 | frontier | 0.46 [0.26, 0.65] | 0.49 | inconclusive (± 0.20) |"
        in (tmp_path / "summary.md").read_text()
    )
    page = (tmp_path / "index.html").read_text()
    assert "inconclusive (± 0.20)" in page and "decide nothing" not in page and "not a finding" not in page
    write_index(tmp_path, "smoke", records)
    assert "decide nothing" in (tmp_path / "index.html").read_text()
    assert "inconclusive (± 0.20) <i>(smoke: not a finding)</i>" in (tmp_path / "index.html").read_text()
    smoke_md = (tmp_path / "summary.md").read_text()
    assert "decide nothing" in smoke_md and "| inconclusive (± 0.20) *(smoke: not a finding)* |" in smoke_md


def test_a_design_that_cannot_measure_gives_no_verdict_at_that_preset():
    """BC-CNN's cpu ladder is declared not measurable (with the evidence): its rows say so whatever the
    fit, and so does every ordering it enters; at smoke the same fit would get a verdict."""
    from agentscaling.analysis.claims import ordering_row, value_rows
    from agentscaling.analysis.fits import StudyFits

    class Fit:
        estimates = {"a": type("E", (), {"value": 0.66, "lo": 0.62, "hi": 0.70})()}
        at_bounds = ()
        bootstrap = None

    cpu = StudyFits("bc-cnn", "cpu", "N", fits={"frontier": Fit()})
    (row,) = value_rows(cpu, "04", ("frontier",))
    assert row.verdict.startswith("not measurable at this preset") and "pilot" in row.verdict
    assert row.ours == 0.66
    other = StudyFits("bc-token-64", "cpu", "N", fits={"frontier": Fit()})
    assert ordering_row(cpu, other, "04", "frontier").verdict.startswith("not measurable")
    (smoke_row,) = value_rows(StudyFits("bc-cnn", "smoke", "N", fits={"frontier": Fit()}), "04", ("frontier",))
    assert smoke_row.verdict.startswith("agrees")


def test_the_readme_quotes_the_generated_summary(tmp_path):
    """`agentscaling readme` replaces only the marked block with summary.md and the wall time, is
    idempotent, and refuses a README without the block or a report that was never run."""
    from agentscaling.analysis.verdicts import ClaimRow
    from agentscaling.cli import main
    from agentscaling.io import atomic_write_json
    from agentscaling.reports.index import README_BEGIN, README_END, write_index

    report = tmp_path / "reports"
    report.mkdir()
    row = ClaimRow("wm-token-64", "parametric", "a", 0.52, 0.48, 0.56, 0.49, "agrees").to_dict()
    atomic_write_json(report / "03_world_modeling.summary.json", {"claims": [row]})
    write_index(report, "cpu", [{"notebook": "03_world_modeling.ipynb", "status": "ok", "wall_s": 600.0}])
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{README_BEGIN}\nhand-typed, stale\n{README_END}\nafter\n")
    args = ["readme", "--preset", "cpu", "--report", str(report), "--readme", str(readme)]
    assert main(args) == 0
    text = readme.read_text()
    assert "hand-typed" not in text and text.startswith("# title\n\nbefore\n") and text.endswith("after\n")
    assert "| 03_world_modeling | wm-token-64 | parametric | 0.52 [0.48, 0.56] | 0.49 | agrees |" in text
    assert "1 notebooks, 10.0 min of notebook execution" in text
    assert main(args) == 0 and readme.read_text() == text
    readme.write_text("# no block\n")
    assert main(args) == 2
    assert main(["readme", "--report", str(tmp_path / "never-run"), "--readme", str(readme)]) == 2


def test_smoke_verdicts_are_marked_beside_each_verdict_and_atop_the_notebook():
    """At smoke every verdict in a notebook's table carries the mark and the notebook opens with the banner;
    at cpu neither appears."""
    from agentscaling.analysis.claims import markdown
    from agentscaling.analysis.verdicts import ClaimRow
    from agentscaling.reports.output import smoke_banner

    rows = [ClaimRow("wm-token-64", "parametric", "a", 0.5, 0.45, 0.55, 0.49, "agrees")] * 2
    smoke, cpu = markdown(rows, "smoke"), markdown(rows, "cpu")
    assert smoke.count("| agrees *(smoke: not a finding)* |") == 2 and "decide nothing" in smoke
    assert "not a finding" not in cpu and "decide nothing" not in cpu and cpu.count("| agrees |") == 2
    assert "decide nothing" in smoke_banner("smoke")


def test_methods_whose_intervals_do_not_overlap_are_flagged_on_each_row():
    """Narrow intervals that disagree with each other (cpu WM-Token-64: frontier [0.53, 0.60], least squares
    [0.22, 0.28]) carry a note on both rows; overlapping ones and unidentified ones do not."""
    from agentscaling.analysis.claims import _flag_disjoint_methods, markdown
    from agentscaling.analysis.verdicts import ClaimRow

    rows = [
        ClaimRow("wm-token-64", "frontier", "a", 0.57, 0.53, 0.60, 0.49, "disagrees"),
        ClaimRow("wm-token-64", "parametric", "a", 0.26, 0.20, 0.31, 0.52, "disagrees"),
        ClaimRow("wm-token-64", "parametric-lsq", "a", 0.25, 0.22, 0.28, 0.52, "disagrees"),
        ClaimRow("wm-token-64", "isoflop", "a", 0.9, 0.85, 0.95, 0.49, "not identified (bound)"),
    ]
    flagged = _flag_disjoint_methods(rows)
    assert "parametric (least squares) [0.22, 0.28]" in flagged[0].note and "[0.20, 0.31]" in flagged[0].note
    assert "frontier [0.53, 0.60]" in flagged[1].note and "least squares" not in flagged[1].note
    assert "frontier" in flagged[2].note and flagged[3].note == ""
    assert "conditional on the method" in markdown(flagged, "cpu")
    assert _flag_disjoint_methods(rows[1:3]) == rows[1:3]
