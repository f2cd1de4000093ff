"""The coefficient-explorer notebook runs headless at preset smoke and records its headline numbers."""

from __future__ import annotations

import json

import nbformat
import pytest

from agentscaling.paths import NOTEBOOKS_DIR

NB = NOTEBOOKS_DIR / "10_coefficient_explorer.ipynb"


def test_notebook_structure():
    nb = nbformat.read(NB, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert 'preset = "smoke"' in tagged[0].source and "out_dir = None" in tagged[0].source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert "save_summary" in nb.cells[-1].source


@pytest.mark.notebooks
def test_notebook_runs_at_smoke(tmp_path):
    from agentscaling.reports.runner import run_notebook

    out = tmp_path / "reports"
    rec = run_notebook(NB, out, preset="smoke", parameters={"bootstrap": 40})
    assert rec["status"] == "ok", rec.get("error")
    summary = json.loads((out / "10_coefficient_explorer.summary.json").read_text())
    coef = summary["fit"]["coefficients"]
    assert coef["E"]["value"] == pytest.approx(1.817, rel=0.01)
    assert coef["a"]["value"] == pytest.approx(0.513, rel=0.01)
    assert summary["fit"]["bootstrap"]["replicates"] == 40
    assert summary["naive_lbfgs_converged"] is False
    # the interactive chart has its own file: the notebook's HTML export is 10_coefficient_explorer.html
    html = (out / "10_explorer_sliders.html").read_text()
    assert '"input":"range"' in html.replace(" ", "")
    assert (out / "10_explorer_sliders.png").stat().st_size > 10_000
    assert "<html" in (out / "10_coefficient_explorer.html").read_text().lower()
