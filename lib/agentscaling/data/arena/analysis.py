"""What notebooks/01_data.ipynb shows: a labelled contact sheet of all 7 maps, action statistics
per persona, and the paper's App. A.3.1 data-budget arithmetic for our presets."""
from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ...io import atomic_write_bytes
from ...paths import DATA_DIR
from ..dataset import ACTION_NVEC, TrajectoryDataset, action_dim_names, action_entropy_bits
from . import game as G
from . import maps as M
from . import render as R

# Per preset: the notebook's dataset (frames recorded, match length, workers), the simulated sample
# for the entropy check, and for the App. A.3.1 budget the tokens per frame of the frame tokenizer
# assumed at that scale (d_z; 16 action tokens are added per step) with an example model size.
NOTEBOOK_PRESETS = {
    "smoke": {"frames": 8_000, "episode_steps": 100, "workers": 1, "sim_matches": 8, "sim_steps": 300,
              "tokens_per_frame": 16, "n_params": 1e5},
    "cpu": {"frames": 200_000, "episode_steps": 1200, "workers": 2, "sim_matches": 32, "sim_steps": 1200,
            "tokens_per_frame": 64, "n_params": 3e6},
    "gpu": {"frames": 2_000_000, "episode_steps": 1200, "workers": 2, "sim_matches": 64, "sim_steps": 1200,
            "tokens_per_frame": 256, "n_params": 1e8},
    "paper": {"frames": 20_000_000, "episode_steps": 1200, "workers": 2, "sim_matches": 64, "sim_steps": 1200,
              "tokens_per_frame": 540, "n_params": 2e8},
}
PAPER_BUDGETS = {  # App. A.3.1 (frames at 10 Hz, tokens per step, example model size)
    "paper WM/BC-Token-540 (7 maps)": {"frames": 1.63e9, "tokens_per_step": 556, "n_params": 2e8},
    "paper WM-Token-256 (Sky Garden)": {"frames": 3.555e8, "tokens_per_step": 272, "n_params": 2e8},
    "paper BC-CNN (7 maps)": {"frames": 1.63e9, "tokens_per_step": 1, "n_params": 5e7},
}


def notebook_settings(preset: str, frames: int | None = None) -> dict:
    if preset not in NOTEBOOK_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(NOTEBOOK_PRESETS)}")
    cfg = dict(NOTEBOOK_PRESETS[preset])
    if frames is not None:
        cfg["frames"] = int(frames)
    return cfg


def default_data_dir(preset: str, seed: int = 0, size: int = 64) -> Path:
    return DATA_DIR / "arena" / f"{preset}-seed{seed}-{size}px"


# ---- PNG and a tiny bitmap font (no imaging library needed) --------------------------------------

def encode_png(img: np.ndarray) -> bytes:
    """uint8 [H, W, 3] -> PNG bytes."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w, _ = img.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], 1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def write_png(path: str | Path, img: np.ndarray) -> Path:
    atomic_write_bytes(path, encode_png(img))
    return Path(path)


_FONT = {  # 3x5 glyphs, 5 rows of 3 cells each
    "A": ".#.#.#####.##.#", "B": "##.#.###.#.###.", "C": ".###..#..#...##", "D": "##.#.##.##.###.",
    "E": "####..##.#..###", "F": "####..##.#..#..", "G": ".###..#.##.#.##", "H": "#.##.#####.##.#",
    "I": "###.#..#..#.###", "J": "..#..#..##.#.#.", "K": "#.##.###.#.##.#", "L": "#..#..#..#..###",
    "M": "#.########.##.#", "N": "##.#.##.##.##.#", "O": ".#.#.##.##.#.#.", "P": "##.#.###.#..#..",
    "Q": ".#.#.##.###..##", "R": "##.#.###.#.##.#", "S": ".###...#...###.", "T": "###.#..#..#..#.",
    "U": "#.##.##.##.####", "V": "#.##.##.##.#.#.", "W": "#.##.########.#", "X": "#.##.#.#.#.##.#",
    "Y": "#.##.#.#..#..#.", "Z": "###..#.#.#..###", "0": "####.##.##.####", "1": ".#.##..#..#.###",
    "2": "##...#.#.#..###", "3": "##...#.#...###.", "4": "#.##.####..#..#", "5": "####..##...###.",
    "6": ".###..####.####", "7": "###..#.#..#..#.", "8": "####.#####.####", "9": "####.####..###.",
    "-": "......###......", ":": "....#.....#....", ".": ".............#.", "/": "..#..#.#.#..#..",
    " ": "...............", "+": "....#.###.#....", "(": ".#.#..#..#...#.", ")": ".#...#..#..#.#.",
    "=": "...###...###...", ",": "..........#.#..",
}


def draw_text(img: np.ndarray, text: str, row: int, col: int, colour=(255, 255, 255), scale: int = 2) -> int:
    """Draw `text` (upper-cased) into img at (row, col); returns the column after the text."""
    for ch in text.upper():
        g = _FONT.get(ch, _FONT[" "])
        m = np.array([c == "#" for c in g], bool).reshape(5, 3).repeat(scale, 0).repeat(scale, 1)
        h, w = m.shape
        sub = img[row:row + h, col:col + w]
        sub[m[:sub.shape[0], :sub.shape[1]]] = colour
        col += (3 + 1) * scale
    return col


# ---- contact sheet ---------------------------------------------------------------------------------

def map_frames(size: int = 64, seed: int = 0, steps: int = 160, per_map: int = 6) -> dict[str, np.ndarray]:
    """`per_map` frames from one match on each of the 7 maps: at a few times, the players with the
    most enemies near them (so fights, projectiles and bars are in view)."""
    from .bots import Bots, sample_match
    from .generate import get_renderer, match_rng

    rngs = [match_rng(seed, 10_000 + m) for m in range(M.N_MAPS)]
    setups = [sample_match(r, map_id=m) for m, r in enumerate(rngs)]
    game = G.Game(np.arange(M.N_MAPS), np.stack([s["classes"] for s in setups]), steps)
    bots = Bots(game, [s["styles"] for s in setups], rngs)
    renderer = get_renderer(size)
    times = set(np.linspace(steps * 0.35, steps - 1, math.ceil(per_map / 2)).astype(int).tolist())
    picked: dict[int, list[np.ndarray]] = {m: [] for m in range(M.N_MAPS)}
    for t in range(steps):
        if t in times:
            frames = renderer.render(game).reshape(M.N_MAPS, G.N_PLAYERS, size, size, 3)
            d = game.pos[:, :, None] - game.pos[:, None]
            near = ((d * d).sum(-1) < 64) & (G.TEAM[:, None] != G.TEAM[None, :]) & game.alive[:, None, :]
            score = near.sum(-1) + 0.01 * np.arange(G.N_PLAYERS)
            for m in range(M.N_MAPS):
                for p in np.argsort(-score[m])[:2]:
                    picked[m].append(frames[m, p].copy())
        game.step(bots.act())
    return {M.MAP_NAMES[m]: np.stack(v[:per_map]) for m, v in picked.items()}


_LEGEND = [("you", R.SELF), ("ally", R.ALLY), ("enemy", R.ENEMY), ("your shot", R.PROJ_SELF),
           ("ally shot", R.PROJ_ALLY), ("enemy shot", R.PROJ_ENEMY), ("bomb", R.BOMB),
           ("health pickup", R.PICKUP), ("shield", R.SHIELD_RING), ("ping", R.PING)]


def contact_sheet(frames_by_map: dict[str, np.ndarray], scale: int = 3, gap: int = 6) -> np.ndarray:
    """A labelled grid: one row per map, frames upscaled `scale`x (nearest), and a colour legend."""
    names = list(frames_by_map)
    n_cols = max(len(v) for v in frames_by_map.values())
    S = next(iter(frames_by_map.values())).shape[1] * scale
    label_w, fs = 120, 2
    legend_h = 60
    H = len(names) * (S + gap) + gap + legend_h + 24
    W = label_w + n_cols * (S + gap) + gap
    sheet = np.full((H, W, 3), 24, np.uint8)
    draw_text(sheet, "ARENA: 64X64 EGOCENTRIC VIEWS, 7 MAPS", 6, gap, (235, 235, 235), fs)
    y = 24
    for name in names:
        draw_text(sheet, name, y + S // 2 - 5, gap, (235, 235, 235), fs)
        for j, f in enumerate(frames_by_map[name]):
            x = label_w + j * (S + gap)
            sheet[y:y + S, x:x + S] = f.repeat(scale, 0).repeat(scale, 1)
        y += S + gap
    pal = R.palettes().view(np.uint8).reshape(-1, 256, 4)[0, :, :3]
    x, row = gap, y + 6
    for label, idx in _LEGEND:
        sheet[row - 1:row + 11, x - 1:x + 11] = 150                  # a grey frame: dark swatches show
        sheet[row:row + 10, x:x + 10] = pal[idx]
        x = draw_text(sheet, label, row, x + 14, (235, 235, 235), fs) + 14
        if x > W - 200:
            x, row = gap, row + 18
    draw_text(sheet, "HUD: TOP = SCORE SPLIT + CLOCK, BOTTOM = HEALTH + 5 ABILITY LIGHTS", row + 20, gap,
              (200, 200, 200), fs)
    return sheet


def overview(ds: TrajectoryDataset) -> pd.DataFrame:
    """Frames, trajectories and matches per split and map."""
    eps = ds.episodes
    g = eps.groupby(["split", "map"]).agg(frames=("length", "sum"), trajectories=("episode_id", "size"),
                                          matches=("match", "nunique"))
    return g.reset_index()


# ---- action statistics -------------------------------------------------------------------------------

def action_stats(ds: TrajectoryDataset, by: str = "persona") -> pd.DataFrame:
    """One row per (group, action dim): entropy in bits, its fraction of the maximum, and the mean
    (press rate for buttons, mean bucket for stick axes). Includes an "all" group."""
    names = action_dim_names(ds.action_nvec)
    groups = [("all", ds.episodes["episode_id"].tolist())]
    groups += [(str(k), g["episode_id"].tolist()) for k, g in ds.episodes.groupby(by, sort=True)]
    rows = []
    for gname, ids in groups:
        a = ds.all_actions(ids)
        ent = action_entropy_bits(a, ds.action_nvec)
        for d, (name, n) in enumerate(zip(names, ds.action_nvec)):
            rows.append({by: gname, "dim": name, "index": d, "entropy_bits": float(ent[d]),
                         "max_bits": math.log2(n), "entropy_frac": float(ent[d] / math.log2(n)),
                         "mean": float(a[:, d].mean()) if len(a) else float("nan"), "frames": len(a)})
    return pd.DataFrame(rows)


def simulated_action_stats(seed: int = 0, n_matches: int = 16, steps: int = 600) -> pd.DataFrame:
    """action_stats() of freshly simulated matches without rendering (fast: for tests and a larger
    sample than a small dataset holds). Matches use indices 0..n_matches-1 of `seed`."""
    from .bots import PERSONAS
    from .generate import simulate

    acts = []
    _, setups = simulate(seed, list(range(n_matches)), None, steps, lambda t, f, a: acts.append(a.copy()))
    A = np.stack(acts, 1)                                              # [N, T, 16]
    pers = np.concatenate([s["personas"] for s in setups])
    names = action_dim_names(ACTION_NVEC)
    rows = []
    for gname, sel in [("all", np.ones(len(pers), bool))] + [(p, pers == k) for k, p in enumerate(PERSONAS)]:
        a = A[sel].reshape(-1, 16)
        ent = action_entropy_bits(a, ACTION_NVEC)
        for d, (name, n) in enumerate(zip(names, ACTION_NVEC)):
            rows.append({"persona": gname, "dim": name, "index": d, "entropy_bits": float(ent[d]),
                         "max_bits": math.log2(n), "entropy_frac": float(ent[d] / math.log2(n)),
                         "mean": float(a[:, d].mean()) if len(a) else float("nan"), "frames": len(a)})
    return pd.DataFrame(rows)


def entropy_table(stats: pd.DataFrame, by: str = "persona", value: str = "entropy_bits") -> pd.DataFrame:
    """Wide view: groups as rows, action dims as columns (in controller order)."""
    order = stats.drop_duplicates("dim").sort_values("index")["dim"].tolist()
    return stats.pivot(index=by, columns="dim", values=value)[order].round(3)


def entropy_chart(stats: pd.DataFrame, by: str = "persona"):
    """Heatmap of entropy as a fraction of the maximum, per action dim and group."""
    import altair as alt

    order = stats.drop_duplicates("dim").sort_values("index")["dim"].tolist()
    base = alt.Chart(stats).encode(
        x=alt.X("dim:N", sort=order, title="action dimension"),
        y=alt.Y(f"{by}:N", title=by),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("entropy_frac:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"),
                        title="entropy / max"),
        tooltip=[by, "dim", alt.Tooltip("entropy_bits:Q", format=".3f"), alt.Tooltip("entropy_frac:Q", format=".2f")],
    )
    text = base.mark_text(fontSize=9).encode(
        text=alt.Text("entropy_bits:Q", format=".2f"),
        color=alt.condition("datum.entropy_frac > 0.6", alt.value("black"), alt.value("white")),
    )
    return (heat + text).properties(title="Action entropy per dimension (bits; colour: fraction of max)",
                                    width=560, height=28 * stats[by].nunique())


def entropy_bounds_ok(stats: pd.DataFrame, lo: float = 0.02, hi: float = 0.95) -> pd.DataFrame:
    """Rows whose entropy fraction falls outside [lo, hi] (empty = every dim is neither trivially
    predictable nor noise)."""
    return stats[(stats["entropy_frac"] < lo) | (stats["entropy_frac"] > hi)]


# ---- App. A.3.1 data budget ---------------------------------------------------------------------------

def budget_table(presets: dict | None = None, action_tokens: int = 16, epochs: int = 4,
                 flops_per_s: float = 1e11) -> pd.DataFrame:
    """Tokens per step, dataset tokens, tokens within `epochs` epochs, and the compute C = 6 N D
    those support for an example model size N, for the paper's datasets (reproducing App. A.3.1)
    and for our presets (tokenized WM/BC: d_z + 16 tokens per step; BC-CNN: 1 per step).
    `hours` is that compute at `flops_per_s` sustained (100 GFLOP/s ~ this 2-core machine)."""
    rows = []
    for name, p in PAPER_BUDGETS.items():
        rows.append({"setting": name, "frames": p["frames"], "tokens_per_step": p["tokens_per_step"],
                     "n_params": p["n_params"]})
    for name, p in (presets or NOTEBOOK_PRESETS).items():
        rows.append({"setting": f"ours {name}: WM/BC-Token", "frames": p["frames"],
                     "tokens_per_step": p["tokens_per_frame"] + action_tokens, "n_params": p["n_params"]})
        rows.append({"setting": f"ours {name}: BC-CNN", "frames": p["frames"], "tokens_per_step": 1,
                     "n_params": p["n_params"]})
    df = pd.DataFrame(rows)
    df["dataset_tokens"] = df["frames"] * df["tokens_per_step"]
    df[f"tokens_{epochs}_epochs"] = df["dataset_tokens"] * epochs
    df["max_flops"] = 6 * df["n_params"] * df[f"tokens_{epochs}_epochs"]
    df["hours_at_machine_rate"] = df["max_flops"] / flops_per_s / 3600
    return df


def summary_numbers(ds: TrajectoryDataset, stats: pd.DataFrame) -> dict:
    allrows = stats[stats["persona"] == "all"]
    per = stats[stats["persona"] != "all"]
    return {
        "frames": ds.n_frames, "episodes": len(ds), "matches": int(ds.episodes["match"].nunique()),
        "maps": sorted(ds.episodes["map"].unique().tolist()), "dataset_hash": ds.hash,
        "entropy_bits_all": dict(zip(allrows["dim"], allrows["entropy_bits"].round(4))),
        "entropy_frac_min_per_persona": float(per["entropy_frac"].min()),
        "entropy_frac_max_per_persona": float(per["entropy_frac"].max()),
        "action_nvec": list(ACTION_NVEC),
    }
