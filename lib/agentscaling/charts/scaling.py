"""Scaling-law charts (altair). Functions return charts and never save them (notebooks call
agentscaling.reports). Conventions: log-log axes; model sizes coloured small→large on the paper's
cyan→magenta ramp (matplotlib's "cool"); frontier points green; fitted laws dashed black.

- loss_curves / three_panel: the paper's Figs 5-8 layout (loss vs FLOPs per size with the frontier
  and fitted curves | N_opt vs C | D_opt vs C, with fitted lines and bootstrap CI bands).
- isoflop_chart: isoFLOP profiles with their fitted parabolas (or splines) and minima.
- residuals_chart: log residuals of a parametric fit against N, D and C.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

CYAN, MAGENTA = "#00ffff", "#ff00ff"
FRONTIER_GREEN = "#2ca02c"
WIDTH, HEIGHT = 300, 240


def cool(t: float) -> str:
    """matplotlib's 'cool' colormap (cyan at 0, magenta at 1) as hex."""
    t = float(np.clip(t, 0.0, 1.0))
    r, g, b = t, 1.0 - t, 1.0
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * v)) for v in (r, g, b)))


def format_count(x: float) -> str:
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def size_color(field: str = "N", title: str = "parameters N", legend: bool = True) -> alt.Color:
    """Colour by model size on a log scale, cyan (small) → magenta (large)."""
    return alt.Color(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(type="log", range=[CYAN, MAGENTA]),
        legend=alt.Legend(type="gradient", format=".2s") if legend else None,
    )


def _domain(*arrays, pad: float = 1.03) -> list[float]:
    v = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    v = v[np.isfinite(v) & (v > 0)]
    return [float(v.min() / pad), float(v.max() * pad)]


def log_encoding(field: str, title: str, **kw) -> dict[str, Any]:
    return dict(
        field=field,
        type="quantitative",
        title=title,
        scale=alt.Scale(type="log", **kw),
        axis=alt.Axis(format=".1e" if "C" in field else "~s"),
    )


def _frame(obj) -> pd.DataFrame:
    """Canonical points (run_label, N, D, C, loss) from a fit result, Points or canonical DataFrame."""
    pts = getattr(obj, "points", obj)
    f = getattr(pts, "frame", pts)
    f = f.copy()
    if "run_label" not in f:
        f["run_label"] = f["run_id"].astype(str) if "run_id" in f else f["N"].astype(str)
    return f


def loss_curves(
    data, frontier=None, compute_law=None, parametric=None, *, extend: float = 10.0, title: str = "loss vs compute"
) -> alt.LayerChart:
    """Left panel: loss vs C per run (log-log), coloured by N; the frontier's points (green); the
    loss-vs-compute law (dashed black, extended `extend`× past the grid); optional parametric fit
    per size (thin dashed, same colour). `data`: a fit result, Points, or canonical DataFrame."""
    f = _frame(data if data is not None else frontier)
    x = alt.X(**log_encoding("C", "compute C (FLOPs)"))
    y = alt.Y(**log_encoding("loss", "loss", zero=False, nice=False, domain=_domain(f["loss"])))
    layers = [
        alt.Chart(f)
        .mark_line(strokeWidth=1.5, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=size_color(),
            detail="run_label:N",
            tooltip=[
                alt.Tooltip("run_label:N", title="run"),
                alt.Tooltip("N:Q", format=".3s"),
                alt.Tooltip("C:Q", format=".3e"),
                alt.Tooltip("loss:Q", format=".4f"),
            ],
        )
    ]
    if parametric is not None:
        rows = []
        for (run, N), g in f.groupby(["run_label", "N"]):
            D = np.geomspace(g["D"].min(), g["D"].max(), 60)
            rows.append(pd.DataFrame({"run_label": run, "N": N, "C": 6 * N * D, "loss": parametric.law.loss(N, D)}))
        fit_df = pd.concat(rows, ignore_index=True)
        layers.append(
            alt.Chart(fit_df)
            .mark_line(strokeDash=[4, 3], strokeWidth=1)
            .encode(x=x, y=y, color=size_color(legend=False), detail="run_label:N")
        )
    if frontier is not None:
        fr = frontier.frontier.rename(columns={"loss_opt": "loss"})
        layers.append(
            alt.Chart(fr)
            .mark_circle(size=14, color=FRONTIER_GREEN, opacity=0.9)
            .encode(
                x=x,
                y=y,
                tooltip=[
                    alt.Tooltip("C:Q", format=".3e"),
                    alt.Tooltip("N_opt:Q", format=".3s"),
                    alt.Tooltip("loss:Q", format=".4f"),
                ],
            )
        )
    if compute_law is not None:
        c0, c1 = compute_law.data["C"].min(), compute_law.data["C"].max() * extend
        C = np.geomspace(c0, c1, 100)
        law_df = pd.DataFrame({"C": C, "loss": compute_law.loss(C)})
        label = f"L − {compute_law['E']:.3g} ∝ C^−{compute_law['c']:.3g}"
        law_df = law_df.loc[law_df["loss"] >= f["loss"].min() / 1.03]
        layers.append(
            alt.Chart(law_df)
            .mark_line(color="black", strokeDash=[6, 4], strokeWidth=1.5, clip=True)
            .encode(x=x, y=y, tooltip=[alt.Tooltip("C:Q", format=".3e"), alt.Tooltip("loss:Q", format=".4f")])
        )
        layers.append(
            alt.Chart(pd.DataFrame({"t": [label]}))
            .mark_text(align="right", baseline="top", x=WIDTH - 4, y=4, fontSize=12)
            .encode(text="t:N")
        )
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=title)


def allocation_panel(fit, which: str = "N", *, extend: float = 1.0, title: str | None = None) -> alt.LayerChart:
    """N_opt (which="N") or D_opt ("D") against C: the fit's optimal points, its fitted power law,
    and the bootstrap CI band of the line. Works for FrontierFit and IsoflopFit."""
    col = "N_opt" if which == "N" else "D_opt"
    k = "a" if which == "N" else "b"
    pts = fit.frontier if hasattr(fit, "frontier") else fit.profiles.loc[fit.profiles["used"]]
    pts = pts[["C", col]].dropna()
    Cg = np.geomspace(pts["C"].min(), pts["C"].max() * extend, 80)
    band = _line_band(fit, Cg, which)
    x = alt.X(**log_encoding("C", "compute C (FLOPs)"))
    y = alt.Y(
        **log_encoding(
            col,
            "optimal parameters N_opt" if which == "N" else "optimal tokens D_opt",
            domain=_domain(pts[col], band["value"], band["lo"], band["hi"], pad=1.1),
            nice=False,
        )
    )
    lo, hi = fit.ci(k)
    label = f"{k} = {fit[k]:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None and np.isfinite(lo) else "")
    layers = []
    if band["lo"].notna().any():
        layers.append(
            alt.Chart(band)
            .mark_area(opacity=0.2, color="gray")
            .encode(x=x, y=alt.Y("lo:Q", scale=alt.Scale(type="log")), y2="hi:Q")
        )
    layers.append(
        alt.Chart(pts)
        .mark_circle(size=22, color=FRONTIER_GREEN)
        .encode(x=x, y=y, tooltip=[alt.Tooltip("C:Q", format=".3e"), alt.Tooltip(f"{col}:Q", format=".3s")])
    )
    layers.append(
        alt.Chart(band.rename(columns={"value": col})).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y=y)
    )
    layers.append(
        alt.Chart(pd.DataFrame({"t": [label]}))
        .mark_text(align="left", baseline="top", x=6, y=4, fontSize=12)
        .encode(text="t:N")
    )
    default = "optimal parameters" if which == "N" else "optimal tokens"
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT, title=title or default)


def _line_band(fit, C: np.ndarray, which: str) -> pd.DataFrame:
    if hasattr(fit, "line_band"):
        return fit.line_band(C, which)
    k = "a" if which == "N" else "b"
    centre = fit[k + "0"] * C ** fit[k]
    lo = hi = np.full(C.size, np.nan)
    if fit.bootstrap is not None:
        s, p = fit.bootstrap.samples[k], fit.bootstrap.samples[k + "0"]
        ok = np.isfinite(s) & np.isfinite(p)
        if ok.any():
            lines = p[ok, None] * C[None] ** s[ok, None]
            q = 100 * (1 - fit.bootstrap.ci_level) / 2
            lo, hi = np.percentile(lines, [q, 100 - q], axis=0)
    return pd.DataFrame({"C": C, "value": centre, "lo": lo, "hi": hi})


def three_panel(
    frontier, compute_law=None, parametric=None, *, data=None, title: str | None = None
) -> alt.HConcatChart:
    """The paper's 3-panel figure: loss curves + frontier + fitted laws | N_opt vs C | D_opt vs C."""
    chart = alt.hconcat(
        loss_curves(data if data is not None else frontier, frontier, compute_law, parametric),
        allocation_panel(frontier, "N"),
        allocation_panel(frontier, "D"),
    ).resolve_scale(color="independent")
    return chart.properties(title=title) if title else chart


def isoflop_chart(iso, *, title: str = "isoFLOP profiles") -> alt.HConcatChart:
    """Loss vs N at each budget (points), the fitted profile per budget (lines), minima (crosses);
    next to it N_opt vs C with the fitted power law and band. Budgets coloured cyan→magenta."""
    pts = iso.sliced.copy()
    curves = (
        pd.concat(
            [iso.profile_curve(C) for C in iso.profiles.loc[iso.profiles["n_sizes"] >= 3, "C"] if np.isfinite(C)],
            ignore_index=True,
        )
        if (iso.profiles["n_sizes"] >= 3).any()
        else pd.DataFrame(columns=["C", "N", "loss"])
    )
    mins = iso.profiles.loc[iso.profiles["used"], ["C", "N_opt", "loss_opt"]].rename(
        columns={"N_opt": "N", "loss_opt": "loss"}
    )
    budgets = sorted(pts["C"].unique())
    labels = {C: f"{C:.2e}" for C in budgets}
    for frame in (pts, curves, mins):
        frame["budget"] = frame["C"].map(labels)
    t = np.linspace(0, 1, len(budgets)) if len(budgets) > 1 else [0.0]
    color = alt.Color(
        "budget:N",
        title="budget C",
        sort=[labels[C] for C in budgets],
        scale=alt.Scale(domain=[labels[C] for C in budgets], range=[cool(v) for v in t]),
    )
    x = alt.X(**log_encoding("N", "parameters N"))
    y = alt.Y(**log_encoding("loss", "loss", zero=False, nice=False, domain=_domain(pts["loss"], curves["loss"])))
    left = alt.layer(
        alt.Chart(pts)
        .mark_circle(size=30, opacity=0.8)
        .encode(
            x=x,
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("C:Q", format=".3e"),
                alt.Tooltip("N:Q", format=".3s"),
                alt.Tooltip("loss:Q", format=".4f"),
            ],
        ),
        alt.Chart(curves).mark_line(strokeWidth=1.2).encode(x=x, y=y, color=color, detail="budget:N"),
        alt.Chart(mins).mark_point(shape="cross", size=90, color="black", filled=True).encode(x=x, y=y),
    ).properties(width=WIDTH, height=HEIGHT, title=f"{title} ({iso.fit})")
    return alt.hconcat(left, allocation_panel(iso, "N"), allocation_panel(iso, "D")).resolve_scale(color="independent")


def residuals_chart(fit, *, title: str = "residuals of the parametric fit") -> alt.HConcatChart:
    """log(L̂) − log(L) against N, D and C, coloured by N; a zero line on each panel."""
    r = fit.residuals()
    panels = []
    for col, name in (("N", "parameters N"), ("D", "tokens D"), ("C", "compute C (FLOPs)")):
        base = (
            alt.Chart(r)
            .mark_circle(size=18, opacity=0.7)
            .encode(
                x=alt.X(**log_encoding(col, name)),
                y=alt.Y("log_residual:Q", title="log(predicted) − log(loss)"),
                color=size_color(),
                tooltip=[
                    alt.Tooltip("N:Q", format=".3s"),
                    alt.Tooltip("D:Q", format=".3s"),
                    alt.Tooltip("loss:Q", format=".4f"),
                    alt.Tooltip("log_residual:Q", format="+.4f"),
                ],
            )
        )
        zero = alt.Chart(pd.DataFrame({"z": [0.0]})).mark_rule(color="black", strokeDash=[4, 3]).encode(y="z:Q")
        panels.append(alt.layer(base, zero).properties(width=230, height=200))
    return alt.hconcat(*panels).properties(title=title)


def bootstrap_histograms(fit, names=("a", "alpha", "beta", "E"), *, bins: int = 40) -> alt.HConcatChart:
    """Histogram of bootstrap samples per coefficient with the point estimate and CI as rules."""
    if fit.bootstrap is None:
        raise ValueError("the fit has no bootstrap samples (fit with bootstrap > 0)")
    panels = []
    for name in names:
        if name not in fit.bootstrap.samples:
            continue
        s = np.asarray(fit.bootstrap.samples[name], float)
        s = s[np.isfinite(s)]
        e = fit.estimates[name]
        hist = (
            alt.Chart(pd.DataFrame({name: s}))
            .mark_bar(color="#8888cc")
            .encode(
                x=alt.X(f"{name}:Q", bin=alt.Bin(maxbins=bins), title=f"{name} (bootstrap replicates)"),
                y=alt.Y("count():Q", title="replicates"),
            )
        )
        marks = ["point estimate", "95 % interval", "95 % interval"]
        rules = (
            alt.Chart(pd.DataFrame({"v": [e.value, e.lo, e.hi], "line": marks}))
            .mark_rule(strokeDash=[4, 3])
            .encode(
                x=alt.X("v:Q", title=f"{name} (bootstrap replicates)"),
                color=alt.Color(
                    "line:N",
                    scale=alt.Scale(domain=marks[:2], range=["black", "red"]),
                    legend=alt.Legend(title=None, orient="bottom"),
                ),
                tooltip=[alt.Tooltip("line:N"), alt.Tooltip("v:Q", format=".3g", title=name)],
            )
        )
        panels.append(alt.layer(hist, rules).properties(width=180, height=140, title=name))
    return alt.hconcat(*panels)
