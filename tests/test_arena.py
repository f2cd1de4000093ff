"""The arena game, its generator and its CLI: determinism, resume, maps, rules, rendering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agentscaling.analysis.data import budget_table, entropy_bounds_ok, simulated_action_stats
from agentscaling.charts import images
from agentscaling.cli import main
from agentscaling.data import dataset as trajectories
from agentscaling.data.arena import game as arena_game
from agentscaling.data.arena import generate as arena_generation
from agentscaling.data.arena import maps as arena_maps
from agentscaling.data.arena import render as arena_render
from agentscaling.errors import UserError

TINY = dict(episode_steps=30, matches_per_shard=1)
TINY_FRAMES = 3 * 8 * 30  # three matches -> three shards


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = arena_generation.generate_arena_dataset(tmp_path / "a", TINY_FRAMES, seed=0, **TINY)
    b = arena_generation.generate_arena_dataset(tmp_path / "b", TINY_FRAMES, seed=0, **TINY)
    c = arena_generation.generate_arena_dataset(tmp_path / "c", TINY_FRAMES, seed=1, **TINY)
    assert _tree(a.root) == _tree(b.root)
    assert a.hash == b.hash != c.hash
    assert not np.array_equal(a.frames(0), c.frames(0)) or not np.array_equal(a.actions(0), c.actions(0))
    assert a.n_frames == TINY_FRAMES and len(a) == 24
    # all 8 players of a match, split by match, every frame a real image
    assert sorted(a.episodes.loc[a.episodes["match"] == 1, "player"]) == list(range(8))
    assert (a.episodes.groupby("match")["split"].nunique() == 1).all()
    assert a.frames(0).shape == (30, 64, 64, 3) and a.actions(0).shape == (30, 16)
    assert a.frames(0).std() > 10
    acts = a.all_actions()
    assert acts[:, :12].max() <= 1 and acts[:, 12:].max() <= 10


def test_two_workers_write_the_same_bytes_as_one(tmp_path):
    one = arena_generation.generate_arena_dataset(tmp_path / "one", TINY_FRAMES, workers=1, **TINY)
    two = arena_generation.generate_arena_dataset(tmp_path / "two", TINY_FRAMES, workers=2, **TINY)
    assert _tree(one.root) == _tree(two.root)


def test_resume_redoes_only_broken_shards(tmp_path, monkeypatch):
    ref = arena_generation.generate_arena_dataset(tmp_path / "ref", TINY_FRAMES, **TINY)
    out = tmp_path / "run"
    # an interruption in the middle of shard 1: shard 0 is complete, shard 1 left nothing behind
    real = arena_generation.simulate
    calls = {"n": 0}

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(arena_generation, "simulate", flaky)
    with pytest.raises(KeyboardInterrupt):
        arena_generation.generate_arena_dataset(out, TINY_FRAMES, **TINY)
    monkeypatch.setattr(arena_generation, "simulate", real)
    assert not (out / trajectories.MANIFEST).exists()
    assert trajectories.shard_is_complete(out, 0) and not trajectories.shard_is_complete(out, 1)
    assert not list((out / trajectories.SHARD_DIR).glob(".*tmp"))  # no half-written files
    stamp = (out / trajectories.SHARD_DIR / "shard-00000.frames.npy").stat().st_mtime_ns
    # resume with only --out and --frames: stored layout settings are reused
    ds = arena_generation.generate_arena_dataset(out, TINY_FRAMES)
    assert (out / trajectories.SHARD_DIR / "shard-00000.frames.npy").stat().st_mtime_ns == stamp  # skipped
    assert _tree(ds.root) == _tree(ref.root)
    # a truncated shard is redone on the next run
    f1 = out / trajectories.SHARD_DIR / "shard-00001.frames.npy"
    with open(f1, "r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(trajectories.DataIntegrityError, match="shard-00001"):
        trajectories.TrajectoryDataset(out)
    arena_generation.generate_arena_dataset(out, TINY_FRAMES)
    assert _tree(out) == _tree(ref.root)


def test_other_settings_in_the_same_directory_are_refused(tmp_path):
    arena_generation.generate_arena_dataset(tmp_path / "d", 8 * 30, **TINY)
    with pytest.raises(UserError, match="seed"):
        arena_generation.generate_arena_dataset(tmp_path / "d", 8 * 30, seed=5, **TINY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        arena_generation.generate_arena_dataset(tmp_path / "other", 100)
    for bad in (dict(n_frames=0), dict(n_frames=10, size=8), dict(n_frames=10, workers=0)):
        with pytest.raises(UserError):
            arena_generation.generate_arena_dataset(tmp_path / "bad", **bad)


@pytest.mark.parametrize("map_id", range(arena_maps.N_MAPS))
def test_maps_are_fair_connected_and_navigable(map_id):
    m = arena_maps.get_map(map_id)
    assert m.tiles.shape == (48, 48)
    assert np.array_equal(m.tiles, m.tiles[::-1, ::-1])  # point symmetric
    assert (m.tiles[0] == arena_maps.WALL).all() and (m.tiles[:, -1] == arena_maps.WALL).all()
    for p in np.concatenate([m.spawns.reshape(-1, 2), m.zones, m.pickups]):
        assert m.tiles[int(p[1]), int(p[0])] == arena_maps.FLOOR
    # the navigation table leads from one spawn to the other
    g = arena_maps.MAP_SIZE // arena_maps.NAV_CELL
    cell = lambda p: int(p[1] // 2) * g + int(p[0] // 2)  # noqa: E731
    c, goal = cell(m.spawns[0, 0]), cell(m.spawns[1, 0])
    for _ in range(200):
        if c == goal:
            break
        c = int(m.nav_next[goal, c])
        assert c >= 0 and m.nav_ok[c]
    assert c == goal
    assert arena_maps.MAP_NAMES[map_id] == m.name
    assert len(set(arena_maps.MAP_NAMES)) == 7 and len({arena_maps.get_map(i).tiles.tobytes() for i in range(7)}) == 7


def test_game_rules_hold_over_a_match():
    game, bots, setups = arena_generation.setup_matches(3, list(range(4)), 300)
    fired = 0
    for _ in range(300):
        a = bots.act()
        fired += int(a[..., arena_game.B_ATTACK].sum())
        game.step(a)
        assert np.all(game.hp <= game.max_hp + 1e-4) and np.all(game.hp >= 0)
        fine = np.clip((game.pos * arena_maps.COLLISION_RES).astype(int), 0, 191)
        in_wall = game.block_wall[np.arange(4)[:, None], fine[..., 1], fine[..., 0]]
        assert not in_wall[game.alive].any()
        assert np.all(np.isfinite(game.pos))
    assert fired > 0 and game.deaths.sum() > 0
    assert game.kills.sum() <= game.deaths.sum()
    assert np.all(game.score >= 0)


def test_controller_layout_and_axis_buckets():
    assert len(arena_game.ACTION_NAMES) == trajectories.ACTION_DIMS == 16
    assert arena_game.ACTION_NAMES[:12] == arena_game.BUTTONS and arena_game.ACTION_NAMES[12:] == arena_game.AXES
    v = np.linspace(-1, 1, 11)
    np.testing.assert_array_equal(arena_game.axis_bucket(v), np.arange(11))
    np.testing.assert_allclose(arena_game.axis_value(np.arange(11)), v, atol=1e-6)


def test_rendering_is_egocentric_and_shows_state():
    game, bots, _ = arena_generation.setup_matches(0, [0, 1], 100)
    rend = arena_generation.get_renderer(64)
    for _ in range(5):
        game.step(bots.act())
    frames = rend.render(game)
    assert frames.shape == (16, 64, 64, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(rend.render(game, viewers=np.array([[1, 3]]))[0], frames[8 + 3])
    np.testing.assert_array_equal(rend.render(game), frames)  # deterministic
    pal = arena_render.palettes().view(np.uint8).reshape(-1, 256, 4)[0, :, :3]
    # the bottom HUD row shows the viewer's health: halve it and the green bar shrinks
    hp_row = lambda f: (f[64 - 2, :, :] == pal[arena_render.HUD_HP]).all(-1).sum()  # noqa: E731
    before = hp_row(frames[0])
    game.hp[0, 0] = game.max_hp[0, 0] / 2
    after = hp_row(rend.render(game)[0])
    assert before > 20 and after == pytest.approx(before / 2, abs=2)
    # the other players are drawn in the viewer's team colours
    game.pos[0, 1] = game.pos[0, 0] + 3 * np.array([np.cos(game.facing[0, 0]), np.sin(game.facing[0, 0])])
    game.alive[0, 1] = True
    f = rend.render(game)[0]
    assert (f == pal[arena_render.ALLY]).all(-1).any()
    assert (f == pal[arena_render.SELF]).all(-1).any()


def test_action_entropy_is_neither_trivial_nor_noise_per_persona():
    st = simulated_action_stats(seed=1, n_matches=8, steps=300)
    assert set(st["persona"]) == {"all", "aggressive", "defensive", "support", "explorer", "sniper"}
    bad = entropy_bounds_ok(st, lo=0.02, hi=0.95)
    assert bad.empty, bad.to_string()
    # personas behave differently, e.g. how much they shoot
    att = st[st["dim"] == "attack"].set_index("persona")["mean"]
    assert att.drop("all").max() > 1.2 * att.drop("all").min()


def test_contact_sheet_and_budget_table():
    frames = images.map_frames(size=32, seed=0, steps=12, per_map=2)
    assert list(frames) == list(arena_maps.MAP_NAMES)
    sheet = images.contact_sheet(frames, scale=2)
    assert sheet.ndim == 3 and sheet.shape[2] == 3
    assert images.png_bytes(sheet)[:8] == b"\x89PNG\r\n\x1a\n"
    bt = budget_table().set_index("setting")
    # App. A.3.1: 4.3e21 (200M, 7 maps), 4.6e20 (200M, Sky Garden), 2.0e18 (50M BC-CNN)
    assert bt.loc["paper WM/BC-Token-540 (7 maps)", "max_flops"] == pytest.approx(4.3e21, rel=0.02)
    assert bt.loc["paper WM-Token-256 (Sky Garden)", "max_flops"] == pytest.approx(4.6e20, rel=0.02)
    assert bt.loc["paper BC-CNN (7 maps)", "max_flops"] == pytest.approx(2.0e18, rel=0.03)


def test_cli_generates_reports_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "arena", "--frames", "240", "--out", str(out), "--episode-steps", "30", "--no-progress"]) == 0
    assert main(["data", "stats", str(out), "--json"]) == 0
    st = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert st["frames"] == 240 and st["matches"] == 1 and len(st["entropy_bits"]) == 16
    assert main(["data", "stats", str(out)]) == 0
    assert "action entropy" in capsys.readouterr().out
    assert main(["data", "arena", "--frames", "0", "--out", str(tmp_path / "z")]) == 2
    assert main(["data", "arena", "--frames", "240", "--out", str(out), "--seed", "9"]) == 2
    assert main(["data", "stats", str(tmp_path / "missing")]) == 2
    assert main(["data", "stats", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("agentscaling: error:") == 4
    with pytest.raises(SystemExit) as e:
        main(["data", "arena", "--frames", "lots", "--out", str(out)])
    assert e.value.code == 2


def test_a_match_does_not_depend_on_its_batch_or_the_image_size(tmp_path):
    """A match is a function of (seed, match index) alone: the same actions whether it is simulated
    with others or alone, and at any image size (so a 32 px and a 64 px dataset hold the same play)."""
    together, alone = [], []
    arena_generation.simulate(4, [0, 1, 2], None, 120, lambda t, f, a: together.append(a[8:16].copy()))
    arena_generation.simulate(4, [1], None, 120, lambda t, f, a: alone.append(a.copy()))
    np.testing.assert_array_equal(np.stack(together), np.stack(alone))
    small = arena_generation.generate_arena_dataset(tmp_path / "s32", 8 * 30, size=32, **TINY)
    big = arena_generation.generate_arena_dataset(tmp_path / "s64", 8 * 30, size=64, **TINY)
    np.testing.assert_array_equal(small.all_actions(), big.all_actions())
    assert small.frame_shape == (32, 32, 3) and big.frame_shape == (64, 64, 3)


def test_a_failing_worker_stops_the_pool_and_its_error_surfaces(tmp_path, monkeypatch):
    """One worker's exception reaches the caller after the pool is closed and joined: when the pool's
    terminate (SIGTERM, which could hang on pyarrow's allocator thread) runs, no worker is alive; the
    shards in progress leave no temporary files."""
    import multiprocessing.pool as mpp

    alive_at_terminate = []
    real_terminate = mpp.Pool.terminate

    def terminate(self):
        alive_at_terminate.append(sum(p.exitcode is None for p in self._pool))
        return real_terminate(self)

    monkeypatch.setattr(mpp.Pool, "terminate", terminate)
    out = tmp_path / "x"
    out.mkdir()
    bad = (str(out), 0, [0], -1, 16, 30)  # a negative seed fails in the simulation
    todo = [bad] + [(str(out), i, [i], 0, 16, 30) for i in range(1, 6)]
    with pytest.raises(ValueError):
        arena_generation._run_pool(todo, 2, None)
    assert alive_at_terminate == [0]
    assert not trajectories.shard_is_complete(out, 0)
    assert not list(out.rglob(".*tmp"))
