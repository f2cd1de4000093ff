"""Import offline-RL datasets stored in Minari's on-disk format into the trajectory format.

Minari (the Farama standard for offline RL data) keeps a dataset as a directory whose `data/`
folder holds `metadata.json` (with the serialised observation and action spaces and the
`data_format`) and either
  * "hdf5":  `data/main_data.hdf5`, one group `episode_{id}` per episode with datasets
             `observations` (T+1 rows; a group for Dict/Tuple spaces), `actions` (T rows),
             `rewards`, `terminations`, `truncations`  -- needs h5py;
  * "arrow": one folder `data/{id}/` per episode holding Arrow IPC files with the columns
             `observations` and `actions` (both padded to T+1 rows), `rewards`, ...  -- pyarrow.
The minari package itself is not needed (it cannot download datasets offline here).

Observation o_t is paired with action a_t; the final observation is dropped. Observations must be
images (or a Dict entry chosen with `obs_key`); actions are encoded as in the recorder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from .dataset import DatasetWriter, TrajectoryDataset
from .recorder import ActionCodec, to_frame


def deserialize_space(spec):
    """Minari's JSON space description -> gymnasium space (Box, Discrete, MultiDiscrete,
    MultiBinary, Dict, Tuple)."""
    import gymnasium as gym

    d = json.loads(spec) if isinstance(spec, str) else spec
    kind = d.get("type")
    if kind == "Box":
        return gym.spaces.Box(
            low=np.array(d["low"], dtype=d["dtype"]),
            high=np.array(d["high"], dtype=d["dtype"]),
            shape=tuple(d["shape"]),
            dtype=np.dtype(d["dtype"]),
        )
    if kind == "Discrete":
        return gym.spaces.Discrete(int(d["n"]), start=int(d.get("start", 0)))
    if kind == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(np.array(d["nvec"]), start=np.array(d.get("start", 0)))
    if kind == "MultiBinary":
        return gym.spaces.MultiBinary(d["n"])
    if kind == "Dict":
        return gym.spaces.Dict({k: deserialize_space(v) for k, v in d["subspaces"].items()})
    if kind == "Tuple":
        return gym.spaces.Tuple([deserialize_space(v) for v in d["subspaces"]])
    raise UserError(f"unsupported space type {kind!r} in Minari metadata")


def _data_dir(src: Path) -> Path:
    for cand in (src / "data", src):
        if (cand / "metadata.json").exists():
            return cand
    raise UserError(f"{src} is not a Minari dataset: no data/metadata.json")


def _pick(obs, space, obs_key):
    """The image part of a decoded observation batch."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Dict):
        keys = list(space.spaces)
        key = obs_key or next((k for k in keys if len(space[k].shape or ()) in (2, 3)), None)
        if key is None or key not in obs:
            raise UserError(f"no image observation among {keys}; pass obs_key")
        return obs[key]
    if obs_key is not None:
        raise UserError("obs_key given but observations are not a Dict")
    return obs


# ---- HDF5 ---------------------------------------------------------------------------------------


def _h5_read(node, space):
    import gymnasium as gym

    if isinstance(space, gym.spaces.Dict):
        return {k: _h5_read(node[k], space[k]) for k in node.keys()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_h5_read(node[f"_index_{i}"], s) for i, s in enumerate(space.spaces))
    return node[()]


def _episodes_hdf5(data: Path, obs_space, act_space) -> Iterator[tuple[int, object, np.ndarray, dict]]:
    try:
        import h5py
    except ImportError:
        raise UserError("this Minari dataset uses HDF5; install h5py (pip install h5py==3.16.0)") from None
    path = data / "main_data.hdf5"
    if not path.exists():
        raise UserError(f"{path} is missing")
    with h5py.File(path, "r") as f:
        ids = sorted(int(k.split("_", 1)[1]) for k in f.keys() if k.startswith("episode_"))
        for i in ids:
            g = f[f"episode_{i}"]
            meta = {k: g.attrs[k] for k in g.attrs}
            yield i, _h5_read(g["observations"], obs_space), np.asarray(g["actions"][()]), meta


# ---- Arrow ----------------------------------------------------------------------------------------


def _arrow_decode(col, space):
    import gymnasium as gym
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if isinstance(space, gym.spaces.Dict):
        return {k: _arrow_decode(col.field(k), s) for k, s in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_arrow_decode(col.field(str(i)), s) for i, s in enumerate(space.spaces))
    if isinstance(space, gym.spaces.Box):
        return np.asarray(col.flatten()).reshape(len(col), *space.shape)
    if isinstance(space, gym.spaces.Discrete):
        return np.asarray(col)
    return np.asarray([np.asarray(v) for v in col.to_pylist()])


def _episodes_arrow(data: Path, obs_space, act_space) -> Iterator[tuple[int, object, np.ndarray, dict]]:
    import pyarrow.dataset as pads

    ids = sorted(int(p.name) for p in data.iterdir() if p.is_dir() and p.name.isdigit())
    for i in ids:
        ep_dir = data / str(i)
        tbl = pads.dataset(str(ep_dir), format="arrow", ignore_prefixes=["_", ".", "metadata.json"]).to_table()
        obs = _arrow_decode(tbl.column("observations"), obs_space)
        acts = _arrow_decode(tbl.column("actions"), act_space)
        n_steps = len(tbl) - 1  # observations and actions are padded to T+1
        meta_p = ep_dir / "metadata.json"
        meta = json.loads(meta_p.read_text()) if meta_p.exists() else {}
        yield i, obs, np.asarray(acts)[:n_steps], meta


def import_minari(
    src: str | Path,
    out: str | Path,
    *,
    size: int | tuple[int, int] | None = None,
    obs_key: str | None = None,
    action_buckets: int = 11,
    shard_frames: int = 32768,
    overwrite: bool = False,
    progress: bool = False,
) -> TrajectoryDataset:
    """Convert the Minari dataset at `src` (its folder, or its data/ folder) into a trajectory
    dataset at `out`. Episode i becomes match i (so the split is by episode)."""
    data = _data_dir(Path(src))
    meta = json.loads((data / "metadata.json").read_text())
    fmt = meta.get("data_format", "hdf5")
    if "observation_space" not in meta or "action_space" not in meta:
        raise UserError(f"{data / 'metadata.json'} lacks observation_space/action_space")
    obs_space = deserialize_space(meta["observation_space"])
    act_space = deserialize_space(meta["action_space"])
    codec = ActionCodec(act_space, action_buckets)
    reader = {"hdf5": _episodes_hdf5, "arrow": _episodes_arrow}.get(fmt)
    if reader is None:
        raise UserError(f"unsupported Minari data_format {fmt!r} (hdf5 or arrow)")
    name = str(meta.get("dataset_id", Path(src).name))
    source = {
        "generator": "minari",
        "dataset_id": name,
        "data_format": fmt,
        "action_space": str(act_space),
        "action_kind": codec.kind,
    }
    writer = DatasetWriter(out, action_nvec=codec.nvec, shard_frames=shard_frames, source=source, overwrite=overwrite)
    episodes = reader(data, obs_space, act_space)
    if progress:
        episodes = tqdm(episodes, total=meta.get("total_episodes"), unit="episode")
    for i, obs, acts, emeta in episodes:
        imgs = _pick(obs, obs_space, obs_key)
        T = len(acts)
        if T == 0:
            continue
        if len(imgs) < T:
            raise UserError(f"episode {i}: {len(imgs)} observations for {T} actions")
        frames = np.stack([to_frame(imgs[t], size) for t in range(T)])
        codes = np.stack([codec.encode(acts[t]) for t in range(T)])
        seed = emeta.get("seed")
        writer.add_episode(
            frames, codes, match=i, player=0, map=name, persona="minari", seed=int(seed) if seed is not None else 0
        )
    return writer.close()
