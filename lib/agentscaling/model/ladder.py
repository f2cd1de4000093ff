"""Size ladders: (layers, heads, width) for target parameter counts, depth and width growing together.

`paper_ladder()` is the paper's Table 2 verbatim. `shape_for_params()` generates shapes for any
target: depth is interpolated in log N through anchors taken from the paper's own ladders (a
1-layer model at ~4k parameters, L3 at 2M, L8 at 27M, L23 at 894M), then the width is solved from the
exact parameter count and rounded to whole heads."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..counting import count_params_shape

# (log10 N, layers) anchors: tiny end from the paper's Shakespeare ladder (3.81k params), the rest Table 2.
_DEPTH_ANCHORS = ((math.log10(4e3), 1.0), (math.log10(2e6), 3.0), (math.log10(27e6), 8.0), (math.log10(894e6), 23.0))


@dataclass(frozen=True)
class ModelShape:
    n_layer: int
    n_head: int
    n_embd: int

    @property
    def label(self) -> str:
        return f"L{self.n_layer}-H{self.n_head}-d{self.n_embd}"


# The paper's Table 2 (tokenized architectures): nominal N -> (layers, heads, d_model).
PAPER_TABLE2: dict[str, ModelShape] = {
    "2M": ModelShape(3, 3, 180),
    "4M": ModelShape(4, 4, 240),
    "11M": ModelShape(6, 6, 360),
    "15M": ModelShape(4, 4, 512),
    "27M": ModelShape(8, 8, 512),
    "52M": ModelShape(10, 10, 640),
    "110M": ModelShape(15, 12, 768),
    "206M": ModelShape(16, 16, 1024),
    "894M": ModelShape(23, 14, 1792),
}


def paper_ladder(names: tuple[str, ...] | None = None) -> tuple[ModelShape, ...]:
    names = names or tuple(PAPER_TABLE2)
    return tuple(PAPER_TABLE2[n] for n in names)


def _depth_for(n_params: float) -> int:
    xs, ys = zip(*_DEPTH_ANCHORS)
    x = math.log10(max(n_params, 1.0))
    if x <= xs[0]:
        return 1
    if x >= xs[-1]:  # extrapolate the last segment
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return max(1, round(ys[-1] + slope * (x - xs[-1])))
    return max(1, round(float(np.interp(x, xs, ys))))


def _head_dim_for(width: float) -> int:
    return 4 if width < 24 else 8 if width < 64 else 16 if width < 160 else 32 if width < 384 else 64


def shape_for_params(target: float, vocab_size: int, context: int, convention: str = "N") -> ModelShape:
    """The ladder shape whose parameter count (under `convention`) is closest to `target`."""
    if target <= 0:
        raise ValueError(f"target parameter count must be positive, got {target}")
    L = _depth_for(target)
    best: tuple[float, ModelShape] | None = None
    # solve 12 L d^2 + (13 L + 2 + V) d = target for d (the exact count without position embeddings)
    a, b = 12.0 * L, 13.0 * L + 2.0 + vocab_size
    d_raw = (-b + math.sqrt(b * b + 4 * a * target)) / (2 * a)
    hd = _head_dim_for(d_raw)
    # widths are whole multiples of a power-of-two head size, so heads = width / head size
    for k in {max(1, math.floor(d_raw / hd)), max(1, math.ceil(d_raw / hd))}:
        shape = ModelShape(L, k, k * hd)
        n = count_params_shape(shape, vocab_size, context)[convention]
        err = abs(math.log(n / target))
        if best is None or err < best[0]:
            best = (err, shape)
    assert best is not None
    return best[1]


def tiny_ladder(targets: tuple[float, ...], vocab_size: int, context: int) -> tuple[ModelShape, ...]:
    """Shapes for a sequence of target sizes; duplicates (tiny targets rounding alike) are refused."""
    shapes = tuple(shape_for_params(t, vocab_size, context) for t in targets)
    if len(set(shapes)) != len(shapes):
        raise ValueError(f"targets {targets} give duplicate shapes {shapes}")
    return shapes
