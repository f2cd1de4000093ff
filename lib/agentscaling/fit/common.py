"""Pieces every fitting method shares: the warning class, estimates with intervals, bootstrap
bookkeeping, boundary flags, and the log-log line fit that turns (C, N_opt) points into N_opt ∝ C^a."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning

from ..io import to_jsonable


class FitWarning(UserWarning):
    """The data or the optimiser cannot fully support a fitted number (it is still returned)."""


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside the agentscaling package, so that a FitWarning points
    at the user's call rather than at our internals (or decorators)."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg):
        frame, level = frame.f_back, level + 1
    return level


def emit(messages: Iterable[str]) -> tuple[str, ...]:
    """Emit each message as a FitWarning and return them as a tuple (for the result object)."""
    out = tuple(dict.fromkeys(messages))  # de-duplicate, keep order
    level = _caller_stacklevel()
    for msg in out:
        warnings.warn(msg, FitWarning, stacklevel=level)
    return out


@dataclass(frozen=True)
class Estimate:
    """A fitted number with its bootstrap percentile interval (lo/hi are None without a bootstrap)."""

    value: float
    lo: float | None = None
    hi: float | None = None
    se: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"value": _f(self.value), "ci_lo": _f(self.lo), "ci_hi": _f(self.hi), "se": _f(self.se)}

    def contains(self, x: float) -> bool:
        if self.lo is None or self.hi is None:
            raise ValueError("no interval: fit with bootstrap > 0")
        return self.lo <= x <= self.hi


def jsonable(obj: Any) -> Any:
    """io.to_jsonable, applied twice: its numpy-scalar branch returns float('nan') unchanged (so
    json would write NaN); the second pass turns those into None like Python floats."""
    return to_jsonable(to_jsonable(obj))


def _f(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if not np.isfinite(x) else x


@dataclass(frozen=True)
class BootstrapInfo:
    """What the bootstrap did. `samples` holds one array per coefficient (NaN where a replicate
    failed); it is kept in memory for charts but left out of to_dict() unless asked for."""

    replicates: int
    unit: str  # "run" or "point": what was resampled with replacement
    n_units: int
    ci_level: float
    seed: int | None
    converged_fraction: float  # replicates whose optimiser converged (1.0 for closed-form fits)
    valid_fraction: float  # replicates that produced every coefficient
    samples: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self, with_samples: bool = False) -> dict[str, Any]:
        d = {
            "replicates": self.replicates,
            "unit": self.unit,
            "n_units": self.n_units,
            "ci_level": self.ci_level,
            "seed": self.seed,
            "converged_fraction": self.converged_fraction,
            "valid_fraction": self.valid_fraction,
        }
        if with_samples:
            d["samples"] = {k: jsonable(np.asarray(v)) for k, v in self.samples.items()}
        return d


def estimates_from_samples(
    point: Mapping[str, float],
    samples: Mapping[str, np.ndarray] | None,
    ci_level: float,
    mask: np.ndarray | None = None,
) -> dict[str, Estimate]:
    """Percentile intervals (and SD as `se`) from bootstrap samples; NaN replicates are ignored.
    `mask` selects the replicates to use (e.g. only converged ones)."""
    out: dict[str, Estimate] = {}
    q = (100 * (1 - ci_level) / 2, 100 * (1 + ci_level) / 2)
    for name, value in point.items():
        s = None if samples is None else samples.get(name)
        if s is None:
            out[name] = Estimate(float(value))
            continue
        s = np.asarray(s, float)
        if mask is not None:
            s = s[mask]
        s = s[np.isfinite(s)]
        if s.size < 2:
            out[name] = Estimate(float(value), float("nan"), float("nan"), float("nan"))
            continue
        lo, hi = np.percentile(s, q)
        out[name] = Estimate(float(value), float(lo), float(hi), float(np.std(s, ddof=1)))
    return out


@dataclass(frozen=True)
class FitResultBase:
    """Shared JSON layout: method, coefficients (value + CI), convergence, bootstrap, warnings, and
    `at_bounds`: the coefficients that sit at or near a bound of their range (E -> 0, an exponent at
    its limit). Such a fit is a boundary fit (`boundary`): the bound, not the data, sets those
    numbers, so it must not be used to accept or reject a hypothesis."""

    method: str
    estimates: Mapping[str, Estimate]
    converged: bool
    warnings: tuple[str, ...]
    bootstrap: BootstrapInfo | None
    at_bounds: tuple[str, ...] = field(default=(), kw_only=True)

    @property
    def boundary(self) -> bool:
        return bool(self.at_bounds)

    def __getitem__(self, name: str) -> float:
        return self.estimates[name].value

    def ci(self, name: str) -> tuple[float | None, float | None]:
        e = self.estimates[name]
        return e.lo, e.hi

    def _extra(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "method": self.method,
            "coefficients": {k: v.to_dict() for k, v in self.estimates.items()},
            "converged": bool(self.converged),
            "at_bounds": list(self.at_bounds),
            "boundary": self.boundary,
            "bootstrap": None if self.bootstrap is None else self.bootstrap.to_dict(),
            "warnings": list(self.warnings),
        }
        d.update(jsonable(self._extra()))
        return d

    def to_frame(self):
        """The coefficients as a small table (value, ci_lo, ci_hi, se)."""

        return pd.DataFrame({k: v.to_dict() for k, v in self.estimates.items()}).T


def near_bounds(values: Mapping[str, float], bounds: Mapping[str, tuple[float, float]], tol: float) -> tuple[str, ...]:
    """Names whose value lies within `tol` (absolute) of a finite bound, or beyond it."""
    out = []
    for name, (lo, hi) in bounds.items():
        v = float(values[name])
        if (np.isfinite(lo) and v <= lo + tol) or (np.isfinite(hi) and v >= hi - tol):
            out.append(name)
    return tuple(out)


def bound_message(names: Iterable[str], detail: str) -> str:
    return (
        f"boundary fit: {', '.join(names)} at or near the bound of its range ({detail}); the bound, not the data, "
        "sets it, so this fit cannot confirm or reject a hypothesis"
    )


F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def quiet_numerics() -> Iterator[None]:
    """Overflow and similar floating-point events inside a fit are expected (an optimiser probing an
    extreme exponent) and handled by the fit's own checks; they must not reach the user as raw numpy
    or SciPy warnings. FitWarnings pass through."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", OptimizeWarning)
        yield


def quiet(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with quiet_numerics():
            return fn(*args, **kwargs)

    wrapper.quiet_numerics = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class AllocationFit(FitResultBase):
    """A fit of the compute-optimal allocation as two power laws of compute, with estimates a, b, a0, b0:
    N_opt = a0 * C^a and D_opt = b0 * C^b (the frontier and isoFLOP methods)."""

    @property
    def a(self) -> float:
        return self["a"]

    @property
    def b(self) -> float:
        return self["b"]

    @property
    def a_plus_b(self) -> float:
        return self["a"] + self["b"]

    def n_opt(self, C):
        return self["a0"] * np.asarray(C, float) ** self["a"]

    def d_opt(self, C):
        return self["b0"] * np.asarray(C, float) ** self["b"]


# ---------------------------------------------------------------------------------------------
# Log-log line fits: log y = log y0 + slope * log x, one fit or many (bootstrap) at once.
# ---------------------------------------------------------------------------------------------


def loglog_lines_batched(
    lx: np.ndarray, ly: np.ndarray, valid: np.ndarray, min_points: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Many least-squares lines at once. lx: (G,) shared abscissae; ly: (K, G) ordinates; valid:
    (K, G) mask. Returns (slope, intercept) arrays of shape (K,), NaN where fewer than
    `min_points` points are valid or all valid x coincide."""
    v = valid.astype(float)
    n = v.sum(1)
    ly0 = np.where(valid, ly, 0.0)
    sx = v @ lx
    sy = ly0.sum(1)
    sxx = v @ (lx * lx)
    sxy = ly0 @ lx
    den = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * sxy - sx * sy) / den
        intercept = (sy - slope * sx) / n
    bad = (n < min_points) | (np.abs(den) <= 1e-12 * np.maximum(n * sxx, 1e-300))
    slope[bad] = np.nan
    intercept[bad] = np.nan
    return slope, intercept
