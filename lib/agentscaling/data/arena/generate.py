"""Generate arena gameplay datasets: many matches simulated at once, written as shards.

Shard k holds matches [k*M, (k+1)*M) (M = matches_per_shard), all 8 players of each, every player
as one trajectory. A match depends only on (seed, match index), so shards can be made in any order
by any number of worker processes and one seed twice gives identical bytes. Generation resumes:
a shard whose record and files check out is skipped, anything else is redone; the manifest is
written last. Asking for more frames later extends the same dataset.
"""

from __future__ import annotations

import functools
import math
import multiprocessing as mp
import os
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ...errors import UserError
from ...io import atomic_write_json, read_json
from .. import dataset as trajectories
from . import bots as arena_bots
from . import game as rules
from . import maps as arena_maps
from .render import Renderer

GENERATOR_VERSION = 1
DEFAULT_EPISODE_STEPS = 1200  # 2 minutes of game time at 10 Hz
DEFAULT_MATCHES_PER_SHARD = 16  # 128 players stepped together (fewer above 64x64 pixels)
CONFIG_FILE = "generation.json"


@functools.lru_cache(maxsize=4)
def get_renderer(size: int) -> Renderer:
    return Renderer(size)


def default_matches_per_shard(size: int) -> int:
    """16 matches per shard at 64x64 (a 1.9 GB shard at 2-minute matches), fewer for larger images."""
    return int(np.clip(DEFAULT_MATCHES_PER_SHARD * 64 * 64 // (size * size), 1, DEFAULT_MATCHES_PER_SHARD))


def match_rng(seed: int, match: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(match)]))


def setup_matches(
    seed: int, matches: list[int], episode_steps: int, map_id: int | None = None
) -> tuple[rules.Game, arena_bots.Bots, list[dict]]:
    """A Game and its Bots for the given match indices (each seeded from (seed, match))."""
    rngs = [match_rng(seed, m) for m in matches]
    setups = [arena_bots.sample_match(r, map_id=map_id) for r in rngs]
    game = rules.Game(np.array([s["map_id"] for s in setups]), np.stack([s["classes"] for s in setups]), episode_steps)
    bots = arena_bots.Bots(game, [s["styles"] for s in setups], rngs)
    return game, bots, setups


def simulate(
    seed: int,
    matches: list[int],
    size: int | None,
    episode_steps: int,
    sink: Callable[[int, np.ndarray | None, np.ndarray], None],
    tick: Callable[[int], None] | None = None,
) -> tuple[rules.Game, list[dict]]:
    """Play the matches to the end. Each step, `sink(t, frames [N,S,S,3], actions [N,16])` gets what
    all N = 8*len(matches) players saw and did; frame t is the view before action t. With
    size=None nothing is rendered (frames is None): actions only, several times faster."""
    game, bots, setups = setup_matches(seed, matches, episode_steps)
    renderer = get_renderer(size) if size else None
    N = game.B * rules.N_PLAYERS
    frames = None
    for t in range(episode_steps):
        if renderer is not None:
            frames = renderer.render(game)
        act = bots.act()
        sink(t, frames, act.reshape(N, 16))
        game.step(act)
        if tick is not None and (t % 20 == 19 or t == episode_steps - 1):
            tick(N * (20 if t % 20 == 19 else (t % 20) + 1))
    return game, setups


def _episode_rows(seed: int, matches: list[int], game: rules.Game, setups: list[dict], T: int) -> list[dict]:
    rows = []
    for k, (m, st) in enumerate(zip(matches, setups)):
        sty = st["styles"]
        for p in range(rules.N_PLAYERS):
            team = int(rules.TEAM[p])
            rows.append(
                trajectories.episode_record(
                    m * rules.N_PLAYERS + p,
                    (k * rules.N_PLAYERS + p) * T,
                    T,
                    match=m,
                    player=p,
                    map=arena_maps.MAP_NAMES[st["map_id"]],
                    persona=arena_bots.PERSONAS[int(st["personas"][p])],
                    seed=seed,
                    map_id=int(st["map_id"]),
                    cls=rules.CLASSES[int(st["classes"][p])].name,
                    team=team,
                    kills=int(game.kills[k, p]),
                    deaths=int(game.deaths[k, p]),
                    team_score=round(float(game.score[k, team]), 3),
                    enemy_score=round(float(game.score[k, 1 - team]), 3),
                    delay=int(sty["delay"][p]),
                    aim_noise=round(float(sty["aim_noise"][p]), 4),
                    lane=int(sty["lane"][p]),
                )
            )
    return rows


def simulate_shard(
    out: str | Path,
    index: int,
    matches: list[int],
    seed: int,
    size: int,
    episode_steps: int,
    tick: Callable[[int], None] | None = None,
) -> trajectories.ShardWriter:
    """Simulate `matches` straight into the (uncommitted) shard `index` of the dataset at `out`."""
    T = episode_steps
    N = len(matches) * rules.N_PLAYERS
    sw = trajectories.ShardWriter(out, index, N * T, (size, size, 3))
    try:
        rows0 = np.arange(N) * T  # episode-major: player n's frame t is row n*T + t

        def sink(t, frames, actions):
            sw.frames[rows0 + t] = frames
            sw.actions[rows0 + t] = actions

        game, setups = simulate(seed, matches, size, T, sink, tick)
        sw.episodes.extend(_episode_rows(seed, matches, game, setups, T))
    except BaseException:
        sw.abort()
        raise
    return sw


def generate_shards(
    jobs: list[tuple], tick: Callable[[int], None] | None = None, stop: Callable[[], bool] | None = None
) -> None:
    """Simulate the shards one after another; each finished shard is checksummed, synced and
    committed in a background thread while the next one is simulated. `stop()` true: no new shard."""

    with ThreadPoolExecutor(1) as pool:
        pending = None
        for job in jobs:
            if stop is not None and stop():
                break
            sw = simulate_shard(*job, tick=tick)
            if pending is not None:
                pending.result()
            pending = pool.submit(sw.commit)
        if pending is not None:
            pending.result()


# ---- worker processes ---------------------------------------------------------------------
_COUNTER = None
_STOP = None


def _init_worker(counter, stop) -> None:

    global _COUNTER, _STOP
    _COUNTER, _STOP = counter, stop
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # _run_pool closes and joins its pool, but should anything terminate a worker with SIGTERM, exit
    # through Python so the shard in progress removes its temporary files
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def _tick_shared(n: int) -> None:
    with _COUNTER.get_lock():
        _COUNTER.value += n


def _worker(jobs: list[tuple]) -> int:
    generate_shards(jobs, tick=_tick_shared, stop=_STOP.is_set)
    return len(jobs)


def plan(n_frames: int, episode_steps: int, matches_per_shard: int) -> list[list[int]]:
    """Match indices of every shard for a dataset of at least n_frames frames."""
    n_matches = max(1, math.ceil(n_frames / (rules.N_PLAYERS * episode_steps)))
    return [list(range(s, min(s + matches_per_shard, n_matches))) for s in range(0, n_matches, matches_per_shard)]


def generate_arena_dataset(
    out: str | Path,
    n_frames: int,
    size: int = 64,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
    episode_steps: int | None = None,
    matches_per_shard: int | None = None,
) -> trajectories.TrajectoryDataset:
    """Generate (or resume, or extend) an arena dataset of at least `n_frames` recorded frames at
    `out`: ceil(n_frames / (8 * episode_steps)) matches, all 8 players recorded."""
    out = Path(out)
    cfg_path = out / CONFIG_FILE
    # unspecified layout settings are taken from an existing generation (so resuming needs only
    # --out and --frames); seed and size must always match
    old = read_json(cfg_path) if cfg_path.exists() else {}
    T = int(episode_steps or old.get("episode_steps") or DEFAULT_EPISODE_STEPS)
    MPS = int(matches_per_shard or old.get("matches_per_shard") or default_matches_per_shard(size))
    if n_frames < 1:
        raise UserError(f"--frames must be positive, got {n_frames}")
    if not 16 <= size <= 512:
        raise UserError(f"--size must be between 16 and 512, got {size}")
    if T < 2:
        raise UserError(f"episode_steps must be at least 2, got {T}")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if seed < 0:
        raise UserError(f"--seed must be non-negative, got {seed}")
    config = {
        "generator": "arena",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "size": int(size),
        "episode_steps": T,
        "matches_per_shard": MPS,
    }
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a directory")
    if old:
        if old != config:
            diff = {k: (old.get(k), v) for k, v in config.items() if old.get(k) != v}
            raise UserError(
                f"{out} holds arena data made with other settings {diff} (was, now); use another --out or delete it"
            )
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty and holds no arena generation; use an empty or new directory")
    else:
        atomic_write_json(cfg_path, config)

    shards = plan(n_frames, T, MPS)
    todo = []
    for i, matches in enumerate(shards):
        rec = trajectories.read_shard_record(out, i)
        done = (
            rec is not None
            and [e["match"] for e in rec["episodes"][:: rules.N_PLAYERS]] == matches
            and trajectories.shard_is_complete(out, i)
        )
        if not done:
            todo.append((str(out), i, matches, int(seed), int(size), T))
    total = sum(len(j[2]) for j in todo) * rules.N_PLAYERS * T
    need = total * (size * size * 3 + 16 + 256)  # frames, actions, npy headers and slack
    free = shutil.disk_usage(out).free
    if need > free:
        raise UserError(
            f"{out}: {total:,} more frames need about {need / 2**30:.1f} GiB, only {free / 2**30:.1f} GiB free"
        )
    bar = None
    if progress:
        bar = tqdm(total=total, unit="frame", unit_scale=True, desc=f"arena -> {out.name}", smoothing=0.1)
    try:
        if workers == 1 or len(todo) <= 1:
            generate_shards(todo, tick=(bar.update if bar else None))
        else:
            _run_pool(todo, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    source = dict(config, n_matches=sum(len(s) for s in shards), frames_requested=int(n_frames))
    return trajectories.finalize_dataset(out, len(shards), source=source)


def _run_pool(todo: list[tuple], workers: int, bar) -> None:

    ctx = mp.get_context("spawn")
    counter, stop = ctx.Value("q", 0), ctx.Event()
    n = min(workers, len(todo))
    groups = [todo[w::n] for w in range(n)]  # each worker streams its shards (overlapping commits)
    # Pool.__exit__ terminates the workers with SIGTERM and joins them without a timeout. A worker's
    # SIGTERM handler (its temp-file cleanup) only runs if the signal reaches its main thread, and
    # pyarrow's jemalloc background thread can take it instead: the worker then stays blocked on the
    # task queue and the join never returns. So the pool is always
    # closed and joined before it is left, the workers exiting on their own and terminate finding
    # nothing to signal: when one worker fails (or this process is interrupted), `stop` tells the
    # others to start no new shard, they finish the one in progress, and then the error is raised.
    with ctx.Pool(n, initializer=_init_worker, initargs=(counter, stop)) as pool:
        try:
            res = pool.map_async(_worker, groups, chunksize=1)
            seen = 0
            while not res.ready():
                res.wait(0.5)
                if bar is not None:
                    now = counter.value
                    bar.update(now - seen)
                    seen = now
            res.get()  # re-raise a worker's exception here
            if bar is not None:
                bar.update(counter.value - seen)
        except BaseException:
            stop.set()
            raise
        finally:
            pool.close()
            pool.join()


def throughput(n_steps: int = 100, matches: int = DEFAULT_MATCHES_PER_SHARD, size: int = 64, seed: int = 0) -> dict:
    """Frames per second of simulation + bots + rendering in this process (no disk writes)."""
    t0 = time.perf_counter()
    simulate(seed, list(range(matches)), size, n_steps, lambda t, f, a: None)
    dt = time.perf_counter() - t0
    n = n_steps * matches * rules.N_PLAYERS
    return {"frames": n, "seconds": dt, "frames_per_s": n / dt}
