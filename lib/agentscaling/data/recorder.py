"""Record any Gymnasium environment with image observations, played by any policy, into the
trajectory dataset format (so every later stage works on your own environment unchanged).

    from agentscaling.data.recorder import record_gym
    ds = record_gym(gym.make("ALE/Pong-v5"), policy=None, out="data/pong", n_episodes=20, size=64)

Images come from the observation (an HxWx3 / HxW / HxWx1 array, or a Dict entry named by
`obs_key`), or from `env.render()` with `use_render=True`. Actions are stored as small integers:
Discrete(n) -> 1 dim, MultiDiscrete -> one dim per entry, MultiBinary(n) -> n dims of 0/1, and a
bounded Box is discretised per dimension into `action_buckets` evenly spaced buckets (as the paper
does with continuous controls). `ActionCodec` converts both ways, so a model trained on the data
can act in the environment again.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from .dataset import DatasetWriter, TrajectoryDataset

Policy = Callable[[Any], Any]


class ActionCodec:
    """Gymnasium action <-> uint8 vector of per-dimension classes (`nvec` values per dim)."""

    def __init__(self, space, buckets: int = 11):
        import gymnasium as gym

        self.space = space
        self.buckets = int(buckets)
        if isinstance(space, gym.spaces.Discrete):
            self.kind, self.nvec = "discrete", (int(space.n),)
        elif isinstance(space, gym.spaces.MultiDiscrete):
            if space.nvec.ndim != 1:
                raise UserError("only 1-d MultiDiscrete action spaces are supported")
            self.kind, self.nvec = "multidiscrete", tuple(int(n) for n in space.nvec)
        elif isinstance(space, gym.spaces.MultiBinary):
            n = int(np.prod(space.shape))
            self.kind, self.nvec = "multibinary", (2,) * n
        elif isinstance(space, gym.spaces.Box):
            if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
                raise UserError("a Box action space needs finite bounds to be discretised")
            if not 2 <= self.buckets <= 256:
                raise UserError(f"action_buckets must be in 2..256, got {buckets}")
            self.kind = "box"
            self.low = space.low.reshape(-1).astype(np.float64)
            self.high = space.high.reshape(-1).astype(np.float64)
            self.nvec = (self.buckets,) * len(self.low)
        else:
            raise UserError(f"action space {space} is not supported (Discrete, MultiDiscrete, MultiBinary or Box)")
        if max(self.nvec) > 256:
            raise UserError(f"action dims with more than 256 values cannot be stored as uint8: {self.nvec}")

    def encode(self, action) -> np.ndarray:
        a = np.asarray(action)
        if self.kind == "discrete":
            v = a.reshape(1) - int(self.space.start)
        elif self.kind == "box":
            x = (a.reshape(-1).astype(np.float64) - self.low) / np.maximum(self.high - self.low, 1e-12)
            v = np.clip(np.rint(x * (self.buckets - 1)), 0, self.buckets - 1)
        else:
            v = a.reshape(-1) - (self.space.start if self.kind == "multidiscrete" else 0)
        return v.astype(np.uint8)

    def decode(self, codes: np.ndarray):
        c = np.asarray(codes).reshape(-1).astype(np.int64)
        if self.kind == "discrete":
            return int(c[0] + self.space.start)
        if self.kind == "box":
            x = self.low + c / (self.buckets - 1) * (self.high - self.low)
            return x.reshape(self.space.shape).astype(self.space.dtype)
        if self.kind == "multidiscrete":
            return (c + self.space.start).astype(self.space.dtype)
        return c.reshape(self.space.shape).astype(self.space.dtype)


def to_frame(img, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Any image-like array -> uint8 [H, W, 3]: grey is repeated, floats in [0, 1] are scaled,
    channels-first is transposed, and `size` resizes by nearest neighbour."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise UserError(f"observation of shape {a.shape} is not an image (HxW, HxWx1, HxWx3 or HxWx4)")
    a = a[..., :3]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, -1)
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and float(np.nanmax(a)) <= 1.0:
            a = a * 255.0
        a = np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    if size is not None:
        h, w = (size, size) if isinstance(size, int) else size
        ri = np.arange(h) * a.shape[0] // h
        ci = np.arange(w) * a.shape[1] // w
        a = a[ri][:, ci]
    return np.ascontiguousarray(a)


def _image_of(obs, obs_key: str | None):
    if isinstance(obs, dict):
        if obs_key is None:
            keys = [k for k, v in obs.items() if np.asarray(v).ndim in (2, 3)]
            if not keys:
                raise UserError(f"no image in the observation dict (keys {list(obs)}); pass obs_key or use_render")
            obs_key = keys[0]
        if obs_key not in obs:
            raise UserError(f"obs_key {obs_key!r} not in observation keys {list(obs)}")
        return obs[obs_key]
    return obs


def record_gym(
    env,
    policy: Policy | None,
    out,
    *,
    n_episodes: int | None = None,
    n_frames: int | None = None,
    size: int | tuple[int, int] | None = None,
    seed: int = 0,
    obs_key: str | None = None,
    use_render: bool = False,
    max_steps: int | None = None,
    action_buckets: int = 11,
    persona: str | None = None,
    shard_frames: int = 32768,
    overwrite: bool = False,
    progress: bool = False,
) -> TrajectoryDataset:
    """Play `env` with `policy(obs) -> action` (None: uniformly random actions) for `n_episodes`
    episodes or until `n_frames` frames, and write them at `out`. Episode i is reset with seed
    `seed + i` and recorded as match i (so the 80/10/10 split is by episode)."""
    if n_episodes is None and n_frames is None:
        raise UserError("give n_episodes or n_frames")
    if (n_episodes is not None and n_episodes < 1) or (n_frames is not None and n_frames < 1):
        raise UserError("n_episodes and n_frames must be positive")
    codec = ActionCodec(env.action_space, action_buckets)
    env.action_space.seed(seed)
    spec = getattr(env, "spec", None)
    env_name = spec.id if spec is not None else type(env.unwrapped).__name__
    name = persona or ("random" if policy is None else getattr(policy, "__name__", type(policy).__name__))
    source = {
        "generator": "gymnasium",
        "env": env_name,
        "policy": name,
        "seed": seed,
        "action_space": str(env.action_space),
        "action_kind": codec.kind,
    }
    writer = DatasetWriter(out, action_nvec=codec.nvec, shard_frames=shard_frames, source=source, overwrite=overwrite)
    bar = None
    if progress:
        bar = tqdm(total=n_frames or n_episodes, unit="frame" if n_frames else "episode")
    total, ep = 0, 0
    try:
        while (n_episodes is None or ep < n_episodes) and (n_frames is None or total < n_frames):
            obs, _ = env.reset(seed=seed + ep)
            frames, actions = [], []
            done = False
            while not done and (max_steps is None or len(frames) < max_steps):
                img = env.render() if use_render else _image_of(obs, obs_key)
                frames.append(to_frame(img, size))
                action = env.action_space.sample() if policy is None else policy(obs)
                actions.append(codec.encode(action))
                obs, _, term, trunc, _ = env.step(action)
                done = bool(term or trunc)
            if frames:
                writer.add_episode(
                    np.stack(frames), np.stack(actions), match=ep, player=0, map=env_name, persona=name, seed=seed + ep
                )
                total += len(frames)
            ep += 1
            if bar is not None:
                bar.update(len(frames) if n_frames else 1)
    finally:
        if bar is not None:
            bar.close()
    return writer.close()
