"""Charts of the data and its tokenizers: action entropy per persona (notebook 01), reconstruction
quality and codebook health per tokens-per-frame level (notebook 02)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def entropy_chart(stats: pd.DataFrame, by: str = "persona") -> alt.LayerChart:
    """Heatmap of entropy as a fraction of the maximum, per action dim and group."""
    order = stats.drop_duplicates("dim").sort_values("index")["dim"].tolist()
    base = alt.Chart(stats).encode(
        x=alt.X("dim:N", sort=order, title="action dimension"),
        y=alt.Y(f"{by}:N", title=by),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("entropy_frac:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="entropy / max"),
        tooltip=[by, "dim", alt.Tooltip("entropy_bits:Q", format=".3f"), alt.Tooltip("entropy_frac:Q", format=".2f")],
    )
    text = base.mark_text(fontSize=9).encode(
        text=alt.Text("entropy_bits:Q", format=".2f"),
        color=alt.condition("datum.entropy_frac > 0.6", alt.value("black"), alt.value("white")),
    )
    return (heat + text).properties(
        title="Action entropy per dimension (bits; colour: fraction of max)", width=560, height=28 * stats[by].nunique()
    )


def levels_chart(table: pd.DataFrame) -> alt.HConcatChart:
    """PSNR and codebook usage against tokens per frame (log x)."""
    df = table[["tokens_per_frame", "psnr", "usage", "perplexity", "bits_per_frame"]].copy()
    x = alt.X("tokens_per_frame:Q", scale=alt.Scale(type="log", base=2), title="tokens per frame")
    base = alt.Chart(df).encode(x=x, tooltip=list(df.columns))
    psnr = (
        base.mark_line(point=True)
        .encode(y=alt.Y("psnr:Q", title="held-out PSNR (dB)", scale=alt.Scale(zero=False)))
        .properties(width=260, height=200, title="Reconstruction")
    )
    usage = (
        base.mark_line(point=True, color="#e45756")
        .encode(y=alt.Y("usage:Q", title="codebook usage (fraction)", scale=alt.Scale(domain=[0, 1])))
        .properties(width=260, height=200, title="Codebook health")
    )
    rule = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    return alt.hconcat(psnr, usage + rule)
