"""Data preparation for the world-modelling and behaviour-cloning studies, per preset, cached and reused.

    arena dataset (64 px)  ──► one frame tokenizer per tokens-per-frame level ──► token caches
    arena dataset (32 px)  ──► BC-CNN frames (read straight from the memory-mapped shards)

* The 64 px arena dataset is notebook 01's (data/arena/<preset>-seed0-64px at that notebook's frame
  count), so notebooks 01–07 share one generation; the `gpu`/`paper` presets use their own, larger
  directory (see PIPELINE). Generation resumes and is skipped when finished.
* Tokenizers are trained by `agentscaling.tokenize.train_tokenizer` on that dataset with the
  tokenizer preset of the same name, into the run store `runs/<preset>` (`<store>/tokenizers/`, the
  same runs notebook 02 makes, reused by hash). They do not go to a study's own store: a tokenizer is
  data preparation shared by every study of a preset.
* Token caches (`agentscaling.tokenize.encode_dataset`, keyed by dataset hash and tokenizer hash)
  cover the *token dataset*: at `cpu` the first `token_matches` matches of the arena dataset only
  (`DatasetSubset`, an adapter that gives encode_dataset and SequenceBuilder the interface of a
  TrajectoryDataset with a hash of its own), because the token studies need ~60k frames and encoding
  all 200k frames at three levels would cost more than training some ladders.
* BC-CNN reads frames of a second arena dataset rendered directly at 32 px (same seed, so the same
  matches): one frame per input means its D reaches hundreds of thousands of frames, so frames are
  small and are never held in memory — batches read their windows from the memory-mapped shards.

Every stage is guarded by a file lock (parallel sweep workers wait for one another instead of
duplicating work) and records its wall time in data/cache/pipeline/<preset>.json when it actually
ran, so docs/studies.md can quote measured stage timings.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .errors import UserError
from .io import atomic_write_json, file_lock, read_json
from .paths import CACHE_DIR, DATA_DIR, default_store

# preset -> where the data comes from and how much of it the token studies use
PIPELINE: dict[str, dict[str, Any]] = {
    # notebook 01's smoke dataset: 8,000 frames in 10 matches of 100 steps; all of it is encoded
    "smoke": {"arena_dir": "smoke-seed0-64px", "frames": 8_000, "episode_steps": 100, "workers": 1,
              "token_matches": None, "bccnn_frames": 8_000, "bccnn_size": 32},
    # notebook 01's cpu dataset (21 matches of 2 min, 201,600 frames: 161,280 train / 19,200 val /
    # 21,120 test), all of it encoded (the extrapolation run needs 3.6 epochs of it); BC-CNN gets 28
    # matches at 32 px
    "cpu": {"arena_dir": "cpu-seed0-64px", "frames": 200_000, "episode_steps": 1200, "workers": 2,
            "token_matches": None, "bccnn_frames": 268_800, "bccnn_size": 32},
    # one GPU machine (64 GiB disk): 2M frames at 64 px are 24.6 GB; BC-CNN frames at 32 px (3 KB each)
    "gpu": {"arena_dir": "gpu-seed0-64px", "frames": 2_000_000, "episode_steps": 1200, "workers": 16,
            "token_matches": None, "bccnn_frames": 8_000_000, "bccnn_size": 32},
}
PIPELINE["paper"] = PIPELINE["gpu"]


def settings(preset: str) -> dict[str, Any]:
    if preset not in PIPELINE:
        raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PIPELINE)}")
    return PIPELINE[preset]


# ------------------------------------------------------------------------------------------------
# bookkeeping: locks and stage timings
# ------------------------------------------------------------------------------------------------
def _pipeline_dir() -> Path:
    d = CACHE_DIR / "pipeline"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _lock(name: str):
    return file_lock(_pipeline_dir() / f".{name}.lock")


def _record(preset: str, stage: str, wall_s: float, **info: Any) -> None:
    path = _pipeline_dir() / f"{preset}.json"
    with _lock(f"{preset}-timings"):
        data = read_json(path) if path.exists() else {}
        data[stage] = {"wall_s": round(wall_s, 2), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), **info}
        atomic_write_json(path, data)


def stage_timings(preset: str) -> pd.DataFrame:
    """Measured wall time of every data-preparation stage that has run for this preset."""
    path = _pipeline_dir() / f"{preset}.json"
    data = read_json(path) if path.exists() else {}
    rows = [{"stage": k, **v} for k, v in data.items()]
    return pd.DataFrame(rows, columns=["stage", "wall_s", "finished"] + sorted(
        {c for r in rows for c in r} - {"stage", "wall_s", "finished"}))


# ------------------------------------------------------------------------------------------------
# datasets
# ------------------------------------------------------------------------------------------------
def _generate(preset: str, path: Path, frames: int, size: int, stage: str):
    from .data.arena.generate import generate_arena_dataset
    from .data.dataset import MANIFEST, TrajectoryDataset

    cfg = settings(preset)
    with _lock(path.name):
        if (path / MANIFEST).exists():
            ds = TrajectoryDataset(path)
            if ds.n_frames >= frames:
                return ds
        t0 = time.perf_counter()
        ds = generate_arena_dataset(path, frames, size=size, seed=0, workers=cfg["workers"],
                                    episode_steps=cfg["episode_steps"])
        _record(preset, stage, time.perf_counter() - t0, frames=ds.n_frames, path=str(path))
        return ds


def arena_dataset(preset: str):
    """The 64 px arena dataset of this preset (generated on first use; notebook 01's at smoke/cpu)."""
    cfg = settings(preset)
    return _generate(preset, DATA_DIR / "arena" / cfg["arena_dir"], cfg["frames"], 64, "generate arena 64px")


def prepare_frames(preset: str, size: int | None = None):
    """The arena dataset BC-CNN reads, rendered at `size` px (default the preset's bccnn_size)."""
    cfg = settings(preset)
    size = int(size or cfg["bccnn_size"])
    path = DATA_DIR / "arena" / f"{preset}-seed0-{size}px-bccnn"
    return _generate(preset, path, cfg["bccnn_frames"], size, f"generate arena {size}px (BC-CNN)")


class DatasetSubset:
    """The episodes of some matches of a TrajectoryDataset, with the interface `encode_dataset`,
    `open_cache` and `SequenceBuilder.from_cache` use (manifest with hash/n_frames/action_nvec,
    episodes, frames, actions, split_ids). Its hash is derived from the parent's hash and the
    episode list, so its token caches never collide with the full dataset's."""

    def __init__(self, parent, matches: Sequence[int]):
        self.parent = parent
        self.root = parent.root
        keep = parent.episodes["match"].isin(list(matches))
        self.episodes = parent.episodes[keep].reset_index(drop=True)
        if self.episodes.empty:
            raise UserError(f"no episodes of matches {list(matches)[:5]}… in {parent.root}")
        ids = [int(e) for e in self.episodes["episode_id"]]
        h = hashlib.sha256(json.dumps({"parent": parent.hash, "episodes": ids}).encode()).hexdigest()
        self.manifest = {"hash": h, "n_frames": int(self.episodes["length"].sum()),
                         "action_nvec": list(parent.action_nvec), "frame_shape": list(parent.frame_shape),
                         "parent_hash": parent.hash, "matches": sorted(int(m) for m in set(self.episodes["match"]))}
        self.frame_shape = parent.frame_shape
        self.action_nvec = parent.action_nvec

    @property
    def hash(self) -> str:
        return self.manifest["hash"]

    @property
    def n_frames(self) -> int:
        return self.manifest["n_frames"]

    def frames(self, episode_id: int):
        return self.parent.frames(episode_id)

    def actions(self, episode_id: int):
        return self.parent.actions(episode_id)

    def split_ids(self, split: str) -> list[int]:
        return [int(e) for e in self.episodes.loc[self.episodes["split"] == split, "episode_id"]]

    def __len__(self) -> int:
        return len(self.episodes)

    def __repr__(self) -> str:
        return f"DatasetSubset({str(self.root)!r}, matches={self.manifest['matches']}, frames={self.n_frames})"


def token_dataset(preset: str):
    """The dataset the token studies are encoded from (a match subset at cpu, else the whole set)."""
    ds = arena_dataset(preset)
    n = settings(preset)["token_matches"]
    if n is None:
        return ds
    matches = sorted(int(m) for m in ds.episodes["match"].unique())[:n]
    return DatasetSubset(ds, matches)


# ------------------------------------------------------------------------------------------------
# tokenizers and token caches
# ------------------------------------------------------------------------------------------------
def tokenizer_store(preset: str) -> Path:
    return default_store(preset)


def prepare_tokenizer(preset: str, tokens_per_frame: int):
    """The frozen frame tokenizer of this preset and level (trained once; notebook 02's runs)."""
    from .tokenize.train_vq import open_tokenizer_run, train_tokenizer
    from .tokenize.vqvae import TOKENIZER_FILE, load_tokenizer

    ds = arena_dataset(preset)
    run, _ = open_tokenizer_run(ds, tokens_per_frame, preset, tokenizer_store(preset))
    if run.status == "done" and (run.path / TOKENIZER_FILE).exists():
        return load_tokenizer(run.path)
    with _lock(f"tokenizer-{preset}-{tokens_per_frame}"):
        t0 = time.perf_counter()
        was_done = run.status == "done" and (run.path / TOKENIZER_FILE).exists()
        tok = train_tokenizer(ds, tokens_per_frame, preset=preset, store=tokenizer_store(preset))
        if not was_done:
            _record(preset, f"tokenizer {tokens_per_frame}", time.perf_counter() - t0, path=str(run.path))
        return tok


@dataclass
class TokenData:
    preset: str
    tokens_per_frame: int
    dataset: Any             # TrajectoryDataset or DatasetSubset
    cache: Any               # agentscaling.tokenize.TokenCache
    tokenizer_hash: str
    tokenizer_path: str

    def describe(self) -> dict[str, Any]:
        return {"tokens_per_frame": self.tokens_per_frame, "dataset_hash": self.dataset.hash,
                "dataset_root": str(self.dataset.root), "token_cache": str(self.cache.path),
                "tokenizer_hash": self.tokenizer_hash, "tokenizer_path": self.tokenizer_path,
                "codebook_size": self.cache.codebook_size, "n_frames": self.cache.n_frames,
                "matches": self.dataset.manifest.get("matches")}


def prepare_tokens(preset: str, tokens_per_frame: int) -> TokenData:
    """Dataset, tokenizer and verified token cache for one tokens-per-frame level (each made once)."""
    from .tokenize.cache import cache_key, default_cache_dir, encode_dataset, open_cache, CacheInvalid

    tok = prepare_tokenizer(preset, tokens_per_frame)
    ds = token_dataset(preset)
    path = default_cache_dir() / cache_key(ds.hash, tok.hash)
    with _lock(f"tokens-{path.name}"):
        try:
            cache = open_cache(path, ds, tok.hash)
        except CacheInvalid:
            t0 = time.perf_counter()
            cache = encode_dataset(ds, tok)
            _record(preset, f"encode {tokens_per_frame}", time.perf_counter() - t0, frames=cache.n_frames,
                    path=str(cache.path))
    return TokenData(preset, int(tokens_per_frame), ds, cache, tok.hash, str(tok.path))


def prepare(preset: str, levels: Sequence[int] = (16, 64, 256), bccnn: bool = True) -> pd.DataFrame:
    """Everything the agent studies of a preset need, made (or found) in order; returns the stage
    timings table (stages that ran now or earlier)."""
    arena_dataset(preset)
    for k in levels:
        prepare_tokens(preset, int(k))
    if bccnn:
        prepare_frames(preset)
    return stage_timings(preset)


def split_frames(preset: str, kind: str = "tokens") -> dict[str, int]:
    """Frames per split of the data a kind of study reads ("tokens" or "bccnn"), from the preset's
    settings alone (no data needed): matches are whole, 8 players each, split 80/10/10 by match."""
    import math

    from .data.dataset import split_of_match

    cfg = settings(preset)
    T = int(cfg["episode_steps"])
    frames = cfg["frames"] if kind == "tokens" else cfg["bccnn_frames"]
    n = math.ceil(frames / (8 * T))
    if kind == "tokens" and cfg["token_matches"] is not None:
        n = min(n, int(cfg["token_matches"]))
    out = {"train": 0, "val": 0, "test": 0}
    for m in range(n):
        out[split_of_match(m)] += 8 * T
    return out
