"""The one verdict rule. Every notebook and the report's summary judge the paper's claims with it.

A value claim (our coefficient against the paper's):
    agrees          the 95 % interval contains the paper's value and its half-width is at most 0.10
    disagrees       the interval excludes the paper's value
    inconclusive    otherwise: the interval contains it but is too wide to tell it from a rival value

An ordering claim (the paper's direction between two coefficients, from the bootstrap):
    holds           P(paper's direction) >= 0.95
    reversed        P(paper's direction) <= 0.05
    inconclusive    otherwise

A fit that is not identified (a point estimate outside its own interval, an exponent at a bound or
not in (0, 1), fewer than 3 models on a frontier, no interval at all) gives "not identified" and
never enters a verdict; a study whose design at a preset cannot measure the coefficient at all (with
the evidence, `Ladder.not_measurable`) gives "not measurable at this preset". Labels always follow the
paper's direction."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

HALF_WIDTH_MAX = 0.10  # an interval wider than ±0.10 cannot tell the paper's a from its rivals (0.49 vs 0.62)
P_HOLDS = 0.95
MIN_FRONTIER_MODELS = 3

AGREES, DISAGREES, INCONCLUSIVE = "agrees", "disagrees", "inconclusive"
HOLDS, REVERSED = "holds", "reversed"
NOT_IDENTIFIED, NOT_TESTED = "not identified", "not tested"
NOT_MEASURABLE = "not measurable at this preset"


@dataclass(frozen=True)
class Verdict:
    label: str  # one of the labels above
    detail: str = ""  # e.g. "± 0.19", "P = 0.71", or why a fit is not identified

    def __str__(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label


def _finite(*xs: Any) -> bool:
    return all(x is not None and isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def identification(fit: Any, name: str = "a") -> list[str]:
    """Why a fit's coefficient `name` cannot be trusted (empty: identified). Reads the fit's estimate
    and interval, any bounds the fit reports as active, and a frontier's models."""
    reasons: list[str] = []
    est = fit.estimates.get(name) if hasattr(fit, "estimates") else None
    if est is None:
        return [f"the fit has no coefficient {name!r}"]
    v, lo, hi = est.value, est.lo, est.hi
    if not _finite(v):
        return [f"{name} is not a number"]
    if not _finite(lo, hi):
        reasons.append("no interval")
    elif not lo <= v <= hi:
        reasons.append(f"the estimate {v:.2f} lies outside its own interval [{lo:.2f}, {hi:.2f}]")
    if name in ("a", "b") and not 0.0 < v < 1.0:
        reasons.append(f"{name} = {v:.2f} is not an exponent in (0, 1)")
    bounds = getattr(fit, "at_bounds", None) or getattr(fit, "active_bounds", None) or ()
    if bounds:
        reasons.append("at a bound: " + ", ".join(map(str, bounds)))
    models = getattr(fit, "models_on_frontier", None)
    if models is not None and len(models) < MIN_FRONTIER_MODELS:
        reasons.append(f"{len(models)} model size(s) on the frontier (< {MIN_FRONTIER_MODELS})")
    return reasons


def value_verdict(
    ours: float | None,
    lo: float | None,
    hi: float | None,
    paper: float | None,
    not_identified: list[str] | tuple[str, ...] = (),
) -> Verdict:
    """Our value (95 % interval [lo, hi]) against the paper's."""
    if not_identified:
        return Verdict(NOT_IDENTIFIED, "; ".join(not_identified))
    if paper is None or not _finite(ours):
        return Verdict(NOT_TESTED, "no value to compare")
    if not _finite(lo, hi):
        return Verdict(NOT_IDENTIFIED, "no interval")
    half = (hi - lo) / 2.0
    if not lo <= paper <= hi:
        return Verdict(DISAGREES, f"the interval [{lo:.2f}, {hi:.2f}] excludes {paper:g}")
    if half <= HALF_WIDTH_MAX:
        return Verdict(AGREES, f"± {half:.2f}")
    return Verdict(INCONCLUSIVE, f"± {half:.2f}")


def ordering_verdict(p_paper_direction: float | None, not_identified: list[str] | tuple[str, ...] = ()) -> Verdict:
    """The bootstrap probability of the paper's direction (e.g. P(a_first > a_second))."""
    if not_identified:
        return Verdict(NOT_IDENTIFIED, "; ".join(not_identified))
    if not _finite(p_paper_direction):
        return Verdict(NOT_TESTED, "no bootstrap")
    p = float(p_paper_direction)
    if p >= P_HOLDS:
        return Verdict(HOLDS, f"P = {p:.2f}")
    if p <= 1.0 - P_HOLDS:
        return Verdict(REVERSED, f"P = {p:.2f}")
    return Verdict(INCONCLUSIVE, f"P = {p:.2f}")


@dataclass(frozen=True)
class ClaimRow:
    """One row of the report's claims table (reports/<preset>/summary.json)."""

    study: str
    method: str
    quantity: str
    ours: float | None
    ci_low: float | None
    ci_high: float | None
    paper: float | str | None
    verdict: str
    note: str = ""
    notebook: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
