"""The trajectory dataset format: round trip, memory mapping, split by match, integrity checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from agentscaling.data import dataset as trajectories
from agentscaling.errors import DataIntegrityError, UserError
from agentscaling.io import sha256_file


def _episodes(n_matches=12, players=2, seed=0, hw=(8, 6)):
    rng = np.random.default_rng(seed)
    out = []
    for m in range(n_matches):
        for p in range(players):
            T = int(rng.integers(3, 9))
            frames = rng.integers(0, 256, (T, *hw, 3), dtype=np.uint8)
            acts = np.concatenate([rng.integers(0, 2, (T, 12)), rng.integers(0, 11, (T, 4))], 1).astype(np.uint8)
            out.append(
                (frames, acts, {"match": m, "player": p, "map": f"map{m % 3}", "persona": ["a", "b"][p], "seed": 7})
            )
    return out


@pytest.fixture()
def written(tmp_path):
    eps = _episodes()
    ds = trajectories.write_dataset(tmp_path / "ds", eps, shard_frames=40, source={"test": True})
    return ds, eps


def test_round_trip_is_exact_and_memory_mapped(written):
    ds, eps = written
    assert len(ds) == len(eps)
    assert ds.n_frames == sum(len(f) for f, _, _ in eps)
    assert ds.manifest["n_shards"] > 2  # several shards were cut
    for eid, (frames, acts, meta) in enumerate(eps):
        f, a = ds.frames(eid), ds.actions(eid)
        assert f.dtype == np.uint8 and f.shape == frames.shape
        np.testing.assert_array_equal(f, frames)
        np.testing.assert_array_equal(a, acts)
        row = ds.episodes.set_index("episode_id").loc[eid]
        assert (row["match"], row["player"], row["map"], row["persona"], row["seed"]) == (
            meta["match"],
            meta["player"],
            meta["map"],
            meta["persona"],
            7,
        )
    # no copy: the arrays are views into a memory-mapped shard file
    f = ds.frames(0)
    base = f
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)
    assert not f.flags.writeable
    # reopened from disk gives the same
    again = trajectories.TrajectoryDataset(ds.root, verify="full")
    assert again.hash == ds.hash
    np.testing.assert_array_equal(again.frames(len(eps) - 1), eps[-1][0])


def test_split_is_by_match_80_10_10(written):
    ds, _ = written
    per_match = ds.episodes.groupby("match")["split"].nunique()
    assert (per_match == 1).all()  # all players of a match together
    splits = ds.episodes.drop_duplicates("match").set_index("match")["split"]
    assert all(splits[m] == trajectories.split_of_match(m) for m in splits.index)
    counts = [trajectories.split_of_match(m) for m in range(1000)]
    assert counts.count("train") == 800 and counts.count("val") == 100 and counts.count("test") == 100
    assert {trajectories.split_of_match(m) for m in range(3)} == {"train", "val", "test"}
    ids = set(ds.split_ids("train")) | set(ds.split_ids("val")) | set(ds.split_ids("test"))
    assert ids == set(ds.episodes["episode_id"])
    with pytest.raises(UserError):
        ds.split_ids("validation")


def test_manifest_records_counts_and_checksums(written):
    ds, eps = written
    m = ds.manifest
    assert m["frame_shape"] == [8, 6, 3]
    assert m["n_episodes"] == len(eps) and m["n_frames"] == ds.n_frames
    assert m["hash"] == trajectories.manifest_hash(m) and len(m["hash"]) == 64
    assert m["action_nvec"] == list(trajectories.ACTION_NVEC)
    for shard in m["shards"]:
        for f in shard["files"].values():
            assert sha256_file(ds.root / f["path"]) == f["sha256"]
            assert (ds.root / f["path"]).stat().st_size == f["bytes"]


def test_truncated_shard_is_detected_and_named(written):
    ds, _ = written
    target = ds.root / ds.manifest["shards"][1]["files"]["frames"]["path"]
    with open(target, "r+b") as fh:
        fh.truncate(target.stat().st_size - 100)
    with pytest.raises(DataIntegrityError, match=target.name):
        trajectories.TrajectoryDataset(ds.root)


def test_corrupt_shard_is_caught_by_full_verification(written):
    ds, _ = written
    target = ds.root / ds.manifest["shards"][0]["files"]["actions"]["path"]
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    target.write_bytes(bytes(data))
    trajectories.TrajectoryDataset(ds.root, verify="size")  # cheap check cannot see it
    with pytest.raises(DataIntegrityError, match=target.name):
        trajectories.TrajectoryDataset(ds.root, verify="full")


def test_edited_manifest_or_shard_index_is_detected(written):
    ds, _ = written
    mpath = ds.root / trajectories.MANIFEST
    m = json.loads(mpath.read_text())
    m["n_frames"] += 1
    mpath.write_text(json.dumps(m))
    with pytest.raises(DataIntegrityError, match="manifest.json"):
        trajectories.TrajectoryDataset(ds.root)


def test_missing_manifest_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="manifest.json"):
        trajectories.TrajectoryDataset(tmp_path)
    with pytest.raises(UserError):
        trajectories.TrajectoryDataset(tmp_path, verify="sometimes")


def test_writer_rejects_bad_input(tmp_path):
    w = trajectories.DatasetWriter(tmp_path / "w")
    good_f = np.zeros((3, 4, 4, 3), np.uint8)
    good_a = np.zeros((3, 16), np.uint8)
    with pytest.raises(UserError):
        w.add_episode(good_f.astype(np.float32), good_a, match=0)
    with pytest.raises(UserError):
        w.add_episode(good_f, np.zeros((3, 15), np.uint8), match=0)
    with pytest.raises(UserError):
        bad = good_a.copy()
        bad[0, 12] = 11  # axis bucket out of range
        w.add_episode(good_f, bad, match=0)
    w.add_episode(good_f, good_a, match=0)
    with pytest.raises(UserError):
        w.add_episode(np.zeros((3, 5, 4, 3), np.uint8), good_a, match=1)
    w.close()
    with pytest.raises(UserError, match="already holds"):
        trajectories.DatasetWriter(tmp_path / "w")
    with pytest.raises(UserError):
        trajectories.DatasetWriter(tmp_path / "empty").close()


def test_entropy_and_stats(written):
    ds, _ = written
    const = np.zeros((50, 16), np.uint8)
    assert np.all(trajectories.action_entropy_bits(const, trajectories.ACTION_NVEC) == 0)
    uni = np.tile(np.arange(11, dtype=np.uint8), 4)[:, None].repeat(16, 1) % np.array(
        trajectories.ACTION_NVEC, np.uint8
    )
    ent = trajectories.action_entropy_bits(uni[:44], trajectories.ACTION_NVEC)
    assert ent[-1] == pytest.approx(math.log2(11))
    st = trajectories.dataset_stats(ds)
    assert st["frames"] == ds.n_frames and st["matches"] == 12 and st["episodes"] == len(ds)
    assert set(st["entropy_bits_by_persona"]) == {"a", "b"}
    assert st["bytes_on_disk"] > ds.n_frames * 8 * 6 * 3
    assert sum(st["split_frames"].values()) == ds.n_frames
