"""What notebooks call to show and save results, so reports work offline.

Static charts are rendered to PNG through vl-convert (altair's default HTML output loads vega from a
CDN and would show nothing offline); interactive charts are saved as self-contained HTML with the
vega scripts inlined. Every notebook ends by writing summary.json with its key numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt

from ..io import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable
from ..paths import PROJECT_ROOT


def resolve_out_dir(out_dir: str | Path | None, preset: str) -> Path:
    """reports/<preset> by default; relative paths are taken from the project root."""
    p = Path(out_dir) if out_dir else Path("reports") / preset
    if not p.is_absolute():
        p = PROJECT_ROOT / p
    p.mkdir(parents=True, exist_ok=True)
    return p


def setup_notebook() -> None:
    """Render altair charts as PNG inside notebooks (works headless and offline)."""
    alt.data_transformers.disable_max_rows()
    alt.renderers.enable("png", scale_factor=1.5)


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
    """Save (when out_dir and name are given) and return the chart for display."""
    if out_dir is not None and name is not None:
        save_chart(chart, out_dir, name, **kw)
    return chart


def save_summary(out_dir: str | Path, notebook: str, data: dict[str, Any]) -> Path:
    """Write <out_dir>/<notebook>.summary.json: the notebook's key numbers, as data."""
    path = Path(out_dir) / f"{notebook}.summary.json"
    atomic_write_json(path, to_jsonable(data))
    return path
