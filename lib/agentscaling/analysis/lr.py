"""The paper's learning-rate protocol (§5.4), automated: a grid on the smallest model, then each next
size swept down from the previous size's best (notebook 03)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import presets
from ..errors import UserError
from ..executors import resolve_device, worker_pool
from ..io import atomic_write_json
from ..prepare import prepare_studies
from ..presets import ARENA_LR
from ..store import summarize
from ..studies import get_study
from ..studies.agents import lr_sweep_study
from ..sweep.core import existing_runs, sweep
from .runs import resolve_store


def _final_loss(store: str, study, prepared) -> dict[str, tuple[str, float]]:
    out = {}
    for z, run in existing_runs(study, store, prepared):
        r = summarize(run)
        out[z.label] = (r["status"], float(r["final_loss"]) if r["final_loss"] is not None else float("nan"))
    return out


def lr_search(
    preset: str | presets.Preset,
    store=None,
    base_name: str = "wm-token-64",
    n_sizes: int = 2,
    max_tries: int = 3,
    workers: int | None = None,
    progress: bool = False,
    device: str | None = None,
) -> pd.DataFrame:
    """The paper's LR protocol, automated: the grid of the `lr-sweep` study on the base study's smallest
    model, then for each of the next `n_sizes - 1` sizes the previous size's best LR and successive halvings
    of it (at most `max_tries`), stopping when the loss stops improving. Every run lands in the store under
    "lr-sweep"; returns one row per run tried with the chosen LR per size marked (and written to
    <store>/lr-sweep/chosen.json)."""
    ctx = _Sweeper.open(preset, store, base_name, workers, progress, device)
    p, base = ctx.preset, ctx.base
    shapes = [z.shape for z in sorted(base.sizes, key=lambda z: base.counts(z)["N"])][:n_sizes]
    rows: list[dict[str, Any]] = []
    with worker_pool(ctx.workers) as executor:
        tried = ctx.trial(executor, shapes[0], p.ladders.lr_grid)
        rows += tried
        best = _best(tried)
        for shape in shapes[1:]:
            lr, prev_loss, here = best, float("inf"), []
            for _ in range(max_tries):
                r = ctx.trial(executor, shape, [lr])[0]
                here.append(r)
                if not (r["final_loss"] < prev_loss):
                    break
                prev_loss, lr = r["final_loss"], lr / 2.0
            rows += here
            best = _best(here)
    df = pd.DataFrame(rows)
    df["chosen"] = False
    for _, g in df.groupby("shape", sort=False):
        ok = g["final_loss"].notna()
        if ok.any():
            df.loc[g.loc[ok, "final_loss"].idxmin(), "chosen"] = True
    df["lr_rule"] = [ARENA_LR(n) for n in df["N"]]
    chosen = df[df["chosen"]][["shape", "N", "lr", "final_loss", "lr_rule"]].to_dict("records")
    atomic_write_json(
        Path(ctx.store) / "lr-sweep" / "chosen.json", {"preset": p.name, "base_study": base_name, "chosen": chosen}
    )
    return df


@dataclass(frozen=True)
class _Sweeper:
    """What every LR trial of a base study shares: the preset, device, store, workers and prepared data."""

    preset: presets.Preset
    device: str
    store: str
    workers: int
    base: Any
    prepared: Any
    progress: bool
    base_name: str

    @classmethod
    def open(cls, preset, store, base_name: str, workers, progress: bool, device) -> "_Sweeper":
        p = presets.get(preset)
        device = resolve_device(device or p.device)
        workers = p.default_workers(device) if workers is None else int(workers)
        base = get_study(base_name, p)
        prepared = prepare_studies([base], workers=p.data.workers)[base.name]
        return cls(p, device, resolve_store(store, p), workers, base, prepared, progress, base_name)

    def trial(self, executor, shape, lrs) -> list[dict[str, Any]]:
        """Train `shape` at each LR (the lr-sweep study's shorter runs); one row per LR."""
        st = lr_sweep_study(self.preset, shape, tuple(float(x) for x in lrs), self.base_name)
        sweep(
            st,
            self.store,
            executor=executor,
            progress=self.progress,
            device=self.device,
            prepared={st.name: self.prepared},
        )
        res = _final_loss(self.store, st, self.prepared)
        out = []
        for z in st.sizes:
            status, loss = res.get(z.label, ("missing", float("nan")))
            ok = status == "done" and np.isfinite(loss)
            out.append(
                {
                    "shape": shape.label,
                    "N": st.counts(z)["N"],
                    "lr": z.lr,
                    "status": status,
                    "final_loss": loss if ok else float("nan"),
                }
            )
        return out


def _best(rows: list[dict[str, Any]]) -> float:
    ok = [r for r in rows if np.isfinite(r["final_loss"])]
    if not ok:
        raise UserError("every run of the LR sweep diverged or failed; lower the grid")
    return float(min(ok, key=lambda r: r["final_loss"])["lr"])


def lr_rule_check(
    preset: str | presets.Preset,
    store=None,
    base_name: str = "wm-token-64",
    factors: tuple[float, ...] = (0.5, 1.0, 2.0),
    workers: int | None = None,
    progress: bool = False,
    device: str | None = None,
) -> pd.DataFrame:
    """The learning-rate rule at the far end of the ladder, where it extrapolates most: the base study's
    largest model trained at the rule's LR times each of `factors` (the lr-sweep's shorter runs). One row
    per LR with its loss's excess over the best tried; `rule_is_best` marks whether the rule's own LR won
    and `best_at_edge` whether the best LR is an end of the tried range (then the optimum lies beyond it)."""
    ctx = _Sweeper.open(preset, store, base_name, workers, progress, device)
    largest = max(ctx.base.sizes, key=lambda z: ctx.base.counts(z)["N"])
    with worker_pool(ctx.workers) as executor:
        rows = ctx.trial(executor, largest.shape, [largest.lr * f for f in factors])
    for f, r in zip(factors, rows):
        r["x rule"] = f
    df = pd.DataFrame(rows)
    best = df["final_loss"].min()
    df["excess over best (%)"] = 100.0 * (df["final_loss"] / best - 1.0)
    i_best = df["final_loss"].idxmin() if df["final_loss"].notna().any() else None
    df["rule_is_best"] = i_best is not None and float(df.loc[i_best, "x rule"]) == 1.0
    df["best_at_edge"] = i_best is not None and i_best in (df.index[0], df.index[-1])
    return df
