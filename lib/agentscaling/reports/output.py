"""What notebooks call to show and save results, so reports work offline.

In a live kernel (JupyterLab) charts render as interactive HTML with the vega bundle inlined, so
sliders and tooltips work without a CDN; under `agentscaling reproduce` (which sets REPORT_ENV for its
kernels) they render as PNG through vl-convert, so the exported reports stay small and static. Charts
with sliders are also saved as self-contained HTML pages. Every notebook ends by writing summary.json
with its key numbers.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from .. import presets
from ..io import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable
from ..paths import PROJECT_ROOT


def resolve_out_dir(out_dir: str | Path | None, preset: str) -> Path:
    """reports/<preset> by default; relative paths are taken from the project root."""
    p = Path(out_dir) if out_dir else Path("reports") / preset
    if not p.is_absolute():
        p = PROJECT_ROOT / p
    p.mkdir(parents=True, exist_ok=True)
    return p


REPORT_ENV = "AGENTSCALING_REPORT"  # set for the kernels of `agentscaling reproduce`: static output


def setup_notebook(preset: str | presets.Preset | None = None) -> None:
    """Chart rendering for this kernel (live HTML in JupyterLab, PNG in batch reports), tables that show
    long messages in full, and at a preset that decides nothing (smoke) a banner saying so."""
    from IPython.display import Markdown, display

    alt.data_transformers.disable_max_rows()
    if os.environ.get(REPORT_ENV):
        alt.renderers.enable("png", scale_factor=1.5)
    else:
        alt.renderers.register(LIVE_RENDERER, live_chart_html)
        alt.renderers.enable(LIVE_RENDERER)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.precision", 4)
    if preset is not None and not presets.get(preset).decides_claims:
        display(Markdown(smoke_banner(preset)))


LIVE_RENDERER = "agentscaling-live"


def live_chart_html(spec: dict, **_: Any) -> dict[str, str]:
    """An altair renderer for live kernels: the chart as a self-contained page (vega inlined by vl-convert,
    no CDN) inside an iframe that sizes itself to it. Each chart gets its own page, so the bundles of
    several charts in one notebook do not collide in the page's global scope."""
    import vl_convert as vlc

    page = vlc.vegalite_to_html(json.dumps(spec), bundle=True)
    # the frame's height follows the rendered chart (vega draws after load, and again when sliders move)
    fit = (
        "const f=this,b=f.contentDocument.body,"
        "h=()=>{f.style.height=(Math.max(0,...[...b.children].map(e=>e.getBoundingClientRect().bottom))+16)+'px'};"
        "h();new ResizeObserver(h).observe(b.firstElementChild||b)"
    )
    frame = (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;border:0;height:420px" '
        f'onload="{html.escape(fit, quote=True)}"></iframe>'
    )
    return {"text/html": frame}


def smoke_banner(preset: str | presets.Preset) -> str:
    name = presets.get(preset).name
    return (
        f"> ⚠️ **Preset `{name}`: these runs test the pipeline and decide nothing.** Models are tiny and "
        "trained for seconds; every number and verdict below is computed as it would be at `cpu` or `gpu`, "
        "but none is a finding."
    )


def save_chart(
    chart, out_dir: str | Path, name: str, *, png: bool = True, html: bool = False, scale: float = 2.0
) -> list[Path]:
    """Save an altair chart as PNG (static) and/or self-contained HTML (interactive, works offline)."""
    import vl_convert as vlc

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec = chart.to_dict()
    written = []
    if png:
        data = vlc.vegalite_to_png(json.dumps(spec), scale=scale)
        atomic_write_bytes(out / f"{name}.png", data)
        written.append(out / f"{name}.png")
    if html:
        page = vlc.vegalite_to_html(json.dumps(spec), bundle=True)
        atomic_write_text(out / f"{name}.html", page)
        written.append(out / f"{name}.html")
    return written


def show(chart, out_dir: str | Path | None = None, name: str | None = None, **kw):
    """Save (when out_dir and name are given) and return the chart for display; a chart saved as an HTML
    page (html=True) is announced with a link to it."""
    if out_dir is not None and name is not None:
        written = save_chart(chart, out_dir, name, **kw)
        pages = [p for p in written if p.suffix == ".html"]
        if pages:
            from IPython.display import Markdown, display

            # a report's exported notebook sits beside the page; a live notebook links from its own directory
            rel = pages[0].name if os.environ.get(REPORT_ENV) else os.path.relpath(pages[0], Path.cwd())
            display(Markdown(f"The same chart as an offline page (works in any browser): [{rel}]({rel})"))
    return chart


def save_summary(out_dir: str | Path, notebook: str, data: dict[str, Any]) -> Path:
    """Write <out_dir>/<notebook>.summary.json: the notebook's key numbers, as data."""
    path = Path(out_dir) / f"{notebook}.summary.json"
    atomic_write_json(path, to_jsonable(data))
    return path


def show_gif(path: str | Path):
    """An animated GIF for display, inlined as HTML (exported reports keep it; nbconvert drops image/gif)."""
    import base64

    from IPython.display import HTML

    data = base64.b64encode(Path(path).read_bytes()).decode()
    return HTML(f'<img src="data:image/gif;base64,{data}" alt="{html.escape(Path(path).name)}">')
