"""Data preparation: a study's typed data spec becomes artifacts on disk before any training.

    TextData   ──► the tokenized corpus cache (agentscaling.data.text)
    TokenData  ──► dataset ──► frame tokenizer (trained once, frozen) ──► verified token cache
    FrameData  ──► dataset at the CNN's frame size (read straight from its shards)

A dataset is generated arena data (an ArenaSpec) or a directory of your own (a DatasetDir).

`prepare(study)` makes (or finds) them and returns a `PreparedData`: the paths a training task opens
and the hashes that enter each run's id. The sweep and the notebooks call it in the parent process,
so a training worker never generates data or trains a tokenizer. `locate(study)` finds the artifacts
without making anything (for dry runs).

Arena datasets live at <data>/arena/<spec.dirname> (generation resumes, and a larger spec extends
them); tokenizers are runs of the store at <data>/tokenizers/; token caches at <cache>/tokens/,
keyed by dataset and tokenizer hash. Every stage holds a file lock, so parallel callers wait for
one another instead of duplicating work, and records its wall time when it actually ran
(`stage_timings`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from . import paths
from .data.arena.generate import generate_arena_dataset
from .data.dataset import MANIFEST, TrajectoryDataset
from .data.text import corpus_key, load_corpus
from .errors import UserError
from .executors import worker_pool
from .io import atomic_write_json, file_lock, read_json, sha256_file
from .presets import ArenaSpec
from .store import RunStore
from .studies import DatasetDir, FrameData, PreparedData, Study, TextData, TokenData
from .studies.data import Frames
from .tokenize.cache import CacheInvalid, TokenCache, cache_key, default_cache_dir, encode_dataset, open_cache
from .tokenize.train_vq import open_tokenizer_run, train_tokenizer
from .tokenize.vqvae import TOKENIZER_FILE, FrameTokenizer, load_tokenizer


def _prepare_dir() -> Path:
    d = paths.CACHE_DIR / "prepare"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _lock(name: str):
    return file_lock(_prepare_dir() / f".{name}.lock")


def _record(data: str, stage: str, wall_s: float, **info: Any) -> None:
    path = _prepare_dir() / "timings.json"
    with _lock("timings"):
        table = read_json(path) if path.exists() else {}
        table[f"{data}: {stage}"] = {
            "data": data,
            "stage": stage,
            "wall_s": round(wall_s, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **info,
        }
        atomic_write_json(path, table)


def stage_timings(studies: Iterable[Study] | None = None) -> pd.DataFrame:
    """Measured wall time of every preparation stage that has run (for these studies' data only)."""
    path = _prepare_dir() / "timings.json"
    rows = list((read_json(path) if path.exists() else {}).values())
    if studies is not None:
        wanted = {st.data.dataset.dirname for st in studies if not isinstance(st.data, TextData)}
        rows = [r for r in rows if r["data"] in wanted]
    cols = ["data", "stage", "wall_s", "finished"]
    return pd.DataFrame(rows, columns=cols + sorted({c for r in rows for c in r} - set(cols)))


# ------------------------------------------------------------------------------------------------
# stages
# ------------------------------------------------------------------------------------------------
def arena_path(spec: ArenaSpec) -> Path:
    return paths.DATA_DIR / "arena" / spec.dirname


def dataset_path(spec: Frames) -> Path:
    return Path(spec.path) if isinstance(spec, DatasetDir) else arena_path(spec)


def open_dataset(spec: Frames, workers: int = 1, progress: bool = False) -> TrajectoryDataset:
    """The dataset of a spec: generated arena data (made first when needed), or a directory of your own."""
    if isinstance(spec, DatasetDir):
        return TrajectoryDataset(spec.path)
    return arena_dataset(spec, workers, progress)


def arena_dataset(spec: ArenaSpec, workers: int = 1, progress: bool = False) -> TrajectoryDataset:
    """The arena dataset of this spec, generated (or extended) first when it is not there yet."""
    path = arena_path(spec)
    with _lock(path.name):
        if (path / MANIFEST).exists():
            ds = TrajectoryDataset(path)
            if ds.n_frames >= spec.frames:
                return ds
        t0 = time.perf_counter()
        ds = generate_arena_dataset(
            path,
            spec.frames,
            size=spec.size,
            seed=spec.seed,
            workers=workers,
            episode_steps=spec.episode_steps,
            progress=progress,
        )
        _record(spec.dirname, "generate", time.perf_counter() - t0, frames=ds.n_frames, path=str(path))
        return ds


def tokenizer_store() -> RunStore:
    """Frame tokenizers are data preparation shared by every study: runs at <data>/tokenizers/."""
    return RunStore(paths.DATA_DIR)


def tokenizer(spec: TokenData, dataset: TrajectoryDataset, progress: bool = False) -> FrameTokenizer:
    """The frozen frame tokenizer of this spec, trained on `dataset` once (then loaded)."""
    run, _ = open_tokenizer_run(dataset, spec.tokens_per_frame, spec.tokenizer, tokenizer_store(), spec.tokenizer_seed)
    if run.status == "done" and (run.path / TOKENIZER_FILE).exists():
        return load_tokenizer(run.path)
    with _lock(f"tokenizer-{run.id}"):
        t0 = time.perf_counter()
        was_done = run.status == "done" and (run.path / TOKENIZER_FILE).exists()
        tok = train_tokenizer(
            dataset, spec.tokens_per_frame, spec.tokenizer, tokenizer_store(), spec.tokenizer_seed, progress=progress
        )
        if not was_done:
            _record(
                spec.dataset.dirname, f"tokenizer {spec.tokens_per_frame}", time.perf_counter() - t0, path=str(run.path)
            )
        return tok


def _train_tokenizer_in_worker(spec: TokenData, root: str) -> str:
    return str(tokenizer(spec, TrajectoryDataset(root)).path)


def tokenizers(
    specs: Sequence[TokenData], dataset: TrajectoryDataset, workers: int = 1, progress: bool = False
) -> dict[int, FrameTokenizer]:
    """The tokenizers of several levels of one dataset; missing ones train side by side in `workers`
    1-thread processes, most tokens per frame first (the longest first)."""
    todo = sorted({s for s in specs if not _tokenizer_done(s, dataset)}, key=lambda s: -s.tokens_per_frame)
    if workers > 1 and len(todo) > 1:
        with worker_pool(min(workers, len(todo))) as pool:
            for fut in [pool.submit(_train_tokenizer_in_worker, s, str(dataset.root)) for s in todo]:
                fut.result()
    return {s.tokens_per_frame: tokenizer(s, dataset, progress) for s in specs}


def _tokenizer_done(spec: TokenData, dataset) -> bool:
    run, _ = open_tokenizer_run(dataset, spec.tokens_per_frame, spec.tokenizer, tokenizer_store(), spec.tokenizer_seed)
    return run.status == "done" and (run.path / TOKENIZER_FILE).exists()


def token_cache(spec: TokenData, dataset: TrajectoryDataset, tok: FrameTokenizer, progress: bool = False) -> TokenCache:
    """Every frame of `dataset` encoded by `tok`, verified (encoded once, then reused)."""
    path = default_cache_dir() / cache_key(dataset.hash, tok.hash)
    with _lock(f"tokens-{path.name}"):
        try:
            return open_cache(path, dataset, tok.hash)
        except CacheInvalid:
            t0 = time.perf_counter()
            cache = encode_dataset(dataset, tok, progress=progress)
            _record(
                spec.dataset.dirname,
                f"encode {spec.tokens_per_frame}",
                time.perf_counter() - t0,
                frames=cache.n_frames,
                path=str(cache.path),
            )
            return cache


# ------------------------------------------------------------------------------------------------
# a study's data
# ------------------------------------------------------------------------------------------------
def _prepared_tokens(spec: TokenData, ds: TrajectoryDataset, tok: FrameTokenizer, cache: TokenCache) -> PreparedData:
    return PreparedData(
        spec=spec,
        hashes={"dataset": ds.hash, "tokenizer": tok.hash},
        dataset=str(ds.root),
        tokenizer=str(tok.path),
        token_cache=str(cache.path),
        info={
            "tokens_per_frame": spec.tokens_per_frame,
            "codebook_size": cache.codebook_size,
            "n_frames": cache.n_frames,
        },
    )


def prepare(study: Study, workers: int = 1, progress: bool = False) -> PreparedData:
    """Make (or find) the artifacts of the study's data spec; `workers` generate arena data and train
    tokenizers. Returns where they are and the hashes that identify them."""
    return prepare_studies([study], workers, progress)[study.name]


def prepare_studies(studies: Sequence[Study], workers: int = 1, progress: bool = False) -> dict[str, PreparedData]:
    """`prepare` for several studies: each distinct spec is made once, the tokenizers of one dataset
    side by side. Returns study name -> PreparedData."""
    made: dict[Any, PreparedData] = {}
    specs = list(dict.fromkeys(st.data for st in studies))
    for spec in specs:
        if isinstance(spec, TextData):
            corpus = load_corpus(spec.corpus, spec.tokenizer, progress=progress)
            made[spec] = PreparedData(
                spec=spec,
                hashes={"corpus": corpus.info["cache"]["key"]},
                info={"corpus": f"{spec.corpus}/{spec.tokenizer}", "n_train": len(corpus.train)},
            )
        elif isinstance(spec, FrameData):
            ds = open_dataset(spec.dataset, workers, progress)
            made[spec] = PreparedData(
                spec=spec,
                hashes={"dataset": ds.hash},
                dataset=str(ds.root),
                info={"frame_shape": list(ds.frame_shape), "n_frames": ds.n_frames},
            )
        elif not isinstance(spec, TokenData):
            raise UserError(f"no preparation for data of type {type(spec).__name__}")
    by_dataset: dict[Frames, list[TokenData]] = {}
    for spec in specs:
        if isinstance(spec, TokenData):
            by_dataset.setdefault(spec.dataset, []).append(spec)
    for frames, level_specs in by_dataset.items():
        ds = open_dataset(frames, workers, progress)
        toks = tokenizers(level_specs, ds, workers, progress)
        for spec in level_specs:
            tok = toks[spec.tokens_per_frame]
            made[spec] = _prepared_tokens(spec, ds, tok, token_cache(spec, ds, tok, progress))
    return {st.name: made[st.data] for st in studies}


def locate(study: Study) -> PreparedData | None:
    """The study's prepared artifacts if they all exist already, else None (nothing is made)."""
    spec = study.data
    if isinstance(spec, TextData):
        key = corpus_key(spec.corpus, spec.tokenizer)
        return PreparedData(spec=spec, hashes={"corpus": key})
    path = dataset_path(spec.dataset)
    if not (path / MANIFEST).exists():
        return None
    ds = TrajectoryDataset(path)
    if isinstance(spec.dataset, ArenaSpec) and ds.n_frames < spec.dataset.frames:
        return None
    if isinstance(spec, FrameData):
        return PreparedData(spec=spec, hashes={"dataset": ds.hash}, dataset=str(ds.root))
    run, _ = open_tokenizer_run(
        ds, spec.tokens_per_frame, spec.tokenizer, tokenizer_store(), spec.tokenizer_seed, create=False
    )
    if run.status != "done" or not (run.path / TOKENIZER_FILE).exists():
        return None
    tok_hash = sha256_file(run.path / TOKENIZER_FILE)
    return PreparedData(
        spec=spec,
        hashes={"dataset": ds.hash, "tokenizer": tok_hash},
        dataset=str(ds.root),
        tokenizer=str(run.path),
        token_cache=str(default_cache_dir() / cache_key(ds.hash, tok_hash)),
    )
