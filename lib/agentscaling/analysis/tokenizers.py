"""What notebooks/02_tokenizers.ipynb shows: one frame tokenizer per compression level, trained (or
found) on the arena data of notebook 01 as data preparation (agentscaling.prepare), compared on the
same held-out frames."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import presets
from ..action_space import ACTION_DIMS
from ..data.dataset import TrajectoryDataset
from ..executors import resolve_device
from ..prepare import tokenizers
from ..studies import TokenData
from ..tokenize.train_vq import EVAL_SEED, evaluate_tokenizer, heldout_pool

LEVELS = (16, 64, 256)
TABLE_COLUMNS = [
    "tokens_per_frame",
    "grid",
    "codebook_size",
    "tokens_per_step",
    "bits_per_frame",
    "psnr",
    "usage",
    "codes_used",
    "perplexity",
    "reencode_agreement",
    "encode_fps",
    "n_params",
    "train_wall_s",
]


def compare_levels(
    dataset: TrajectoryDataset,
    levels: Sequence[int],
    preset: str | presets.Preset,
    workers: int | None = None,
    n_examples: int = 6,
) -> tuple[pd.DataFrame, dict]:
    """Train (or load) one tokenizer per level with the preset's settings and evaluate each on the same
    held-out frames.

    workers: processes that train the missing tokenizers side by side (None: the preset's training
    workers, two on a 2-core CPU). Returns (table, examples): one row per level (PSNR, codebook
    usage, perplexity, tokens per step = k + 16 action tokens, bits per frame = k·log2 V, ...) and a
    dict holding the same `n_examples` held-out frames ("original") and each level's reconstructions
    of them (keyed by k)."""
    p = presets.get(preset)
    workers = p.default_workers(resolve_device(p.device)) if workers is None else int(workers)
    specs = [TokenData(dataset=p.data.arena, tokens_per_frame=int(k), tokenizer=p.tokenizer) for k in levels]
    toks = tokenizers(specs, dataset, workers=workers)
    shown = heldout_pool(dataset).fixed_sample(n_examples, seed=EVAL_SEED + 1)
    rows, examples = [], {"original": shown}
    for k in levels:
        tok = toks[int(k)]
        m = evaluate_tokenizer(tok, dataset, max_frames=p.tokenizer.eval_frames)
        stored = tok.path / "tokenizer.json"
        m["train_wall_s"] = json.loads(stored.read_text()).get("train_wall_s") if stored.exists() else None
        m["tokens_per_step"] = int(k) + ACTION_DIMS
        m["hash"], m["path"] = tok.hash, str(tok.path)
        rows.append(m)
        examples[int(k)] = tok.decode(tok.encode(shown))
    table = pd.DataFrame(rows)
    return table[TABLE_COLUMNS + [c for c in table.columns if c not in TABLE_COLUMNS]], examples


def check_levels(table: pd.DataFrame, min_usage: float = 0.5) -> list[str]:
    """The acceptance checks on a compare_levels table; returns the failures (empty = pass): every
    level uses more than `min_usage` of its codebook, and PSNR rises with tokens per frame."""
    fails = []
    t = table.sort_values("tokens_per_frame")
    for _, r in t.iterrows():
        if not r["usage"] > min_usage:
            fails.append(f"{int(r['tokens_per_frame'])} tokens/frame: codebook usage {r['usage']:.2f} ≤ {min_usage}")
    ps = t["psnr"].to_numpy(dtype=float)
    if len(ps) > 1 and not np.all(np.diff(ps) > 0):
        fails.append(f"PSNR does not rise with tokens per frame: {np.round(ps, 2).tolist()}")
    return fails


def summary_numbers(table: pd.DataFrame) -> dict[str, Any]:
    """Per level: the numbers the notebook's summary keeps."""
    keep = [
        "psnr",
        "usage",
        "codes_used",
        "perplexity",
        "codebook_size",
        "tokens_per_step",
        "bits_per_frame",
        "reencode_agreement",
        "encode_fps",
        "n_params",
        "train_wall_s",
        "hash",
    ]
    return {str(int(r["tokens_per_frame"])): {k: r[k] for k in keep if k in r} for _, r in table.iterrows()}
