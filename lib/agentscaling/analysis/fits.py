"""Fitting a study with every method and setting our coefficients beside the paper's.

This is the thin layer between the run store and the notebooks: it decides which logged points a fit
sees (the study's current runs, finished; the warmup transient dropped), runs each fitting method with
a bootstrap (a method that cannot be applied records why), and turns results into tables. Fitting
itself lives in `agentscaling.fit`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..errors import UserError
from ..fit.compute_law import fit_compute_law
from ..fit.frontier import fit_frontier
from ..fit.parametric import fit_parametric, fit_parametric_lsq
from ..paths import DATA_DIR
from ..prepare import locate
from ..store import runs_frame
from ..studies import get_study
from ..sweep.core import existing_runs
from .runs import resolve_store

METHODS = ("frontier", "parametric", "parametric-lsq")
FITTERS = {"frontier": fit_frontier, "parametric": fit_parametric, "parametric-lsq": fit_parametric_lsq}


def bootstrap_replicates(bootstrap: int | None, preset: str | presets.Preset) -> int:
    """`bootstrap`, or the preset's replicates per fit (fewer at smoke, which only checks the plumbing)."""
    return int(bootstrap) if bootstrap is not None else presets.get(preset).bootstrap


def study_points(
    store, name: str, preset: str | presets.Preset, n_convention: str = "N", min_step_frac: float = 0.02
) -> pd.DataFrame:
    """Logged points of the study's finished runs, ready for fitting: only the runs of its current
    config on its current data (runs of an older config or older data in the same store are not seen).

    Points from the first `min_step_frac` of each run (and from its warmup) are dropped: they are
    the learning-rate warmup transient, not a point on L(N, D). With n_convention other than "N"
    (e.g. "N_nonembedding"), N is replaced and C recomputed as 6·N·D under that convention."""
    study = get_study(name, preset)
    store = resolve_store(store, preset)
    prepared = locate(study)
    if prepared is None:
        raise UserError(f"the data of {name} is not prepared under {DATA_DIR}; run the sweep first")
    df = runs_frame([run for _, run in existing_runs(study, store, prepared)], statuses=("done",))
    if df.empty:
        raise UserError(f"no finished runs of {name} in {store}; run the sweep first")
    warm = max(study.warmup_steps(z) for z in study.sizes)
    keep = []
    for _, g in df.groupby("run_id"):
        total = g["step"].max()
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
    fits: dict[str, Any] = field(default_factory=dict)  # method -> fit result
    errors: dict[str, str] = field(default_factory=dict)  # method -> why it could not be fitted
    compute_law: Any = None
    points: pd.DataFrame | None = None

    def exponent(self, method: str, name: str = "a") -> tuple[float, float | None, float | None]:
        fit = self.fits[method]
        e = fit.estimates[name]
        return e.value, e.lo, e.hi


def fit_study(
    store,
    name: str,
    preset: str | presets.Preset,
    methods: Iterable[str] = METHODS,
    bootstrap: int | None = None,
    n_convention: str = "N",
    seed: int = 0,
) -> StudyFits:
    """Fit one study with each method (and the frontier's loss-vs-compute law). A method that fails,
    whatever the error (too few sizes on a frontier, a degenerate optimum on tiny smoke data), is
    recorded in `errors` with its message, so a notebook goes on and says what could not be fitted.
    No finished runs at all is an error."""
    p = presets.get(preset)
    bootstrap = bootstrap_replicates(bootstrap, p)
    pts = study_points(store, name, p, n_convention)
    out = StudyFits(study=name, preset=p.name, n_convention=n_convention, points=pts)
    for m in methods:
        if m not in FITTERS:
            raise UserError(f"unknown method {m!r}; choose from {', '.join(FITTERS)}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # warnings are kept on the result and shown in tables
                out.fits[m] = FITTERS[m](pts, bootstrap=bootstrap, seed=seed)
        except UserError as e:
            out.errors[m] = str(e)
        except Exception as e:  # noqa: BLE001 - reported in the notebook's warnings table
            out.errors[m] = f"fit failed: {type(e).__name__}: {e}"
    if "frontier" in out.fits:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.compute_law = fit_compute_law(out.fits["frontier"])
        except Exception as e:  # noqa: BLE001
            out.errors["compute-law"] = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}"
    return out


def fit_studies(
    names: Iterable[str],
    preset: str | presets.Preset,
    store=None,
    bootstrap: int | None = None,
    n_convention: str = "N",
    methods: Iterable[str] = METHODS,
) -> list[StudyFits]:
    """fit_study for each study; bootstrap=None takes the preset's replicates."""
    return [fit_study(store, n, preset, methods=methods, bootstrap=bootstrap, n_convention=n_convention) for n in names]


# ------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------
def fmt_ci(v, lo, hi) -> str:
    """ "0.49 [0.26, 0.65]", or the value alone when there is no interval, or "–"."""
    if v is None or not np.isfinite(v):
        return "–"
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.2f}"
    return f"{v:.2f} [{lo:.2f}, {hi:.2f}]"


def exponent(sf: StudyFits, methods: Sequence[str] = METHODS) -> tuple[str | None, float, float, float]:
    """(method, a, lo, hi) of the first method that could be fitted."""
    for m in methods:
        if m in sf.fits:
            a, lo, hi = sf.exponent(m, "a")
            return m, a, (lo if lo is not None else float("nan")), (hi if hi is not None else float("nan"))
    return None, float("nan"), float("nan"), float("nan")


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
                row.update(
                    {
                        "a": a,
                        "a_lo": alo,
                        "a_hi": ahi,
                        "b": b,
                        "b_lo": blo,
                        "b_hi": bhi,
                        "a (95% CI)": fmt_ci(a, alo, ahi),
                        "b (95% CI)": fmt_ci(b, blo, bhi),
                        "converged": bool(fit.converged),
                        "at bounds": ", ".join(fit.at_bounds) or "none",
                        "warnings": len(fit.warnings),
                    }
                )
            else:
                row.update({"a (95% CI)": "not fitted", "b (95% CI)": "", "note": sf.errors[m]})
            row["paper a"] = paper.get("a")
            row["paper b"] = paper.get("b")
            row["paper method"] = paper.get("method")
            if m in sf.fits and paper.get("a") is not None and row.get("a_lo") is not None:
                row["paper a inside CI"] = bool(row["a_lo"] <= paper["a"] <= row["a_hi"])
            rows.append(row)
    return pd.DataFrame(rows)


def paper_table(fits: Sequence[StudyFits]) -> pd.DataFrame:
    """Our a and b (95 % CI) by method beside the paper's Table 1 (frontier and parametric) values."""
    rows = []
    for sf in fits:
        p = get_study(sf.study, sf.preset).paper
        row: dict[str, Any] = {"study": sf.study, "paper's study": p.get("paper_study", "")}
        for m, key in (
            ("frontier", "frontier"),
            ("parametric", "parametric (Huber)"),
            ("parametric-lsq", "parametric (least squares)"),
        ):
            if m in sf.fits:
                a, alo, ahi = sf.exponent(m, "a")
                b, blo, bhi = sf.exponent(m, "b")
                row[f"a {key}"] = fmt_ci(a, alo, ahi)
                row[f"b {key}"] = fmt_ci(b, blo, bhi)
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
                row[k] = fmt_ci(e.value, e.lo, e.hi)
            row["bounds active"] = ", ".join(law.active_bounds) or "none"
        rows.append(row)
    return pd.DataFrame(rows)


def warnings_table(all_fits: Iterable[StudyFits]) -> pd.DataFrame:
    """Every warning any fit raised, so that a report shows what the data could not support."""
    all_fits = list(all_fits)
    rows = [
        {"study": sf.study, "method": m, "warning": w}
        for sf in all_fits
        for m, f in sf.fits.items()
        for w in f.warnings
    ]
    rows += [
        {"study": sf.study, "method": m, "warning": f"not fitted: {e}"} for sf in all_fits for m, e in sf.errors.items()
    ]
    return pd.DataFrame(rows, columns=["study", "method", "warning"])


def prob_greater(x: StudyFits, y: StudyFits, method: str, name: str = "a", method_y: str | None = None) -> float | None:
    """Bootstrap probability that x's coefficient exceeds y's (independent replicates, all pairs); y's
    fit may come from another method (`method_y`)."""
    fx, fy = x.fits.get(method), y.fits.get(method_y or method)
    if fx is None or fy is None or fx.bootstrap is None or fy.bootstrap is None:
        return None
    sx = np.asarray(fx.bootstrap.samples[name], float)
    sy = np.asarray(fy.bootstrap.samples[name], float)
    sx, sy = sx[np.isfinite(sx)], sy[np.isfinite(sy)]
    if not sx.size or not sy.size:
        return None
    return float((sx[:, None] > sy[None, :]).mean())


def seed_spread(all_fits: Iterable[StudyFits]) -> pd.DataFrame:
    """The run-to-run spread of the final held-out loss per size with several seeds: the standard
    deviation of log loss over seeds (a relative spread; 0.01 = 1 %), which the seed bootstrap carries
    into every interval. One row per size, then a row per study with the median over its sizes."""
    rows = []
    for sf in all_fits:
        pts = sf.points
        if pts is None or "seed" not in pts.columns:
            continue
        final = pts.sort_values("step").groupby("run_id").last()
        per_size = []
        for N, g in final.groupby("N"):
            if g["seed"].nunique() < 2:
                continue
            spread = float(np.log(g["loss"].to_numpy(float)).std(ddof=1))
            per_size.append(spread)
            rows.append(
                {
                    "study": sf.study,
                    "N": int(N),
                    "seeds": int(g["seed"].nunique()),
                    "final loss (mean)": float(g["loss"].mean()),
                    "relative spread": spread,
                }
            )
        if per_size:
            rows.append(
                {
                    "study": sf.study,
                    "N": "median",
                    "seeds": None,
                    "final loss (mean)": None,
                    "relative spread": float(np.median(per_size)),
                }
            )
    return pd.DataFrame(rows, columns=["study", "N", "seeds", "final loss (mean)", "relative spread"])


def fits_summary(all_fits: Iterable[StudyFits]) -> dict[str, Any]:
    """JSON-able record of every fit: coefficients, CIs, warnings, errors, the paper's values."""
    out: dict[str, Any] = {}
    for sf in all_fits:
        d = {m: f.to_dict() for m, f in sf.fits.items()}
        d["errors"] = dict(sf.errors)
        if sf.compute_law is not None:
            d["compute_law"] = sf.compute_law.to_dict()
        d["paper"] = get_study(sf.study, sf.preset).paper
        out[f"{sf.study}[{sf.n_convention}]"] = d
    return out
