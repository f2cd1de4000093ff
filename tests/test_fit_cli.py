"""The `agentscaling fit` command: JSON output, column mapping, errors exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agentscaling.cli import main
from agentscaling.fit import ParametricLaw, sweep_curves
from agentscaling.paths import SHIPPED_DATA_DIR

CHIN = str(SHIPPED_DATA_DIR / "chinchilla_points.csv")


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_parametric_on_chinchilla_json(capsys):
    rc, out, _ = run(
        capsys,
        "fit",
        CHIN,
        "--method",
        "parametric",
        "--n-col",
        "Model Size",
        "--c-col",
        "Training FLOP",
        "--drop-highest-loss",
        "5",
        "--bootstrap",
        "50",
        "--json",
    )
    assert rc == 0
    d = json.loads(out)
    assert d["method"] == "parametric" and d["converged"] is True
    assert d["coefficients"]["E"]["value"] == pytest.approx(1.817, rel=0.01)
    assert d["coefficients"]["a"]["value"] == pytest.approx(0.513, rel=0.01)
    assert d["coefficients"]["alpha"]["ci_lo"] < 0.348 < d["coefficients"]["alpha"]["ci_hi"]
    assert d["bootstrap"]["replicates"] == 50 and d["bootstrap"]["converged_fraction"] > 0.9
    assert d["derived_columns"] == ["D"] and d["n_points"] == 240
    assert isinstance(d["warnings"], list)


@pytest.mark.parametrize("method", ["frontier", "isoflop", "parametric-lsq"])
def test_cli_methods_on_synthetic_curves(capsys, tmp_path, method):
    law = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)
    df = sweep_curves(law, np.geomspace(1e6, 1e9, 8), points_per_run=20).rename(columns={"N": "params", "loss": "L"})
    path = tmp_path / "runs.csv"
    df.drop(columns="D").to_csv(path, index=False)
    rc, out, _ = run(
        capsys,
        "fit",
        str(path),
        "--method",
        method,
        "--n-col",
        "params",
        "--loss-col",
        "L",
        "--bootstrap",
        "20",
        "--json",
    )
    assert rc == 0
    d = json.loads(out)
    assert d["method"] == method
    assert d["coefficients"]["a"]["value"] == pytest.approx(law.a, abs=0.05)
    for c in d["coefficients"].values():
        assert set(c) == {"value", "ci_lo", "ci_hi", "se"}
    if method == "frontier":
        assert "compute_law" in d and "c" in d["compute_law"]["coefficients"]


def test_cli_human_output(capsys):
    rc, out, _ = run(
        capsys,
        "fit",
        CHIN,
        "--n-col",
        "Model Size",
        "--c-col",
        "Training FLOP",
        "--bootstrap",
        "0",
        "--drop-highest-loss",
        "5",
    )
    assert rc == 0
    assert "alpha" in out and "converged: True" in out


def test_cli_bad_input_exits_2(capsys, tmp_path):
    rc, _, err = run(capsys, "fit", CHIN, "--bootstrap", "0")  # default column names are absent
    assert rc == 2 and "missing column" in err and "Model Size" in err
    rc, _, err = run(capsys, "fit", str(tmp_path / "nope.csv"))
    assert rc == 2 and "not found" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("N,C,loss\n1e6,1e15,3.0\n2e6,1e15,-1\n")
    rc, _, err = run(capsys, "fit", str(bad), "--bootstrap", "0")
    assert rc == 2 and "non-positive" in err


def test_cli_frontier_grid_from_c_min_c_max(capsys, tmp_path):
    law = ParametricLaw(E=1.7, A=400.0, B=1200.0, alpha=0.34, beta=0.30)
    path = tmp_path / "runs.csv"
    sweep_curves(law, np.geomspace(1e6, 1e9, 8), points_per_run=20).to_csv(path, index=False)
    rc, out, _ = run(
        capsys,
        "fit",
        str(path),
        "--method",
        "frontier",
        "--c-min",
        "1e16",
        "--c-max",
        "1e19",
        "--bootstrap",
        "0",
        "--json",
    )
    d = json.loads(out)
    assert rc == 0 and d["c_range"] == [1e16, 1e19] and d["c_range_source"] == "user"
