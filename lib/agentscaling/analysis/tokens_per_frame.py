"""Tokens per frame (paper App. C, Figs. 14-16): fit every (level, seed) ladder's frontier, then a
against log10(tokens per frame) with Pearson R and bootstrap CIs (notebook 07). Also the design the
planner approves at `cpu` (docs/planning.md): one least-squares parametric fit per level over all its
seeds' runs, each size's seeds the replicates of the hierarchical bootstrap."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..errors import UserError
from ..fit.frontier import MIN_FRONTIER_MODELS
from ..studies import get_study
from ..studies.agents import PAPER_TPF, PAPER_TPF_FIT, tpf_name
from .fits import FITTERS, StudyFits, bootstrap_replicates, fit_study, fmt_ci, study_points
from .runs import resolve_store
from .verdicts import identification

POOLED_METHOD = "parametric-lsq"


def tpf_names(
    preset: str | presets.Preset, levels: Sequence[int] | None = None, seeds: Sequence[int] | None = None
) -> list[str]:
    """The (level, seed) ladders of the preset (or of the given levels and seeds)."""
    ladders = presets.get(preset).ladders
    levels = levels or ladders.tpf_levels
    seeds = seeds or ladders.tpf_seeds
    return [tpf_name(int(k), int(s)) for k in levels for s in seeds]


def tpf_table(
    preset: str | presets.Preset,
    store=None,
    levels: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    bootstrap: int | None = None,
    min_models: int = MIN_FRONTIER_MODELS,
) -> tuple[pd.DataFrame, list[StudyFits]]:
    """Frontier a (95 % CI) of every (tokens per frame, seed) ladder; rows where no frontier could be
    fitted keep the reason. A frontier on fewer than `min_models` model sizes is a step function whose
    slope is set by where one switch falls on the grid, not by the data: its a is kept as `a_raw` but
    left out (`a` = NaN) of the line fit. Also returns the StudyFits."""
    rows, fits = [], []
    for name in tpf_names(preset, levels, seeds):
        st = get_study(name, preset)
        sf = fit_study(store, name, preset, methods=("frontier",), bootstrap=bootstrap)
        fits.append(sf)
        k, seed = int(st.data.tokens_per_frame), st.seed
        row = {"study": name, "tokens_per_frame": k, "seed": seed, "paper a (Fig. 15)": PAPER_TPF.get(k)}
        if "frontier" in sf.fits:
            a, lo, hi = sf.exponent("frontier", "a")
            f = sf.fits["frontier"]
            n = len(f.models_on_frontier)
            row.update(
                {
                    "a": a,
                    "a_lo": lo,
                    "a_hi": hi,
                    "a (95% CI)": fmt_ci(a, lo, hi),
                    "a_raw": a,
                    "models on frontier": n,
                    "warnings": len(f.warnings),
                }
            )
            if n < min_models:
                row.update(
                    {
                        "a": float("nan"),
                        "a (95% CI)": f"({fmt_ci(a, lo, hi)}: {n} models, not used)",
                        "note": f"only {n} model sizes on the frontier (< {min_models}): a is a grid artifact",
                    }
                )
        else:
            row.update({"a": float("nan"), "a (95% CI)": "not fitted", "note": sf.errors.get("frontier")})
        rows.append(row)
    return pd.DataFrame(rows), fits


def pooled_table(
    preset: str | presets.Preset,
    store=None,
    levels: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    bootstrap: int | None = None,
    method: str = POOLED_METHOD,
) -> tuple[pd.DataFrame, list[StudyFits]]:
    """Per tokens-per-frame level, one fit of `method` over the runs of all its seeds: a (95 % CI), or
    NaN with the reason when the fit is not identified. Also returns the StudyFits (named wm-tpf-<k>)."""
    p = presets.get(preset)
    store = resolve_store(store, p)
    bootstrap = bootstrap_replicates(bootstrap, p)
    rows, fits = [], []
    for k in levels or p.ladders.tpf_levels:
        names = tpf_names(p, [int(k)], seeds)
        pts = pd.concat([study_points(store, n, p) for n in names], ignore_index=True)
        sf = StudyFits(study=f"wm-tpf-{int(k)}", preset=p.name, n_convention="N", points=pts)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # kept on the fit, shown in the warnings table
                sf.fits[method] = FITTERS[method](pts, bootstrap=bootstrap, seed=0)
        except Exception as e:  # noqa: BLE001 - reported in the table
            sf.errors[method] = f"{type(e).__name__}: {e}"
        fits.append(sf)
        row: dict[str, Any] = {
            "study": sf.study,
            "tokens_per_frame": int(k),
            "seed": f"pooled ({pts['seed'].nunique()})",
            "runs": int(pts["run_id"].nunique()),
            "paper a (Fig. 15)": PAPER_TPF.get(int(k)),
        }
        if method in sf.fits:
            a, lo, hi = sf.exponent(method, "a")
            reasons = identification(sf.fits[method])
            row.update({"a": a, "a_lo": lo, "a_hi": hi, "a (95% CI)": fmt_ci(a, lo, hi), "a_raw": a})
            if reasons:
                row.update({"a": float("nan"), "note": "not identified: " + "; ".join(reasons)})
        else:
            row.update({"a": float("nan"), "a (95% CI)": "not fitted", "note": sf.errors[method]})
        rows.append(row)
    return pd.DataFrame(rows), fits


@dataclass
class LinearLogFit:
    slope: float  # change of a per decade of tokens per frame
    intercept: float
    R: float  # Pearson correlation of a with log10(tokens per frame)
    slope_lo: float
    slope_hi: float
    R_lo: float
    R_hi: float
    p_slope_positive: float  # bootstrap fraction of replicates with slope > 0
    n_points: int
    levels: tuple[int, ...]

    def predict(self, k) -> np.ndarray:
        return self.intercept + self.slope * np.log10(np.asarray(k, float))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def a_vs_tpf(
    table: pd.DataFrame,
    n_boot: int = 2000,
    seed: int = 0,
    x: str = "tokens_per_frame",
    y: str = "a",
    samples: dict[str, np.ndarray] | None = None,
    resample_points: bool = True,
) -> LinearLogFit:
    """Least-squares line of a on log10(tokens per frame) with Pearson R, as the paper's Fig. 16.
    95 % bootstrap CIs of slope and R resample the (level, seed) points with replacement; with
    `samples` (study -> that ladder's own bootstrap replicates of a) each drawn point also takes a
    random replicate of its a, so the CI carries each frontier fit's uncertainty too. With
    resample_points=False the points stay (one per level: the levels are the design) and only their
    replicates are drawn."""
    keep = table[[x, y]].astype(float).notna().all(axis=1)
    d = table.loc[keep]
    if len(d) < 3 or d[x].nunique() < 2:
        raise UserError(f"a linear fit of a on tokens per frame needs ≥ 3 points at ≥ 2 levels; got {len(d)}")
    lx, ay = np.log10(d[x].astype(float).to_numpy()), d[y].astype(float).to_numpy()
    slope, intercept = np.polyfit(lx, ay, 1)
    R = float(np.corrcoef(lx, ay)[0, 1]) if np.std(ay) > 0 else float("nan")
    rng = np.random.default_rng(seed)
    if resample_points:
        idx = rng.integers(0, len(d), size=(n_boot, len(d)))
    else:
        idx = np.tile(np.arange(len(d)), (n_boot, 1))
    X, Y = lx[idx], ay[idx]
    if samples and "study" in d:
        pools = []
        for st, a in zip(d["study"], ay):
            sm = np.asarray(samples.get(st, []), float)
            sm = sm[np.isfinite(sm)]
            pools.append(sm if sm.size else np.array([a]))
        pick = rng.random(idx.shape)
        Y = np.array([[pools[j][int(u * len(pools[j]))] for j, u in zip(row, urow)] for row, urow in zip(idx, pick)])
    xm, ym = X.mean(1, keepdims=True), Y.mean(1, keepdims=True)
    sxx = ((X - xm) ** 2).sum(1)
    sxy = ((X - xm) * (Y - ym)).sum(1)
    syy = ((Y - ym) ** 2).sum(1)
    ok = (sxx > 0) & (syy > 0)
    bs = sxy[ok] / sxx[ok]
    br = sxy[ok] / np.sqrt(sxx[ok] * syy[ok])
    q = (2.5, 97.5)
    s_lo, s_hi = np.percentile(bs, q) if bs.size else (np.nan, np.nan)
    r_lo, r_hi = np.percentile(br, q) if br.size else (np.nan, np.nan)
    return LinearLogFit(
        float(slope),
        float(intercept),
        R,
        float(s_lo),
        float(s_hi),
        float(r_lo),
        float(r_hi),
        float((bs > 0).mean()) if bs.size else float("nan"),
        int(len(d)),
        tuple(sorted(int(v) for v in d[x].unique())),
    )


def frontier_samples(fits: Sequence[StudyFits], name: str = "a", method: str = "frontier") -> dict[str, np.ndarray]:
    """Each study's bootstrap replicates of a coefficient of `method` (for a_vs_tpf's `samples`)."""
    out = {}
    for sf in fits:
        f = sf.fits.get(method)
        if f is not None and f.bootstrap is not None:
            out[sf.study] = np.asarray(f.bootstrap.samples[name], float)
    return out


def a_vs_tpf_or_none(
    table: pd.DataFrame, fits: Sequence[StudyFits] | None = None, n_boot: int = 2000, method: str = "frontier"
) -> LinearLogFit | None:
    """a_vs_tpf (with each ladder's own bootstrap replicates of `method` when `fits` are given), or None
    when too few ladders gave a usable fit (tpf_claims then says so). Pooled per-level fits (one point per
    level) keep their points and draw only their replicates."""
    samples = frontier_samples(fits, method=method) if fits else None
    pooled = bool(len(table)) and table["seed"].astype(str).str.startswith("pooled").all()
    try:
        return a_vs_tpf(table, n_boot=n_boot, samples=samples, resample_points=not pooled)
    except UserError:
        return None


def tpf_levels(table: pd.DataFrame, fit: LinearLogFit | None = None) -> pd.DataFrame:
    """Per tokens-per-frame level: mean and spread of a over seeds, our line's value, the paper's
    Fig. 15 example a and Fig. 16 line at that level — the notebook's final table."""
    p_slope = (PAPER_TPF_FIT["a_at_256"] - PAPER_TPF_FIT["a_at_16"]) / math.log10(16)
    rows = []
    for k, g in table.groupby("tokens_per_frame"):
        a = g["a"].dropna()
        rows.append(
            {
                "tokens per frame": int(k),
                "ladders fitted": f"{len(a)} of {len(g)}",
                "a per seed (95% CI)": "; ".join(g["a (95% CI)"].astype(str)),
                "mean a": float(a.mean()) if len(a) else float("nan"),
                "sd over seeds": float(a.std(ddof=1)) if len(a) > 1 else float("nan"),
                "our line": float(fit.predict(k)) if fit is not None else float("nan"),
                "paper a (Fig. 15, one run)": PAPER_TPF.get(int(k)),
                "paper line (Fig. 16)": round(PAPER_TPF_FIT["a_at_16"] + p_slope * math.log10(k / 16), 3),
            }
        )
    return pd.DataFrame(rows)
