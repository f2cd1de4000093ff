"""A whole dataset encoded to frame tokens once, cached on disk and verified every time it is opened.

Layout: `<cache_dir>/tokens/<manifest hash[:16]>-<tokenizer hash[:16]>/`

    tokens.npy    uint16 [n_frames, tokens_per_frame]: every episode's codes, in episode-id order
    tokens.json   sidecar: sha256, dtype, shape, the two full hashes, per-episode offsets/lengths

The key is (dataset manifest hash, tokenizer hash = sha256 of tokenizer.pt), so a new dataset or a
retrained tokenizer never meets stale codes. The array is written first and the sidecar last, each
atomically, so a kill mid-write leaves no sidecar or a sidecar whose sha256 does not match. Opening
re-checks the sidecar against the key, the file size, the sha256 of the whole array (cheap: 64 tokens
× 100k frames is 12.8 MB) and the counts against the manifest; any failure warns and rebuilds, and a
cache is never used unchecked.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .. import paths
from ..errors import DataIntegrityError, UserError
from ..io import atomic_path, atomic_write_json, sha256_file
from .vqvae import FrameTokenizer, load_tokenizer

FORMAT = "agentscaling.token-cache/1"
ARRAY = "tokens.npy"
SIDECAR = "tokens.json"


class CacheInvalid(Exception):
    """The cache on disk is missing, stale or corrupt (the message says which); it will be rebuilt."""


def cache_key(manifest_hash: str, tokenizer_hash: str) -> str:
    return f"{manifest_hash[:16]}-{tokenizer_hash[:16]}"


def default_cache_dir() -> Path:
    return paths.CACHE_DIR / "tokens"


def _episode_table(dataset) -> list[tuple[int, int]]:
    """(episode_id, length) for every episode, in episode-id order."""
    eps = dataset.episodes.sort_values("episode_id", kind="stable")
    return [(int(e), int(n)) for e, n in zip(eps["episode_id"], eps["length"])]


class TokenCache:
    """An opened, verified token cache. `tokens(eid)` is a read-only uint16 [T, k] view."""

    def __init__(self, path: Path, meta: dict[str, Any], array: np.ndarray):
        self.path = path
        self.meta = meta
        self.array = array
        self.offsets: dict[int, tuple[int, int]] = {int(e): (int(o), int(n)) for e, o, n in meta["episodes"]}

    @property
    def tokens_per_frame(self) -> int:
        return int(self.meta["shape"][1])

    @property
    def codebook_size(self) -> int:
        return int(self.meta["codebook_size"])

    @property
    def n_frames(self) -> int:
        return int(self.meta["shape"][0])

    @property
    def tokenizer_hash(self) -> str:
        return self.meta["tokenizer_hash"]

    @property
    def dataset_hash(self) -> str:
        return self.meta["dataset_hash"]

    def tokens(self, episode_id: int) -> np.ndarray:
        try:
            off, n = self.offsets[int(episode_id)]
        except KeyError:
            raise UserError(f"episode {episode_id} is not in the token cache {self.path}") from None
        return self.array[off : off + n]

    def __repr__(self) -> str:
        return (
            f"TokenCache({str(self.path)!r}, frames={self.n_frames}, tokens_per_frame={self.tokens_per_frame}, "
            f"codebook={self.codebook_size})"
        )


def _expected_meta(dataset, tok: FrameTokenizer) -> dict[str, Any]:
    offsets = [[e, o, n] for e, o, n in _offsets(dataset)]
    total = sum(n for _, _, n in offsets)
    n_frames = int(dataset.manifest["n_frames"])
    if total != n_frames:
        raise DataIntegrityError(f"the dataset's episodes hold {total} frames but its manifest says {n_frames}")
    return {
        "format": FORMAT,
        "dataset_hash": dataset.manifest["hash"],
        "tokenizer_hash": tok.hash,
        "tokens_per_frame": tok.tokens_per_frame,
        "codebook_size": tok.codebook_size,
        "dtype": "uint16",
        "shape": [n_frames, tok.tokens_per_frame],
        "episodes": offsets,
    }


def open_cache(path: str | Path, dataset=None, tokenizer_hash: str | None = None) -> TokenCache:
    """Open and fully verify a cache directory; raises CacheInvalid with the reason if anything is off.
    With `dataset` (and `tokenizer_hash`) it must also be the cache of that dataset (and tokenizer)."""
    path = Path(path)
    side, arr_path = path / SIDECAR, path / ARRAY
    if not side.exists():
        raise CacheInvalid(f"{side} is missing")
    if not arr_path.exists():
        raise CacheInvalid(f"{arr_path} is missing")
    try:
        meta = json.loads(side.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CacheInvalid(f"{side} is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CacheInvalid(f"{side} is not a {FORMAT} sidecar")
    if dataset is not None and meta.get("dataset_hash") != dataset.manifest["hash"]:
        raise CacheInvalid(f"{path} was built from another dataset")
    if tokenizer_hash is not None and meta.get("tokenizer_hash") != tokenizer_hash:
        raise CacheInvalid(f"{path} was built with another tokenizer")
    if arr_path.stat().st_size != meta.get("bytes"):
        raise CacheInvalid(
            f"{arr_path} has {arr_path.stat().st_size} bytes, the sidecar says {meta.get('bytes')} "
            "(truncated or altered)"
        )
    if sha256_file(arr_path) != meta.get("sha256"):
        raise CacheInvalid(f"{arr_path} does not match the sha256 in its sidecar (corrupt)")
    try:
        arr = np.load(arr_path, mmap_mode="r")
    except (ValueError, OSError) as e:
        raise CacheInvalid(f"{arr_path} cannot be read as an array ({e})") from None
    if str(arr.dtype) != meta["dtype"] or list(arr.shape) != list(meta["shape"]):
        raise CacheInvalid(
            f"{arr_path} holds {arr.dtype} {list(arr.shape)}, the sidecar says {meta['dtype']} {meta['shape']}"
        )
    if dataset is not None:
        want = [[e, o, n] for e, o, n in _offsets(dataset)]
        if meta["episodes"] != want or arr.shape[0] != int(dataset.manifest["n_frames"]):
            raise CacheInvalid(f"{path}: per-episode counts do not match the dataset manifest")
    if arr.size and int(arr.max()) >= int(meta["codebook_size"]):
        raise CacheInvalid(f"{arr_path} holds codes ≥ the codebook size {meta['codebook_size']}")
    return TokenCache(path, meta, arr)


def _offsets(dataset) -> list[tuple[int, int, int]]:
    out, off = [], 0
    for eid, n in _episode_table(dataset):
        out.append((eid, off, n))
        off += n
    return out


def _resolve_tokenizer(tokenizer) -> FrameTokenizer:
    if isinstance(tokenizer, FrameTokenizer):
        if not tokenizer.hash:
            raise UserError("the tokenizer has no hash: save it (FrameTokenizer.save) or load it from its run")
        return tokenizer
    return load_tokenizer(tokenizer)


def encode_dataset(
    dataset, tokenizer, cache_dir: str | Path | None = None, progress: bool = False, batch_size: int = 512
) -> TokenCache:
    """Every frame of `dataset` encoded with `tokenizer` (a FrameTokenizer, or a tokenizer run dir),
    from the cache when a valid one exists, else (re)built; a corrupt cache is reported and rebuilt."""
    tok = _resolve_tokenizer(tokenizer)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / cache_key(dataset.manifest["hash"], tok.hash)
    if (path / SIDECAR).exists() or (path / ARRAY).exists():
        try:
            return open_cache(path, dataset, tok.hash)
        except CacheInvalid as e:
            warnings.warn(f"token cache is invalid, rebuilding it: {e}", stacklevel=2)
    build_cache(path, dataset, tok, progress=progress, batch_size=batch_size)
    try:
        return open_cache(path, dataset, tok.hash)
    except CacheInvalid as e:  # a fresh build that does not verify: the disk is lying
        raise DataIntegrityError(f"token cache {path} failed verification right after it was built: {e}") from None


def build_cache(
    path: str | Path, dataset, tok: FrameTokenizer, progress: bool = False, batch_size: int = 512
) -> dict[str, Any]:
    """Encode every episode into `path`/tokens.npy (streamed through a memory map), then the sidecar."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / SIDECAR).unlink(missing_ok=True)  # from here on the old cache is invalid
    meta = _expected_meta(dataset, tok)
    n, k = meta["shape"]
    bar = None
    if progress:
        bar = tqdm(total=n, desc=f"encode {k} tok/frame", unit="frame", leave=False)
    t0 = time.perf_counter()
    with atomic_path(path / ARRAY) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint16, shape=(n, k))
        buf: list[np.ndarray] = []
        buf_n, write_at = 0, 0

        def flush():
            nonlocal buf, buf_n, write_at
            if not buf_n:
                return
            frames = np.concatenate(buf) if len(buf) > 1 else buf[0]
            out[write_at : write_at + buf_n] = tok.encode(frames, batch_size)
            write_at += buf_n
            if bar is not None:
                bar.update(buf_n)
            buf, buf_n = [], 0

        for eid, _off, length in meta["episodes"]:
            frames = dataset.frames(eid)
            if len(frames) != length:
                raise DataIntegrityError(f"episode {eid} has {len(frames)} frames, the manifest says {length}")
            i = 0
            while i < length:  # fill batches across episode boundaries
                take = min(length - i, batch_size - buf_n)
                buf.append(np.asarray(frames[i : i + take]))
                buf_n += take
                i += take
                if buf_n >= batch_size:
                    flush()
        flush()
        out.flush()
        out = None  # closes the memory map before the file is renamed
    if bar is not None:
        bar.close()
    meta["bytes"] = (path / ARRAY).stat().st_size
    meta["sha256"] = sha256_file(path / ARRAY)
    meta["encode_s"] = time.perf_counter() - t0
    meta["encode_fps"] = n / max(meta["encode_s"], 1e-9)
    atomic_write_json(path / SIDECAR, meta)
    return meta
