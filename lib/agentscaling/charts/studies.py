"""The studies' figures: the paper's figure per study (Figs. 5-8, 10, 12-13, 18), a against tokens per
frame (Fig. 16) and the extrapolation run against the extrapolated frontier (Fig. 9).

The inputs are the analysis layer's results, read by attribute (a study's fits: `.study`, `.preset`,
`.n_convention`, `.fits`, `.compute_law`, `.points`), so charts need nothing above the fit layer."""

from __future__ import annotations

import math
from typing import Any, Iterable

import altair as alt
import numpy as np
import pandas as pd

from .scaling import FRONTIER_GREEN, HEIGHT, WIDTH, log_encoding, loss_curves, size_color, three_panel

N_CONVENTION_NAMES = {
    "N": "N: all parameters incl. the token embedding",
    "N_nonembedding": "N: non-embedding parameters",
    "N_total": "N: with position embeddings",
}


def study_figure(sf: Any, title: str | None = None) -> alt.TopLevelMixin:
    """The paper's figure for a study: the 3-panel layout when a frontier exists (loss curves with
    frontier, loss-vs-compute law and per-size parametric curves | N_opt | D_opt), otherwise the
    loss curves with the parametric fit (as the paper's Figs. 7, 10, 18)."""
    title = title or f"{sf.study} ({sf.preset} preset; {N_CONVENTION_NAMES.get(sf.n_convention, sf.n_convention)})"
    par = sf.fits.get("parametric")
    if "frontier" in sf.fits:
        return three_panel(sf.fits["frontier"], sf.compute_law, par, data=sf.points, title=title)
    return loss_curves(sf.points, parametric=par, title=title)


def study_figures(all_fits: Iterable[Any]) -> alt.VConcatChart:
    """Every study's figure stacked vertically (one chart, one PNG)."""
    return alt.vconcat(*[study_figure(sf) for sf in all_fits]).resolve_scale(color="independent")


def tpf_chart(
    table: pd.DataFrame,
    fit: Any = None,
    paper_fit: dict | None = None,
    title: str = "a against tokens per frame",
    y_title: str = "frontier a (N_opt ∝ C^a)",
) -> alt.LayerChart:
    """Fig. 16: every (level, seed) frontier a with its CI, our line (dashed black) and the paper's
    RT-1 line (dotted grey; `paper_fit` holds its a at 16 and 256 tokens and its R)."""
    d = table.dropna(subset=["a"]).copy()
    d["seed"] = d["seed"].astype(str)
    x = alt.X("tokens_per_frame:Q", scale=alt.Scale(type="log", base=2), title="tokens per frame (log)")
    pts = (
        alt.Chart(d)
        .mark_point(filled=True, size=60)
        .encode(
            x=x,
            y=alt.Y("a:Q", title=y_title, scale=alt.Scale(zero=False)),
            color="seed:N",
            tooltip=["study", "a", "a_lo", "a_hi"],
        )
    )
    bars = alt.Chart(d).mark_rule(opacity=0.5).encode(x=x, y="a_lo:Q", y2="a_hi:Q", color="seed:N")
    layers = [bars, pts]
    kk = np.geomspace(
        max(8, d["tokens_per_frame"].min() / 1.2) if len(d) else 16,
        (d["tokens_per_frame"].max() * 1.2) if len(d) else 256,
        30,
    )
    if fit is not None:
        line = pd.DataFrame({"tokens_per_frame": kk, "a": fit.predict(kk), "which": "ours"})
        layers.append(alt.Chart(line).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y="a:Q"))
    label = f"ours: R = {fit.R:.2f}, slope {fit.slope:+.3f}/decade" if fit is not None else ""
    if paper_fit is not None:
        p_slope = (paper_fit["a_at_256"] - paper_fit["a_at_16"]) / math.log10(16)
        paper = pd.DataFrame({"tokens_per_frame": kk, "a": paper_fit["a_at_16"] + p_slope * np.log10(kk / 16)})
        layers.append(alt.Chart(paper).mark_line(color="gray", strokeDash=[2, 2]).encode(x=x, y="a:Q"))
        label += f" | paper (RT-1, dotted): R = {paper_fit['R']}"
    layers.append(
        alt.Chart(pd.DataFrame({"t": [label]})).mark_text(align="left", baseline="top", x=4, y=4).encode(text="t:N")
    )
    return alt.layer(*layers).properties(width=420, height=280, title=title)


def extrapolation_chart(
    base: Any, run_points: pd.DataFrame, check: Any, title: str = "Extrapolation (paper Fig. 9)"
) -> alt.HConcatChart:
    """Fig. 9: the ladder's curves, the extrapolation run, the frontier and the extended loss law |
    N_opt line extended to the run with × at (C*, N_x) | D_opt line with × at (C*, D*)."""
    f = base.fits["frontier"]
    pts = pd.concat([base.points.assign(which="ladder"), run_points.assign(which="extrapolation")], ignore_index=True)
    x = alt.X(**log_encoding("C", "compute C (FLOPs)"))
    yl = alt.Y(**log_encoding("loss", "held-out loss", zero=False, nice=False))
    curves = (
        alt.Chart(pts)
        .mark_line()
        .encode(
            x=x,
            y=yl,
            color=size_color(),
            detail="run_id:N",
            strokeDash=alt.StrokeDash(
                "which:N", legend=None, scale=alt.Scale(domain=["ladder", "extrapolation"], range=[[1, 0], [5, 3]])
            ),
        )
    )
    fr = f.frontier.rename(columns={"loss_opt": "loss"})
    front = alt.Chart(fr).mark_circle(size=14, color=FRONTIER_GREEN).encode(x=x, y=yl)
    Cg = np.geomspace(f.c_range[0], check.C_end * 1.2, 120)
    law = pd.DataFrame({"C": Cg, "loss": base.compute_law.loss(Cg)})
    law = law[law["loss"] >= pts["loss"].min() / 1.05]
    lawc = alt.Chart(law).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y=yl)
    star = (
        alt.Chart(pd.DataFrame({"C": [check.C_star], "loss": [check.loss_star]}))
        .mark_point(shape="cross", size=160, color="red", filled=True)
        .encode(x=x, y=yl)
    )
    left = alt.layer(curves, front, lawc, star).properties(width=WIDTH, height=HEIGHT, title="loss vs compute")
    panels = [left]
    for which, col, fn, val, lab in (
        ("N", "N_opt", f.n_opt, check.N_x, "optimal parameters"),
        ("D", "D_opt", f.d_opt, check.D_star, "optimal tokens"),
    ):
        line = pd.DataFrame({"C": Cg, col: fn(Cg)})
        y = alt.Y(**log_encoding(col, lab, nice=False))
        p = alt.Chart(f.frontier).mark_circle(size=20, color=FRONTIER_GREEN).encode(x=x, y=y)
        ln = alt.Chart(line).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y=y)
        xx = (
            alt.Chart(pd.DataFrame({"C": [check.C_star], col: [val]}))
            .mark_point(shape="cross", size=160, color="red", filled=True)
            .encode(x=x, y=y)
        )
        dex = check.dex_N if which == "N" else check.dex_D
        txt = (
            alt.Chart(pd.DataFrame({"t": [f"× = extrapolation run ({dex:+.2f} dex)"]}))
            .mark_text(align="left", baseline="top", x=4, y=4)
            .encode(text="t:N")
        )
        panels.append(alt.layer(p, ln, xx, txt).properties(width=WIDTH, height=HEIGHT, title=lab))
    return alt.hconcat(*panels).resolve_scale(color="independent").properties(title=title)
