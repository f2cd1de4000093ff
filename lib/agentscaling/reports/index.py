"""The report's index: reports/<preset>/index.json (the execution record of every notebook) and
index.html, a page linking each notebook's offline HTML with its status and wall time."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, atomic_write_text, read_json

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .8em;text-align:left}th{background:#f4f4f4}"
    ".ok{color:#1a7f37}.error{color:#cf222e}"
)


def write_index(out: Path, preset: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge `records` into the index of `out` and rewrite index.json and index.html. A partial re-run
    updates its notebooks' rows and keeps the others' (of the same preset only)."""
    index_path = out / "index.json"
    previous = read_json(index_path) if index_path.exists() else {}
    merged = {r["notebook"]: r for r in previous.get("notebooks", [])} if previous.get("preset") == preset else {}
    merged.update({r["notebook"]: r for r in records})
    rows = [merged[k] for k in sorted(merged)]
    atomic_write_json(index_path, {"preset": preset, "notebooks": rows})
    total = sum(float(r.get("wall_s") or 0) for r in rows)
    body = "".join(
        f"<tr><td><a href='{html.escape(Path(r['notebook']).stem)}.html'>{html.escape(r['notebook'])}</a></td>"
        f"<td class='{html.escape(r['status'])}'>{html.escape(r['status'])}"
        f"{(': ' + html.escape(str(r['error']))) if r.get('error') else ''}</td>"
        f"<td>{float(r.get('wall_s') or 0) / 60:.1f} min</td></tr>"
        for r in rows
    )
    atomic_write_text(
        out / "index.html",
        (
            f"<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>agentscaling report ({html.escape(preset)})</title><style>{STYLE}</style></head><body>"
            f"<h1>agentscaling report, preset <code>{html.escape(preset)}</code></h1>"
            f"<p>{len(rows)} notebooks, {total / 60:.1f} min in all. Each links to its executed notebook as offline "
            f"HTML; its numbers are in <code>NN_name.summary.json</code> beside it.</p>"
            f"<table><tr><th>notebook</th><th>status</th><th>wall time</th></tr>{body}</table></body></html>\n"
        ),
    )
    return rows
