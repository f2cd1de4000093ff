"""What notebooks/01_data.ipynb shows: the arena dataset of a preset, action statistics per persona,
and the paper's App. A.3.1 data-budget arithmetic for our presets."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import presets
from ..action_space import ACTION_DIMS, ACTION_NVEC, action_dim_names
from ..data.arena.bots import PERSONAS
from ..data.arena.generate import generate_arena_dataset, simulate
from ..data.dataset import TrajectoryDataset, action_entropy_bits
from ..prepare import arena_dataset
from ..presets import ArenaSpec

PAPER_BUDGETS = {  # App. A.3.1 (frames at 10 Hz, tokens per step, example model size)
    "paper WM/BC-Token-540 (7 maps)": {"frames": 1.63e9, "tokens_per_step": 556, "n_params": 2e8},
    "paper WM-Token-256 (Sky Garden)": {"frames": 3.555e8, "tokens_per_step": 272, "n_params": 2e8},
    "paper BC-CNN (7 maps)": {"frames": 1.63e9, "tokens_per_step": 1, "n_params": 5e7},
}


def arena_spec(
    preset: str | presets.Preset, frames: int | None = None, size: int | None = None, seed: int | None = None
) -> ArenaSpec:
    """The preset's arena dataset (the one the token studies encode), with any of frames, size or seed
    changed."""
    spec = presets.get(preset).data.arena
    changes = {k: int(v) for k, v in (("frames", frames), ("size", size), ("seed", seed)) if v is not None}
    return replace(spec, **changes) if changes else spec


def dataset(
    preset: str | presets.Preset,
    frames: int | None = None,
    size: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    data_dir: str | Path | None = None,
    progress: bool = False,
) -> TrajectoryDataset:
    """The arena dataset of the preset (generated, or extended, first when needed): the token studies'
    dataset unless frames, size or seed change it; at `data_dir` instead of data/arena when given."""
    p = presets.get(preset)
    spec = arena_spec(p, frames, size, seed)
    workers = workers or p.data.workers
    if data_dir is None:
        return arena_dataset(spec, workers=workers, progress=progress)
    return generate_arena_dataset(
        data_dir,
        spec.frames,
        size=spec.size,
        seed=spec.seed,
        workers=workers,
        episode_steps=spec.episode_steps,
        progress=progress,
    )


def overview(ds: TrajectoryDataset) -> pd.DataFrame:
    """Frames, trajectories and matches per split and map."""
    eps = ds.episodes
    g = eps.groupby(["split", "map"]).agg(
        frames=("length", "sum"), trajectories=("episode_id", "size"), matches=("match", "nunique")
    )
    return g.reset_index()


def action_stats(ds: TrajectoryDataset, by: str = "persona") -> pd.DataFrame:
    """One row per (group, action dim): entropy in bits, its fraction of the maximum, and the mean
    (press rate for buttons, mean bucket for stick axes). Includes an "all" group."""
    names = action_dim_names(ds.action_nvec)
    groups = [("all", ds.episodes["episode_id"].tolist())]
    groups += [(str(k), g["episode_id"].tolist()) for k, g in ds.episodes.groupby(by, sort=True)]
    rows = []
    for gname, ids in groups:
        a = ds.all_actions(ids)
        ent = action_entropy_bits(a, ds.action_nvec)
        for d, (name, n) in enumerate(zip(names, ds.action_nvec)):
            rows.append(
                {
                    by: gname,
                    "dim": name,
                    "index": d,
                    "entropy_bits": float(ent[d]),
                    "max_bits": math.log2(n),
                    "entropy_frac": float(ent[d] / math.log2(n)),
                    "mean": float(a[:, d].mean()) if len(a) else float("nan"),
                    "frames": len(a),
                }
            )
    return pd.DataFrame(rows)


def simulated_action_stats(seed: int = 0, n_matches: int = 16, steps: int = 600) -> pd.DataFrame:
    """action_stats() of freshly simulated matches without rendering (fast: for tests and a larger
    sample than a small dataset holds). Matches use indices 0..n_matches-1 of `seed`."""
    acts = []
    _, setups = simulate(seed, list(range(n_matches)), None, steps, lambda t, f, a: acts.append(a.copy()))
    A = np.stack(acts, 1)  # [N, T, 16]
    pers = np.concatenate([s["personas"] for s in setups])
    names = action_dim_names(ACTION_NVEC)
    rows = []
    for gname, sel in [("all", np.ones(len(pers), bool))] + [(p, pers == k) for k, p in enumerate(PERSONAS)]:
        a = A[sel].reshape(-1, ACTION_DIMS)
        ent = action_entropy_bits(a, ACTION_NVEC)
        for d, (name, n) in enumerate(zip(names, ACTION_NVEC)):
            rows.append(
                {
                    "persona": gname,
                    "dim": name,
                    "index": d,
                    "entropy_bits": float(ent[d]),
                    "max_bits": math.log2(n),
                    "entropy_frac": float(ent[d] / math.log2(n)),
                    "mean": float(a[:, d].mean()) if len(a) else float("nan"),
                    "frames": len(a),
                }
            )
    return pd.DataFrame(rows)


def entropy_table(stats: pd.DataFrame, by: str = "persona", value: str = "entropy_bits") -> pd.DataFrame:
    """Wide view: groups as rows, action dims as columns (in controller order)."""
    order = stats.drop_duplicates("dim").sort_values("index")["dim"].tolist()
    return stats.pivot(index=by, columns="dim", values=value)[order].round(3)


def entropy_bounds_ok(stats: pd.DataFrame, lo: float = 0.02, hi: float = 0.95) -> pd.DataFrame:
    """Rows whose entropy fraction falls outside [lo, hi] (empty = every dim is neither trivially
    predictable nor noise)."""
    return stats[(stats["entropy_frac"] < lo) | (stats["entropy_frac"] > hi)]


def budget_table(
    preset_names: tuple[str, ...] = presets.NAMES,
    action_tokens: int = ACTION_DIMS,
    epochs: int = 4,
    flops_per_s: float = 1e11,
) -> pd.DataFrame:
    """Tokens per step, dataset tokens, tokens within `epochs` epochs, and the compute C = 6 N D
    those support for an example model size N, for the paper's datasets (reproducing App. A.3.1)
    and for our presets (tokenized WM/BC: d_z + 16 tokens per step; BC-CNN: 1 per step).
    `hours` is that compute at `flops_per_s` sustained (100 GFLOP/s ~ this 2-core machine)."""
    rows = []
    for name, p in PAPER_BUDGETS.items():
        rows.append(
            {"setting": name, "frames": p["frames"], "tokens_per_step": p["tokens_per_step"], "n_params": p["n_params"]}
        )
    for name in preset_names:
        d = presets.get(name).data
        rows.append(
            {
                "setting": f"ours {name}: WM/BC-Token",
                "frames": d.arena.frames,
                "tokens_per_step": d.budget_tokens_per_frame + action_tokens,
                "n_params": d.budget_n_params,
            }
        )
        rows.append(
            {
                "setting": f"ours {name}: BC-CNN",
                "frames": d.bccnn_arena.frames,
                "tokens_per_step": 1,
                "n_params": d.budget_n_params,
            }
        )
    df = pd.DataFrame(rows)
    df["dataset_tokens"] = df["frames"] * df["tokens_per_step"]
    df[f"tokens_{epochs}_epochs"] = df["dataset_tokens"] * epochs
    df["max_flops"] = 6 * df["n_params"] * df[f"tokens_{epochs}_epochs"]
    df["hours_at_machine_rate"] = df["max_flops"] / flops_per_s / 3600
    return df


def summary_numbers(ds: TrajectoryDataset, stats: pd.DataFrame) -> dict:
    allrows = stats[stats["persona"] == "all"]
    per = stats[stats["persona"] != "all"]
    return {
        "frames": ds.n_frames,
        "episodes": len(ds),
        "matches": int(ds.episodes["match"].nunique()),
        "maps": sorted(ds.episodes["map"].unique().tolist()),
        "dataset_hash": ds.hash,
        "entropy_bits_all": dict(zip(allrows["dim"], allrows["entropy_bits"].round(4))),
        "entropy_frac_min_per_persona": float(per["entropy_frac"].min()),
        "entropy_frac_max_per_persona": float(per["entropy_frac"].max()),
        "action_nvec": list(ACTION_NVEC),
    }
