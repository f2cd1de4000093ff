"""The trajectory dataset format: shards of player trajectories, memory-mapped for reading.

Layout of a dataset directory::

    manifest.json                      written last; its presence marks a finished dataset
    shards/shard-00000.frames.npy      uint8 [N, H, W, 3]: the episodes of the shard, one after another
    shards/shard-00000.actions.npy     uint8 [N, A]: the action taken on each frame
    shards/shard-00000.json            the shard's episodes (offset, length, metadata) + file checksums

A shard is complete when its JSON exists and its two files match the sizes (and, under full
verification, the sha256) recorded there. The JSON is written after the arrays, every write is
atomic, so a generator killed mid-shard leaves either a complete shard or one that is redone.

Frame t of an episode is what the player saw when choosing action t (the paper's o_t, a_t pairs).
Actions default to the paper's controller layout: 12 binary buttons then 4 stick axes of 11 buckets.
The split (80/10/10) is by match, from the match index alone, so every player of a match lands in
the same split whatever the shard layout.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from ..action_space import ACTION_DIMS, ACTION_NVEC, action_dim_names
from ..errors import DataIntegrityError, UserError
from ..io import atomic_path, atomic_write_json, sha256_bytes, sha256_file, to_jsonable

FORMAT_NAME = "agentscaling-trajectories"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SHARD_DIR = "shards"
SPLITS = ("train", "val", "test")
EPISODE_COLUMNS = ("episode_id", "split", "length", "map", "match", "player", "persona", "seed", "shard", "offset")


def split_of_match(match: int) -> str:
    """80/10/10 by match, from the match index alone: in every run of 10 consecutive matches the
    2nd is validation, the 3rd test, the rest training. Matches are i.i.d. given the seed, so a
    fixed pattern is unbiased, and any 3 matches already give all three splits."""
    r = int(match) % 10
    return "val" if r == 1 else ("test" if r == 2 else "train")


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class ShardWriter:
    """One shard being written: fill `frames` and `actions` (writeable memmaps of temporary files)
    and append one dict per episode to `episodes`; then `commit()` flushes, checksums and renames
    the arrays into place and writes the shard JSON last, or `abort()` removes the temporaries.
    commit() may run in another thread (hashing and fsync release the GIL), so the next shard can
    be computed meanwhile."""

    def __init__(
        self, root: str | Path, index: int, n_frames: int, frame_shape: Sequence[int], action_dims: int = ACTION_DIMS
    ):
        self.root = Path(root)
        self.index = int(index)
        self.name = shard_name(index)
        self.n_frames = int(n_frames)
        self.frame_shape = [int(v) for v in frame_shape]
        self.action_dims = int(action_dims)
        sdir = self.root / SHARD_DIR
        sdir.mkdir(parents=True, exist_ok=True)
        self._stack = contextlib.ExitStack()
        try:
            self._ftmp = self._stack.enter_context(atomic_path(sdir / f"{self.name}.frames.npy"))
            self._atmp = self._stack.enter_context(atomic_path(sdir / f"{self.name}.actions.npy"))
            self.frames = np.lib.format.open_memmap(
                self._ftmp, mode="w+", dtype=np.uint8, shape=(self.n_frames, *self.frame_shape)
            )
            self.actions = np.lib.format.open_memmap(
                self._atmp, mode="w+", dtype=np.uint8, shape=(self.n_frames, self.action_dims)
            )
        except BaseException as e:
            with contextlib.suppress(Exception):
                self._stack.__exit__(type(e), e, None)  # removes the temporaries
            raise
        self.episodes: list[dict] = []

    def commit(self) -> dict:
        """Make the shard durable and complete; returns its record (as written to its JSON)."""
        try:
            self.frames.flush()
            self.actions.flush()
            _check_episodes(self.episodes, self.n_frames, self.name)
            self.frames = self.actions = None  # drop the maps before the files are renamed
            info = {
                k: {"path": f"{SHARD_DIR}/{self.name}.{k}.npy", "bytes": tmp.stat().st_size, "sha256": sha256_file(tmp)}
                for k, tmp in (("frames", self._ftmp), ("actions", self._atmp))
            }
        except BaseException:
            self.abort()
            raise
        self._stack.close()  # fsync + rename both arrays into place
        record = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "index": self.index,
            "name": self.name,
            "n_frames": self.n_frames,
            "frame_shape": self.frame_shape,
            "action_dims": self.action_dims,
            "files": info,
            "episodes": self.episodes,
        }
        # The JSON comes last: its presence (with matching files) marks the shard complete.
        atomic_write_json(self.root / SHARD_DIR / f"{self.name}.json", record)
        return record

    def abort(self) -> None:
        """Discard the temporaries (nothing of this shard is left behind)."""
        self.frames = self.actions = None
        # atomic_path renames its file on a clean exit and deletes it on an error: exit with one
        with contextlib.suppress(Exception):
            self._stack.__exit__(RuntimeError, RuntimeError("shard aborted"), None)
        for tmp in (self._ftmp, self._atmp):
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def open_shard(
    root: str | Path, index: int, n_frames: int, frame_shape: Sequence[int], action_dims: int = ACTION_DIMS
) -> Iterator[ShardWriter]:
    """Write shard `index` of the dataset at `root`: committed on a clean exit, removed on error."""
    sw = ShardWriter(root, index, n_frames, frame_shape, action_dims)
    try:
        yield sw
    except BaseException:
        sw.abort()
        raise
    sw.commit()


def _check_episodes(episodes: list[dict], n_frames: int, name: str) -> None:
    end = 0
    for ep in episodes:
        for key in ("episode_id", "offset", "length", "match"):
            if key not in ep:
                raise ValueError(f"{name}: episode record lacks {key!r}: {ep}")
        if ep["offset"] != end:
            raise ValueError(f"{name}: episodes must tile the shard in order (offset {ep['offset']}, expected {end})")
        end += int(ep["length"])
    if end != n_frames:
        raise ValueError(f"{name}: episodes cover {end} frames, the shard holds {n_frames}")


def episode_record(
    episode_id: int,
    offset: int,
    length: int,
    *,
    match: int,
    player: int = 0,
    map: str = "",
    persona: str = "",
    seed: int = 0,
    split: str | None = None,
    **extra: Any,
) -> dict:
    """The metadata stored for one player-trajectory (extra keys become extra columns)."""
    rec = {
        "episode_id": int(episode_id),
        "offset": int(offset),
        "length": int(length),
        "match": int(match),
        "player": int(player),
        "map": str(map),
        "persona": str(persona),
        "seed": int(seed),
        "split": split or split_of_match(match),
    }
    if rec["split"] not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {rec['split']!r}")
    rec.update(to_jsonable(extra))
    return rec


def read_shard_record(root: str | Path, index: int) -> dict | None:
    p = Path(root) / SHARD_DIR / f"{shard_name(index)}.json"
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def shard_is_complete(root: str | Path, index: int, full: bool = False) -> bool:
    """True when shard `index` was fully written and its files still match its record (resume)."""
    rec = read_shard_record(root, index)
    if rec is None:
        return False
    try:
        _verify_files(Path(root), rec["files"].values(), full=full)
    except DataIntegrityError:
        return False
    return True


def finalize_dataset(
    root: str | Path, n_shards: int, *, action_nvec: Sequence[int] = ACTION_NVEC, source: dict | None = None
) -> "TrajectoryDataset":
    """Write manifest.json over shards 0..n_shards-1 (all must be complete) and open the dataset.
    Deterministic content (no times, no absolute paths) so one seed twice gives identical bytes."""
    root = Path(root)
    shards, frame_shape, n_frames, n_eps = [], None, 0, 0
    splits = {s: 0 for s in SPLITS}
    seen: set[int] = set()
    for i in range(n_shards):
        rec = read_shard_record(root, i)
        if rec is None:
            raise DataIntegrityError(
                f"{root / SHARD_DIR / shard_name(i)}.json is missing: shard {i} was never completed"
            )
        if frame_shape is None:
            frame_shape = rec["frame_shape"]
        elif rec["frame_shape"] != frame_shape:
            raise UserError(f"shard {rec['name']} has frames {rec['frame_shape']}, others {frame_shape}")
        if rec["action_dims"] != len(action_nvec):
            raise UserError(f"shard {rec['name']} has {rec['action_dims']} action dims, expected {len(action_nvec)}")
        for ep in rec["episodes"]:
            if ep["episode_id"] in seen:
                raise UserError(f"episode id {ep['episode_id']} appears twice (shard {rec['name']})")
            seen.add(ep["episode_id"])
            splits[ep["split"]] += 1
        json_path = root / SHARD_DIR / f"{rec['name']}.json"
        files = dict(rec["files"])
        files["index"] = {
            "path": f"{SHARD_DIR}/{json_path.name}",
            "bytes": json_path.stat().st_size,
            "sha256": sha256_file(json_path),
        }
        shards.append(
            {"name": rec["name"], "n_frames": rec["n_frames"], "n_episodes": len(rec["episodes"]), "files": files}
        )
        n_frames += rec["n_frames"]
        n_eps += len(rec["episodes"])
    if frame_shape is None:
        raise UserError("a dataset needs at least one shard")
    body = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "frame_shape": frame_shape,
        "action_dims": len(action_nvec),
        "action_nvec": [int(v) for v in action_nvec],
        "n_frames": n_frames,
        "n_episodes": n_eps,
        "n_shards": n_shards,
        "split_episodes": splits,
        "source": to_jsonable(source or {}),
        "shards": shards,
    }
    body["hash"] = manifest_hash(body)
    atomic_write_json(root / MANIFEST, body)
    return TrajectoryDataset(root, verify="none")


def manifest_hash(manifest: dict) -> str:
    """sha256 of the canonical JSON of the manifest without its own "hash" field."""
    body = {k: v for k, v in manifest.items() if k != "hash"}
    text = json.dumps(to_jsonable(body), sort_keys=True, separators=(",", ":"))
    return sha256_bytes(text.encode("utf-8"))


class DatasetWriter:
    """Incremental writer: add episodes one at a time (recorder, importers); shards are cut every
    `shard_frames` frames. Episodes are buffered in memory until their shard is written.

        with DatasetWriter(out, source={"env": "CartPole-v1"}) as w:
            w.add_episode(frames, actions, match=i, persona="random")
        ds = w.dataset
    """

    def __init__(
        self,
        root: str | Path,
        *,
        action_nvec: Sequence[int] = ACTION_NVEC,
        shard_frames: int = 32768,
        source: dict | None = None,
        overwrite: bool = False,
    ):
        self.root = Path(root)
        if (self.root / MANIFEST).exists() and not overwrite:
            raise UserError(f"{self.root} already holds a dataset; choose another directory or pass overwrite")
        if overwrite and (self.root / SHARD_DIR).exists():
            for p in (self.root / SHARD_DIR).iterdir():
                p.unlink()
            (self.root / MANIFEST).unlink(missing_ok=True)
        self.action_nvec = tuple(int(v) for v in action_nvec)
        self.shard_frames = int(shard_frames)
        self.source = source or {}
        self.frame_shape: tuple[int, ...] | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray, dict]] = []
        self._pending_frames = 0
        self._n_shards = 0
        self._next_id = 0
        self.dataset: TrajectoryDataset | None = None

    def add_episode(self, frames: np.ndarray, actions: np.ndarray, *, match: int | None = None, **meta: Any) -> int:
        """Queue one trajectory (frames uint8 [T,H,W,3], actions [T,A] in 0..nvec-1); returns its id."""
        frames = np.asarray(frames)
        actions = np.asarray(actions)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise UserError(f"frames must be uint8 [T,H,W,3], got {frames.dtype} {frames.shape}")
        if actions.ndim != 2 or actions.shape != (len(frames), len(self.action_nvec)):
            raise UserError(f"actions must be [T={len(frames)}, {len(self.action_nvec)}], got {actions.shape}")
        if len(frames) == 0:
            raise UserError("an episode needs at least one frame")
        if actions.min() < 0 or np.any(actions >= np.asarray(self.action_nvec)):
            raise UserError(f"actions out of range for nvec {self.action_nvec}")
        if self.frame_shape is None:
            self.frame_shape = frames.shape[1:]
        elif frames.shape[1:] != self.frame_shape:
            raise UserError(f"all frames must have shape {self.frame_shape}, got {frames.shape[1:]}")
        eid = self._next_id
        self._next_id += 1
        meta = dict(meta)
        meta["match"] = eid if match is None else int(match)
        self._pending.append((frames, actions.astype(np.uint8), meta))
        self._pending_frames += len(frames)
        if self._pending_frames >= self.shard_frames:
            self._flush()
        return eid

    def _flush(self) -> None:
        if not self._pending:
            return
        first_id = self._next_id - len(self._pending)
        with open_shard(self.root, self._n_shards, self._pending_frames, self.frame_shape, len(self.action_nvec)) as sb:
            off = 0
            for k, (f, a, meta) in enumerate(self._pending):
                sb.frames[off : off + len(f)] = f
                sb.actions[off : off + len(f)] = a
                sb.episodes.append(episode_record(first_id + k, off, len(f), **meta))
                off += len(f)
        self._n_shards += 1
        self._pending, self._pending_frames = [], 0

    def close(self) -> "TrajectoryDataset":
        self._flush()
        if self._n_shards == 0:
            raise UserError("no episodes were added; nothing to write")
        self.dataset = finalize_dataset(self.root, self._n_shards, action_nvec=self.action_nvec, source=self.source)
        return self.dataset

    def __enter__(self) -> "DatasetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()


def write_dataset(
    root: str | Path,
    episodes: Iterable[tuple[np.ndarray, np.ndarray, dict]],
    *,
    action_nvec: Sequence[int] = ACTION_NVEC,
    shard_frames: int = 32768,
    source: dict | None = None,
    overwrite: bool = False,
) -> "TrajectoryDataset":
    """Write (frames, actions, metadata) triples as a dataset. Metadata keys: match, player, map,
    persona, seed, split (optional; default by match) and any extras."""
    w = DatasetWriter(root, action_nvec=action_nvec, shard_frames=shard_frames, source=source, overwrite=overwrite)
    for frames, actions, meta in episodes:
        w.add_episode(frames, actions, **meta)
    return w.close()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _verify_files(root: Path, files: Iterable[dict], full: bool) -> None:
    for f in files:
        p = root / f["path"]
        if not p.exists():
            raise DataIntegrityError(f"{p} is missing")
        size = p.stat().st_size
        if size != f["bytes"]:
            raise DataIntegrityError(f"{p} is truncated or altered: {size} bytes, expected {f['bytes']}")
        if full and sha256_file(p) != f["sha256"]:
            raise DataIntegrityError(f"{p} is corrupt: its sha256 does not match the manifest")


class TrajectoryDataset:
    """A finished dataset, read through memory maps (frames are never copied until indexed).

    verify: "size" checks that every shard file exists with the recorded size (and the small shard
    JSONs by sha256), "full" also checks the sha256 of every array file, "none" trusts the disk.
    A failed check raises DataIntegrityError naming the file.
    """

    def __init__(self, root: str | Path, verify: str = "size"):
        self.root = Path(root)
        if verify not in ("size", "full", "none"):
            raise UserError(f"verify must be 'size', 'full' or 'none', got {verify!r}")
        mpath = self.root / MANIFEST
        if not mpath.exists():
            hint = " (generation incomplete: rerun it to resume)" if (self.root / SHARD_DIR).exists() else ""
            raise UserError(f"{self.root} is not a trajectory dataset: {MANIFEST} is missing{hint}")
        try:
            self.manifest: dict = json.loads(mpath.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataIntegrityError(f"{mpath} is corrupt: {e}") from None
        if self.manifest.get("format") != FORMAT_NAME:
            raise UserError(f"{mpath} is not a {FORMAT_NAME} manifest")
        if verify != "none" and manifest_hash(self.manifest) != self.manifest.get("hash"):
            raise DataIntegrityError(f"{mpath} is corrupt: its content does not match its hash")
        self.frame_shape: tuple[int, int, int] = tuple(self.manifest["frame_shape"])  # type: ignore
        self.action_nvec: tuple[int, ...] = tuple(self.manifest["action_nvec"])
        rows = []
        for si, shard in enumerate(self.manifest["shards"]):
            if verify != "none":
                _verify_files(self.root, [shard["files"]["index"]], full=True)
                _verify_files(self.root, [shard["files"]["frames"], shard["files"]["actions"]], full=verify == "full")
            rec = json.loads((self.root / shard["files"]["index"]["path"]).read_text())
            for ep in rec["episodes"]:
                rows.append({**ep, "shard": si})
        df = pd.DataFrame(rows)
        front = [c for c in EPISODE_COLUMNS if c in df.columns]
        self.episodes: pd.DataFrame = df[front + [c for c in df.columns if c not in front]]
        self.episodes = self.episodes.sort_values("episode_id", kind="stable").reset_index(drop=True)
        self._row = {int(e): i for i, e in enumerate(self.episodes["episode_id"])}
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def hash(self) -> str:
        return self.manifest["hash"]

    @property
    def n_frames(self) -> int:
        return int(self.manifest["n_frames"])

    def __len__(self) -> int:
        return len(self.episodes)

    def __repr__(self) -> str:
        return (
            f"TrajectoryDataset({str(self.root)!r}, episodes={len(self)}, frames={self.n_frames}, "
            f"frame_shape={self.frame_shape})"
        )

    def _shard_arrays(self, si: int) -> tuple[np.ndarray, np.ndarray]:
        if si not in self._maps:
            files = self.manifest["shards"][si]["files"]
            fpath, apath = self.root / files["frames"]["path"], self.root / files["actions"]["path"]
            try:
                self._maps[si] = (np.load(fpath, mmap_mode="r"), np.load(apath, mmap_mode="r"))
            except (ValueError, OSError) as e:
                raise DataIntegrityError(
                    f"{fpath.parent / self.manifest['shards'][si]['name']}: cannot map: {e}"
                ) from None
        return self._maps[si]

    def _locate(self, episode_id: int) -> tuple[int, int, int]:
        try:
            row = self.episodes.iloc[self._row[int(episode_id)]]
        except KeyError:
            raise UserError(f"no episode {episode_id} in {self.root}") from None
        return int(row["shard"]), int(row["offset"]), int(row["length"])

    def frames(self, episode_id: int) -> np.ndarray:
        """uint8 [T,H,W,3], a read-only view into the memory-mapped shard."""
        si, off, n = self._locate(episode_id)
        return self._shard_arrays(si)[0][off : off + n]

    def actions(self, episode_id: int) -> np.ndarray:
        """uint8 [T, action_dims] (the paper's layout: 12 buttons 0/1 then 4 axes 0..10)."""
        si, off, n = self._locate(episode_id)
        return self._shard_arrays(si)[1][off : off + n]

    def split_ids(self, split: str) -> list[int]:
        if split not in SPLITS:
            raise UserError(f"split must be one of {SPLITS}, got {split!r}")
        return [int(e) for e in self.episodes.loc[self.episodes["split"] == split, "episode_id"]]

    def all_actions(self, episode_ids: Sequence[int] | None = None) -> np.ndarray:
        """All actions of the given episodes (default: all), concatenated: [sum T, A]."""
        ids = self.episodes["episode_id"] if episode_ids is None else episode_ids
        parts = [self.actions(int(e)) for e in ids]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.action_nvec)), np.uint8)

    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def action_entropy_bits(actions: np.ndarray, nvec: Sequence[int]) -> np.ndarray:
    """Per-dimension entropy (bits) of the empirical marginal distribution of each action dim."""
    out = np.zeros(len(nvec))
    if len(actions) == 0:
        return out
    for d, n in enumerate(nvec):
        p = np.bincount(actions[:, d], minlength=int(n)) / len(actions)
        p = p[p > 0]
        out[d] = max(0.0, float(-(p * np.log2(p)).sum()))  # max(): no -0.0 for constant dims
    return out


def dataset_stats(ds: TrajectoryDataset) -> dict:
    """Frames, matches, maps, per-dimension action entropy (bits) overall and per persona, bytes."""
    eps = ds.episodes
    names = action_dim_names(ds.action_nvec)
    acts = ds.all_actions()
    ent = action_entropy_bits(acts, ds.action_nvec)
    per_persona = {}
    for persona, grp in eps.groupby("persona", sort=True):
        e = action_entropy_bits(ds.all_actions(grp["episode_id"].tolist()), ds.action_nvec)
        per_persona[str(persona)] = dict(zip(names, np.round(e, 4).tolist()))
    return {
        "root": str(ds.root),
        "hash": ds.hash,
        "frames": ds.n_frames,
        "episodes": len(ds),
        "matches": int(eps["match"].nunique()),
        "frame_shape": list(ds.frame_shape),
        "maps": {str(k): int(v) for k, v in eps.groupby("map")["length"].sum().items()},
        "split_frames": {s: int(eps.loc[eps["split"] == s, "length"].sum()) for s in SPLITS},
        "personas": {str(k): int(v) for k, v in eps.groupby("persona")["length"].sum().items()},
        "action_nvec": list(ds.action_nvec),
        "entropy_bits": dict(zip(names, np.round(ent, 4).tolist())),
        "entropy_max_bits": dict(zip(names, [round(math.log2(n), 4) for n in ds.action_nvec])),
        "entropy_bits_by_persona": per_persona,
        "bytes_on_disk": ds.bytes_on_disk(),
    }
