"""A tiny in-memory stand-in for `agentscaling.data.dataset.TrajectoryDataset`: episodes of moving
coloured shapes on a textured floor, with random actions. Tests and benchmarks use it where a real
arena dataset would be slower to make; it has the same interface the tokenizer code reads
(`manifest`, `episodes`, `frames`, `actions`, `split_ids`)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ..action_space import ACTION_DIMS, AXIS_BUCKETS, N_BUTTONS


def _episode_frames(rng: np.random.Generator, length: int, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    base = rng.integers(30, 90, size=3)
    floor = np.empty((size, size, 3), np.float32)
    checker = ((yy // 8 + xx // 8) % 2).astype(np.float32)
    for c in range(3):
        floor[..., c] = base[c] + 25 * checker
    n_obj = 3
    pos = rng.uniform(8, size - 8, size=(n_obj, 2))
    vel = rng.uniform(-2, 2, size=(n_obj, 2))
    col = rng.integers(120, 255, size=(n_obj, 3))
    rad = rng.uniform(4, 9, size=n_obj)
    out = np.empty((length, size, size, 3), np.uint8)
    for t in range(length):
        img = floor.copy()
        for i in range(n_obj):
            if i % 2 == 0:
                m = (yy - pos[i, 0]) ** 2 + (xx - pos[i, 1]) ** 2 <= rad[i] ** 2
            else:
                m = (np.abs(yy - pos[i, 0]) <= rad[i]) & (np.abs(xx - pos[i, 1]) <= rad[i])
            img[m] = col[i]
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
        pos += vel
        bounce = (pos < 6) | (pos > size - 6)
        vel[bounce] *= -1
        pos = np.clip(pos, 6, size - 6)
    return out


class SyntheticDataset:
    """`n_episodes` episodes of `episode_len` frames; splits 80/10/10 by episode order."""

    def __init__(self, n_episodes: int = 10, episode_len: int = 50, size: int = 64, seed: int = 0):
        rng = np.random.default_rng(seed)
        self._frames = {i: _episode_frames(rng, episode_len, size) for i in range(n_episodes)}
        self._actions = {}
        for i in range(n_episodes):
            a = np.empty((episode_len, ACTION_DIMS), np.uint8)
            a[:, :N_BUTTONS] = rng.integers(0, 2, size=(episode_len, N_BUTTONS))
            a[:, N_BUTTONS:] = rng.integers(0, AXIS_BUCKETS, size=(episode_len, ACTION_DIMS - N_BUTTONS))
            self._actions[i] = a
        n_val = max(1, n_episodes // 10)
        splits = ["train"] * (n_episodes - 2 * n_val) + ["val"] * n_val + ["test"] * n_val
        self.episodes = pd.DataFrame(
            {
                "episode_id": np.arange(n_episodes),
                "split": splits,
                "length": [episode_len] * n_episodes,
                "map": 0,
                "match": 0,
                "player": 0,
                "persona": "random",
                "seed": seed,
            }
        )
        h = hashlib.sha256()
        for i in range(n_episodes):
            h.update(self._frames[i].tobytes())
            h.update(self._actions[i].tobytes())
        self.manifest = {
            "hash": h.hexdigest(),
            "frame_shape": [size, size, 3],
            "n_frames": n_episodes * episode_len,
            "n_episodes": n_episodes,
        }

    def frames(self, episode_id) -> np.ndarray:
        return self._frames[int(episode_id)]

    def actions(self, episode_id) -> np.ndarray:
        return self._actions[int(episode_id)]

    def split_ids(self, split) -> list[int]:
        return [int(e) for e in self.episodes.loc[self.episodes["split"] == split, "episode_id"]]
