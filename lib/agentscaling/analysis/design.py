"""The design planner: before any compute is spent, would this study's design identify the exponent?

A design is what a study trains: its model sizes, the inputs D each size sees, the seeds per size, the
log points per run, and the fitting method. The planner lays synthetic training curves from laws with
a known a = β/(α+β) on the design, with the law's compute-optimal size placed anywhere in the middle
of the ladder (a size log-uniform between the second-smallest and the second-largest is trained
exactly to its optimal D: with every size at the same D the smaller sizes then train past their
optimum and the larger ones do not), adds training noise (a persistent
per-run offset, the run-to-run spread of seeds, and a small per-point jitter), fits each simulation
with the study's method and bootstrap, and reports:

    bias          mean(a_hat - a) over the identified simulations
    half_width    median half-width of the 95 % interval
    coverage      the fraction of intervals that contain the true a
    identified    the fraction of simulations whose fit the verdict rule accepts (analysis.verdicts)

A design is approved when |bias| <= 0.03, coverage >= 0.85 and at least 90 % of the fits are
identified; the report says which criterion a rejected design fails. The predicted wall time comes
from the cost model's cached calibration (agentscaling cost calibrate)."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..errors import UserError
from ..fit.law import ParametricLaw
from ..studies import Study, get_study
from ..sweep.calibrate import cached_model
from ..sweep.cost import predict_studies
from .fits import FITTERS
from .verdicts import identification

MAX_ABS_BIAS = 0.03
MIN_COVERAGE = 0.85
MIN_IDENTIFIED = 0.90


@dataclass(frozen=True)
class Design:
    study: str
    sizes: tuple[float, ...]  # N of each size
    inputs: float | tuple[float, ...]  # D every size is trained to, or one D per size
    seeds: int = 1
    n_log: int = 50
    method: str = "frontier"
    wall_s: float | None = None  # predicted wall time of all its runs in one pool (None: no calibration)

    @property
    def decades(self) -> float:
        return math.log10(max(self.sizes) / min(self.sizes))

    def inputs_of(self) -> np.ndarray:
        """D of each size."""
        if isinstance(self.inputs, tuple):
            if len(self.inputs) != len(self.sizes):
                raise UserError(f"{len(self.inputs)} inputs for {len(self.sizes)} sizes")
            return np.asarray(self.inputs, float)
        return np.full(len(self.sizes), float(self.inputs))

    def inputs_at(self, n: float) -> float:
        """D of a size n between the ladder's sizes (log-log interpolation)."""
        order = np.argsort(self.sizes)
        N, D = np.log(np.asarray(self.sizes, float)[order]), np.log(self.inputs_of()[order])
        return float(np.exp(np.interp(np.log(n), N, D)))


def design_of(study: Study, method: str = "frontier", workers: int = 2) -> Design:
    """The design a study trains, with its predicted wall time when this machine has a calibration."""
    if method not in FITTERS:
        raise UserError(f"unknown method {method!r}; choose from {', '.join(FITTERS)}")
    sizes = tuple(float(study.counts(z)["N"]) for z in study.sizes)
    inputs = tuple(float(study.steps(z) * study.tokens_per_update) for z in study.sizes)
    inputs = inputs[0] if len(set(inputs)) == 1 else inputs
    model = cached_model(threads=1, device="cpu")
    wall = predict_studies([study], model, workers=workers)[1] if model is not None else None
    return Design(study.name, sizes, inputs, len(study.replicas()), study.n_log, method, wall)


def synthetic_law(
    a: float, n_cross: float, d_cross: float, exponent_sum: float = 0.7, E: float = 1.0, reducible: float = 0.3
) -> ParametricLaw:
    """A law L = E + A/N^α + B/D^β with a = β/(α+β), under which a model of n_cross parameters is
    compute-optimal exactly when it has seen d_cross inputs (there α A N^-α = β B D^-β)."""
    beta = a * exponent_sum
    alpha = exponent_sum - beta
    A = reducible * E * n_cross**alpha
    B = alpha * A * n_cross**-alpha * d_cross**beta / beta
    return ParametricLaw(E=E, A=A, B=B, alpha=alpha, beta=beta)


def synthetic_runs(
    design: Design, law: ParametricLaw, rng: np.random.Generator, noise_run: float, noise_point: float
) -> pd.DataFrame:
    """Curves as a study logs them: every size and seed trained to its D, logged at `n_log` log-spaced
    points from 2 % of training on (analysis.fits drops the warmup transient before that)."""
    frames = []
    for N, D_end in zip(design.sizes, design.inputs_of()):
        D = np.geomspace(0.02 * D_end, D_end, design.n_log)
        for s in range(design.seeds):
            noise = noise_run * rng.standard_normal() + noise_point * rng.standard_normal(D.size)
            loss = law.loss(N, D) * np.exp(noise)
            frames.append(
                pd.DataFrame({"run_id": f"N{N:.4g}-s{s}", "N": N, "D": D, "C": 6.0 * N * D, "loss": loss, "seed": s})
            )
    return pd.concat(frames, ignore_index=True)


@dataclass
class DesignReport:
    design: Design
    true_a: float
    noise_run: float
    n_sim: int
    bias: float
    rmse: float
    half_width: float
    coverage: float
    identified: float
    approved: bool
    reasons: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        d = self.design
        return {
            "study": d.study,
            "method": d.method,
            "sizes": len(d.sizes),
            "decades of N": round(d.decades, 2),
            "seeds": d.seeds,
            "true a": self.true_a,
            "noise": self.noise_run,
            "bias": self.bias,
            "rmse": self.rmse,
            "CI half-width": self.half_width,
            "coverage": self.coverage,
            "identified": self.identified,
            "wall min": None if d.wall_s is None else d.wall_s / 60,
            "approved": self.approved,
            "why not": "; ".join(self.reasons),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "row": self.row()}


def simulate(
    design: Design,
    a: float = 0.5,
    n_sim: int = 40,
    bootstrap: int = 100,
    noise_run: float = 0.005,
    noise_point: float = 0.001,
    seed: int = 0,
) -> DesignReport:
    """Fit `n_sim` synthetic sweeps of the design (true exponent `a`) with its method; see the module doc."""
    if not 0.0 < a < 1.0:
        raise UserError(f"the true a must lie in (0, 1), got {a}")
    if len(design.sizes) < 2:
        raise UserError("a design needs at least two sizes")
    rng = np.random.default_rng(seed)
    sizes = np.sort(np.asarray(design.sizes, float))
    lo_n, hi_n = (sizes[1], sizes[-2]) if len(sizes) >= 4 else (sizes[0], sizes[-1])
    fitter = FITTERS[design.method]
    estimates, covered, widths, n_identified = [], [], [], 0
    for i in range(n_sim):
        n_cross = float(np.exp(rng.uniform(np.log(lo_n), np.log(hi_n))))
        law = synthetic_law(a, n_cross, design.inputs_at(n_cross))
        df = synthetic_runs(design, law, rng, noise_run, noise_point)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                fit = fitter(df, bootstrap=bootstrap, seed=seed + i)
        except UserError:
            continue
        if identification(fit):
            continue
        n_identified += 1
        est = fit.estimates["a"]
        estimates.append(est.value)
        covered.append(est.lo <= a <= est.hi)
        widths.append((est.hi - est.lo) / 2.0)
    identified = n_identified / n_sim
    est_arr = np.asarray(estimates)
    bias = float(est_arr.mean() - a) if est_arr.size else float("nan")
    rmse = float(np.sqrt(((est_arr - a) ** 2).mean())) if est_arr.size else float("nan")
    coverage = float(np.mean(covered)) if covered else float("nan")
    half = float(np.median(widths)) if widths else float("nan")
    reasons = []
    if identified < MIN_IDENTIFIED:
        reasons.append(f"only {identified:.0%} of the fits are identified (needs {MIN_IDENTIFIED:.0%})")
    if not abs(bias) <= MAX_ABS_BIAS:
        reasons.append(f"|bias| {abs(bias):.3f} > {MAX_ABS_BIAS}")
    if not coverage >= MIN_COVERAGE:
        reasons.append(f"coverage {coverage:.0%} < {MIN_COVERAGE:.0%}")
    return DesignReport(design, a, noise_run, n_sim, bias, rmse, half, coverage, identified, not reasons, reasons)


def plan_studies(
    names: Sequence[str],
    preset: str | presets.Preset,
    methods: Sequence[str] = ("frontier",),
    a: float = 0.5,
    n_sim: int = 40,
    bootstrap: int = 100,
    noise_run: float = 0.005,
    seed: int = 0,
) -> pd.DataFrame:
    """The planner's table for studies at a preset: one row per (study, method)."""
    p = presets.get(preset)
    rows = []
    for name in names:
        study = get_study(name, p)
        for m in methods:
            report = simulate(
                design_of(study, m, p.default_workers("cpu")),
                a=a,
                n_sim=n_sim,
                bootstrap=bootstrap,
                noise_run=noise_run,
                seed=seed,
            )
            rows.append(report.row())
    return pd.DataFrame(rows)
