"""Running a notebook's studies and accounting for what they cost: prepare the data, sweep every run
(finished runs are reused, interrupted ones resume), then per-run epochs and per-study wall time; the
per-study plan tables of docs/studies.md."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..action_space import ACTION_DIMS
from ..data.dataset import TrajectoryDataset, split_of_match
from ..executors import cluster_address, resolve_device, worker_pool
from ..paths import default_store
from ..prepare import prepare_studies, stage_timings
from ..presets import ArenaSpec
from ..store import run_summaries
from ..studies import Study, get_study
from ..sweep.calibrate import run_cost
from ..sweep.core import sweep_studies


def resolve_store(store, preset: str | presets.Preset) -> str:
    """`store`, or the preset's default run store (runs/<preset>)."""
    return str(store) if store else str(default_store(presets.get(preset).name))


def run_studies(
    names: Iterable[str],
    preset: str | presets.Preset,
    store=None,
    workers: int | None = None,
    progress: bool = True,
    device: str | None = None,
) -> pd.DataFrame:
    """Prepare the studies' data, then sweep them; one row per run with its status.

    Studies with several sizes go to `workers` 1-thread processes (None: the preset's default, two on
    a 2-core CPU) sharing one pool, longest runs first; a single-size study (the extrapolation run)
    trains in this process at torch's full thread count, since one 1-thread worker would leave the
    other core idle. On a Dask cluster (executors.dask_cluster) every run goes to the cluster."""
    p = presets.get(preset)
    device = resolve_device(device or p.device)
    workers = p.default_workers(device) if workers is None else int(workers)
    studies = [get_study(name, p) for name in names]
    prepared = prepare_studies(studies, workers=p.data.workers)
    store = resolve_store(store, p)
    results: dict[str, list[dict]] = {}
    if cluster_address():
        pooled = studies
    else:
        pooled = [st for st in studies if len(st.sizes) > 1] if workers > 1 else []
    if pooled:
        with worker_pool(workers) as executor:
            for r in sweep_studies(
                pooled,
                store,
                executor=executor,
                progress=progress,
                device=device,
                cost=run_cost(threads=1, device=device),
                prepared=prepared,
            ):
                results.setdefault(r["study"], []).append(r)
    for st in studies:
        if st.name not in results:
            results[st.name] = sweep_studies([st], store, progress=progress, device=device, prepared=prepared)
    return pd.DataFrame(
        [
            {k: r.get(k) for k in ("study", "size", "status", "final_loss", "message")}
            for st in studies
            for r in results[st.name]
        ]
    )


def prepare_data(names: Iterable[str], preset: str | presets.Preset, progress: bool = False) -> pd.DataFrame:
    """Make (or find) the data every named study trains on (arena data, tokenizers, token caches); the
    measured wall time of each preparation stage."""
    p = presets.get(preset)
    studies = [get_study(name, p) for name in names]
    prepare_studies(studies, workers=p.data.workers, progress=progress)
    return stage_timings(studies)


def epochs_table(store, names: Iterable[str], preset: str | presets.Preset) -> pd.DataFrame:
    """Per run: size, N, D, epochs over the training split, final losses (repetition is visible)."""
    rows = [r for n in names for r in run_summaries(resolve_store(store, preset), n)]
    cols = ["study", "size", "status", "N", "D", "C", "epochs", "final_train_loss", "final_val_loss", "wall_s"]
    df = pd.DataFrame(rows)[cols] if rows else pd.DataFrame(columns=cols)
    df["beyond 4 epochs"] = df["epochs"].astype(float) > 4.0  # the paper's "infinite data" bound
    return df


def wall_times(store, names: Iterable[str], preset: str | presets.Preset) -> pd.DataFrame:
    """Measured training wall time per study (sum over every run in its directory of the store), runs,
    and the largest number of epochs."""
    rows = []
    for n in names:
        rs = run_summaries(resolve_store(store, preset), n)
        if not rs:
            continue
        wall = [r["wall_s"] for r in rs if r["wall_s"] is not None]
        ep = [r["epochs"] for r in rs if r["epochs"] is not None]
        rows.append(
            {
                "study": n,
                "runs": len(rs),
                "done": sum(r["status"] == "done" for r in rs),
                "train_wall_s": float(np.sum(wall)) if wall else float("nan"),
                "max_epochs": float(np.max(ep)) if ep else float("nan"),
                "beyond 4 epochs": bool(ep and np.max(ep) > 4.0),
            }
        )
    return pd.DataFrame(rows, columns=["study", "runs", "done", "train_wall_s", "max_epochs", "beyond 4 epochs"])


def _train_inputs(study: Study) -> float:
    """Inputs in the training split of the study's data: for arena data from its spec alone (matches are
    whole, 8 players each, split 80/10/10 by match), for a dataset of your own from its episodes."""
    spec = study.data.dataset
    if isinstance(spec, ArenaSpec):
        n_matches = -(-spec.frames // (8 * spec.episode_steps))
        frames = sum(8 * spec.episode_steps for m in range(n_matches) if split_of_match(m) == "train")
    else:
        episodes = TrajectoryDataset(spec.path).episodes
        frames = int(episodes.loc[episodes["split"] == "train", "length"].sum())
    per_frame = 1 if study.cnn is not None else study.data.tokens_per_frame + ACTION_DIMS
    return float(frames * per_frame)


def plan_table(study: Study) -> pd.DataFrame:
    """What an arena study will train, per size: shape, N, LR, D, steps, C = 6ND, C with attention (and
    true convolution FLOPs for BC-CNN), inputs per update, context, and planned epochs over its
    training split."""
    df = pd.DataFrame(study.plan())
    df["epochs"] = df["D"] / _train_inputs(study)
    df["beyond 4 epochs"] = df["epochs"] > 4.0
    return df


def _seeds_text(s: Study) -> str:
    seeds = s.seeds or (s.seed,)
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))} (every size once per seed)"


def plan_markdown(names: Sequence[str], preset_names: Sequence[str] = ("smoke", "cpu", "gpu")) -> str:
    """docs/studies.md's per-study tables, generated from the study definitions (plan_table), so the
    documentation cannot drift from the code."""

    def fmt_row(r: pd.Series, has_conv: bool) -> str:
        ep = f"{r['epochs']:.2f}" + (" ⚠" if r["beyond 4 epochs"] else "")
        true = f" {r['C_true']:.2e} |" if has_conv else ""
        return (
            f"| {r['size']} | {r['shape']} | {int(r['N']):,} | {r['lr']:.2g} | {r['D']:.2e} | {int(r['steps']):,} "
            f"| {r['C']:.2e} | {r['C_attn']:.2e} |{true} {ep} |"
        )

    out = []
    for name in names:
        first = get_study(name, preset_names[0])
        out += [f"### `{name}`", "", first.description, ""]
        for preset in preset_names:
            s = get_study(name, preset)
            df = plan_table(s)
            has_conv = bool((df["conv_flops"] > 0).any())
            out += [
                f"**{preset}**: context {s.context} inputs, {s.tokens_per_update:,} inputs per update "
                f"({s.batch_size} sequences), {s.precision}, {_seeds_text(s)}, {s.val_sequences} held-out sequences, "
                f"{s.n_log} log points.",
                "",
            ]
            head = "| size | L-H-d | N | LR | D (inputs) | steps | C = 6ND | C with attention |"
            head += " C true (incl. convolutions) |" if has_conv else ""
            out += [head + " epochs |", "|" + "---|" * head.count("|")]
            out += [fmt_row(r, has_conv) for _, r in df.iterrows()]
            out.append("")
    return "\n".join(out)
