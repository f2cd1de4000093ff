"""Image grids as PNG without extra dependencies (zlib + struct), for reconstruction figures."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

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
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


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
            out[y:y + H, x:x + W] = big
    return out


def reconstruction_grid(examples: Mapping, scale: int = 2) -> tuple[np.ndarray, list[str]]:
    """From compare_levels' examples: the originals on top, then one row per level (fewest tokens
    first). Returns the image and the row labels."""
    levels = sorted(k for k in examples if k != "original")
    rows = [examples["original"]] + [examples[k] for k in levels]
    labels = ["original"] + [f"{k} tokens/frame" for k in levels]
    return image_grid(rows, scale=scale), labels


def save_png(img: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    atomic_write_bytes(path, png_bytes(img))
    return path
