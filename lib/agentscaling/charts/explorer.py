"""Coefficient explorer: sliders for E, A, B, alpha, beta, the power-law exponents a and b, and a
compute budget, redrawing N_opt(C), D_opt(C), the loss surface L(N, D) with iso-loss contours and the
isoFLOP profile at the budget.

Everything that moves is computed in the browser: the sliders are Vega-Lite parameters bound to
range inputs and every derived quantity is a `calculate` transform, so the sliders keep working in
the exported self-contained HTML (reports.output.save_chart(..., html=True)). Iso-loss contours are exact:
for a level l, D(N) = (B / (l − E − A N^−α))^(1/β) where that is positive. A and B use log10
sliders because their plausible ranges span orders of magnitude.

`refit_widget` is the one ipywidgets control: Python must refit when the smallest budgets are dropped.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from ..fit.data import Columns
from ..fit.law import ParametricLaw
from ..fit.parametric import fit_parametric
from .scaling import CYAN, MAGENTA

# Shared Vega expressions (parameter names are the slider names below).
_A = "pow(10, lA)"
_B = "pow(10, lB)"
_G = f"pow(alpha * {_A} / (beta * {_B}), 1 / (alpha + beta))"
_AA = "(beta / (alpha + beta))"
_CB = "pow(10, lC)"
_NB = f"({_G} * pow({_CB} / 6, {_AA}))"
_DB = f"({_CB} / (6 * {_NB}))"


def _loss(n: str, d: str) -> str:
    return f"(E + {_A} / pow({n}, alpha) + {_B} / pow({d}, beta))"


_LB = _loss(_NB, _DB)


def _params(law: ParametricLaw, c_lo: float, c_hi: float, c_budget: float) -> list:
    def rng(name, value, lo, hi, step, label):
        # values on the step's grid, rounded to its digits: the readout then shows "0.348", not 0.34800000000000003
        digits = max(0, -math.floor(math.log10(step)))

        def q(x: float) -> float:
            return round(round(float(x) / step) * step, digits)

        return alt.param(
            name=name,
            value=q(value),
            bind=alt.binding_range(min=q(lo), max=q(hi), step=float(step), name=label),
        )

    lA, lB = math.log10(law.A), math.log10(law.B)
    return [
        rng("E", law.E, 0.0, max(2 * law.E, 0.5), 0.005, "E "),
        rng("lA", lA, lA - 2, lA + 2, 0.01, "log10 A "),
        rng("lB", lB, lB - 2, lB + 2, 0.01, "log10 B "),
        rng("alpha", law.alpha, 0.01, max(1.0, 2 * law.alpha), 0.001, "α "),
        rng("beta", law.beta, 0.01, max(1.0, 2 * law.beta), 0.001, "β "),
        rng("a_pl", law.a, 0.05, 0.95, 0.001, "a (power-law overlay) "),
        rng("b_pl", law.b, 0.05, 0.95, 0.001, "b (power-law overlay) "),
        rng("lC", math.log10(c_budget), math.log10(c_lo), math.log10(c_hi), 0.01, "log10 budget C "),
    ]


def _allocation(c_lo: float, c_hi: float) -> alt.LayerChart:
    C = pd.DataFrame({"C": np.geomspace(c_lo, c_hi, 160)})
    base = alt.Chart(C).transform_calculate(
        N_opt=f"{_G} * pow(datum.C / 6, {_AA})",
        D_opt=f"pow(datum.C / 6, 1 - {_AA}) / {_G}",
        N_pl=f"{_NB} * pow(datum.C / {_CB}, a_pl)",
        D_pl=f"{_DB} * pow(datum.C / {_CB}, b_pl)",
    )
    x = alt.X("C:Q", scale=alt.Scale(type="log"), title="compute C (FLOPs)", axis=alt.Axis(format=".0e"))
    y = alt.Y("value:Q", scale=alt.Scale(type="log"), title="N_opt, D_opt", axis=alt.Axis(format="~s"))
    color = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(
            domain=["N_opt", "D_opt", "N power law", "D power law"], range=[CYAN, MAGENTA, "#008b8b", "#8b008b"]
        ),
    )
    law_lines = (
        base.transform_fold(["N_opt", "D_opt"], as_=["series", "value"])
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=color)
    )
    pl = (
        base.transform_calculate(**{"N power law": "datum.N_pl", "D power law": "datum.D_pl"})
        .transform_fold(["N power law", "D power law"], as_=["series", "value"])
        .mark_line(strokeDash=[5, 4], strokeWidth=1.5)
        .encode(x=x, y=y, color=color)
    )
    rule = alt.Chart(pd.DataFrame({"k": [0]})).transform_calculate(C=_CB).mark_rule(color="gray").encode(x="C:Q")
    return alt.layer(law_lines, pl, rule).properties(width=300, height=260, title="compute-optimal allocation")


def _surface(n_lo: float, n_hi: float, d_lo: float, d_hi: float, levels: Sequence[float], cells: int = 32):
    nN = np.geomspace(n_lo, n_hi, cells + 1)
    dD = np.geomspace(d_lo, d_hi, cells + 1)
    NN, DD = np.meshgrid(np.sqrt(nN[:-1] * nN[1:]), np.sqrt(dD[:-1] * dD[1:]))
    i, j = np.meshgrid(np.arange(cells), np.arange(cells))
    grid = pd.DataFrame(
        {
            "N": NN.ravel(),
            "D": DD.ravel(),
            "N0": nN[i.ravel()],
            "N1": nN[i.ravel() + 1],
            "D0": dD[j.ravel()],
            "D1": dD[j.ravel() + 1],
        }
    )
    x = alt.X(
        "N0:Q",
        scale=alt.Scale(type="log", domain=[n_lo, n_hi], nice=False),
        title="parameters N",
        axis=alt.Axis(format="~s"),
    )
    y = alt.Y(
        "D0:Q",
        scale=alt.Scale(type="log", domain=[d_lo, d_hi], nice=False),
        title="tokens D",
        axis=alt.Axis(format="~s"),
    )
    heat = (
        alt.Chart(grid)
        .transform_calculate(L=_loss("datum.N", "datum.D"))
        .mark_rect()
        .encode(
            x=x,
            x2="N1:Q",
            y=y,
            y2="D1:Q",
            color=alt.Color(
                "L:Q",
                title="loss",
                scale=alt.Scale(scheme="viridis", reverse=True, type="log"),
                legend=alt.Legend(format=".3f"),
            ),
            tooltip=[
                alt.Tooltip("N:Q", format=".3s"),
                alt.Tooltip("D:Q", format=".3s"),
                alt.Tooltip("L:Q", format=".4f"),
            ],
        )
    )
    # Iso-loss contours at levels relative to the optimum at the budget: E + m (L_opt(C) − E).
    nline = np.geomspace(n_lo, n_hi, 200)
    cont = pd.DataFrame([(m, n) for m in levels for n in nline], columns=["m", "N0"])
    contours = (
        alt.Chart(cont)
        .transform_calculate(
            level=f"E + datum.m * ({_LB} - E)",
            rest=f"datum.level - E - {_A} / pow(datum.N0, alpha)",
        )
        .transform_filter("datum.rest > 0")
        .transform_calculate(D0=f"pow({_B} / datum.rest, 1 / beta)")
        .transform_filter(f"datum.D0 >= {d_lo} && datum.D0 <= {d_hi}")
        .mark_line(color="white", strokeWidth=1, opacity=0.85, clip=True)
        .encode(x=x, y=y, detail="m:N", tooltip=[alt.Tooltip("level:Q", format=".4f")])
    )
    iso = (
        alt.Chart(pd.DataFrame({"N0": nline}))
        .transform_calculate(D0=f"{_CB} / (6 * datum.N0)")
        .transform_filter(f"datum.D0 >= {d_lo} && datum.D0 <= {d_hi}")
        .mark_line(color="red", strokeDash=[5, 3], clip=True)
        .encode(x=x, y=y)
    )
    opt = (
        alt.Chart(pd.DataFrame({"k": [0]}))
        .transform_calculate(N0=_NB, D0=_DB)
        .mark_point(shape="diamond", size=120, color="red", filled=True, clip=True)
        .encode(x=x, y=y)
    )
    return alt.layer(heat, contours, iso, opt).properties(
        width=300, height=260, title="L(N, D), iso-loss contours, budget (red)"
    )


def _profile(n_lo: float, n_hi: float) -> alt.LayerChart:
    nline = pd.DataFrame({"N": np.geomspace(n_lo, n_hi, 200)})
    x = alt.X(
        "N:Q",
        scale=alt.Scale(type="log", domain=[n_lo, n_hi], nice=False),
        title="parameters N",
        axis=alt.Axis(format="~s"),
    )
    y = alt.Y("L:Q", scale=alt.Scale(zero=False), title="loss at the budget")
    line = (
        alt.Chart(nline)
        .transform_calculate(D=f"{_CB} / (6 * datum.N)", L=_loss("datum.N", "datum.D"))
        .mark_line(color="black")
        .encode(x=x, y=y)
    )
    opt = (
        alt.Chart(pd.DataFrame({"k": [0]}))
        .transform_calculate(N=_NB, L=_LB)
        .mark_point(shape="diamond", size=120, color="red", filled=True)
        .encode(x=x, y=y)
    )
    return alt.layer(line, opt).properties(width=300, height=260, title="isoFLOP profile at the budget")


def _readout() -> alt.Chart:
    text = (
        f"'a = β/(α+β) = ' + format({_AA}, '.3f') + '   b = ' + format(1 - {_AA}, '.3f') + "
        f"'   |   at C = ' + format({_CB}, '.2e') + ': N_opt = ' + format({_NB}, '.3s') + "
        f"', D_opt = ' + format({_DB}, '.3s') + ', D/N = ' + format({_DB} / {_NB}, '.3s') + "
        f"', L_opt = ' + format({_LB}, '.4f')"
    )
    return (
        alt.Chart(pd.DataFrame({"k": [0]}))
        .transform_calculate(t=text)
        .mark_text(align="left", x=0, y=10, fontSize=13)
        .encode(text="t:N")
        .properties(width=920, height=20)
    )


def coefficient_explorer(
    law: ParametricLaw | Any,
    *,
    c_range: tuple[float, float] | None = None,
    c_budget: float | None = None,
    n_range: tuple[float, float] | None = None,
    d_range: tuple[float, float] | None = None,
    levels: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.6, 2.2, 3.0),
    title: str | None = None,
) -> alt.VConcatChart:
    """The interactive explorer, initialised at `law` (a ParametricLaw or a ParametricFit).
    c_range: compute range of the allocation panel and the budget slider (default 1e17–1e25);
    n_range / d_range: axes of the surface (default: N_opt and D_opt over c_range, widened 10x)."""
    law = getattr(law, "law", law)
    c_lo, c_hi = c_range or (1e17, 1e25)
    c_budget = c_budget or math.sqrt(c_lo * c_hi)
    n_lo, n_hi = n_range or (float(law.n_opt(c_lo)) / 10, float(law.n_opt(c_hi)) * 10)
    d_lo, d_hi = d_range or (float(law.d_opt(c_lo)) / 10, float(law.d_opt(c_hi)) * 10)
    top = alt.hconcat(
        _allocation(c_lo, c_hi), _surface(n_lo, n_hi, d_lo, d_hi, levels), _profile(n_lo, n_hi)
    ).resolve_scale(color="independent")
    chart = alt.vconcat(_readout(), top).add_params(*_params(law, c_lo, c_hi, c_budget))
    return chart.properties(title=title or "coefficient explorer (sliders below the chart)")


# ---------------------------------------------------------------------------------------------
# ipywidgets: refit after dropping the smallest budgets (Python has to run the fit).
# ---------------------------------------------------------------------------------------------


def budget_edges(C: np.ndarray, n_bins: int = 8) -> np.ndarray:
    """Equal-count bins of log C; returns the lower edge of each bin (the 'budgets' to drop)."""
    q = np.quantile(np.log(np.asarray(C, float)), np.linspace(0, 1, n_bins + 1))
    return np.exp(q[:-1])


def refit_dropping_budgets(df: pd.DataFrame, k: int, *, n_bins: int = 8, columns=None, **fit_kwargs):
    """Robust parametric fit after dropping the k smallest of n_bins equal-count compute bins."""
    cols = columns or Columns()
    c_name = cols.C if cols.C in df.columns else None
    C = df[c_name].to_numpy(float) if c_name else 6 * df[cols.N].to_numpy(float) * df[cols.D].to_numpy(float)
    edges = budget_edges(C, n_bins)
    c_min = float(edges[k]) if k > 0 else None
    return fit_parametric(df, cols, c_range=(c_min, None), **fit_kwargs), c_min


def refit_widget(df: pd.DataFrame, *, n_bins: int = 8, max_drop: int | None = None, columns=None, **fit_kwargs):
    """An ipywidgets control: a slider for how many of the smallest compute bins to drop; each
    change refits (robust parametric) and shows the coefficients next to the full-data fit."""
    import ipywidgets as widgets

    fit_kwargs.setdefault("bootstrap", 0)
    full, _ = refit_dropping_budgets(df, 0, n_bins=n_bins, columns=columns, **fit_kwargs)
    top = max_drop if max_drop is not None else n_bins - 3
    slider = widgets.IntSlider(
        value=0,
        min=0,
        max=top,
        description="compute bins dropped",
        continuous_update=False,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="34em"),
    )
    help_text = widgets.HTML(
        f"<small>The points are split into {n_bins} compute bins of equal count; the slider drops the k smallest "
        f"(0 to {top}: at least 3 bins stay) and refits. A typed value outside 0–{top} is set to the nearest "
        "end.</small>"
    )
    out = widgets.Output()

    # The widget's outputs are set as its state (append_*), not captured with `with out:`: capture
    # routes output by the executing cell's message id, which headless runners (nbclient, papermill)
    # only emulate, and a run can wait forever on it.
    def show(change=None):
        k = slider.value
        out.outputs = ()
        try:
            fit, c_min = refit_dropping_budgets(df, k, n_bins=n_bins, columns=columns, **fit_kwargs)
        except Exception as e:  # shown to the user in the widget, not raised into the event loop
            out.append_stdout(f"refit failed: {e}\n")
            return
        table = pd.DataFrame(
            {
                "all data": full.to_frame()["value"],
                f"C >= {c_min:.3g}" if c_min else "all (k=0)": fit.to_frame()["value"],
            }
        )
        out.append_stdout(f"dropped {k} of {n_bins} compute bins; {fit.n_points} points; converged: {fit.converged}\n")
        out.append_display_data(table)

    slider.observe(show, names="value")
    show()
    return widgets.VBox([slider, help_text, out])
