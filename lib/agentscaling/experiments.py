"""Study-level analysis that every notebook shares: run a set of studies, fit them with every
method, and set our coefficients beside the paper's.

This is the thin layer between the run store and the notebooks: it decides which logged points a
fit sees (done runs; the warmup transient dropped), runs each fitting method with a bootstrap, and
turns results into tables and plain-language statements. Fitting itself lives in `agentscaling.fit`."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .errors import UserError
from .paths import default_store
from .store import load_runs
from .studies import get_study

METHODS = ("frontier", "parametric", "parametric-lsq")


def resolve_store(store, preset: str) -> str:
    return str(store) if store else str(default_store(preset))


def run_studies(names: Iterable[str], preset: str, store=None, workers: int | None = None, progress: bool = True,
                device: str = "auto") -> pd.DataFrame:
    """Sweep each study (finished runs are reused); one row per run with its status.

    workers=None: `sweep.resolve_workers` (1 at smoke and on a GPU, else one 1-thread process per core)."""
    from .costmodel import run_cost
    from .sweep import auto_device, process_executor, resolve_workers, sweep_studies

    store = resolve_store(store, preset)
    device = auto_device(device)
    workers = resolve_workers(workers, preset, device)
    studies = [get_study(name, preset) for name in names]
    executor = process_executor(workers) if workers > 1 else None
    try:  # every study's runs in one pool, longest first: no core idles between studies
        results = sweep_studies(studies, store, executor=executor, progress=progress, device=device,
                                cost=run_cost(threads=1, device=device))
    finally:
        if executor is not None:
            executor.shutdown()
    return pd.DataFrame([{k: r.get(k) for k in ("study", "size", "status", "final_loss", "message")} for r in results])


def study_points(store, name: str, preset: str, n_convention: str = "N", min_step_frac: float = 0.02) -> pd.DataFrame:
    """Logged points of a study's finished runs, ready for fitting.

    Points from the first `min_step_frac` of each run (and from its warmup) are dropped: they are
    the learning-rate warmup transient, not a point on L(N, D). With n_convention other than "N"
    (e.g. "N_nonembedding"), N is replaced and C recomputed as 6·N·D under that convention."""
    study = get_study(name, preset)
    df = load_runs(store, name, statuses=("done",))
    if df.empty:
        raise UserError(f"no finished runs of {name} in {store}; run the sweep first")
    keep = []
    for _, g in df.groupby("run_id"):
        total = g["step"].max()
        warm = max(study.warmup_steps(z) for z in study.sizes)
        keep.append(g[(g["step"] >= min_step_frac * total) & (g["step"] > warm)])
    out = pd.concat(keep, ignore_index=True)
    if n_convention != "N":
        if n_convention not in out.columns:
            raise UserError(f"unknown parameter convention {n_convention!r}")
        out["N"] = out[n_convention].astype(float)
        out["C"] = 6.0 * out["N"] * out["D"]
    return out


@dataclass
class StudyFits:
    study: str
    preset: str
    n_convention: str
    fits: dict[str, Any] = field(default_factory=dict)      # method -> fit result
    errors: dict[str, str] = field(default_factory=dict)    # method -> why it could not be fitted
    compute_law: Any = None
    points: pd.DataFrame | None = None

    def exponent(self, method: str, name: str = "a") -> tuple[float, float | None, float | None]:
        fit = self.fits[method]
        e = fit.estimates[name]
        return e.value, e.lo, e.hi


def fit_study(store, name: str, preset: str, methods: Iterable[str] = METHODS, bootstrap: int = 200,
              n_convention: str = "N", seed: int = 0) -> StudyFits:
    """Fit one study with each method; a method that cannot be applied records its reason."""
    from .fit.compute_law import fit_compute_law
    from .fit.frontier import fit_frontier
    from .fit.parametric import fit_parametric, fit_parametric_lsq

    store = resolve_store(store, preset)
    pts = study_points(store, name, preset, n_convention)
    out = StudyFits(study=name, preset=preset, n_convention=n_convention, points=pts)
    fns = {"frontier": lambda: fit_frontier(pts, bootstrap=bootstrap, seed=seed),
           "parametric": lambda: fit_parametric(pts, bootstrap=bootstrap, seed=seed),
           "parametric-lsq": lambda: fit_parametric_lsq(pts, bootstrap=bootstrap, seed=seed)}
    for m in methods:
        if m not in fns:
            raise UserError(f"unknown method {m!r}; choose from {', '.join(fns)}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # warnings are kept on the result and shown in tables
                out.fits[m] = fns[m]()
        except UserError as e:
            out.errors[m] = str(e)
    if "frontier" in out.fits:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.compute_law = fit_compute_law(out.fits["frontier"])
        except UserError as e:
            out.errors["compute-law"] = str(e)
    return out


def _fmt(v, lo, hi) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.2f}"
    return f"{v:.2f} [{lo:.2f}, {hi:.2f}]"


def coefficient_table(all_fits: Iterable[StudyFits]) -> pd.DataFrame:
    """One row per (study, method): our a and b with 95 % CIs beside the paper's values."""
    rows = []
    for sf in all_fits:
        paper = get_study(sf.study, sf.preset).paper
        for m in METHODS:
            if m not in sf.fits and m not in sf.errors:
                continue
            row: dict[str, Any] = {"study": sf.study, "method": m, "N convention": sf.n_convention}
            if m in sf.fits:
                fit = sf.fits[m]
                a, alo, ahi = sf.exponent(m, "a")
                b, blo, bhi = sf.exponent(m, "b")
                row.update({"a": a, "a_lo": alo, "a_hi": ahi, "b": b, "b_lo": blo, "b_hi": bhi,
                            "a (95% CI)": _fmt(a, alo, ahi), "b (95% CI)": _fmt(b, blo, bhi),
                            "converged": bool(fit.converged), "warnings": len(fit.warnings)})
            else:
                row.update({"a (95% CI)": "not fitted", "b (95% CI)": "", "note": sf.errors[m]})
            row["paper a"] = paper.get("a")
            row["paper b"] = paper.get("b")
            row["paper method"] = paper.get("method")
            if m in sf.fits and paper.get("a") is not None and row.get("a_lo") is not None:
                row["paper a inside CI"] = bool(row["a_lo"] <= paper["a"] <= row["a_hi"])
            rows.append(row)
    return pd.DataFrame(rows)


def prob_greater(x: StudyFits, y: StudyFits, method: str, name: str = "a") -> float | None:
    """Bootstrap probability that x's coefficient exceeds y's (independent replicates, all pairs)."""
    fx, fy = x.fits.get(method), y.fits.get(method)
    if fx is None or fy is None or fx.bootstrap is None or fy.bootstrap is None:
        return None
    sx = np.asarray(fx.bootstrap.samples[name], float)
    sy = np.asarray(fy.bootstrap.samples[name], float)
    sx, sy = sx[np.isfinite(sx)], sy[np.isfinite(sy)]
    if not sx.size or not sy.size:
        return None
    return float((sx[:, None] > sy[None, :]).mean())


def ordering_statement(ordered: list[StudyFits], method: str, labels: list[str] | None = None) -> str:
    """Plain words: does a fall in the given order (as the paper found), and how sure are we?"""
    labels = labels or [f.study for f in ordered]
    if any(method not in f.fits for f in ordered):
        missing = [lbl for f, lbl in zip(ordered, labels) if method not in f.fits]
        return f"{method}: cannot compare, no fit for {', '.join(missing)}."
    vals = [f.exponent(method)[0] for f in ordered]
    pairs = []
    holds = True
    for (f1, l1, v1), (f2, l2, v2) in zip(zip(ordered, labels, vals), zip(ordered[1:], labels[1:], vals[1:])):
        p = prob_greater(f1, f2, method)
        holds &= v1 > v2
        pairs.append(f"{l1} {v1:.2f} {'>' if v1 > v2 else '≤'} {l2} {v2:.2f}"
                     + (f" (bootstrap P = {p:.2f})" if p is not None else ""))
    verdict = "REPRODUCED" if holds else "NOT reproduced"
    return f"{method}: the paper's ordering {' > '.join(labels)} is {verdict}: " + "; ".join(pairs) + "."


def epochs_table(store, names: Iterable[str], preset: str) -> pd.DataFrame:
    """Per run: size, N, D, epochs over the training split, final losses (repetition is visible)."""
    from .store import run_summaries

    rows = [r for n in names for r in run_summaries(resolve_store(store, preset), n)]
    cols = ["study", "size", "status", "N", "D", "C", "epochs", "final_train_loss", "final_val_loss", "wall_s"]
    df = pd.DataFrame(rows)[cols] if rows else pd.DataFrame(columns=cols)
    df["beyond 4 epochs"] = df["epochs"].astype(float) > 4.0  # the paper's "infinite data" bound
    return df


def summary(all_fits: Iterable[StudyFits]) -> dict[str, Any]:
    """JSON-able summary for the notebook's summary.json: every coefficient, CI and warning."""
    out: dict[str, Any] = {}
    for sf in all_fits:
        d = {m: f.to_dict() for m, f in sf.fits.items()}
        d["errors"] = dict(sf.errors)
        if sf.compute_law is not None:
            d["compute_law"] = sf.compute_law.to_dict()
        d["paper"] = get_study(sf.study, sf.preset).paper
        out[f"{sf.study}[{sf.n_convention}]"] = d
    return out


SHAKESPEARE_STUDIES = ("lm-shakespeare-dense", "lm-shakespeare-sparse", "lm-shakespeare-superclass")
SHAKESPEARE_LABELS = ("dense", "sparse", "super-classed")
BOOKS_STUDIES = ("lm-books-char", "lm-books-gpt2")
BOOKS_LABELS = ("character", "GPT-2 BPE")


def bootstrap_replicates(bootstrap: int | None, preset: str) -> int:
    """The notebooks' default: 200 replicates per fit, 50 at smoke (which only checks the plumbing)."""
    if bootstrap is not None:
        return int(bootstrap)
    return 50 if preset == "smoke" else 200


def fit_studies(names: Iterable[str], preset: str, store=None, bootstrap: int | None = None,
                n_convention: str = "N", methods: Iterable[str] = METHODS) -> list[StudyFits]:
    """fit_study for each study; bootstrap=None takes the preset's default (bootstrap_replicates)."""
    b = bootstrap_replicates(bootstrap, preset)
    return [fit_study(store, n, preset, methods=methods, bootstrap=b, n_convention=n_convention) for n in names]


def figure(sf: StudyFits, title: str | None = None):
    """The paper's figure for a study: the 3-panel layout when a frontier exists (loss curves with
    frontier, loss-vs-compute law and per-size parametric curves | N_opt | D_opt), otherwise the
    loss curves with the parametric fit (as the paper's Figs. 7, 10, 18)."""
    from .charts.scaling import loss_curves, three_panel

    title = title or f"{sf.study} ({sf.preset}, N = {sf.n_convention})"
    par = sf.fits.get("parametric")
    if "frontier" in sf.fits:
        return three_panel(sf.fits["frontier"], sf.compute_law, par, data=sf.points, title=title)
    return loss_curves(sf.points, parametric=par, title=title)


def figures(all_fits: Iterable[StudyFits]):
    """All studies' figures stacked vertically (one chart, one PNG)."""
    import altair as alt

    return alt.vconcat(*[figure(sf) for sf in all_fits]).resolve_scale(color="independent")


def warnings_table(all_fits: Iterable[StudyFits]) -> pd.DataFrame:
    """Every warning any fit raised, so that a report shows what the data could not support."""
    rows = [{"study": sf.study, "method": m, "warning": w}
            for sf in all_fits for m, f in sf.fits.items() for w in f.warnings]
    rows += [{"study": sf.study, "method": m, "warning": f"not fitted: {e}"} for sf in all_fits for m, e in sf.errors.items()]
    return pd.DataFrame(rows, columns=["study", "method", "warning"])


def reading(all_fits: list[StudyFits], labels: list[str], methods: Iterable[str], paper_order: str) -> str:
    """A paragraph (markdown) saying whether the paper's ordering of a holds here, per method."""
    lines = [f"**Does the paper's ordering hold?** The paper reports {paper_order}."]
    for m in methods:
        lines.append("- " + ordering_statement(all_fits, m, labels))
    warned = sum(len(f.warnings) for sf in all_fits for f in sf.fits.values())
    lines.append(f"\nBootstrap P is the fraction of replicate pairs in which the first exponent exceeds the "
                 f"second (runs resampled with replacement). {warned} fit warning(s) were raised; they are "
                 "listed below and qualify these numbers.")
    return "\n".join(lines)


def notebook_summary(preset: str, store, all_fits: list[StudyFits], labels: list[str], methods: Iterable[str]) -> dict[str, Any]:
    """What a study notebook saves to summary.json: coefficients with CIs beside the paper's, every
    fit in full, and the ordering statements (per N convention)."""
    table = coefficient_table(all_fits)
    orderings: dict[str, str] = {}
    for conv in dict.fromkeys(sf.n_convention for sf in all_fits):
        group = [sf for sf in all_fits if sf.n_convention == conv]
        for m in methods:
            orderings[f"{m}[{conv}]"] = ordering_statement(group, m, labels)
    return {"preset": preset, "store": str(store),
            "coefficients": table.drop(columns=["a (95% CI)", "b (95% CI)"], errors="ignore").to_dict("records"),
            "fits": summary(all_fits), "orderings": orderings}
