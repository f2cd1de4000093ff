"""What notebooks/02_tokenizers.ipynb shows: one tokenizer per compression level, trained (or loaded
from the run store) on the arena data of notebook 01, compared on the same held-out frames."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .train_vq import EVAL_SEED, _heldout_pool, evaluate_tokenizer, get_preset, train_tokenizer

LEVELS = (16, 64, 256)
ACTION_TOKENS = 16
TABLE_COLUMNS = ["tokens_per_frame", "grid", "codebook_size", "tokens_per_step", "bits_per_frame", "psnr", "usage",
                 "codes_used", "perplexity", "reencode_agreement", "encode_fps", "n_params", "train_wall_s"]


def notebook_dataset(preset: str, data_dir: str | Path | None = None, seed: int = 0, size: int = 64):
    """The arena dataset of notebook 01 at this preset (data/arena/<preset>-seed0-64px), generated if
    it is not there yet; or the dataset at `data_dir` (generated there at the preset's size if empty)."""
    from ..data.arena.analysis import default_data_dir, notebook_settings
    from ..data.arena.generate import generate_arena_dataset
    from ..data.dataset import MANIFEST, TrajectoryDataset

    path = Path(data_dir) if data_dir else default_data_dir(preset, seed, size)
    if (path / MANIFEST).exists():
        return TrajectoryDataset(path)
    cfg = notebook_settings(preset)
    return generate_arena_dataset(path, cfg["frames"], size=size, seed=seed, workers=cfg["workers"],
                                  episode_steps=cfg["episode_steps"])


def _train_level(root: str, tokens_per_frame: int, preset: str, store, seed: int, overrides: dict) -> str:
    """One level's tokenizer in a worker process (the dataset is reopened there from its root)."""
    from ..data.dataset import TrajectoryDataset

    return str(train_tokenizer(TrajectoryDataset(root), tokens_per_frame, preset=preset, store=store, seed=seed,
                               **overrides).path)


def train_levels(dataset, levels: Sequence[int], preset: str, store=None, seed: int = 0, workers: int = 1,
                 **overrides: Any) -> None:
    """Train the levels' tokenizers in `workers` 1-thread processes, most tokens per frame first (each
    run resumes or is found done as in train_tokenizer; the sequential loop after it only loads)."""
    from ..sweep import process_executor

    todo = sorted({int(k) for k in levels}, reverse=True)
    if workers <= 1 or len(todo) <= 1 or not hasattr(dataset, "root"):
        return
    with process_executor(min(workers, len(todo))) as ex:
        for fut in [ex.submit(_train_level, str(dataset.root), k, preset, store, seed, overrides) for k in todo]:
            fut.result()


def compare_levels(dataset, levels: Sequence[int] = LEVELS, preset: str = "smoke", store=None, seed: int = 0,
                   progress: bool = False, n_examples: int = 6, workers: int | None = None,
                   **overrides: Any) -> tuple[pd.DataFrame, dict]:
    """Train (or load) one tokenizer per level and evaluate each on the same held-out frames.

    workers: processes that train the missing tokenizers side by side (None: `sweep.resolve_workers`,
    2 on a 2-core CPU preset, 1 at smoke). Returns (table, examples): one row per level (PSNR, codebook
    usage, perplexity, tokens per step = k + 16 action tokens, bits per frame = k·log2 V, ...) and a
    dict holding the same `n_examples` held-out frames ("original") and each level's reconstructions
    of them (keyed by k)."""
    from ..sweep import resolve_workers

    train_levels(dataset, levels, preset, store, seed, resolve_workers(workers, preset), **overrides)
    rows, examples = [], {}
    shown = _heldout_pool(dataset, None).fixed_sample(n_examples, seed=EVAL_SEED + 1)
    examples["original"] = shown
    for k in levels:
        tok = train_tokenizer(dataset, int(k), preset=preset, store=store, seed=seed, progress=progress, **overrides)
        m = evaluate_tokenizer(tok, dataset, max_frames=overrides.get("eval_frames", get_preset(preset).eval_frames))
        stored = tok.path / "tokenizer.json"
        m["train_wall_s"] = json.loads(stored.read_text()).get("train_wall_s") if stored.exists() else None
        m["tokens_per_step"] = int(k) + ACTION_TOKENS
        m["hash"], m["path"] = tok.hash, str(tok.path)
        rows.append(m)
        examples[int(k)] = tok.decode(tok.encode(shown))
    table = pd.DataFrame(rows)
    return table[TABLE_COLUMNS + [c for c in table.columns if c not in TABLE_COLUMNS]], examples


def check_levels(table: pd.DataFrame, min_usage: float = 0.5) -> list[str]:
    """The issue's acceptance checks on a compare_levels table; returns the failures (empty = pass):
    every level uses more than `min_usage` of its codebook, and PSNR rises with tokens per frame."""
    fails = []
    t = table.sort_values("tokens_per_frame")
    for _, r in t.iterrows():
        if not r["usage"] > min_usage:
            fails.append(f"{int(r['tokens_per_frame'])} tokens/frame: codebook usage {r['usage']:.2f} ≤ {min_usage}")
    ps = t["psnr"].to_numpy(dtype=float)
    if len(ps) > 1 and not np.all(np.diff(ps) > 0):
        fails.append(f"PSNR does not rise with tokens per frame: {np.round(ps, 2).tolist()}")
    return fails


def levels_chart(table: pd.DataFrame):
    """PSNR and codebook usage against tokens per frame (log x)."""
    import altair as alt

    df = table[["tokens_per_frame", "psnr", "usage", "perplexity", "bits_per_frame"]].copy()
    x = alt.X("tokens_per_frame:Q", scale=alt.Scale(type="log", base=2), title="tokens per frame")
    base = alt.Chart(df).encode(x=x, tooltip=list(df.columns))
    psnr = (base.mark_line(point=True).encode(y=alt.Y("psnr:Q", title="held-out PSNR (dB)", scale=alt.Scale(zero=False)))
            .properties(width=260, height=200, title="Reconstruction"))
    usage = (base.mark_line(point=True, color="#e45756")
             .encode(y=alt.Y("usage:Q", title="codebook usage (fraction)", scale=alt.Scale(domain=[0, 1])))
             .properties(width=260, height=200, title="Codebook health"))
    rule = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    return alt.hconcat(psnr, usage + rule)


def summary_numbers(table: pd.DataFrame) -> dict[str, Any]:
    """Per level: the numbers the notebook's summary keeps."""
    keep = ["psnr", "usage", "codes_used", "perplexity", "codebook_size", "tokens_per_step", "bits_per_frame",
            "reencode_agreement", "encode_fps", "n_params", "train_wall_s", "hash"]
    return {str(int(r["tokens_per_frame"])): {k: r[k] for k in keep if k in r} for _, r in table.iterrows()}
