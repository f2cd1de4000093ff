"""Analysis specific to the world-modelling and behaviour-cloning studies (notebooks 03, 04, 05, 07),
on top of `agentscaling.experiments` (which loads runs and fits every study with every method):

* running: `run_agent_studies` prepares the data (arena data, tokenizers, token caches) first, then
  sweeps; `wall_times` sums the measured training time per study;
* tokens per frame (App. C, Fig. 16): `tpf_table` fits every (level, seed) ladder's frontier,
  `a_vs_tpf` fits a = intercept + slope·log10(tokens per frame) with Pearson R and bootstrap CIs;
* extrapolation (§4.3, Fig. 9): `extrapolation_check` takes the point of the large run's curve closest
  to the extrapolated frontier loss and reports the prediction error in dex (N, D) and in loss;
* compute-optimal sizes at fixed budgets (§5.2's "2M/11M vs 27M/110M"): `optimal_sizes`;
* BC-Token vs BC-CNN (§5.2, Q2): `per_action_compute`; the paper's C = 6ND for BC-CNN against the
  true convolution FLOPs: `conv_undercount`;
* the LR protocol (§5.4): `lr_search` (grid on the smallest model, then each next size swept down
  from the previous size's best);
* plain statements of which of the paper's claims hold here (`*_claims`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import UserError
from .experiments import StudyFits, bootstrap_replicates, fit_study, resolve_store  # noqa: F401 (the notebooks call A.bootstrap_replicates)
from .studies import get_study

WM_STUDIES = ("wm-token-64", "wm-token-256")
WM_LABELS = ("WM-Token-64", "WM-Token-256")
BC_STUDIES = ("bc-token-64", "bc-token-small", "bc-cnn")
EXTRAPOLATION_STUDIES = ("wm-token-64", "wm-extrapolation")


# ------------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------------
def prepare_data(names: Iterable[str], preset: str) -> pd.DataFrame:
    """Arena data, tokenizers and token caches every named study needs (made once); stage timings."""
    from . import pipeline

    studies = [get_study(n, preset) for n in names]
    levels = sorted({int(s.task_options["tokens_per_frame"]) for s in studies if "tokens_per_frame" in s.task_options})
    return pipeline.prepare(preset, levels, bccnn=any(s.task == "bc-cnn" for s in studies))


def run_agent_studies(names: Iterable[str], preset: str, store=None, workers: int | None = None,
                      progress: bool = False) -> pd.DataFrame:
    """Prepare the data, then sweep each study (finished runs reused, interrupted ones resumed).

    Studies with several sizes go to `workers` 1-thread processes (None: `sweep.resolve_workers`, 2 on
    a 2-core CPU preset) sharing one pool, longest runs first; a single-size study (the extrapolation
    run) trains in this process at torch's full thread count, since one 1-thread worker would leave
    the other core idle."""
    from .costmodel import run_cost
    from .sweep import process_executor, resolve_workers, sweep_studies

    names = list(names)
    workers = resolve_workers(workers, preset)
    prepare_data(names, preset)
    store = resolve_store(store, preset)
    studies = [get_study(name, preset) for name in names]
    results: dict[str, list[dict]] = {}
    if workers > 1:
        pooled = [st for st in studies if len(st.sizes) > 1]
        executor = process_executor(workers)
        try:  # all multi-size studies in one pool, longest runs first
            for r in sweep_studies(pooled, store, executor=executor, progress=progress, cost=run_cost(threads=1)):
                results.setdefault(r["study"], []).append(r)
        finally:
            executor.shutdown()
    for st in studies:
        if st.name not in results:
            results[st.name] = sweep_studies([st], store, progress=progress)
    return pd.DataFrame([{k: r.get(k) for k in ("study", "size", "status", "final_loss", "message")}
                         for st in studies for r in results[st.name]])


def wall_times(store, names: Iterable[str], preset: str) -> pd.DataFrame:
    """Measured training wall time per study (sum over its runs), runs, and epochs range."""
    from .store import run_summaries

    rows = []
    for n in names:
        rs = run_summaries(resolve_store(store, preset), n)
        if not rs:
            continue
        wall = [r["wall_s"] for r in rs if r["wall_s"] is not None]
        ep = [r["epochs"] for r in rs if r["epochs"] is not None]
        rows.append({"study": n, "runs": len(rs), "done": sum(r["status"] == "done" for r in rs),
                     "train_wall_s": float(np.sum(wall)) if wall else float("nan"),
                     "max_epochs": float(np.max(ep)) if ep else float("nan"),
                     "beyond 4 epochs": bool(ep and np.max(ep) > 4.0)})
    return pd.DataFrame(rows, columns=["study", "runs", "done", "train_wall_s", "max_epochs", "beyond 4 epochs"])


# ------------------------------------------------------------------------------------------------
# fitting (experiments.fit_study, but a method that crashes is recorded, not raised)
# ------------------------------------------------------------------------------------------------
def fit_study_safe(store, name: str, preset: str, methods: Sequence[str] = ("frontier", "parametric", "parametric-lsq"),
                   bootstrap: int = 200, n_convention: str = "N", seed: int = 0) -> StudyFits:
    """experiments.fit_study, one method at a time: a method that fails with any error (not only the
    UserError experiments.fit_study expects — e.g. a degenerate parametric optimum on tiny smoke data) is
    recorded in `errors` with its message, so the notebook goes on and says what could not be fitted."""
    import warnings

    from .fit.compute_law import fit_compute_law

    sf = None
    for m in methods:
        try:
            one = fit_study(store, name, preset, methods=(m,), bootstrap=bootstrap, n_convention=n_convention,
                            seed=seed)
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - reported in the notebook's warnings table
            if sf is None:
                from .experiments import study_points

                sf = StudyFits(study=name, preset=preset, n_convention=n_convention,
                               points=study_points(resolve_store(store, preset), name, preset, n_convention))
            sf.errors[m] = f"fit failed: {type(e).__name__}: {e}"
            continue
        if sf is None:
            sf = one
        else:
            sf.fits.update(one.fits)
            sf.errors.update(one.errors)
            if one.compute_law is not None:
                sf.compute_law = one.compute_law
    if sf is not None and "frontier" in sf.fits and sf.compute_law is None and "compute-law" not in sf.errors:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sf.compute_law = fit_compute_law(sf.fits["frontier"])
        except Exception as e:  # noqa: BLE001
            sf.errors["compute-law"] = f"{type(e).__name__}: {e}"
    return sf


def fit_studies(names: Iterable[str], preset: str, store=None, bootstrap: int = 200,
                methods: Sequence[str] = ("frontier", "parametric", "parametric-lsq")) -> list[StudyFits]:
    return [fit_study_safe(store, n, preset, methods=methods, bootstrap=bootstrap) for n in names]


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------
def exponent(sf: StudyFits, methods: Sequence[str] = ("frontier", "parametric", "parametric-lsq")
             ) -> tuple[str | None, float, float, float]:
    """(method, a, lo, hi) of the first method that could be fitted."""
    for m in methods:
        if m in sf.fits:
            a, lo, hi = sf.exponent(m, "a")
            return m, a, (lo if lo is not None else float("nan")), (hi if hi is not None else float("nan"))
    return None, float("nan"), float("nan"), float("nan")


def _fmt_ci(v: float, lo: float, hi: float) -> str:
    if not np.isfinite(v):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.2f}"
    return f"{v:.2f} [{lo:.2f}, {hi:.2f}]"


def frontier_possible(sf: StudyFits) -> str:
    """Plain words: could a frontier be fitted, and on how many models?"""
    if "frontier" not in sf.fits:
        return f"{sf.study}: NO frontier fit is possible ({sf.errors.get('frontier', 'not attempted')})"
    f = sf.fits["frontier"]
    n = len(f.models_on_frontier)
    trust = "" if n >= 3 else " — too few models on it to trust"
    return (f"{sf.study}: a frontier fit IS possible ({n} model sizes on the frontier over "
            f"C = {f.c_range[0]:.2g}–{f.c_range[1]:.2g}, grid {f.c_range_source}){trust}")


# ------------------------------------------------------------------------------------------------
# tokens per frame (App. C)
# ------------------------------------------------------------------------------------------------
def tpf_names(preset: str, levels: Sequence[int] | None = None, seeds: Sequence[int] | None = None) -> list[str]:
    from .studies.agents import TPF_LEVELS, TPF_PRESET_SEEDS, tpf_name

    levels = levels or TPF_LEVELS[preset]
    seeds = seeds or TPF_PRESET_SEEDS[preset]
    return [tpf_name(int(k), int(s)) for k in levels for s in seeds]


MIN_FRONTIER_MODELS = 3


def tpf_table(preset: str, store=None, levels: Sequence[int] | None = None, seeds: Sequence[int] | None = None,
              bootstrap: int = 200, min_models: int = MIN_FRONTIER_MODELS) -> tuple[pd.DataFrame, list[StudyFits]]:
    """Frontier a (95 % CI) of every (tokens per frame, seed) ladder; rows where no frontier could be
    fitted keep the reason. A frontier on fewer than `min_models` model sizes is a step function whose
    slope is set by where one switch falls on the grid, not by the data: its a is kept as `a_raw` but
    left out (`a` = NaN) of the line fit. Also returns the StudyFits."""
    from .studies.agents import PAPER_TPF

    rows, fits = [], []
    for name in tpf_names(preset, levels, seeds):
        st = get_study(name, preset)
        sf = fit_study_safe(store, name, preset, methods=("frontier",), bootstrap=bootstrap)
        fits.append(sf)
        k, seed = int(st.task_options["tokens_per_frame"]), st.seed
        row = {"study": name, "tokens_per_frame": k, "seed": seed, "paper a (Fig. 15)": PAPER_TPF.get(k)}
        if "frontier" in sf.fits:
            a, lo, hi = sf.exponent("frontier", "a")
            f = sf.fits["frontier"]
            n = len(f.models_on_frontier)
            row.update({"a": a, "a_lo": lo, "a_hi": hi, "a (95% CI)": _fmt_ci(a, lo, hi), "a_raw": a,
                        "models on frontier": n, "warnings": len(f.warnings)})
            if n < min_models:
                row.update({"a": float("nan"), "a (95% CI)": f"({_fmt_ci(a, lo, hi)}: {n} models, not used)",
                            "note": f"only {n} model sizes on the frontier (< {min_models}): a is a grid artifact"})
        else:
            row.update({"a": float("nan"), "a (95% CI)": "not fitted", "note": sf.errors.get("frontier")})
        rows.append(row)
    return pd.DataFrame(rows), fits


@dataclass
class LinearLogFit:
    slope: float                 # change of a per decade of tokens per frame
    intercept: float
    R: float                     # Pearson correlation of a with log10(tokens per frame)
    slope_lo: float
    slope_hi: float
    R_lo: float
    R_hi: float
    p_slope_positive: float      # bootstrap fraction of replicates with slope > 0
    n_points: int
    levels: tuple[int, ...]

    def predict(self, k) -> np.ndarray:
        return self.intercept + self.slope * np.log10(np.asarray(k, float))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def a_vs_tpf(table: pd.DataFrame, n_boot: int = 2000, seed: int = 0, x: str = "tokens_per_frame",
             y: str = "a", samples: dict[str, np.ndarray] | None = None) -> LinearLogFit:
    """Least-squares line of a on log10(tokens per frame) with Pearson R, as the paper's Fig. 16.
    95 % bootstrap CIs of slope and R resample the (level, seed) points with replacement; with
    `samples` (study -> that ladder's own bootstrap replicates of a) each drawn point also takes a
    random replicate of its a, so the CI carries each frontier fit's uncertainty too."""
    keep = table[[x, y]].astype(float).notna().all(axis=1)
    d = table.loc[keep]
    if len(d) < 3 or d[x].nunique() < 2:
        raise UserError(f"a linear fit of a on tokens per frame needs ≥ 3 points at ≥ 2 levels; got {len(d)}")
    lx, ay = np.log10(d[x].astype(float).to_numpy()), d[y].astype(float).to_numpy()
    slope, intercept = np.polyfit(lx, ay, 1)
    R = float(np.corrcoef(lx, ay)[0, 1]) if np.std(ay) > 0 else float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n_boot, len(d)))
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
    return LinearLogFit(float(slope), float(intercept), R, float(s_lo), float(s_hi), float(r_lo), float(r_hi),
                        float((bs > 0).mean()) if bs.size else float("nan"), int(len(d)),
                        tuple(sorted(int(v) for v in d[x].unique())))


def frontier_samples(fits: Sequence[StudyFits], name: str = "a") -> dict[str, np.ndarray]:
    """Each study's bootstrap replicates of a frontier coefficient (for a_vs_tpf's `samples`)."""
    out = {}
    for sf in fits:
        f = sf.fits.get("frontier")
        if f is not None and f.bootstrap is not None:
            out[sf.study] = np.asarray(f.bootstrap.samples[name], float)
    return out


def a_vs_tpf_or_none(table: pd.DataFrame, fits: Sequence[StudyFits] | None = None, n_boot: int = 2000
                     ) -> LinearLogFit | None:
    """a_vs_tpf (with each ladder's own bootstrap replicates when `fits` are given), or None when too
    few ladders gave a usable frontier (tpf_claims then says so)."""
    try:
        return a_vs_tpf(table, n_boot=n_boot, samples=frontier_samples(fits) if fits else None)
    except UserError:
        return None


def tpf_levels(table: pd.DataFrame, fit: LinearLogFit | None = None) -> pd.DataFrame:
    """Per tokens-per-frame level: mean and spread of a over seeds, our line's value, the paper's
    Fig. 15 example a and Fig. 16 line at that level — the notebook's final table."""
    from .studies.agents import PAPER_TPF, PAPER_TPF_FIT

    p_slope = (PAPER_TPF_FIT["a_at_256"] - PAPER_TPF_FIT["a_at_16"]) / math.log10(16)
    rows = []
    for k, g in table.groupby("tokens_per_frame"):
        a = g["a"].dropna()
        rows.append({"tokens per frame": int(k), "ladders fitted": f"{len(a)} of {len(g)}",
                     "a per seed (95% CI)": "; ".join(g["a (95% CI)"].astype(str)),
                     "mean a": float(a.mean()) if len(a) else float("nan"),
                     "sd over seeds": float(a.std(ddof=1)) if len(a) > 1 else float("nan"),
                     "our line": float(fit.predict(k)) if fit is not None else float("nan"),
                     "paper a (Fig. 15, one run)": PAPER_TPF.get(int(k)),
                     "paper line (Fig. 16)": round(PAPER_TPF_FIT["a_at_16"] + p_slope * math.log10(k / 16), 3)})
    return pd.DataFrame(rows)


def tpf_chart(table: pd.DataFrame, fit: LinearLogFit | None = None, title: str = "a against tokens per frame"):
    """Fig. 16: every (level, seed) frontier a with its CI, our line (dashed black) and the paper's
    RT-1 line (dotted grey, 0.578 at 16 → 0.632 at 256)."""
    import altair as alt

    from .studies.agents import PAPER_TPF_FIT

    d = table.dropna(subset=["a"]).copy()
    d["seed"] = d["seed"].astype(str)
    x = alt.X("tokens_per_frame:Q", scale=alt.Scale(type="log", base=2), title="tokens per frame (log)")
    pts = alt.Chart(d).mark_point(filled=True, size=60).encode(
        x=x, y=alt.Y("a:Q", title="frontier a (N_opt ∝ C^a)", scale=alt.Scale(zero=False)), color="seed:N",
        tooltip=["study", "a", "a_lo", "a_hi"])
    bars = alt.Chart(d).mark_rule(opacity=0.5).encode(x=x, y="a_lo:Q", y2="a_hi:Q", color="seed:N")
    layers = [bars, pts]
    kk = np.geomspace(max(8, d["tokens_per_frame"].min() / 1.2) if len(d) else 16,
                      (d["tokens_per_frame"].max() * 1.2) if len(d) else 256, 30)
    if fit is not None:
        line = pd.DataFrame({"tokens_per_frame": kk, "a": fit.predict(kk), "which": "ours"})
        layers.append(alt.Chart(line).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y="a:Q"))
    p_slope = (PAPER_TPF_FIT["a_at_256"] - PAPER_TPF_FIT["a_at_16"]) / math.log10(16)
    paper = pd.DataFrame({"tokens_per_frame": kk, "a": PAPER_TPF_FIT["a_at_16"] + p_slope * np.log10(kk / 16)})
    layers.append(alt.Chart(paper).mark_line(color="gray", strokeDash=[2, 2]).encode(x=x, y="a:Q"))
    label = (f"ours: R = {fit.R:.2f}, slope {fit.slope:+.3f}/decade" if fit is not None else "") + \
        f" | paper (RT-1): R = {PAPER_TPF_FIT['R']}"
    layers.append(alt.Chart(pd.DataFrame({"t": [label]})).mark_text(align="left", baseline="top", x=4, y=4).encode(text="t:N"))
    return alt.layer(*layers).properties(width=420, height=280, title=title)


def tpf_claims(fit: LinearLogFit | None, table: pd.DataFrame) -> str:
    from .studies.agents import PAPER_TPF_FIT

    lines = ["**The paper's claim (App. C, Fig. 16):** less compression (more tokens per frame) gives a larger a; "
             f"on RT-1 the line rises from ≈{PAPER_TPF_FIT['a_at_16']} at 16 to ≈{PAPER_TPF_FIT['a_at_256']} at 256 "
             f"tokens per image, R = {PAPER_TPF_FIT['R']}."]
    n_ok, n_all = int(table["a"].notna().sum()), len(table)
    lines.append(f"- Frontier fits: {n_ok} of {n_all} (level, seed) ladders gave a usable frontier (≥ "
                 f"{MIN_FRONTIER_MODELS} model sizes on it).")
    if fit is None:
        lines.append("- Too few fitted ladders for the line: the claim can NOT be tested at this preset.")
        return "\n".join(lines)
    rise = fit.predict(max(fit.levels)) - fit.predict(min(fit.levels))
    holds = fit.slope > 0 and fit.slope_lo > 0
    enough = fit.n_points >= 2 * len(fit.levels) and len(fit.levels) >= 2
    lines.append(f"- Ours: a = {fit.intercept:.3f} + {fit.slope:.3f}·log10(k) (slope 95 % CI [{fit.slope_lo:.3f}, "
                 f"{fit.slope_hi:.3f}], P(slope > 0) = {fit.p_slope_positive:.2f}), R = {fit.R:.2f} "
                 f"[{fit.R_lo:.2f}, {fit.R_hi:.2f}]; the line moves by {rise:+.3f} from {min(fit.levels)} to "
                 f"{max(fit.levels)} tokens per frame (paper: +{PAPER_TPF_FIT['a_at_256'] - PAPER_TPF_FIT['a_at_16']:.3f}).")
    if not enough:
        verdict = (f"can NOT be judged: {fit.n_points} usable ladders over {len(fit.levels)} levels (a verdict needs "
                   "≥ 2 seeds per level)")
    elif holds:
        verdict = "HOLDS here: a rises with tokens per frame and the slope's CI excludes 0"
    elif fit.slope > 0:
        verdict = "is CONSISTENT in sign (a rises) but NOT established: the slope's CI includes 0"
    else:
        verdict = "does NOT hold here: a does not rise with tokens per frame"
    lines.append(f"- Verdict: the claim {verdict}.")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# extrapolation (§4.3, Fig. 9)
# ------------------------------------------------------------------------------------------------
@dataclass
class ExtrapolationCheck:
    N_x: float                   # the extrapolation model's N
    C_end: float                 # its final compute
    factor_vs_largest: float     # C_end / the ladder's largest final C
    factor_vs_frontier: float    # C_end / the top of the fitted frontier range
    C_star: float                # the point of its curve whose loss is closest to the extrapolated law
    D_star: float                # = C_star / (6 N_x)
    loss_star: float
    law_star: float
    N_pred: float                # N_opt(C_star) from the frontier line
    D_pred: float                # D_opt(C_star)
    dex_N: float                 # log10(N_x / N_pred): + means the run is larger than predicted
    dex_D: float                 # log10(D_star / D_pred)
    loss_end: float              # the run's final held-out loss
    law_end: float               # the extrapolated frontier loss at C_end
    loss_error_end: float        # loss_end - law_end (+: worse than predicted)
    rel_loss_error_end: float
    gap_min: float               # loss_star - law_star
    within_fitted_range: bool    # C_star inside the fitted frontier range (then it is not an extrapolation)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> pd.DataFrame:
        rows = [("extrapolation model N", f"{self.N_x:,.0f}"),
                ("final compute C (× ladder's largest run; × top of fitted frontier range)",
                 f"{self.C_end:.3g} (×{self.factor_vs_largest:.1f}; ×{self.factor_vs_frontier:.1f})"),
                ("point closest to the extrapolated loss law: C*", f"{self.C_star:.3g}"),
                ("N_opt(C*) predicted vs actual N (dex)", f"{self.N_pred:,.0f} vs {self.N_x:,.0f} ({self.dex_N:+.2f} dex)"),
                ("D_opt(C*) predicted vs actual D = C*/6N (dex)",
                 f"{self.D_pred:.3g} vs {self.D_star:.3g} ({self.dex_D:+.2f} dex)"),
                ("loss at C*: run vs law", f"{self.loss_star:.4f} vs {self.law_star:.4f} ({self.gap_min:+.4f})"),
                ("loss at the final C: run vs law", f"{self.loss_end:.4f} vs {self.law_end:.4f} "
                 f"({self.loss_error_end:+.4f}, {100 * self.rel_loss_error_end:+.1f} %)")]
        return pd.DataFrame(rows, columns=["quantity", "value"])


def _interp_loglog(C: np.ndarray, L: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.exp(np.interp(np.log(grid), np.log(C), np.log(L)))


def extrapolation_check(C: Sequence[float], loss: Sequence[float], N_x: float, n_opt, d_opt, law,
                        c_fit_range: tuple[float, float], C_largest: float, n_grid: int = 400) -> ExtrapolationCheck:
    """The paper's procedure on one curve (C, loss) of a model of N_x parameters: on a fine log grid
    beyond the fitted range (the whole curve if it does not reach past it), find C* where the curve's
    loss is closest to the extrapolated law `law(C)`; compare N_x and D* = C*/(6 N_x) with the
    predicted N_opt(C*), D_opt(C*) (dex = log10 ratio), and the final loss with law(C_end)."""
    C = np.asarray(C, float)
    L = np.asarray(loss, float)
    ok = np.isfinite(C) & np.isfinite(L) & (C > 0) & (L > 0)
    C, L = C[ok], L[ok]
    order = np.argsort(C)
    C, L = C[order], L[order]
    if len(C) < 2:
        raise UserError("the extrapolation run needs at least two logged points")
    lo = max(C[0], c_fit_range[1]) if C[-1] > c_fit_range[1] else C[0]
    grid = np.geomspace(lo, C[-1], n_grid)
    Lg = _interp_loglog(C, L, grid)
    Pg = np.asarray(law(grid), float)
    i = int(np.argmin(np.abs(Lg - Pg)))
    Cs, Ls, Ps = float(grid[i]), float(Lg[i]), float(Pg[i])
    Ds = Cs / (6.0 * N_x)
    Np, Dp = float(n_opt(Cs)), float(d_opt(Cs))
    law_end = float(law(C[-1]))
    return ExtrapolationCheck(
        N_x=float(N_x), C_end=float(C[-1]), factor_vs_largest=float(C[-1] / C_largest),
        factor_vs_frontier=float(C[-1] / c_fit_range[1]), C_star=Cs, D_star=Ds, loss_star=Ls, law_star=Ps,
        N_pred=Np, D_pred=Dp, dex_N=float(np.log10(N_x / Np)), dex_D=float(np.log10(Ds / Dp)),
        loss_end=float(L[-1]), law_end=law_end, loss_error_end=float(L[-1] - law_end),
        rel_loss_error_end=float((L[-1] - law_end) / law_end), gap_min=Ls - Ps,
        within_fitted_range=bool(Cs <= c_fit_range[1]))


def extrapolation_points(store, preset: str, name: str = "wm-extrapolation") -> pd.DataFrame:
    from .experiments import study_points

    return study_points(resolve_store(store, preset), name, preset)


def check_extrapolation(base: StudyFits, run_points: pd.DataFrame) -> ExtrapolationCheck:
    """extrapolation_check with the base study's frontier fit and loss-vs-compute law."""
    if "frontier" not in base.fits or base.compute_law is None:
        raise UserError(f"{base.study} has no frontier fit and loss law to extrapolate "
                        f"({base.errors.get('frontier') or base.errors.get('compute-law')})")
    f = base.fits["frontier"]
    largest = float(base.points.groupby("run_id")["C"].max().max())
    N_x = float(run_points["N"].iloc[0])
    return extrapolation_check(run_points["C"], run_points["loss"], N_x, f.n_opt, f.d_opt, base.compute_law.loss,
                               f.c_range, largest)


def extrapolation_chart(base: StudyFits, run_points: pd.DataFrame, check: ExtrapolationCheck,
                        title: str = "Extrapolation (paper Fig. 9)"):
    """Fig. 9: the ladder's curves, the extrapolation run, the frontier and the extended loss law |
    N_opt line extended to the run with × at (C*, N_x) | D_opt line with × at (C*, D*)."""
    import altair as alt

    from .charts.scaling import FRONTIER_GREEN, HEIGHT, WIDTH, _log, size_color

    f = base.fits["frontier"]
    pts = pd.concat([base.points.assign(which="ladder"), run_points.assign(which="extrapolation")], ignore_index=True)
    x = alt.X(**_log("C", "compute C (FLOPs)"))
    yl = alt.Y(**_log("loss", "held-out loss", zero=False, nice=False))
    curves = alt.Chart(pts).mark_line().encode(x=x, y=yl, color=size_color(), detail="run_id:N",
                                               strokeDash=alt.StrokeDash("which:N", legend=None, scale=alt.Scale(
                                                   domain=["ladder", "extrapolation"], range=[[1, 0], [5, 3]])))
    fr = f.frontier.rename(columns={"loss_opt": "loss"})
    front = alt.Chart(fr).mark_circle(size=14, color=FRONTIER_GREEN).encode(x=x, y=yl)
    Cg = np.geomspace(f.c_range[0], check.C_end * 1.2, 120)
    law = pd.DataFrame({"C": Cg, "loss": base.compute_law.loss(Cg)})
    law = law[law["loss"] >= pts["loss"].min() / 1.05]
    lawc = alt.Chart(law).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y=yl)
    star = alt.Chart(pd.DataFrame({"C": [check.C_star], "loss": [check.loss_star]})).mark_point(
        shape="cross", size=160, color="red", filled=True).encode(x=x, y=yl)
    left = alt.layer(curves, front, lawc, star).properties(width=WIDTH, height=HEIGHT, title="loss vs compute")
    panels = [left]
    for which, col, fn, val, lab in (("N", "N_opt", f.n_opt, check.N_x, "optimal parameters"),
                                     ("D", "D_opt", f.d_opt, check.D_star, "optimal tokens")):
        line = pd.DataFrame({"C": Cg, col: fn(Cg)})
        y = alt.Y(**_log(col, lab, nice=False))
        p = alt.Chart(f.frontier).mark_circle(size=20, color=FRONTIER_GREEN).encode(x=x, y=y)
        ln = alt.Chart(line).mark_line(color="black", strokeDash=[6, 4]).encode(x=x, y=y)
        xx = alt.Chart(pd.DataFrame({"C": [check.C_star], col: [val]})).mark_point(
            shape="cross", size=160, color="red", filled=True).encode(x=x, y=y)
        dex = check.dex_N if which == "N" else check.dex_D
        txt = alt.Chart(pd.DataFrame({"t": [f"× = extrapolation run ({dex:+.2f} dex)"]})).mark_text(
            align="left", baseline="top", x=4, y=4).encode(text="t:N")
        panels.append(alt.layer(p, ln, xx, txt).properties(width=WIDTH, height=HEIGHT, title=lab))
    return alt.hconcat(*panels).resolve_scale(color="independent").properties(title=title)


def extrapolation_claims(check: ExtrapolationCheck) -> str:
    good = abs(check.dex_N) <= 0.3 and abs(check.dex_D) <= 0.3
    lines = ["**The paper's claim (§4.3, Fig. 9):** an 894M model at ~10× the largest compute lands in \"very good "
             "agreement\" with the extrapolated frontier; read off the figure, its × lies ≈0.2–0.3 dex below the N_opt "
             "line and ≈0.1–0.2 dex above the D_opt line.",
             f"- Ours: × lies {check.dex_N:+.2f} dex from the N_opt line and {check.dex_D:+.2f} dex from the D_opt line "
             f"at C* = {check.C_star:.3g}; at its final compute the run's loss is {check.loss_end:.4f} against the "
             f"extrapolated {check.law_end:.4f} ({check.loss_error_end:+.4f}, {100 * check.rel_loss_error_end:+.1f} %)."]
    if check.within_fitted_range:
        lines.append("- Caveat: the closest point lies inside the fitted range, so this is not an extrapolation.")
    lines.append("- Verdict: agreement " + ("HOLDS at the paper's level (both within 0.3 dex)." if good else
                                             "is WORSE than the paper's (more than 0.3 dex off)."))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# compute-optimal sizes at budgets, per-action compute, conv undercount
# ------------------------------------------------------------------------------------------------
def default_budgets(fits: Sequence[StudyFits]) -> tuple[float, float]:
    """Two budgets a decade apart, the upper one the largest power of ten inside every study's data."""
    top = min(float(sf.points.groupby("run_id")["C"].max().max()) for sf in fits)
    hi = 10.0 ** math.floor(math.log10(top))
    return hi / 10.0, hi


def optimal_sizes(fits: Sequence[StudyFits], budgets: Sequence[float] | None = None,
                  methods: Sequence[str] = ("frontier", "parametric")) -> pd.DataFrame:
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
                n, d = float(fit.law.n_opt(C)), float(fit.law.d_opt(C))
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


def optimal_sizes_statement(table: pd.DataFrame, wm: str = "wm-token-64", bc: str = "bc-token-64") -> str:
    """Our version of the paper's '2M and 11M (BC-Token) against 27M and 110M (WM-Token) at 1e18 and 1e19'."""
    from .charts.scaling import format_count

    def get(study):
        t = table[(table["study"] == study) & table["N_opt"].notna()] if "N_opt" in table else table.iloc[0:0]
        return t.sort_values("C")

    w, b = get(wm), get(bc)
    paper = ("The paper: at 1e18 and 1e19 FLOPs the compute-optimal BC-Token-540 models have 2M and 11M parameters, "
             "the WM-Token-540 models 27M and 110M (BC ≈ 0.07–0.1× WM).")
    if w.empty or b.empty:
        return paper + f" Ours: cannot compare ({wm if w.empty else bc} has no fit)."
    parts = []
    for (_, rw), (_, rb) in zip(w.iterrows(), b.iterrows()):
        parts.append(f"at C = {rw['C']:.0e}: {bc} {format_count(rb['N_opt'])} vs {wm} {format_count(rw['N_opt'])} "
                     f"(ratio {rb['N_opt'] / rw['N_opt']:.2g}; {rb['method']} vs {rw['method']})")
    smaller = all(rb["N_opt"] < rw["N_opt"] for (_, rw), (_, rb) in zip(w.iterrows(), b.iterrows()))
    return (paper + " Ours: " + "; ".join(parts) + ". BC-Token's compute-optimal models are "
            + ("SMALLER than WM-Token's at both budgets, as in the paper." if smaller else
               "NOT smaller than WM-Token's at every budget: the paper's statement does not hold here."))


def per_action_compute(preset: str, bc_token: str = "bc-token-64", bc_cnn: str = "bc-cnn") -> pd.DataFrame:
    """§5.2 (Q2): forward FLOPs spent per predicted action vector (one step). BC-Token processes every
    token of a step (k + 16) to predict one action vector: ≈ (k+16)·2N; BC-CNN processes one input:
    2N by the paper's count (plus the CNN's true convolution FLOPs, which 2N ignores)."""
    rows = []
    tok = get_study(bc_token, preset)
    per_step = int(tok.task_options["tokens_per_frame"]) + 16
    for z in tok.sizes:
        n = tok.counts(z)["N"]
        rows.append({"study": bc_token, "size": z.label, "N": n, "inputs per action step": per_step,
                     "fwd FLOPs per action (2N rule)": per_step * 2.0 * n,
                     "fwd FLOPs per action (true)": per_step * tok.counts(z)["flops_per_input_attn"] / 3.0})
    cnn = get_study(bc_cnn, preset)
    for z in cnn.sizes:
        c = cnn.counts(z)
        rows.append({"study": bc_cnn, "size": z.label, "N": c["N"], "inputs per action step": 1,
                     "fwd FLOPs per action (2N rule)": 2.0 * c["N"],
                     "fwd FLOPs per action (true)": c["flops_per_input_true"] / 3.0})
    df = pd.DataFrame(rows)
    df["per-action FLOPs / 2N"] = df["fwd FLOPs per action (2N rule)"] / (2.0 * df["N"])
    return df


def per_action_statement(df: pd.DataFrame) -> str:
    tok = df[df["inputs per action step"] > 1]
    if tok.empty:
        return ""
    k = int(tok["inputs per action step"].iloc[0])
    n1 = tok.iloc[(tok["N"] - 1e5).abs().argsort().iloc[0]]
    return (f"At equal N, BC-Token spends {k}× the forward compute of BC-CNN per predicted action (it reads all {k} "
            f"tokens of a step; paper: 556× with 540-token frames). For N = {n1['N']:,.0f}: "
            f"{n1['fwd FLOPs per action (2N rule)']:.3g} FLOPs per action against {2 * n1['N']:.3g} for a BC-CNN of the "
            "same N by the 2N rule. So at a fixed C, BC-Token sees k+16 times fewer action labels per parameter-FLOP — a "
            "more expressive (more compute per decision) but more data-hungry function, the paper's explanation of why "
            "it plateaus later and has a smaller a.")


def conv_undercount(preset: str, store=None, name: str = "bc-cnn") -> pd.DataFrame:
    """Per BC-CNN size: N (CNN share), the paper's 6N per frame against the true training FLOPs per
    frame (CNN convolutions measured + transformer with attention), and their ratio; with D and C
    from the finished run when there is one (else the plan)."""
    from .store import run_summaries

    st = get_study(name, preset)
    done = {r["size"]: r for r in run_summaries(resolve_store(store, preset), name) if r["status"] == "done"}
    rows = []
    for z in st.sizes:
        c = st.counts(z)
        D = done[z.label]["D"] if z.label in done else st.steps(z) * st.tokens_per_update
        rows.append({"size": z.label, "N": c["N"], "N_cnn": c["N_cnn"], "CNN share of N": c["N_cnn"] / c["N"],
                     "6N per frame": 6.0 * c["N"], "CNN 6·N_cnn per frame": 6.0 * c["N_cnn"],
                     "CNN true FLOPs per frame": c["cnn_flops_train_per_frame"],
                     "true FLOPs per frame": c["flops_per_input_true"],
                     "true / 6N": c["flops_per_input_true"] / (6.0 * c["N"]), "D (frames)": D,
                     "C = 6ND": 6.0 * c["N"] * D, "C_true": c["flops_per_input_true"] * D,
                     "from run": z.label in done})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# statements for the notebooks' final tables
# ------------------------------------------------------------------------------------------------
def paper_table(fits: Sequence[StudyFits]) -> pd.DataFrame:
    """Our a and b (95 % CI) by method beside the paper's Table 1 (frontier and parametric) values."""
    rows = []
    for sf in fits:
        p = get_study(sf.study, sf.preset).paper
        row: dict[str, Any] = {"study": sf.study, "paper's study": p.get("paper_study", "")}
        for m, key in (("frontier", "frontier"), ("parametric", "parametric (Huber)"),
                       ("parametric-lsq", "parametric (least squares)")):
            if m in sf.fits:
                a, alo, ahi = sf.exponent(m, "a")
                b, blo, bhi = sf.exponent(m, "b")
                row[f"a {key}"] = _fmt_ci(a, alo if alo is not None else np.nan, ahi if ahi is not None else np.nan)
                row[f"b {key}"] = _fmt_ci(b, blo if blo is not None else np.nan, bhi if bhi is not None else np.nan)
            else:
                row[f"a {key}"] = "not possible" if m == "frontier" else "not fitted"
        fr_a = p.get("a") if p.get("method") == "frontier" else None
        row["paper a (frontier)"] = fr_a if fr_a is not None else p.get("frontier", "–")
        row["paper a (parametric)"] = p.get("parametric_a", p.get("a") if p.get("method") == "parametric" else None)
        rows.append(row)
    return pd.DataFrame(rows)


def compute_law_table(fits: Sequence[StudyFits]) -> pd.DataFrame:
    """The frontier's loss-vs-compute law L = E + c0·C^-c (95 % CI) beside the paper's Fig. 1 legends."""
    rows = []
    for sf in fits:
        p = get_study(sf.study, sf.preset).paper.get("loss_law", {})
        row: dict[str, Any] = {"study": sf.study, "paper E": p.get("E"), "paper c": p.get("c")}
        law = sf.compute_law
        if law is None:
            row["note"] = sf.errors.get("compute-law") or sf.errors.get("frontier") or "no frontier"
        else:
            for k in ("E", "c"):
                e = law.estimates[k]
                row[k] = _fmt_ci(e.value, e.lo if e.lo is not None else np.nan, e.hi if e.hi is not None else np.nan)
            row["bounds active"] = ", ".join(law.active_bounds) or "none"
        rows.append(row)
    return pd.DataFrame(rows)


def _p_greater(x: StudyFits, mx: str, y: StudyFits, my: str) -> float | None:
    fx, fy = x.fits.get(mx), y.fits.get(my)
    if fx is None or fy is None or fx.bootstrap is None or fy.bootstrap is None:
        return None
    sx = np.asarray(fx.bootstrap.samples["a"], float)
    sy = np.asarray(fy.bootstrap.samples["a"], float)
    sx, sy = sx[np.isfinite(sx)], sy[np.isfinite(sy)]
    if not sx.size or not sy.size:
        return None
    return float((sx[:, None] > sy[None, :]).mean())


def _compare(x: StudyFits, y: StudyFits, claim: str) -> str:
    mx, ax, *_ = exponent(x)
    my, ay, *_ = exponent(y)
    if mx is None or my is None:
        return f"- {claim}: cannot be tested (no fit for {x.study if mx is None else y.study})."
    p = _p_greater(x, mx, y, my)
    ps = f", bootstrap P = {p:.2f}" if p is not None else ""
    verdict = "HOLDS" if ax > ay and (p is None or p >= 0.9) else ("leans the paper's way but is NOT established"
                                                                       if ax > ay else "does NOT hold")
    return f"- {claim}: {x.study} a = {ax:.2f} ({mx}) vs {y.study} a = {ay:.2f} ({my}){ps} → {verdict}."


def _inside(sf: StudyFits, method: str, value: float | None) -> str:
    if value is None or method not in sf.fits:
        return "n/a"
    a, lo, hi = sf.exponent(method, "a")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"a = {a:.2f} (no CI)"
    return f"a = {a:.2f} [{lo:.2f}, {hi:.2f}] {'contains' if lo <= value <= hi else 'EXCLUDES'} the paper's {value}"


def wm_claims(wm64: StudyFits, wm256: StudyFits) -> str:
    lines = ["**Which of the paper's WM claims hold here?**",
             "- " + frontier_possible(wm64), "- " + frontier_possible(wm256),
             f"- WM-Token-64 (our WM-Token-256) frontier: {_inside(wm64, 'frontier', 0.49)} (paper: a ≈ b ≈ 0.5, "
             "\"matches Chinchilla\").",
             f"- WM-Token-256 (our WM-Token-540) frontier: {_inside(wm256, 'frontier', 0.62)}.",
             _compare(wm256, wm64, "Less compression gives a larger a (paper 0.62 > 0.49)")]
    return "\n".join(lines)


def bc_claims(bc_tok: StudyFits, bc_cnn: StudyFits, wm: StudyFits | None = None,
              bc_small: StudyFits | None = None) -> str:
    lines = ["**Which of the paper's BC claims hold here?**",
             "- " + frontier_possible(bc_tok) + " (paper: no frontier for BC-Token-540; curves do not overlap).",
             f"- BC-Token parametric: {_inside(bc_tok, 'parametric', 0.32)}.",
             "- " + frontier_possible(bc_cnn) + " (paper: frontier a = 0.66).",
             f"- BC-CNN frontier: {_inside(bc_cnn, 'frontier', 0.66)}.",
             _compare(bc_cnn, bc_tok, "BC-CNN has a larger a than BC-Token (paper 0.66 frontier vs 0.32 parametric)")]
    if wm is not None:
        lines.append(_compare(wm, bc_tok, "WM-Token has a larger a than BC-Token on the same sequences (paper 0.62 vs 0.32)"))
    if bc_small is not None:
        lines.append("- App. E: " + frontier_possible(bc_small) + f"; parametric {_inside(bc_small, 'parametric', 0.35)}.")
    lines.append("- BC-Token and BC-CNN losses are not comparable (per action token vs summed over 16 dimensions).")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# learning rates (§5.4): grid on the smallest size, then each next size swept down from the best
# ------------------------------------------------------------------------------------------------
def _final_loss(store: str, study) -> dict[str, tuple[str, float]]:
    from .store import run_summaries

    labels = {z.label for z in study.sizes}
    return {r["size"]: (r["status"], float(r["final_loss"]) if r["final_loss"] is not None else float("nan"))
            for r in run_summaries(store, study.name) if r["size"] in labels}


def lr_search(preset: str, store=None, base_name: str = "wm-token-64", n_sizes: int = 2, max_tries: int = 3,
              workers: int | None = None, progress: bool = False) -> pd.DataFrame:
    """The paper's LR protocol, automated: the grid of the `lr-sweep` study on the base study's smallest
    model, then for each of the next `n_sizes - 1` sizes the previous size's best LR and successive halvings
    of it (at most `max_tries`), stopping when the loss stops improving. Every run lands in the store under
    "lr-sweep"; returns one row per run tried with the chosen LR per size marked (and written to
    <store>/lr-sweep/chosen.json)."""
    from .io import atomic_write_json
    from .studies.agents import LR_GRID, lr_rule, lr_sweep_study
    from .sweep import process_executor, resolve_workers, sweep

    store = resolve_store(store, preset)
    workers = resolve_workers(workers, preset)
    base = get_study(base_name, preset)
    prepare_data([base_name], preset)
    shapes = [z.shape for z in sorted(base.sizes, key=lambda z: base.counts(z)["N"])][:n_sizes]
    executor = process_executor(workers) if workers > 1 else None
    rows: list[dict[str, Any]] = []
    try:
        def trial(shape, lrs):
            st = lr_sweep_study(preset, shape, tuple(lrs), base_name)
            sweep(st, store, executor=executor, progress=progress)
            res = _final_loss(store, st)
            out = []
            for z in st.sizes:
                status, loss = res.get(z.label, ("missing", float("nan")))
                ok = status == "done" and np.isfinite(loss)
                out.append({"shape": shape.label, "N": st.counts(z)["N"], "lr": z.lr,
                            "status": status, "final_loss": loss if ok else float("nan")})
            return out

        tried = trial(shapes[0], LR_GRID[preset])
        rows += tried
        best = _best(tried)
        for shape in shapes[1:]:
            lr, prev_loss, here = best, float("inf"), []
            for _ in range(max_tries):
                r = trial(shape, [lr])[0]
                here.append(r)
                if not (r["final_loss"] < prev_loss):
                    break
                prev_loss, lr = r["final_loss"], lr / 2.0
            rows += here
            best = _best(here)
    finally:
        if executor is not None:
            executor.shutdown()
    df = pd.DataFrame(rows)
    df["chosen"] = False
    for shape, g in df.groupby("shape", sort=False):
        ok = g["final_loss"].notna()
        if ok.any():
            df.loc[g.loc[ok, "final_loss"].idxmin(), "chosen"] = True
    df["lr_rule"] = [lr_rule(n) for n in df["N"]]
    chosen = df[df["chosen"]][["shape", "N", "lr", "final_loss", "lr_rule"]].to_dict("records")
    from pathlib import Path

    atomic_write_json(Path(store) / "lr-sweep" / "chosen.json", {"preset": preset, "base_study": base_name,
                                                                  "chosen": chosen})
    return df


def _best(rows: list[dict[str, Any]]) -> float:
    ok = [r for r in rows if np.isfinite(r["final_loss"])]
    if not ok:
        raise UserError("every run of the LR sweep diverged or failed; lower the grid")
    return float(min(ok, key=lambda r: r["final_loss"])["lr"])


def plan_table(study) -> pd.DataFrame:
    """What a study will train, per size: shape, N, LR, D, steps, C = 6ND, C with attention (and true
    convolution FLOPs for BC-CNN), inputs per update, context, and planned epochs over its training split."""
    from .pipeline import split_frames
    from .studies.agents import plan

    kind = "bccnn" if study.task == "bc-cnn" else "tokens"
    per_frame = 1 if kind == "bccnn" else int(study.task_options["tokens_per_frame"]) + 16
    train_inputs = split_frames(study.preset, kind)["train"] * per_frame
    df = pd.DataFrame(plan(study))
    df["epochs"] = df["D"] / train_inputs
    df["beyond 4 epochs"] = df["epochs"] > 4.0
    return df


def plan_markdown(names: Sequence[str], presets: Sequence[str] = ("smoke", "cpu", "gpu")) -> str:
    """docs/studies.md's per-study tables, generated from the study definitions (plan_table), so the
    documentation cannot drift from the code: `python -m agentscaling.agents_analysis > tables.md`."""
    from .studies import get_study

    def fmt_row(r: pd.Series) -> str:
        ep = f"{r['epochs']:.2f}" + (" ⚠" if r["beyond 4 epochs"] else "")
        true = f" {r['C_true']:.2e} |" if has_conv else ""
        return (f"| {r['size']} | {r['shape']} | {int(r['N']):,} | {r['lr']:.2g} | {r['D']:.2e} | {int(r['steps']):,} "
                f"| {r['C']:.2e} | {r['C_attn']:.2e} |{true} {ep} |")

    out = []
    for name in names:
        first = get_study(name, presets[0])
        out += [f"### `{name}`", "", first.description, ""]
        for preset in presets:
            s = get_study(name, preset)
            df = plan_table(s)
            has_conv = bool((df["conv_flops"] > 0).any())
            out += [f"**{preset}**: context {s.context} inputs, {s.tokens_per_update:,} inputs per update "
                    f"({s.batch_size} sequences), {s.precision}, seed {s.seed}, {s.val_sequences} held-out sequences, "
                    f"{s.n_log} log points.", ""]
            head = "| size | L-H-d | N | LR | D (inputs) | steps | C = 6ND | C with attention |"
            head += " C true (incl. convolutions) |" if has_conv else ""
            out += [head + " epochs |", "|" + "---|" * head.count("|")]
            out += [fmt_row(r) for _, r in df.iterrows()]
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(plan_markdown(["wm-token-64", "wm-token-256", "bc-token-64", "bc-token-256", "bc-token-small", "bc-cnn",
                         "wm-extrapolation", "lr-sweep"] + [f"wm-tpf-{k}-s0" for k in (16, 64, 256)]))
