"""Scaling-law fitting on a plain DataFrame of logged points (one row per point: run, N, D, C, loss).

Methods (each returns a frozen result with .to_dict(): coefficients with bootstrap CIs, a
convergence flag and warnings, which are also emitted as FitWarning):

- fit_frontier: Chinchilla Approach 1, the paper's preferred method (N_opt ∝ C^a, D_opt ∝ C^b).
- fit_compute_law: L_opt = E + c0 C^-c on the frontier, with the paper's bounds.
- fit_parametric: robust L(N, D) fit (LSE, Huber on log-loss, grid of starts; Chinchilla/Epoch AI).
- fit_parametric_lsq: the paper's curve_fit variant of the same law.
- fit_isoflop: Chinchilla Approach 2 at given or chosen budgets (the law's profile by default;
  parabola or Akima).
- leave_future_out, predict_largest_run: extrapolation checks.
- check_convention: the data's compute convention (C = 6ND or FLOPs per input ∝ N^gamma).
- isoflop_bias_study: bias and CI coverage of the isoFLOP estimators on synthetic designs.

See docs/fitting.md for conventions.
"""

from .common import BootstrapInfo, Estimate, FitWarning
from .compute_law import ComputeLawFit, fit_compute_law, fit_compute_law_points
from .convention import ConventionCheck, check_convention
from .data import Columns, Points, chinchilla_points, prepare_points
from .extrapolate import ExtrapolationResult, leave_future_out, predict_largest_run
from .frontier import FrontierFit, fit_frontier
from .isoflop import IsoflopFit, fit_isoflop
from .law import CHINCHILLA_PUBLISHED, CHINCHILLA_UNROUNDED, EPOCH_2024, SIX_ND, ComputeConvention, ParametricLaw
from .parametric import ParametricFit, fit_parametric, fit_parametric_lsq
from .simulate import IsoflopDesign, isoflop_bias_study, standard_designs
from .synthetic import isoflop_design, sweep_curves

__all__ = [
    "BootstrapInfo",
    "Estimate",
    "FitWarning",
    "Columns",
    "Points",
    "ConventionCheck",
    "check_convention",
    "ComputeConvention",
    "SIX_ND",
    "chinchilla_points",
    "prepare_points",
    "ComputeLawFit",
    "fit_compute_law",
    "fit_compute_law_points",
    "ExtrapolationResult",
    "leave_future_out",
    "predict_largest_run",
    "FrontierFit",
    "fit_frontier",
    "IsoflopFit",
    "fit_isoflop",
    "ParametricLaw",
    "CHINCHILLA_PUBLISHED",
    "CHINCHILLA_UNROUNDED",
    "EPOCH_2024",
    "ParametricFit",
    "fit_parametric",
    "fit_parametric_lsq",
    "isoflop_design",
    "sweep_curves",
    "IsoflopDesign",
    "isoflop_bias_study",
    "standard_designs",
]
