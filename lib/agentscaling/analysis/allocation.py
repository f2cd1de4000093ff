"""Compute-optimal sizes at fixed budgets (the paper's "2M/11M vs 27M/110M", §5.2), the compute
BC-Token and BC-CNN spend per predicted action (§5.2, Q2), and how much C = 6·N·D undercounts
BC-CNN's convolutions (notebook 04)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..action_space import ACTION_DIMS
from ..fit.law import SIX_ND
from ..store import run_summaries
from ..studies import get_study
from .fits import StudyFits
from .runs import resolve_store


def default_budgets(fits: Sequence[StudyFits]) -> tuple[float, float]:
    """Two budgets a decade apart, the upper one the largest power of ten inside every study's data."""
    top = min(float(sf.points.groupby("run_id")["C"].max().max()) for sf in fits)
    hi = 10.0 ** math.floor(math.log10(top))
    return hi / 10.0, hi


def optimal_sizes(
    fits: Sequence[StudyFits],
    budgets: Sequence[float] | None = None,
    methods: Sequence[str] = ("frontier", "parametric"),
) -> pd.DataFrame:
    """N_opt and D_opt (95 % CI) of each study at each budget, from the first available method."""
    budgets = tuple(budgets or default_budgets(fits))
    rows = []
    for sf in fits:
        method = next((m for m in methods if m in sf.fits), None)
        for C in budgets:
            row: dict[str, Any] = {"study": sf.study, "C": C, "method": method}
            if method is None:
                row["note"] = "no fit"
                rows.append(row)
                continue
            fit = sf.fits[method]
            if method == "frontier":
                n, d = float(fit.n_opt(C)), float(fit.d_opt(C))
                band = fit.line_band(np.array([C]), "N")
                lo, hi = float(band["lo"].iloc[0]), float(band["hi"].iloc[0])
            else:
                conv = fit.convention.convention if fit.convention is not None else SIX_ND
                n, d = float(fit.law.n_opt(C, conv)), float(fit.law.d_opt(C, conv))
                lo = hi = float("nan")
                if fit.bootstrap is not None and "G" in fit.bootstrap.samples:
                    s = fit.bootstrap.samples
                    ns = np.asarray(s["G"], float) * (C / 6.0) ** np.asarray(s["a"], float)
                    ns = ns[np.isfinite(ns)]
                    if ns.size > 2:
                        lo, hi = (float(v) for v in np.percentile(ns, (2.5, 97.5)))
            row.update({"N_opt": n, "N_opt_lo": lo, "N_opt_hi": hi, "D_opt": d})
            rows.append(row)
    return pd.DataFrame(rows)


def per_action_compute(
    preset: str | presets.Preset, bc_token: str = "bc-token-64", bc_cnn: str = "bc-cnn"
) -> pd.DataFrame:
    """§5.2 (Q2): forward FLOPs spent per predicted action vector (one step). BC-Token processes every
    token of a step (k + 16) to predict one action vector: ≈ (k+16)·2N; BC-CNN processes one input:
    2N by the paper's count (plus the CNN's true convolution FLOPs, which 2N ignores)."""
    rows = []
    tok = get_study(bc_token, preset)
    per_step = int(tok.data.tokens_per_frame) + ACTION_DIMS
    for z in tok.sizes:
        n = tok.counts(z)["N"]
        rows.append(
            {
                "study": bc_token,
                "size": z.label,
                "N": n,
                "inputs per action step": per_step,
                "fwd FLOPs per action (2N rule)": per_step * 2.0 * n,
                "fwd FLOPs per action (true)": per_step * tok.counts(z)["flops_per_input_attn"] / 3.0,
            }
        )
    cnn = get_study(bc_cnn, preset)
    for z in cnn.sizes:
        c = cnn.counts(z)
        rows.append(
            {
                "study": bc_cnn,
                "size": z.label,
                "N": c["N"],
                "inputs per action step": 1,
                "fwd FLOPs per action (2N rule)": 2.0 * c["N"],
                "fwd FLOPs per action (true)": c["flops_per_input_true"] / 3.0,
            }
        )
    df = pd.DataFrame(rows)
    df["per-action FLOPs / 2N"] = df["fwd FLOPs per action (2N rule)"] / (2.0 * df["N"])
    return df


def conv_undercount(preset: str | presets.Preset, store=None, name: str = "bc-cnn") -> pd.DataFrame:
    """Per BC-CNN size: N (CNN share), the paper's 6N per frame against the true training FLOPs per
    frame (CNN convolutions measured + transformer with attention), and their ratio; with D and C
    from the finished run when there is one (else the plan)."""
    st = get_study(name, preset)
    done = {r["size"]: r for r in run_summaries(resolve_store(store, preset), name) if r["status"] == "done"}
    rows = []
    for z in st.sizes:
        c = st.counts(z)
        D = done[z.label]["D"] if z.label in done else st.steps(z) * st.tokens_per_update
        rows.append(
            {
                "size": z.label,
                "N": c["N"],
                "N_cnn": c["N_cnn"],
                "CNN share of N": c["N_cnn"] / c["N"],
                "6N per frame": 6.0 * c["N"],
                "CNN 6·N_cnn per frame": 6.0 * c["N_cnn"],
                "CNN true FLOPs per frame": c["cnn_flops_train_per_frame"],
                "true FLOPs per frame": c["flops_per_input_true"],
                "true / 6N": c["flops_per_input_true"] / (6.0 * c["N"]),
                "D (frames)": D,
                "C = 6ND": 6.0 * c["N"] * D,
                "C_true": c["flops_per_input_true"] * D,
                "from run": z.label in done,
            }
        )
    return pd.DataFrame(rows)
