"""Training sequences for the tokenized architectures (WM-Token-*, BC-Token-*).

One step is k image tokens then 16 action tokens, and a sequence is `context_steps` consecutive
steps of one episode:

    position:  0 … k-1 | k … k+15 | k+16 … 2k+15 | …          S = context_steps·(k+16) inputs
    token:     z_t      | a_t      | z_{t+1}       | …

`x` is those S tokens and `y[i] = x[i+1]` (next-token targets). The last position's target would be
the first token of a frame outside the window, so it is never supervised (y = 0 there, mask False).
The architecture is the same for both tasks; only the mask differs:

* "wm" (world model): targets that are image tokens. By default (`wm_first_frame=True`) that
  includes the first frame's tokens 2…k (token 1 is never a target: nothing precedes it), which
  matches the paper's "540/556 ≈ 97 % of tokens supervised"; with `wm_first_frame=False` only frames
  after the first are supervised, i.e. only predictions that can use a previous frame and action.
  The paper does not say which it did.
* "bc" (behaviour cloning): targets that are action tokens — all 16 of every step, including the
  last step's (the 16th action token is predicted from position S-2).

Masks depend only on the position, so they are the same for every sequence. D counts all S inputs
of a sequence (the paper's rule), whatever the mask. Batches are a pure function of
(seed, step, split), so a resumed run sees exactly the batches it would have seen.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..errors import UserError
from .actions import ACTION_NVEC, ActionTokenizer

TASKS = ("wm", "bc")
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
VAL_SEED = 7_919_000  # held-out sequences are the same for every run of a study


class _Split:
    """Token rows and raw action rows of some episodes, plus every valid window start (a row)."""

    def __init__(self, tokens: np.ndarray, actions: np.ndarray, starts: np.ndarray, n_frames: int):
        self.tokens, self.actions, self.starts, self.n_frames = tokens, actions, starts, n_frames


class SequenceBuilder:
    """Build [z_t, a_t, z_{t+1}, a_{t+1}, …] sequences and WM/BC masks from per-episode arrays.

    `episodes` maps a split name to a list of (tokens uint16 [T,k], actions uint8 [T,16]) pairs.
    Use `SequenceBuilder.from_cache(cache, dataset, …)` to build it from an encoded dataset."""

    def __init__(
        self,
        tokens_per_frame: int,
        action_tokenizer: ActionTokenizer,
        context_steps: int,
        *,
        episodes: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]] | None = None,
        task: str = "wm",
        seed: int = 0,
        wm_first_frame: bool = True,
    ):
        if task not in TASKS:
            raise UserError(f"unknown task {task!r}; expected one of {TASKS}")
        if context_steps < 1:
            raise UserError(f"context_steps must be ≥ 1, got {context_steps}")
        if tokens_per_frame < 1:
            raise UserError(f"tokens_per_frame must be ≥ 1, got {tokens_per_frame}")
        self.k = int(tokens_per_frame)
        self.actions = action_tokenizer
        self.context_steps = int(context_steps)
        self.task = task
        self.seed = int(seed)
        self.wm_first_frame = bool(wm_first_frame)
        self._splits: dict[str, _Split] = {}
        for split, eps in (episodes or {}).items():
            self._add_split(split, eps)
        self.wm_mask, self.bc_mask = self._position_masks()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_cache(
        cls,
        cache,
        dataset,
        context_steps: int,
        *,
        task: str = "wm",
        per_dimension: bool = True,
        seed: int = 0,
        wm_first_frame: bool = True,
        splits: Sequence[str] = ("train", "val", "test"),
    ) -> "SequenceBuilder":
        """From a TokenCache and its dataset (for the actions and the split of each episode). The token
        array stays memory-mapped; only the (small) raw actions are read into memory."""
        at = ActionTokenizer(
            cache.codebook_size, per_dimension=per_dimension, nvec=dataset.manifest.get("action_nvec") or ACTION_NVEC
        )
        b = cls(cache.tokens_per_frame, at, context_steps, task=task, seed=seed, wm_first_frame=wm_first_frame)
        n = cache.n_frames
        actions = np.zeros((n, at.n_dims), np.uint8)
        for eid, (off, length) in cache.offsets.items():
            actions[off : off + length] = dataset.actions(eid)
        for split in splits:
            ids = dataset.split_ids(split)
            starts = [
                np.arange(cache.offsets[e][0], cache.offsets[e][0] + cache.offsets[e][1] - b.context_steps + 1)
                for e in ids
                if cache.offsets[e][1] >= b.context_steps
            ]
            if starts:
                n_frames = sum(cache.offsets[e][1] for e in ids)
                b._splits[split] = _Split(cache.array, actions, np.concatenate(starts).astype(np.int64), n_frames)
        return b

    def _add_split(self, split: str, eps: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        toks, acts, starts, off = [], [], [], 0
        for z, a in eps:
            z, a = np.asarray(z), np.asarray(a)
            if z.ndim != 2 or z.shape[1] != self.k:
                raise UserError(f"episode tokens must be [T,{self.k}], got {z.shape}")
            if a.shape != (len(z), self.actions.n_dims):
                raise UserError(f"episode actions must be [{len(z)},{self.actions.n_dims}], got {a.shape}")
            toks.append(z)
            acts.append(a)
            if len(z) >= self.context_steps:
                starts.append(np.arange(off, off + len(z) - self.context_steps + 1))
            off += len(z)
        if not starts:
            return
        self._splits[split] = _Split(
            np.concatenate(toks), np.concatenate(acts).astype(np.uint8), np.concatenate(starts).astype(np.int64), off
        )

    # -- layout ---------------------------------------------------------------------------------
    @property
    def tokens_per_step(self) -> int:
        return self.k + self.actions.n_dims

    @property
    def seq_len(self) -> int:
        return self.context_steps * self.tokens_per_step

    @property
    def vocab_size(self) -> int:
        return self.actions.vocab_size

    def _position_masks(self) -> tuple[np.ndarray, np.ndarray]:
        S, P = self.seq_len, self.tokens_per_step
        j = np.arange(S) + 1  # the target of position i is token i+1
        inside = j < S
        is_image = (j % P) < self.k
        wm = inside & is_image
        if not self.wm_first_frame:
            wm &= j >= P
        bc = inside & ~is_image
        return wm, bc

    @property
    def mask(self) -> np.ndarray:
        """[S] bool: the supervised target positions of this builder's task."""
        return self.wm_mask if self.task == "wm" else self.bc_mask

    @property
    def supervised_per_sequence(self) -> int:
        return int(self.mask.sum())

    def splits(self) -> list[str]:
        return list(self._splits)

    def n_windows(self, split: str) -> int:
        return len(self._get(split).starts)

    def epoch_inputs(self, split: str = "train") -> int:
        """Inputs in one pass over the split's frames (each frame once, as k+16 tokens)."""
        return self._get(split).n_frames * self.tokens_per_step

    def _get(self, split: str) -> _Split:
        if split not in self._splits:
            raise UserError(
                f"no episodes of ≥ {self.context_steps} steps in split {split!r} (have: {sorted(self._splits)})"
            )
        return self._splits[split]

    # -- sequences ------------------------------------------------------------------------------
    def sequences(self, starts: np.ndarray, split: str = "train") -> np.ndarray:
        """int64 [B, S] token sequences for windows starting at the given rows of the split."""
        sp = self._get(split)
        n, k = self.context_steps, self.k
        rows = (np.asarray(starts, dtype=np.int64)[:, None] + np.arange(n)[None, :]).reshape(-1)
        z = np.asarray(sp.tokens[rows], dtype=np.int64).reshape(-1, n, k)
        a = self.actions.encode(sp.actions[rows]).reshape(-1, n, self.actions.n_dims)
        return np.concatenate([z, a], axis=2).reshape(len(starts), self.seq_len)

    def sample_starts(self, step: int, batch_size: int, split: str = "train", seed: int | None = None) -> np.ndarray:
        sp = self._get(split)
        rng = np.random.default_rng([self.seed if seed is None else seed, step, SPLIT_CODES.get(split, 3)])
        return sp.starts[rng.integers(0, len(sp.starts), size=batch_size)]

    def batch(
        self, step: int, batch_size: int, split: str = "train", seed: int | None = None
    ) -> dict[str, torch.Tensor]:
        """{"x": int64 [B,S], "y": int64 [B,S], "mask": bool [B,S]}: a pure function of (seed, step, split)."""
        seq = self.sequences(self.sample_starts(step, batch_size, split, seed), split)
        y = np.zeros_like(seq)
        y[:, :-1] = seq[:, 1:]
        mask = np.broadcast_to(self.mask, seq.shape)
        return {"x": torch.from_numpy(seq), "y": torch.from_numpy(y), "mask": torch.from_numpy(mask.copy())}

    def heldout(self, n_sequences: int, batch_size: int, split: str = "val") -> list[dict[str, torch.Tensor]]:
        """Fixed held-out batches (seeded by VAL_SEED, not the run seed): the same for every run."""
        out, i = [], 0
        while i * batch_size < n_sequences:
            out.append(self.batch(i, min(batch_size, n_sequences - i * batch_size), split, seed=VAL_SEED))
            i += 1
        return out

    def describe(self) -> dict:
        return {
            "tokens_per_frame": self.k,
            "action_tokens": self.actions.n_dims,
            "tokens_per_step": self.tokens_per_step,
            "context_steps": self.context_steps,
            "seq_len": self.seq_len,
            "task": self.task,
            "wm_first_frame": self.wm_first_frame,
            "supervised_per_sequence": self.supervised_per_sequence,
            "vocab_size": self.vocab_size,
            "actions": self.actions.to_dict(),
        }
