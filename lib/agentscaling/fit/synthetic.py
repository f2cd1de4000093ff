"""Synthetic sweeps from a known law, for recovery tests and demos (simulation mode).

`sweep_curves` samples like a real sweep: several model sizes, each logged along its training curve
(log-spaced in tokens) from early in training to past its compute-optimal point, with
multiplicative noise L * exp(sigma * eps). `isoflop_design` samples Chinchilla's Approach 2 design:
at each budget, sizes spread around the optimum (centred or off-centre), one final-loss point per
run; or the same sizes at every budget (checkpoints of one run per size at fixed FLOP budgets, as in
published agent-scaling sweeps), where the optimum travels across the grid and the profiles are
lopsided. Either can follow a compute convention other than 6ND.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .law import SIX_ND, ComputeConvention, ParametricLaw


def sweep_curves(
    law: ParametricLaw,
    sizes,
    *,
    points_per_run: int = 40,
    start_fraction: float = 0.05,
    past_optimal: float = 8.0,
    noise: float = 0.0,
    seed: int | None = 0,
) -> pd.DataFrame:
    """One run per size N, logged at `points_per_run` token counts log-spaced from
    start_fraction * D_opt(N) to past_optimal * D_opt(N), where D_opt(N) is the token count at which
    N is compute-optimal under `law`. Columns: run_id, N, D, C (= 6ND), loss."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, N in enumerate(np.asarray(sizes, float)):
        c_star = 6.0 * (N / law.G) ** (1.0 / law.a)  # the C at which N is optimal
        d_star = c_star / (6.0 * N)
        D = np.geomspace(start_fraction * d_star, past_optimal * d_star, points_per_run)
        L = law.loss(N, D) * np.exp(noise * rng.standard_normal(D.size))
        rows.append(pd.DataFrame({"run_id": f"N{N:.3g}", "N": N, "D": D, "C": 6.0 * N * D, "loss": L}))
    return pd.concat(rows, ignore_index=True)


def isoflop_design(
    law: ParametricLaw,
    budgets,
    *,
    sizes_per_budget: int = 9,
    span: float = 8.0,
    offset: float = 1.0,
    sizes=None,
    convention: ComputeConvention = SIX_ND,
    runs: str = "point",
    noise: float = 0.0,
    seed: int | None = 0,
) -> pd.DataFrame:
    """At each budget C, `sizes_per_budget` sizes log-spaced over [N*/sqrt(span), N*·sqrt(span)]
    times `offset` (offset != 1 samples off-centre), N* = N_opt(C) under `convention`; or, with
    `sizes`, those sizes at every budget. D = C / (c N^gamma) (C = 6ND by default). Loss
    L * exp(noise * eps). runs: "point" (each point its own run) or "size" (one run per size, its
    points being checkpoints at the budgets). Columns: run_id, N, D, C, budget (= C), loss."""
    if runs not in ("point", "size"):
        raise ValueError("runs must be 'point' or 'size'")
    rng = np.random.default_rng(seed)
    rows = []
    for C in np.asarray(budgets, float):
        if sizes is None:
            n_star = float(law.n_opt(C, convention)) * offset
            N = np.geomspace(n_star / np.sqrt(span), n_star * np.sqrt(span), sizes_per_budget)
        else:
            N = np.asarray(sizes, float)
        D = convention.tokens(N, C)
        L = law.loss(N, D) * np.exp(noise * rng.standard_normal(N.size))
        ids = [f"N{n:.4g}" if runs == "size" else f"C{C:.3g}-N{n:.4g}" for n in N]
        rows.append(pd.DataFrame({"run_id": ids, "N": N, "D": D, "C": C, "budget": C, "loss": L}))
    return pd.concat(rows, ignore_index=True)
