"""Adapters into the dataset format: the Gymnasium recorder, the Minari importer, the arena env."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from agentscaling.data.minari_import import import_minari
from agentscaling.data.recorder import ActionCodec, record_gym, to_frame
from agentscaling.errors import UserError


class Tiny(gym.Env):
    """A 6x5 image whose pixels encode (episode seed, step); episodes last 4 + seed % 4 steps."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, action_space=None, dict_obs=False, render_mode=None):
        self.observation_space = gym.spaces.Box(0, 255, (6, 5, 3), np.uint8)
        if dict_obs:
            self.observation_space = gym.spaces.Dict(
                {"pixels": self.observation_space, "vec": gym.spaces.Box(-1, 1, (2,))}
            )
        self.dict_obs = dict_obs
        self.action_space = action_space or gym.spaces.Discrete(3)
        self.render_mode = render_mode

    def _obs(self):
        img = np.full((6, 5, 3), self.t, np.uint8)
        img[0, 0] = self.s
        return {"pixels": img, "vec": np.zeros(2, np.float32)} if self.dict_obs else img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s, self.t = int(seed or 0), 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, self.t >= 4 + self.s % 4, False, {}

    def render(self):
        return np.full((6, 5, 3), 200 + self.t, np.uint8)


def test_recorder_round_trip(tmp_path):
    env = Tiny()
    policy = lambda obs: int(obs[0, 0, 0] + obs[1, 1, 0]) % 3  # noqa: E731
    ds = record_gym(env, policy, tmp_path / "rec", n_episodes=5, seed=10)
    assert len(ds) == 5 and ds.manifest["action_nvec"] == [3]
    for e in range(5):
        seed = 10 + e
        T = 4 + seed % 4
        f, a = ds.frames(e), ds.actions(e)
        assert f.shape == (T, 6, 5, 3)
        np.testing.assert_array_equal(f[:, 1, 1, 0], np.arange(T))  # o_t, the final obs dropped
        assert (f[:, 0, 0, 0] == seed).all()
        np.testing.assert_array_equal(a[:, 0], (seed + np.arange(T)) % 3)  # a_t chosen from o_t
        row = ds.episodes.set_index("episode_id").loc[e]
        assert row["match"] == e and row["seed"] == seed and row["map"] == "Tiny" and row["persona"] == "<lambda>"
    assert ds.episodes.groupby("split").size().to_dict() == {"test": 1, "train": 3, "val": 1}


def test_recorder_options(tmp_path):
    env = Tiny(action_space=gym.spaces.Box(-1, 1, (2,)), dict_obs=True, render_mode="rgb_array")
    ds = record_gym(env, None, tmp_path / "r1", n_frames=10, size=4, obs_key="pixels", action_buckets=5)
    assert ds.n_frames >= 10 and ds.frame_shape == (4, 4, 3)
    assert ds.manifest["action_nvec"] == [5, 5]
    ds2 = record_gym(env, None, tmp_path / "r2", n_episodes=1, use_render=True, max_steps=3)
    assert ds2.n_frames == 3 and (ds2.frames(0)[:, :, :, 0] == 200 + np.arange(3)[:, None, None]).all()
    with pytest.raises(UserError):
        record_gym(env, None, tmp_path / "r3")  # no length given
    with pytest.raises(UserError):
        record_gym(Tiny(action_space=gym.spaces.Box(-np.inf, np.inf, (2,))), None, tmp_path / "r4", n_episodes=1)


def test_action_codec_and_frame_conversion():
    box = ActionCodec(gym.spaces.Box(-2, 2, (3,)), buckets=11)
    codes = box.encode(np.array([-2.0, 0.0, 2.0]))
    np.testing.assert_array_equal(codes, [0, 5, 10])
    np.testing.assert_allclose(box.decode(codes), [-2, 0, 2])
    md = ActionCodec(gym.spaces.MultiDiscrete([2, 5]))
    assert md.nvec == (2, 5) and md.decode(md.encode(np.array([1, 4]))).tolist() == [1, 4]
    assert ActionCodec(gym.spaces.Discrete(4, start=1)).encode(4).tolist() == [3]
    grey = to_frame(np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    assert grey.shape == (3, 4, 3) and grey.dtype == np.uint8 and grey.max() == 255
    chw = to_frame(np.zeros((3, 10, 8), np.uint8), size=(5, 4))
    assert chw.shape == (5, 4, 3)
    with pytest.raises(UserError):
        to_frame(np.zeros(5))


def _episode_data(rng, T):
    obs = rng.integers(0, 256, (T + 1, 7, 6, 3), dtype=np.uint8)
    acts = rng.integers(0, 4, T)
    return obs, acts


def _write_metadata(data, fmt, episodes):
    obs_space = {
        "type": "Box",
        "dtype": "uint8",
        "shape": [7, 6, 3],
        "low": np.zeros((7, 6, 3), int).tolist(),
        "high": np.full((7, 6, 3), 255).tolist(),
    }
    act_space = {"type": "Discrete", "dtype": "int64", "start": 0, "n": 4}
    meta = {
        "total_episodes": len(episodes),
        "total_steps": sum(len(a) for _, a in episodes),
        "data_format": fmt,
        "dataset_id": "tiny/test-v0",
        "observation_space": json.dumps(obs_space),
        "action_space": json.dumps(act_space),
    }
    (data / "metadata.json").write_text(json.dumps(meta))


def _check_import(ds, episodes):
    assert len(ds) == len(episodes)
    for i, (obs, acts) in enumerate(episodes):
        np.testing.assert_array_equal(ds.frames(i), obs[:-1])
        np.testing.assert_array_equal(ds.actions(i)[:, 0], acts)
    assert set(ds.episodes["map"]) == {"tiny/test-v0"} and ds.manifest["action_nvec"] == [4]


def test_minari_arrow_layout_import(tmp_path):
    import pyarrow as pa
    import pyarrow.dataset as pads

    rng = np.random.default_rng(0)
    episodes = [_episode_data(rng, T) for T in (5, 8, 3)]
    data = tmp_path / "tiny" / "data"
    data.mkdir(parents=True)
    _write_metadata(data, "arrow", episodes)
    for i, (obs, acts) in enumerate(episodes):  # as Minari's ArrowStorage writes an episode
        T = len(acts)
        flat = obs.reshape(T + 1, -1)
        batch = pa.RecordBatch.from_pydict(
            {
                "episode_id": np.full(T + 1, i, np.int32),
                "observations": pa.FixedSizeListArray.from_arrays(
                    flat.reshape(-1), type=pa.list_(pa.uint8(), flat.shape[1])
                ),
                "actions": pa.array(np.pad(acts, (0, 1)), type=pa.int32()),
                "rewards": np.zeros(T + 1),
                "terminations": np.pad(np.ones(T, bool), (0, 1)),
                "truncations": np.zeros(T + 1, bool),
            }
        )
        pads.write_dataset(
            batch, data, format="arrow", partitioning=["episode_id"], existing_data_behavior="overwrite_or_ignore"
        )
        (data / str(i) / "metadata.json").write_text(json.dumps({"id": i, "total_steps": T, "seed": 40 + i}))
    ds = import_minari(tmp_path / "tiny", tmp_path / "out")
    _check_import(ds, episodes)
    assert ds.episodes["seed"].tolist() == [40, 41, 42]


def test_minari_hdf5_layout_import(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(1)
    episodes = [_episode_data(rng, T) for T in (4, 6)]
    data = tmp_path / "tiny" / "data"
    data.mkdir(parents=True)
    _write_metadata(data, "hdf5", episodes)
    with h5py.File(data / "main_data.hdf5", "w") as f:  # as Minari's HDF5Storage writes them
        for i, (obs, acts) in enumerate(episodes):
            g = f.create_group(f"episode_{i}")
            g.attrs["id"], g.attrs["total_steps"] = i, len(acts)
            g.create_dataset("observations", data=obs)
            g.create_dataset("actions", data=acts)
            for k in ("rewards", "terminations", "truncations"):
                g.create_dataset(k, data=np.zeros(len(acts)))
    _check_import(import_minari(data, tmp_path / "out"), episodes)


def test_minari_bad_input(tmp_path):
    with pytest.raises(UserError, match="metadata.json"):
        import_minari(tmp_path, tmp_path / "out")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "metadata.json").write_text(
        json.dumps(
            {
                "data_format": "zarr",
                "observation_space": json.dumps({"type": "Discrete", "n": 2}),
                "action_space": json.dumps({"type": "Discrete", "n": 2}),
            }
        )
    )
    with pytest.raises(UserError, match="zarr"):
        import_minari(tmp_path, tmp_path / "out")


def test_arena_env_passes_the_gymnasium_checker():
    from gymnasium.utils.env_checker import check_env

    from agentscaling.data.arena import env as arena_env

    env = gym.make(arena_env.ENV_ID, map_id="maze", size=32, episode_steps=12, persona_of_others="sniper")
    check_env(env.unwrapped, skip_render_check=True)
    assert env.action_space == gym.spaces.MultiDiscrete([2] * 12 + [11] * 4)
    assert env.observation_space.shape == (32, 32, 3)
    o1, info = env.reset(seed=5)
    o2, _ = env.reset(seed=5)
    np.testing.assert_array_equal(o1, o2)
    assert info["map"] == "maze" and info["personas"][1:] == ["sniper"] * 7
    steps, done = 0, False
    while not done:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(r)
        assert info["bot_action"].shape == (16,)
        steps, done = steps + 1, term or trunc
    assert steps == 12 and trunc
    with pytest.raises(ValueError):
        env.step(np.full(16, 20))
    with pytest.raises(ValueError):
        arena_env.ArenaEnv(persona_of_others="pacifist")
