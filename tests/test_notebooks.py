"""Every notebook executes headless under papermill at the smoke preset; notebooks hold no outputs
and exactly one parameters cell; unknown parameters are refused."""

import json
import os

import nbformat
import pytest

from agentscaling.errors import UserError
from agentscaling.reports.runner import check_parameters, declared_parameters, list_notebooks, run_notebook

NOTEBOOKS = list_notebooks()


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_clean(path):
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "outputs must be stripped"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    params = declared_parameters(path)
    assert {"preset", "out_dir"} <= set(params)
    for c in code:  # logic lives in the library
        assert "def " not in c.source and "class " not in c.source, c.source[:80]


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_at_smoke(path, tmp_path):
    params = declared_parameters(path)
    extra = {"store": str(tmp_path / "store")} if "store" in params else {}
    rec = run_notebook(path, tmp_path / "out", preset="smoke", parameters=extra)
    assert rec["status"] == "ok", rec.get("error")
    summary = json.loads((tmp_path / "out" / f"{path.stem}.summary.json").read_text())
    assert summary["execution"]["status"] == "ok"
    assert len(summary) > 1, "the notebook must save its key numbers with reports.output.save_summary"
    html = (tmp_path / "out" / f"{path.stem}.html").read_text()
    assert "<html" in html.lower()


def test_unknown_parameters_are_refused():
    with pytest.raises(UserError, match="does not take parameter"):
        check_parameters(NOTEBOOKS[0], {"no_such_parameter": 1})
    with pytest.raises(UserError, match="does not take parameter"):
        run_notebook(NOTEBOOKS[0], "/tmp/agentscaling-never-written", parameters={"bogus": 3})


@pytest.mark.notebooks
def test_a_notebook_on_a_local_dask_cluster_gives_the_same_claims(tmp_path):
    """`reproduce --dask-local N`: the kernel inherits the cluster's address and its sweeps train there;
    the claims equal those of the local pool's run (fresh stores, so both train everything)."""
    pytest.importorskip("distributed")
    from agentscaling.executors import dask_client, dask_cluster

    path = next(p for p in NOTEBOOKS if p.stem == "06_lm_sparse_vs_dense")
    claims = {}
    for where in ("pool", "dask"):
        params = {"store": str(tmp_path / where / "store")}
        with dask_cluster(local_workers=2 if where == "dask" else None) as address:
            rec = run_notebook(path, tmp_path / where / "out", preset="smoke", parameters=params)
            if address:  # the cluster's workers did the training
                with dask_client(address) as client:
                    workers = set(client.run(os.getpid).values())
                trainers = {
                    a["pid"]
                    for f in (tmp_path / where / "store").rglob("attempts.json")
                    for a in json.loads(f.read_text())
                }
                assert trainers and trainers <= workers, (trainers, workers)
        assert rec["status"] == "ok", rec.get("error")
        summary = json.loads((tmp_path / where / "out" / f"{path.stem}.summary.json").read_text())
        claims[where] = summary["claims"]
    assert claims["dask"] == claims["pool"] and len(claims["pool"]) > 0
    attempts = list((tmp_path / "dask" / "store").rglob("attempts.json"))
    assert attempts and all(len(json.loads(a.read_text())) == 1 for a in attempts)
