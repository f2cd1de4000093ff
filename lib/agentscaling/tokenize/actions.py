"""Action tokens: each of the 16 action dimensions becomes one token, in ids above the image codes.

Ids 0 … image_vocab-1 are image codes. Action ids start at `image_vocab`:

* shared (`per_dimension=False`): one vocabulary of max(nvec) = 11 ids for every dimension, value v
  of any dimension → image_vocab + v (buttons use 0/1, stick axes 0…10), so "button pressed" and
  "axis bucket 1" share an id and the position in the step tells them apart;
* per dimension (`per_dimension=True`, default): dimension i gets its own range of nvec[i] ids
  (12 buttons × 2 + 4 axes × 11 = 68 ids), so every id means one value of one dimension.

Either way no action id overlaps an image code (the paper's rule), and `vocab_size` is the total the
transformer's embedding needs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..action_space import ACTION_NVEC


class ActionTokenizer:
    def __init__(self, image_vocab: int, per_dimension: bool = True, nvec: Sequence[int] = ACTION_NVEC):
        if image_vocab < 1:
            raise ValueError(f"image_vocab must be ≥ 1, got {image_vocab}")
        self.image_vocab = int(image_vocab)
        self.per_dimension = bool(per_dimension)
        self.nvec = np.asarray(nvec, dtype=np.int64)
        if self.nvec.ndim != 1 or (self.nvec < 1).any():
            raise ValueError(f"nvec must be a list of positive sizes, got {list(nvec)}")
        if per_dimension:
            self.offsets = self.image_vocab + np.concatenate([[0], np.cumsum(self.nvec)[:-1]])
            self.action_vocab = int(self.nvec.sum())
        else:
            self.offsets = np.full(len(self.nvec), self.image_vocab, dtype=np.int64)
            self.action_vocab = int(self.nvec.max())

    @property
    def n_dims(self) -> int:
        return len(self.nvec)

    @property
    def vocab_size(self) -> int:
        """Image codes + action ids: the transformer's vocabulary."""
        return self.image_vocab + self.action_vocab

    def encode(self, actions: np.ndarray) -> np.ndarray:
        """Actions [..., n_dims] (values 0 … nvec[d]-1) → int64 token ids [..., n_dims]."""
        a = np.asarray(actions)
        if a.shape[-1:] != (self.n_dims,):
            raise ValueError(f"actions must end in {self.n_dims} dims, got shape {a.shape}")
        a = a.astype(np.int64)
        if a.size and ((a < 0).any() or (a >= self.nvec).any()):
            bad = np.argwhere((a < 0) | (a >= self.nvec))[0]
            raise ValueError(f"action value {a[tuple(bad)]} out of range for dim {bad[-1]} (size {self.nvec[bad[-1]]})")
        return a + self.offsets

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Token ids [..., n_dims] → uint8 actions [..., n_dims]; ids outside a dim's range raise."""
        t = np.asarray(tokens).astype(np.int64)
        if t.shape[-1:] != (self.n_dims,):
            raise ValueError(f"action tokens must end in {self.n_dims} dims, got shape {t.shape}")
        a = t - self.offsets
        if a.size and ((a < 0).any() or (a >= self.nvec).any()):
            raise ValueError("token ids outside the action vocabulary of their dimension")
        return a.astype(np.uint8)

    def is_action(self, tokens: np.ndarray) -> np.ndarray:
        t = np.asarray(tokens)
        return (t >= self.image_vocab) & (t < self.vocab_size)

    def to_dict(self) -> dict:
        return {
            "image_vocab": self.image_vocab,
            "per_dimension": self.per_dimension,
            "nvec": self.nvec.tolist(),
            "action_vocab": self.action_vocab,
            "vocab_size": self.vocab_size,
        }

    def __repr__(self) -> str:
        return (
            f"ActionTokenizer(image_vocab={self.image_vocab}, per_dimension={self.per_dimension}, "
            f"vocab_size={self.vocab_size})"
        )
