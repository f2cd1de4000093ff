"""The coefficient-explorer notebook runs headless at preset smoke and records its headline numbers."""
from __future__ import annotations

import json

import nbformat
import pytest

from agentscaling.paths import NOTEBOOKS_DIR, PROJECT_ROOT

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
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "reports"
    papermill.execute_notebook(str(NB), str(tmp_path / "out.ipynb"), cwd=str(PROJECT_ROOT), progress_bar=False,
                               parameters={"preset": "smoke", "out_dir": str(out), "bootstrap": 40})
    summary = json.loads((out / "10_coefficient_explorer.summary.json").read_text())
    coef = summary["fit"]["coefficients"]
    assert coef["E"]["value"] == pytest.approx(1.817, rel=0.01)
    assert coef["a"]["value"] == pytest.approx(0.513, rel=0.01)
    assert summary["fit"]["bootstrap"]["replicates"] == 40
    assert summary["naive_lbfgs_converged"] is False
    html = (out / "10_coefficient_explorer.html").read_text()
    assert '"input":"range"' in html.replace(" ", "")
    assert (out / "10_coefficient_explorer.png").stat().st_size > 10_000
