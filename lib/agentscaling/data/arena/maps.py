"""The arena's 7 maps: fixed, procedurally built layouts (like a real game's map pool), each with
walls, low cover, hazards, two team spawns, three capture zones, health pickups and a navigation
table for the bots.

Every map is point-symmetric ((x, y) -> (W-1-x, H-1-y)) so neither team is favoured, is built from
a fixed seed of its own (the dataset seed never changes a map), and is checked for connectivity.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

MAP_SIZE = 48  # tiles per side; one tile is one world unit
FLOOR, WALL, COVER, HAZARD = 0, 1, 2, 3
NAV_CELL = 2  # navigation cells are 2x2 tiles -> a 24x24 graph
MAP_NAMES = ("garden", "canyon", "fortress", "islands", "maze", "pit", "docks")
N_MAPS = len(MAP_NAMES)
ZONE_RADIUS = 3.0
N_ZONES = 3
N_PICKUPS = 6
PLAYER_RADIUS = 0.4
COLLISION_RES = 4  # collision grid cells per unit


@dataclass(frozen=True)
class ArenaMap:
    id: int
    name: str
    tiles: np.ndarray  # uint8 [48,48] FLOOR/WALL/COVER/HAZARD, indexed [y, x]
    deco: np.ndarray  # uint8 [48,48] floor decoration 0/1 (texture only)
    spawns: np.ndarray  # float32 [2, 4, 2] spawn point per team and slot (x, y)
    zones: np.ndarray  # float32 [3, 2] capture zone centres (centre, near team 0, near team 1)
    pickups: np.ndarray  # float32 [6, 2] health pickup positions
    block_wall: np.ndarray  # bool [192,192] player centre may not enter (walls dilated by radius)
    block_cover: np.ndarray  # bool [192,192] same for cover (passable while jumping)
    nav_ok: np.ndarray  # bool [24*24] walkable navigation cells
    nav_next: np.ndarray  # int16 [576, 576] nav_next[goal, cell] = next cell from cell toward goal
    nav_centers: np.ndarray  # float32 [576, 2] world centre of each nav cell
    routes: np.ndarray  # float32 [3, 6, 2] three lanes (top/middle/bottom) of waypoints, team 0 -> 1


def _mirror(t: np.ndarray) -> np.ndarray:
    """Copy the left half onto the right half, rotated 180 degrees."""
    h = MAP_SIZE // 2
    t = t.copy()
    t[:, h:] = t[::-1, :h][:, ::-1]
    return t


def _rect(t, x0, y0, w, h, v):
    t[max(y0, 0) : max(y0 + h, 0), max(x0, 0) : max(x0 + w, 0)] = v


def _disc(t, cx, cy, r, v, only=None):
    yy, xx = np.mgrid[0:MAP_SIZE, 0:MAP_SIZE]
    m = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r
    if only is not None:
        m &= t == only
    t[m] = v


# -- one layout generator per map. Each fills the left half (x < 24); the rest is mirrored. --------


def _garden(t, rng):
    for _ in range(26):
        x, y = rng.integers(4, 23), rng.integers(2, 45)
        if rng.random() < 0.45:
            _rect(t, x, y, 2, 2, WALL)
        else:
            w, h = (3, 1) if rng.random() < 0.5 else (1, 3)
            _rect(t, x, y, w, h, COVER)
    _disc(t, 12, 36, 3.2, HAZARD, only=FLOOR)


def _canyon(t, rng):
    for y in (15, 32):
        _rect(t, 6, y, 18, 2, WALL)
        for gx in rng.choice(np.arange(7, 21), size=2, replace=False):
            _rect(t, int(gx), y, 3, 2, FLOOR)
    for _ in range(12):
        x, y = rng.integers(5, 23), rng.integers(2, 45)
        _rect(t, x, y, 2, 1, COVER)
    _rect(t, 14, 22, 4, 4, HAZARD)


def _fortress(t, rng):
    # half of a central fort (mirroring completes it) with gates, plus towers near the spawn
    _rect(t, 16, 16, 8, 1, WALL)
    _rect(t, 16, 31, 8, 1, WALL)
    _rect(t, 16, 16, 1, 16, WALL)
    _rect(t, 16, 22, 1, 4, FLOOR)  # west gate
    _rect(t, 20, 16, 3, 1, FLOOR)  # north gate
    _rect(t, 20, 31, 3, 1, FLOOR)
    for y in (6, 40):
        _rect(t, 8, y, 3, 3, WALL)
    for _ in range(10):
        x, y = rng.integers(4, 15), rng.integers(3, 44)
        _rect(t, x, y, 1, 2, COVER)
    _rect(t, 19, 20, 2, 1, COVER)


def _islands(t, rng):
    _rect(t, 1, 1, 23, 46, HAZARD)
    centres = [(5, 24, 5.0), (14, 10, 4.0), (14, 38, 4.0), (22, 24, 4.5), (10, 24, 3.0)]
    for _ in range(2):
        centres.append((int(rng.integers(8, 20)), int(rng.integers(4, 44)), 2.5))
    for cx, cy, r in centres:
        _disc(t, cx, cy, r, FLOOR)
    # bridges
    _rect(t, 5, 23, 19, 2, FLOOR)
    _rect(t, 13, 10, 2, 28, FLOOR)
    _rect(t, 14, 9, 10, 2, FLOOR)
    _rect(t, 14, 37, 10, 2, FLOOR)
    for _ in range(6):
        x, y = rng.integers(4, 22), rng.integers(4, 44)
        if t[y, x] == FLOOR:
            _rect(t, x, y, 1, 1, COVER)


def _maze(t, rng):
    for x in range(7, 24, 6):
        _rect(t, x, 1, 1, 46, WALL)
        for gy in rng.choice(np.arange(2, 44), size=4, replace=False):
            _rect(t, x, int(gy), 1, 3, FLOOR)
    for y in range(8, 47, 8):
        x0 = int(rng.integers(8, 16))
        _rect(t, x0, y, int(rng.integers(3, 7)), 1, WALL)
    for _ in range(8):
        x, y = rng.integers(3, 23), rng.integers(3, 45)
        _rect(t, x, y, 1, 1, COVER)


def _pit(t, rng):
    _disc(t, 24, 24, 9.5, HAZARD)
    _disc(t, 24, 24, 4.0, FLOOR)
    _rect(t, 15, 23, 9, 2, FLOOR)  # causeway to the central platform
    _rect(t, 23, 15, 2, 9, FLOOR)
    for k in range(8):
        a = k * np.pi / 4 + 0.3
        x, y = 24 + 13 * np.cos(a), 24 + 13 * np.sin(a)
        if x < 24:
            _rect(t, int(x), int(y), 2, 2, COVER if k % 2 else WALL)
    for _ in range(6):
        x, y = rng.integers(3, 12), rng.integers(3, 45)
        _rect(t, x, y, 2, 1, COVER)


def _docks(t, rng):
    _rect(t, 1, 1, 23, 3, HAZARD)
    _rect(t, 1, 44, 23, 3, HAZARD)
    for _ in range(16):
        x, y = rng.integers(5, 22), rng.integers(5, 42)
        w, h = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        _rect(t, x, y, w, h, WALL if rng.random() < 0.5 else COVER)
    for k in range(5):  # a diagonal row of crates
        _rect(t, 9 + 2 * k, 12 + 2 * k, 2, 1, WALL)


_GENERATORS = (_garden, _canyon, _fortress, _islands, _maze, _pit, _docks)
_MAP_SEEDS = (101, 202, 303, 404, 505, 606, 707)


def _spawn_points() -> np.ndarray:
    left = np.array([[3.5, 20.5], [3.5, 27.5], [5.5, 22.5], [5.5, 25.5]], np.float32)
    right = MAP_SIZE - left
    return np.stack([left, right])


def _zone_points() -> np.ndarray:
    return np.array([[24.0, 24.0], [15.0, 12.0], [33.0, 36.0]], np.float32)


def _pickup_points() -> np.ndarray:
    half = np.array([[9.5, 5.5], [20.5, 40.5], [11.5, 30.5]], np.float32)
    return np.concatenate([half, MAP_SIZE - half])


def _clear_key_areas(t: np.ndarray, spawns, zones, pickups) -> None:
    for x, y in spawns.reshape(-1, 2):
        _disc(t, x, y, 2.0, FLOOR)
    for x, y in zones:
        _disc(t, x, y, 1.6, FLOOR)
        _disc(t, x, y, ZONE_RADIUS + 0.5, FLOOR, only=WALL)
    for x, y in pickups:
        _disc(t, x, y, 1.0, FLOOR)


def _flood(passable: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    from scipy import ndimage

    lab, _ = ndimage.label(passable)
    return lab == lab[start[1], start[0]]


def _dilate(mask_tiles: np.ndarray, radius: float) -> np.ndarray:
    """Collision grid: which fine cells a player's centre may not occupy."""
    n = MAP_SIZE * COLLISION_RES
    c = (np.arange(n) + 0.5) / COLLISION_RES
    ty = np.clip(np.floor(c[:, None] + np.array([-radius, 0, radius])), 0, MAP_SIZE - 1).astype(int)
    tx = ty
    out = np.zeros((n, n), bool)
    for dy in range(3):
        for dx in range(3):
            out |= mask_tiles[ty[:, dy][:, None], tx[:, dx][None, :]]
    return out


def _navigation(tiles: np.ndarray):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    g = MAP_SIZE // NAV_CELL
    blocks = tiles.reshape(g, NAV_CELL, g, NAV_CELL).transpose(0, 2, 1, 3).reshape(g, g, -1)
    free = (blocks != WALL).sum(-1)
    ok = free >= 3  # mostly open cells only
    hazard = (blocks == HAZARD).any(-1)
    cover = (blocks == COVER).any(-1)
    cost = np.where(hazard, 5.0, np.where(cover, 1.5, 1.0))
    rows, cols, w = [], [], []
    for y in range(g):
        for x in range(g):
            if not ok[y, x]:
                continue
            for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
                yy, xx = y + dy, x + dx
                if not (0 <= yy < g and 0 <= xx < g) or not ok[yy, xx]:
                    continue
                if dy and dx and not (ok[y, xx] and ok[yy, x]):
                    continue  # no corner cutting
                d = (2**0.5 if dy and dx else 1.0) * 0.5 * (cost[y, x] + cost[yy, xx])
                a, b = y * g + x, yy * g + xx
                rows += [a, b]
                cols += [b, a]
                w += [d, d]
    graph = csr_matrix((w, (rows, cols)), shape=(g * g, g * g))
    _, pred = shortest_path(graph, directed=True, return_predecessors=True)
    # pred[goal, cell] is the node before `cell` on the path from goal: the next hop toward goal.
    nxt = pred.astype(np.int16)
    idx = np.arange(g * g)
    nxt[nxt < 0] = -1
    nxt[idx, idx] = idx
    centres = np.stack(np.meshgrid(np.arange(g), np.arange(g)), -1).reshape(-1, 2)
    centres = (centres * NAV_CELL + NAV_CELL / 2).astype(np.float32)
    return ok.reshape(-1), nxt, centres


def _routes() -> np.ndarray:
    ys = ((9.0, 9.0, 8.0, 8.0, 9.0, 9.0), (24.0, 22.0, 24.0, 24.0, 26.0, 24.0), (39.0, 39.0, 40.0, 40.0, 39.0, 39.0))
    xs = (6.0, 14.0, 20.0, 28.0, 34.0, 42.0)
    return np.array([[(x, y) for x, y in zip(xs, lane)] for lane in ys], np.float32)


def _snap_to_nav(p: np.ndarray, ok: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Move waypoints that landed on blocked nav cells to the nearest open cell."""
    out = p.copy()
    open_c = centres[ok]
    flat = out.reshape(-1, 2)
    for i, q in enumerate(flat):
        g = MAP_SIZE // NAV_CELL
        cell = int(q[1] // NAV_CELL) * g + int(q[0] // NAV_CELL)
        if not ok[cell]:
            flat[i] = open_c[np.argmin(((open_c - q) ** 2).sum(-1))]
    return out


@functools.lru_cache(maxsize=None)
def get_map(map_id: int) -> ArenaMap:
    """Build (once) and return map `map_id` (0..6)."""
    if not 0 <= map_id < N_MAPS:
        raise ValueError(f"map id must be in 0..{N_MAPS - 1}, got {map_id}")
    rng = np.random.default_rng(_MAP_SEEDS[map_id])
    t = np.zeros((MAP_SIZE, MAP_SIZE), np.uint8)
    _GENERATORS[map_id](t, rng)
    spawns, zones, pickups = _spawn_points(), _zone_points(), _pickup_points()
    t = _mirror(t)
    _clear_key_areas(t, spawns, zones, pickups)
    t[0, :] = t[-1, :] = t[:, 0] = t[:, -1] = WALL
    # Close anything unreachable from the spawns (walking or jumping over cover).
    reach = _flood(t != WALL, (int(spawns[0, 0, 0]), int(spawns[0, 0, 1])))
    t[(t != WALL) & ~reach] = WALL
    assert reach[int(spawns[1, 0, 1]), int(spawns[1, 0, 0])], f"map {map_id}: spawns are disconnected"
    deco_rng = np.random.default_rng(_MAP_SEEDS[map_id] + 1)
    deco = (deco_rng.random((MAP_SIZE, MAP_SIZE)) < 0.12).astype(np.uint8)
    deco = _mirror(deco)
    ok, nxt, centres = _navigation(t)
    return ArenaMap(
        id=map_id,
        name=MAP_NAMES[map_id],
        tiles=t,
        deco=deco,
        spawns=spawns,
        zones=zones,
        pickups=pickups,
        block_wall=_dilate(t == WALL, PLAYER_RADIUS),
        block_cover=_dilate(t == COVER, PLAYER_RADIUS),
        nav_ok=ok,
        nav_next=nxt,
        nav_centers=centres,
        routes=_snap_to_nav(_routes(), ok, centres),
    )


def map_id_of(name_or_id: int | str) -> int:
    if isinstance(name_or_id, str):
        if name_or_id not in MAP_NAMES:
            raise ValueError(f"unknown map {name_or_id!r}; choose from {', '.join(MAP_NAMES)}")
        return MAP_NAMES.index(name_or_id)
    return int(name_or_id)


@functools.lru_cache(maxsize=None)
def stacked_maps() -> dict[str, np.ndarray]:
    """All maps' arrays stacked on a leading map axis, for vectorised lookups across matches."""
    ms = [get_map(i) for i in range(N_MAPS)]
    return {
        "tiles": np.stack([m.tiles for m in ms]),
        "block_wall": np.stack([m.block_wall for m in ms]),
        "block_cover": np.stack([m.block_cover for m in ms]),
        "spawns": np.stack([m.spawns for m in ms]),
        "zones": np.stack([m.zones for m in ms]),
        "pickups": np.stack([m.pickups for m in ms]),
        "nav_next": np.stack([m.nav_next for m in ms]),
        "nav_ok": np.stack([m.nav_ok for m in ms]),
        "nav_centers": ms[0].nav_centers,
        "routes": np.stack([m.routes for m in ms]),
    }
