"""Execute notebooks headless with papermill and export offline reports.

papermill only warns about parameters a notebook does not declare; we refuse them, checking against
`papermill.inspect_notebook`. Each executed notebook is written to <out>/<stem>.ipynb, exported to a
self-contained <out>/<stem>.html (charts are PNG, so nothing loads from a CDN), and its
<out>/<stem>.summary.json (the numbers the notebook saved) gains an `execution` record."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .. import presets
from ..errors import UserError
from ..executors import scoped_env
from ..io import atomic_write_json, atomic_write_text, read_json
from ..paths import NOTEBOOKS_DIR, PROJECT_ROOT
from ..store import git_commit
from .index import write_index
from .output import REPORT_ENV


def list_notebooks(directory: str | os.PathLike = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(path: str | os.PathLike) -> dict[str, Any]:
    import papermill as pm

    path = Path(path)
    if not path.exists():
        raise UserError(f"notebook {path} does not exist")
    params = pm.inspect_notebook(str(path))
    if not params:
        raise UserError(f"notebook {path.name} has no cell tagged 'parameters'")
    return params


def check_parameters(path: str | os.PathLike, parameters: dict[str, Any]) -> None:
    declared = declared_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise UserError(
            f"notebook {Path(path).name} does not take parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(declared))}"
        )


# JupyterLab's export template without the scripts it fetches from CDNs (require.js, MathJax, the widget
# manager): a report must open offline without failed requests. Our notebooks hold no LaTeX, and a widget
# needs a live kernel anyway (the export shows its text form).
OFFLINE_TEMPLATE = (
    "{%- extends 'index.html.j2' -%}"
    "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}"
    "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}"
    "{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}"
)


def export_html(executed: Path, html_path: Path) -> None:
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(
        template_name="lab",
        template_file="agentscaling-offline.html.j2",
        extra_loaders=[jinja2.DictLoader({"agentscaling-offline.html.j2": OFFLINE_TEMPLATE})],
    )
    body, _ = exporter.from_notebook_node(nb)
    atomic_write_text(html_path, body)


def run_notebook(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    preset: str = "smoke",
    parameters: dict[str, Any] | None = None,
    html: bool = True,
    timeout: int | None = None,
) -> dict[str, Any]:
    """Execute one notebook; returns its execution record (also merged into its summary.json).

    `timeout`: seconds per cell (default: the preset's cell_timeout_s; none at the training presets,
    whose cells train for a long time). A cell over it ends the run with status "error", after the
    preset's notebook_attempts in fresh kernels: a headless kernel has been seen to stop answering on a
    widget cell, and a limit turns such a hang into a failure that a retry usually clears."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    settings = presets.get(preset)
    if timeout is None:
        timeout = settings.cell_timeout_s
    path = Path(path)
    out = Path(out_dir)
    if not out.is_absolute():
        out = PROJECT_ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    params = {"preset": preset, "out_dir": str(out), **(parameters or {})}
    declared = declared_parameters(path)
    check_parameters(path, {k: v for k, v in params.items() if k not in ("preset", "out_dir") or k in declared})
    params = {k: v for k, v in params.items() if k in declared}
    executed = out / path.name
    t0 = time.perf_counter()
    record: dict[str, Any] = {"notebook": path.name, "preset": preset, "parameters": params}
    attempts = settings.notebook_attempts
    with scoped_env(REPORT_ENV, "1"):  # the kernel inherits it: static PNG charts in the report
        for attempt in range(attempts):
            try:
                pm.execute_notebook(
                    str(path),
                    str(executed),
                    parameters=params,
                    cwd=str(PROJECT_ROOT),
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    execution_timeout=timeout,
                )
                record["status"] = "ok"
                record.pop("error", None)
                break
            except pm.PapermillExecutionError as e:
                record["status"] = "error"
                record["error"] = f"{e.ename}: {e.evalue}"
                break
            except (CellTimeoutError, DeadKernelError) as e:
                record["status"] = "error"
                record["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                if attempt + 1 < attempts:
                    record["retried_after"] = record["error"]
    record["wall_s"] = round(time.perf_counter() - t0, 2)
    record["git_commit"] = git_commit()
    if html and executed.exists():
        export_html(executed, out / f"{path.stem}.html")
    summary_path = out / f"{path.stem}.summary.json"
    summary = read_json(summary_path) if summary_path.exists() else {}
    summary["execution"] = record
    atomic_write_json(summary_path, summary)
    return record


def reproduce(
    preset: str, out_dir: str | os.PathLike, notebooks: list[str] | None = None, timeout: int | None = None
) -> list[dict[str, Any]]:
    """Execute every notebook (or those named) at a preset into out_dir, with an index page."""
    paths = list_notebooks()
    if notebooks:
        wanted = set(notebooks)
        paths = [p for p in paths if p.stem in wanted or p.name in wanted]
        missing = wanted - {p.stem for p in paths} - {p.name for p in paths}
        if missing:
            raise UserError(f"no such notebook(s): {', '.join(sorted(missing))}")
    presets.get(preset)
    records = []
    for p in paths:
        print(f"[reproduce] {p.name} (preset {preset}) ...", flush=True)
        rec = run_notebook(p, out_dir, preset=preset, timeout=timeout)
        print(f"[reproduce] {p.name}: {rec['status']} in {rec['wall_s']:.0f} s", flush=True)
        records.append(rec)
    write_index(Path(out_dir) if Path(out_dir).is_absolute() else PROJECT_ROOT / out_dir, preset, records)
    return records
