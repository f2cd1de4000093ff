"""Notebook 09's charts: playing strength and rollout fidelity against pre-training loss (the paper's
Fig. 2/3 analogues), and rollout error against the horizon."""

from __future__ import annotations

import altair as alt
import pandas as pd

from .scaling import HEIGHT, WIDTH, size_color

REFERENCE_DASH = [4, 3]


def _reference_rules(refs: pd.DataFrame, y: str, x_right: float) -> alt.LayerChart:
    """Dashed horizontal rules at the references' values, each named at the panel's right edge."""
    rules = (
        alt.Chart(refs)
        .mark_rule(strokeDash=REFERENCE_DASH, color="gray")
        .encode(y=f"{y}:Q", tooltip=["study:N", alt.Tooltip(f"{y}:Q", format=".3g")])
    )
    names = (
        alt.Chart(refs.assign(x=x_right))
        .mark_text(align="right", baseline="bottom", dy=-2, color="gray", fontSize=10)
        .encode(x="x:Q", y=f"{y}:Q", text="study:N")
    )
    return alt.layer(rules, names)


def loss_vs(table: pd.DataFrame, y: str, title: str, err: str | None = None, references=()) -> alt.Chart:
    """One panel per study: each checkpoint's `y` against its held-out loss, coloured by N; error bars of
    ± one standard error (`err`); dashed rules at the reference rows (`references`: study names such as
    'random', 'demonstrators', 'tokenizer')."""
    panels = []
    refs = table[table["study"].isin(references)]
    for study, t in table[~table["study"].isin(references)].groupby("study", sort=False):
        base = alt.Chart(t).encode(
            x=alt.X("loss:Q", title="held-out loss (nats)", scale=alt.Scale(zero=False)),
        )
        points = base.mark_circle(size=70, opacity=0.9).encode(
            y=alt.Y(f"{y}:Q", title=title, scale=alt.Scale(zero=False)),
            color=size_color(),
            tooltip=["size:N", "seed:Q", alt.Tooltip("loss:Q", format=".4f"), alt.Tooltip(f"{y}:Q", format=".3g")],
        )
        layers = [points]
        if err:
            bars = t.assign(lo=t[y] - t[err], hi=t[y] + t[err])
            layers.insert(
                0, alt.Chart(bars).mark_rule(opacity=0.5).encode(x="loss:Q", y="lo:Q", y2="hi:Q", color=size_color())
            )
        if not refs.empty:
            layers.append(_reference_rules(refs, y, float(t["loss"].max())))
        panels.append(alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=study))
    return alt.hconcat(*panels).resolve_scale(x="independent")


def horizon_chart(by_horizon: pd.DataFrame, y: str = "psnr", title: str = "PSNR (dB)") -> alt.Chart:
    """Rollout fidelity against the horizon, one line per checkpoint (coloured by N) and the references
    dashed."""
    models = by_horizon[by_horizon["N"].notna()].assign(run=lambda d: d["size"] + " s" + d["seed"].astype(str))
    refs = by_horizon[by_horizon["N"].isna()]
    lines = (
        alt.Chart(models)
        .mark_line(point=True, opacity=0.8)
        .encode(
            x=alt.X("horizon:Q", title="frames ahead", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(f"{y}:Q", title=title, scale=alt.Scale(zero=False)),
            color=size_color(),
            detail="run:N",
            tooltip=["run:N", "horizon:Q", alt.Tooltip(f"{y}:Q", format=".3g")],
        )
    )
    ref = (
        alt.Chart(refs)
        .mark_line(strokeDash=REFERENCE_DASH, color="gray")
        .encode(x="horizon:Q", y=f"{y}:Q", detail="study:N", tooltip=["study:N", alt.Tooltip(f"{y}:Q", format=".3g")])
    )
    labels = (
        alt.Chart(refs[refs["horizon"] == refs["horizon"].max()])
        .mark_text(align="right", baseline="bottom", dy=-3, color="gray", fontSize=10)
        .encode(x="horizon:Q", y=f"{y}:Q", text="study:N")
    )
    return alt.layer(lines, ref, labels).properties(width=WIDTH * 1.4, height=HEIGHT)
