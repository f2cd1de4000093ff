"""What a person sees, checked in a real headless Chromium (Playwright): the report's front page and the
explorer's offline page work without console errors and their sliders move the chart; notebook 10 run in
a JupyterLab started here shows live sliders inline. Set AGENTSCALING_SCREENSHOTS=DIR to keep screenshots."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentscaling.reports.runner import reproduce

pytestmark = pytest.mark.browser
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip: the dev extra)")
    path = os.environ.get("AGENTSCALING_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=path, args=["--no-sandbox"]) if path else p.chromium.launch()
        except Exception as e:  # noqa: BLE001 - no usable browser on this machine
            pytest.skip(f"no Chromium to drive ({path or 'none on PATH'}; playwright: {str(e).splitlines()[0]})")
        yield b
        b.close()


def _page(browser, errors: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    return page


def _screenshot(page, name: str) -> None:
    if shots := os.environ.get("AGENTSCALING_SCREENSHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / name))


def _move(slider, value: float) -> None:
    slider.evaluate(f"(el) => {{ el.value = {value}; el.dispatchEvent(new Event('input', {{bubbles: true}})); }}")


def test_the_report_and_the_explorer_page_work_offline(browser, tmp_path):
    out = tmp_path / "report"
    (record,) = reproduce("smoke", out, ["10_coefficient_explorer"])
    assert record["status"] == "ok", record.get("error")
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto((out / "index.html").as_uri())
    assert "The paper's claims" in page.inner_text("body") and "decide nothing" in page.inner_text("body")
    page.click("a[href='10_coefficient_explorer.html']")
    page.wait_for_selector("img")  # the exported notebook with its PNG charts
    page.goto((out / "10_explorer_sliders.html").as_uri())
    sliders = page.locator("input[type=range]")
    sliders.first.wait_for()
    assert sliders.count() == 8
    chart, alpha = page.locator(".vega-embed").first, page.locator(".vega-bind").nth(3)
    before, shown = chart.screenshot(), alpha.inner_text()
    _move(sliders.nth(3), 0.6)
    page.wait_for_timeout(300)
    assert alpha.inner_text() != shown and alpha.inner_text().endswith("0.6")
    assert chart.screenshot() != before, "moving α must redraw the chart"
    _screenshot(page, "explorer_offline.png")
    assert errors == []


def test_notebook_10_in_jupyterlab_has_live_sliders(browser, tmp_path, project_root):
    """JupyterLab as `make lab` starts it, notebook 10 (its out_dir pointed at tmp), Run All Cells: the
    explorer renders inline with working sliders, and every cell finishes without a page error."""
    nb = json.loads((project_root / "notebooks" / "10_coefficient_explorer.ipynb").read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell["source"])
            cell["source"] = src.replace("out_dir = None", f"out_dir = {str(tmp_path / 'out')!r}")
    (tmp_path / "10.ipynb").write_text(json.dumps(nb))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "agentscaling-test"
    jupyter = Path(sys.executable).parent / "jupyter"
    args = [str(jupyter), "lab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}"]
    args += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--allow-root"]
    args += ["--ServerApp.iopub_data_rate_limit=1e10"]  # as `make lab`: each live chart inlines its bundle
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    env.pop("AGENTSCALING_REPORT", None)
    lab = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    errors: list[str] = []
    try:
        page = _page(browser, errors)
        deadline = time.time() + 30
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/lab/tree/10.ipynb?token={token}")
                break
            except Exception:  # noqa: BLE001 - the server is still starting
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        page.wait_for_selector(".jp-Notebook", timeout=30_000)
        page.wait_for_timeout(1500)  # the kernel connects
        page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
        page.click("li.lm-Menu-item:has-text('Run All Cells')")
        frame = page.frame_locator(".jp-OutputArea iframe").first
        slider, alpha = frame.locator("input[type=range]").nth(3), frame.locator(".vega-bind").nth(3)
        slider.wait_for(timeout=60_000)
        shown = alpha.inner_text()
        _move(slider, 0.6)
        page.wait_for_timeout(300)
        assert alpha.inner_text() != shown and alpha.inner_text().endswith("0.6")
        # the last cell writes the summary; Run All stops at the first error, so its file means every cell ran
        summary = tmp_path / "out" / "10_coefficient_explorer.summary.json"
        deadline = time.time() + 90
        while not summary.exists() and time.time() < deadline:
            time.sleep(0.5)
        assert summary.exists(), "Run All did not reach the notebook's last cell"
        page.locator(".jp-OutputArea iframe").first.scroll_into_view_if_needed()
        _screenshot(page, "notebook10_jupyterlab.png")
        assert page.locator(".jp-OutputArea iframe").count() >= 3  # explorer, residuals, bootstrap
        stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in stderr.all_text_contents() if "Traceback" in t]  # DOM text, also off-screen
        assert tracebacks == [], tracebacks[0][-2000:]
    finally:
        lab.terminate()
        lab.wait(timeout=20)
    page_errors = [e for e in errors if e.startswith("page error")]
    assert page_errors == []
