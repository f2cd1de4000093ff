"""Pictures made of frames, as PNG files, without an imaging library (zlib + struct): the arena's
contact sheet of all 7 maps (notebook 01) and tokenizer reconstructions side by side (notebook 02)."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..data.arena import game, maps, render
from ..data.arena.bots import Bots, sample_match
from ..data.arena.generate import get_renderer, match_rng
from ..io import atomic_write_bytes


def png_bytes(img: np.ndarray) -> bytes:
    """uint8 [H,W,3] (or [H,W]) → PNG file bytes."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    h, w, c = img.shape
    if c != 3:
        raise ValueError(f"expected 3 channels, got {c}")
    raw = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(img).reshape(h, w * 3)], 1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def save_png(img: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    atomic_write_bytes(path, png_bytes(img))
    return path


# ---- frames side by side -----------------------------------------------------------------------------
def image_grid(rows: Sequence[np.ndarray], scale: int = 2, pad: int = 2, background: int = 255) -> np.ndarray:
    """Stack rows of frames (each uint8 [N,H,W,3], same N, H, W) into one image, upscaled ×`scale`."""
    rows = [np.asarray(r) for r in rows]
    n, h, w, _ = rows[0].shape
    H, W = h * scale, w * scale
    out = np.full((len(rows) * (H + pad) + pad, n * (W + pad) + pad, 3), background, np.uint8)
    for i, r in enumerate(rows):
        if r.shape != rows[0].shape:
            raise ValueError(f"row {i} has shape {r.shape}, row 0 {rows[0].shape}")
        for j in range(n):
            big = r[j].repeat(scale, axis=0).repeat(scale, axis=1)
            y, x = pad + i * (H + pad), pad + j * (W + pad)
            out[y : y + H, x : x + W] = big
    return out


def reconstruction_grid(examples: Mapping, scale: int = 2) -> tuple[np.ndarray, list[str]]:
    """From analysis.tokenizers.compare_levels' examples: the originals on top, then one row per level
    (fewest tokens first). Returns the image and the row labels."""
    levels = sorted(k for k in examples if k != "original")
    rows = [examples["original"]] + [examples[k] for k in levels]
    labels = ["original"] + [f"{k} tokens/frame" for k in levels]
    return image_grid(rows, scale=scale), labels


# ---- the arena's contact sheet ---------------------------------------------------------------------------
_FONT = {  # 3x5 glyphs, 5 rows of 3 cells each
    "A": ".#.#.#####.##.#",
    "B": "##.#.###.#.###.",
    "C": ".###..#..#...##",
    "D": "##.#.##.##.###.",
    "E": "####..##.#..###",
    "F": "####..##.#..#..",
    "G": ".###..#.##.#.##",
    "H": "#.##.#####.##.#",
    "I": "###.#..#..#.###",
    "J": "..#..#..##.#.#.",
    "K": "#.##.###.#.##.#",
    "L": "#..#..#..#..###",
    "M": "#.########.##.#",
    "N": "##.#.##.##.##.#",
    "O": ".#.#.##.##.#.#.",
    "P": "##.#.###.#..#..",
    "Q": ".#.#.##.###..##",
    "R": "##.#.###.#.##.#",
    "S": ".###...#...###.",
    "T": "###.#..#..#..#.",
    "U": "#.##.##.##.####",
    "V": "#.##.##.##.#.#.",
    "W": "#.##.########.#",
    "X": "#.##.#.#.#.##.#",
    "Y": "#.##.#.#..#..#.",
    "Z": "###..#.#.#..###",
    "0": "####.##.##.####",
    "1": ".#.##..#..#.###",
    "2": "##...#.#.#..###",
    "3": "##...#.#...###.",
    "4": "#.##.####..#..#",
    "5": "####..##...###.",
    "6": ".###..####.####",
    "7": "###..#.#..#..#.",
    "8": "####.#####.####",
    "9": "####.####..###.",
    "-": "......###......",
    ":": "....#.....#....",
    ".": ".............#.",
    "/": "..#..#.#.#..#..",
    " ": "...............",
    "+": "....#.###.#....",
    "(": ".#.#..#..#...#.",
    ")": ".#...#..#..#.#.",
    "=": "...###...###...",
    ",": "..........#.#..",
}


def draw_text(img: np.ndarray, text: str, row: int, col: int, colour=(255, 255, 255), scale: int = 2) -> int:
    """Draw `text` (upper-cased) into img at (row, col); returns the column after the text."""
    for ch in text.upper():
        g = _FONT.get(ch, _FONT[" "])
        m = np.array([c == "#" for c in g], bool).reshape(5, 3).repeat(scale, 0).repeat(scale, 1)
        h, w = m.shape
        sub = img[row : row + h, col : col + w]
        sub[m[: sub.shape[0], : sub.shape[1]]] = colour
        col += (3 + 1) * scale
    return col


def map_frames(size: int = 64, seed: int = 0, steps: int = 160, per_map: int = 6) -> dict[str, np.ndarray]:
    """`per_map` frames from one match on each of the 7 maps: at a few times, the players with the
    most enemies near them (so fights, projectiles and bars are in view)."""
    rngs = [match_rng(seed, 10_000 + m) for m in range(maps.N_MAPS)]
    setups = [sample_match(r, map_id=m) for m, r in enumerate(rngs)]
    g = game.Game(np.arange(maps.N_MAPS), np.stack([s["classes"] for s in setups]), steps)
    bots = Bots(g, [s["styles"] for s in setups], rngs)
    renderer = get_renderer(size)
    times = set(np.linspace(steps * 0.35, steps - 1, math.ceil(per_map / 2)).astype(int).tolist())
    picked: dict[int, list[np.ndarray]] = {m: [] for m in range(maps.N_MAPS)}
    for t in range(steps):
        if t in times:
            frames = renderer.render(g).reshape(maps.N_MAPS, game.N_PLAYERS, size, size, 3)
            d = g.pos[:, :, None] - g.pos[:, None]
            near = ((d * d).sum(-1) < 64) & (game.TEAM[:, None] != game.TEAM[None, :]) & g.alive[:, None, :]
            score = near.sum(-1) + 0.01 * np.arange(game.N_PLAYERS)
            for m in range(maps.N_MAPS):
                for p in np.argsort(-score[m])[:2]:
                    picked[m].append(frames[m, p].copy())
        g.step(bots.act())
    return {maps.MAP_NAMES[m]: np.stack(v[:per_map]) for m, v in picked.items()}


_LEGEND = [
    ("you", render.SELF),
    ("ally", render.ALLY),
    ("enemy", render.ENEMY),
    ("your shot", render.PROJ_SELF),
    ("ally shot", render.PROJ_ALLY),
    ("enemy shot", render.PROJ_ENEMY),
    ("bomb", render.BOMB),
    ("health pickup", render.PICKUP),
    ("shield", render.SHIELD_RING),
    ("ping", render.PING),
]


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
    side = S // scale
    draw_text(sheet, f"ARENA: {side}X{side} EGOCENTRIC VIEWS, 7 MAPS", 6, gap, (235, 235, 235), fs)
    y = 24
    for name in names:
        draw_text(sheet, name, y + S // 2 - 5, gap, (235, 235, 235), fs)
        for j, f in enumerate(frames_by_map[name]):
            x = label_w + j * (S + gap)
            sheet[y : y + S, x : x + S] = f.repeat(scale, 0).repeat(scale, 1)
        y += S + gap
    pal = render.palettes().view(np.uint8).reshape(-1, 256, 4)[0, :, :3]
    x, row = gap, y + 6
    for label, idx in _LEGEND:
        sheet[row - 1 : row + 11, x - 1 : x + 11] = 150  # a grey frame: dark swatches show
        sheet[row : row + 10, x : x + 10] = pal[idx]
        x = draw_text(sheet, label, row, x + 14, (235, 235, 235), fs) + 14
        if x > W - 200:
            x, row = gap, row + 18
    draw_text(
        sheet, "HUD: TOP = SCORE SPLIT + CLOCK, BOTTOM = HEALTH + 5 ABILITY LIGHTS", row + 20, gap, (200, 200, 200), fs
    )
    return sheet


# ---- animations --------------------------------------------------------------------------------------
def gif_bytes(frames: np.ndarray, fps: float = 10.0) -> bytes:
    """uint8 frames [T,H,W,3] → an animated GIF that loops (Pillow; each frame quantised to 256 colours)."""
    from io import BytesIO

    from PIL import Image

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames [T,H,W,3], got {frames.dtype} {frames.shape}")
    images = [Image.fromarray(f) for f in frames]
    buf = BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return buf.getvalue()


def save_gif(frames: np.ndarray, path: str | Path, fps: float = 10.0) -> Path:
    path = Path(path)
    atomic_write_bytes(path, gif_bytes(frames, fps))
    return path


def side_by_side(videos: Sequence[np.ndarray], labels: Sequence[str], scale: int = 3, pad: int = 4) -> np.ndarray:
    """Videos [T,H,W,3] (same T, H, W) next to each other, upscaled ×`scale`, each labelled above."""
    T, h, w, _ = np.asarray(videos[0]).shape
    label_h = 12
    out = np.full((T, label_h + h * scale + pad, len(videos) * (w * scale + pad) + pad, 3), 255, np.uint8)
    for i, (v, text) in enumerate(zip(videos, labels)):
        x = pad + i * (w * scale + pad)
        out[:, label_h : label_h + h * scale, x : x + w * scale] = np.asarray(v).repeat(scale, 1).repeat(scale, 2)
        for t in range(T):
            draw_text(out[t], text, 2, x, colour=(0, 0, 0), scale=1)
    return out
