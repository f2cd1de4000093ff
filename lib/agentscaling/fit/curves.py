"""Reading logged loss curves at chosen compute values (shared by the frontier and isoFLOP fits).

A run is only read at compute values it actually reached: C in [first logged C, last logged C].
Inside that range the loss is either interpolated linearly in log-log between the neighbouring
logged points (default) or taken from the logged point nearest in log C (what the first author's
public script does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .data import Points

READ_MODES = ("interpolate", "nearest")


@dataclass(frozen=True)
class RunCurves:
    """Per run (index r = run code): its N, label, first/last logged C, sorted log C / log loss, and
    its FLOPs per input C/D (median over its points; constant along a run in any convention where
    the cost of an input depends on the model only), which turns a compute value into tokens."""

    N: np.ndarray
    labels: tuple[str, ...]
    c_first: np.ndarray
    c_last: np.ndarray
    log_c: tuple[np.ndarray, ...]
    log_loss: tuple[np.ndarray, ...]
    flops_per_input: np.ndarray

    @property
    def n_runs(self) -> int:
        return len(self.N)

    @classmethod
    def from_points(cls, points: Points) -> "RunCurves":
        f = points.frame.sort_values(["run", "C"], kind="stable")
        Ns, labels, lc, ll, fpi = [], [], [], [], []
        for _, g in f.groupby("run", sort=True):
            c = g["C"].to_numpy(float)
            fpi.append(float(np.median(c / g["D"].to_numpy(float))))
            loss = g["loss"].to_numpy(float)
            # Several points at the same C (e.g. duplicate logs): average their log-loss.
            uc, inv = np.unique(c, return_inverse=True)
            if uc.size < c.size:
                loss = np.exp(np.bincount(inv, np.log(loss)) / np.bincount(inv))
                c = uc
            Ns.append(float(g["N"].iloc[0]))
            labels.append(str(g["run_label"].iloc[0]))
            lc.append(np.log(c))
            ll.append(np.log(loss))
        return cls(
            N=np.array(Ns),
            labels=tuple(labels),
            c_first=np.exp([x[0] for x in lc]),
            c_last=np.exp([x[-1] for x in lc]),
            log_c=tuple(lc),
            log_loss=tuple(ll),
            flops_per_input=np.array(fpi),
        )

    def mean_by_size(self, groups: np.ndarray) -> "RunCurves":
        """One curve per model size (`groups`: a size code per run): the geometric mean of its seeds'
        losses at every C where all of them were logged."""
        Ns, labels, lc, ll, fpi = [], [], [], [], []
        for g in range(int(np.max(groups)) + 1):
            members = np.flatnonzero(groups == g)
            lo = max(self.log_c[r][0] for r in members)
            hi = min(self.log_c[r][-1] for r in members)
            x = np.unique(np.concatenate([self.log_c[r] for r in members]))
            x = x[(x >= lo) & (x <= hi)]
            y = np.mean([np.interp(x, self.log_c[r], self.log_loss[r]) for r in members], axis=0)
            Ns.append(float(self.N[members[0]]))
            labels.append(f"N={self.N[members[0]]:.4g} ({members.size} seeds)")
            lc.append(x)
            ll.append(y)
            fpi.append(float(np.median(self.flops_per_input[members])))
        return RunCurves(
            N=np.array(Ns),
            labels=tuple(labels),
            c_first=np.exp([x[0] for x in lc]),
            c_last=np.exp([x[-1] for x in lc]),
            log_c=tuple(lc),
            log_loss=tuple(ll),
            flops_per_input=np.array(fpi),
        )

    def read(self, C: np.ndarray, mode: str = "interpolate", rel_tol: float = 0.0) -> np.ndarray:
        """(len(C), n_runs) losses at C; NaN where a run did not reach C. A run with a single logged
        point (an isoFLOP design: one final loss per run) counts at any C within rel_tol of its own."""
        if mode not in READ_MODES:
            raise UserError(f"read must be one of {READ_MODES}; got {mode!r}")
        lC = np.log(np.asarray(C, float))
        out = np.full((lC.size, self.n_runs), np.nan)
        for r in range(self.n_runs):
            x, y = self.log_c[r], self.log_loss[r]
            slack = np.log1p(rel_tol) if x.size == 1 else 0.0
            inside = (lC >= x[0] - slack) & (lC <= x[-1] + slack)
            if not inside.any():
                continue
            q = np.clip(lC[inside], x[0], x[-1])
            if mode == "interpolate" or x.size == 1:
                vals = np.interp(q, x, y) if x.size > 1 else np.full(q.size, y[0])
            else:
                j = np.searchsorted(x, q).clip(1, x.size - 1)
                j = np.where(np.abs(q - x[j - 1]) <= np.abs(x[j] - q), j - 1, j)
                vals = y[j]
            out[inside, r] = np.exp(vals)
        return out


def overlap_range(curves: RunCurves) -> tuple[float, float]:
    """Default compute range: where at least two curves coexist, i.e. from the second-smallest first
    logged C to the second-largest last logged C. (Each run is still only read where it was logged.)"""
    if curves.n_runs < 2:
        raise UserError("need at least two runs (loss curves) to find where curves overlap")
    lo = float(np.sort(curves.c_first)[1])
    hi = float(np.sort(curves.c_last)[-2])
    return lo, hi
