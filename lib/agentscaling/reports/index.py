"""The report's front page and its summary, made from what the notebooks saved.

reports/<preset>/index.json      the execution record of every notebook
reports/<preset>/summary.json    every claim row of every notebook: study, method, quantity, ours,
                                 ci_low, ci_high, paper, verdict, note (analysis.verdicts' rule)
reports/<preset>/summary.md      the same as a markdown table (the README quotes it)
reports/<preset>/index.html      the claims table first, then each notebook with a thumbnail, its
                                 wall time and status; the compute spent and the versions"""

from __future__ import annotations

import html
import platform
from pathlib import Path
from typing import Any

from .. import __version__, presets
from ..io import atomic_write_json, atomic_write_text, read_json
from ..store import git_commit

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:72em}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left;vertical-align:top}th{background:#f4f4f4}"
    ".ok{color:#1a7f37}.error{color:#cf222e}.agrees,.holds{background:#e6f4ea}.disagrees,.reversed{background:#fde7e9}"
    ".inconclusive{background:#fff8e1}.smoke{background:#fff3cd;border:1px solid #e0c36a;padding:.6em 1em}"
    "img.thumb{max-width:22em;max-height:9em}"
)
COLUMNS = ("study", "method", "quantity", "ours", "ci_low", "ci_high", "paper", "verdict", "note")


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def claim_rows(out: Path, notebooks: list[str]) -> list[dict[str, Any]]:
    """Every claim row the notebooks saved (their summary.json's "claims"), in notebook order."""
    rows = []
    for nb in notebooks:
        path = out / f"{Path(nb).stem}.summary.json"
        data = read_json(path) if path.exists() else {}
        for r in data.get("claims") or []:
            if isinstance(r, dict):
                rows.append({**{k: r.get(k) for k in COLUMNS}, "notebook": Path(nb).stem})
    return rows


def summary_markdown(rows: list[dict[str, Any]], preset: str) -> str:
    lines = ["| notebook | claim | method | ours (95 % CI) | paper | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        ours = _fmt(r["ours"]) + (f" [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if r["ci_low"] is not None else "")
        claim = r["study"] if r["quantity"] == "a" else f"{r['study']}: {r['quantity']}"
        lines.append(f"| {r['notebook']} | {claim} | {r['method']} | {ours} | {_fmt(r['paper'])} | {r['verdict']} |")
    head = [f"# The paper's claims at the `{preset}` preset", ""]
    if not presets.get(preset).decides_claims:
        head += [
            f"**`{preset}` runs test the pipeline and decide nothing**: these verdicts are computed, not findings.",
            "",
        ]
    return "\n".join(head + lines) + "\n"


def _claim_html(c: dict[str, Any]) -> str:
    esc = html.escape
    claim = esc(str(c["study"])) + ("" if c["quantity"] == "a" else ": " + esc(str(c["quantity"])))
    ours = esc(_fmt(c["ours"]))
    if c["ci_low"] is not None:
        ours += f" [{esc(_fmt(c['ci_low']))}, {esc(_fmt(c['ci_high']))}]"
    css = esc(str(c["verdict"]).split(" (")[0])
    return (
        f"<tr class='{css}'><td>{esc(c['notebook'])}</td><td>{claim}</td><td>{esc(str(c['method']))}</td>"
        f"<td>{ours}</td><td>{esc(_fmt(c['paper']))}</td><td>{esc(str(c['verdict']))}</td></tr>"
    )


def _thumbnail(out: Path, stem: str) -> str:
    pngs = sorted(out.glob(f"{stem}*.png"))
    if not pngs:
        return ""
    return f"<img class='thumb' src='{html.escape(pngs[0].name)}' alt='{html.escape(stem)}'>"


def write_index(out: Path, preset: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge `records` into the index of `out` and rewrite index.json, summary.json, summary.md and
    index.html. A partial re-run updates its notebooks' rows and keeps the others' (same preset only)."""
    index_path = out / "index.json"
    previous = read_json(index_path) if index_path.exists() else {}
    merged = {r["notebook"]: r for r in previous.get("notebooks", [])} if previous.get("preset") == preset else {}
    merged.update({r["notebook"]: r for r in records})
    rows = [merged[k] for k in sorted(merged)]
    atomic_write_json(index_path, {"preset": preset, "notebooks": rows})
    claims = claim_rows(out, [r["notebook"] for r in rows])
    atomic_write_json(out / "summary.json", claims)
    atomic_write_text(out / "summary.md", summary_markdown(claims, preset))

    total = sum(float(r.get("wall_s") or 0) for r in rows)
    esc = html.escape
    claim_html = "".join(_claim_html(c) for c in claims)
    nb_html = "".join(
        f"<tr><td><a href='{esc(Path(r['notebook']).stem)}.html'>{esc(r['notebook'])}</a></td>"
        f"<td>{_thumbnail(out, Path(r['notebook']).stem)}</td>"
        f"<td class='{esc(r['status'])}'>{esc(r['status'])}"
        f"{(': ' + esc(str(r['error']))) if r.get('error') else ''}</td>"
        f"<td>{float(r.get('wall_s') or 0) / 60:.1f} min</td></tr>"
        for r in rows
    )
    banner = (
        f"<p class='smoke'><b>{esc(preset)} preset:</b> these runs test the pipeline and decide nothing; the "
        "verdicts below are computed but are not findings.</p>"
        if not presets.get(preset).decides_claims
        else ""
    )
    versions = f"agentscaling {__version__}, git {git_commit() or 'unknown'}, Python {platform.python_version()}"
    atomic_write_text(
        out / "index.html",
        (
            f"<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>agentscaling report ({esc(preset)})</title><style>{STYLE}</style></head><body>"
            f"<h1>agentscaling report, preset <code>{esc(preset)}</code></h1>{banner}"
            f"<h2>The paper's claims</h2><p>{len(claims)} claims from {len(rows)} notebooks. A value <i>agrees</i> "
            "when its 95 % interval contains the paper's value and is at most ±0.10 wide, <i>disagrees</i> when it "
            "excludes it, and is <i>inconclusive</i> otherwise; an ordering <i>holds</i> when the bootstrap "
            "probability of the paper's direction is ≥ 0.95, is <i>reversed</i> when it is ≤ 0.05. A fit that is "
            "not identified gives no verdict, nor does a study whose design at this preset cannot measure the "
            "coefficient (<i>not measurable</i>, with the evidence). As data: <code>summary.json</code>, "
            "<code>summary.md</code>.</p>"
            f"<table><tr><th>notebook</th><th>claim</th><th>method</th><th>ours (95 % CI)</th><th>paper</th>"
            f"<th>verdict</th></tr>{claim_html}</table>"
            f"<h2>Notebooks</h2><p>{total / 60:.1f} min of notebook execution in all. Each links to its executed "
            "notebook as offline HTML; its numbers are in <code>NN_name.summary.json</code> beside it.</p>"
            f"<table><tr><th>notebook</th><th>figure</th><th>status</th><th>wall time</th></tr>{nb_html}</table>"
            f"<p>{esc(versions)}</p></body></html>\n"
        ),
    )
    return rows
