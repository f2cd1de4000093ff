"""Policies that play player 0 of a batch of arena matches: act(frames uint8 [B,S,S,3]) -> uint8 [B,16].

A BC checkpoint acts as it was trained: BC-Token reads the last `context_steps` steps of (frame tokens,
action tokens) and emits the 16 action tokens one at a time, each drawn from the model's distribution
restricted to that dimension's tokens (or its most likely token with greedy=True); BC-CNN reads the last
`context` frames and draws the 16 dimensions from its heads at the last frame. Draws come from a seeded
torch.Generator, so a match is reproducible."""

from __future__ import annotations

import numpy as np
import torch

from ..action_space import ACTION_NVEC
from ..tokenize.actions import ActionTokenizer
from .checkpoints import Checkpoint

N_DIMS = len(ACTION_NVEC)


def choose(logits: torch.Tensor, greedy: bool, generator: torch.Generator) -> torch.Tensor:
    """One index per row of `logits` [B, n]: the argmax, or a draw from softmax(logits)."""
    if greedy:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float(), -1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class RandomPolicy:
    """Every dimension uniform over its values (the floor a trained agent must beat)."""

    name = "random"

    def __init__(self, seed: int = 0, frame_size: int = 64):
        self.seed, self.frame_size = seed, frame_size
        self.reset(0)

    def reset(self, n: int) -> None:
        self.rng = np.random.default_rng(self.seed)

    def teacher_force(self, actions: np.ndarray) -> None:
        """Blind to its history: nothing to replace."""

    def act(self, frames: np.ndarray) -> np.ndarray:
        return self.rng.integers(0, ACTION_NVEC, size=(len(frames), N_DIMS)).astype(np.uint8)


class MarginalPolicy(RandomPolicy):
    """Every dimension drawn from the demonstrators' marginal distribution, blind to the frames: what an
    agent that imitates the action statistics but not the game would do (the imitation floor)."""

    name = "marginal"

    def __init__(self, actions: np.ndarray, seed: int = 0, frame_size: int = 64):
        a = np.asarray(actions).reshape(-1, N_DIMS)
        self.probs = [np.bincount(a[:, d], minlength=n) / len(a) for d, n in enumerate(ACTION_NVEC)]
        super().__init__(seed, frame_size)

    def act(self, frames: np.ndarray) -> np.ndarray:
        B = len(frames)
        return np.stack([self.rng.choice(len(p), size=B, p=p) for p in self.probs], 1).astype(np.uint8)


class CNNPolicy:
    def __init__(self, ckpt: Checkpoint, greedy: bool = False, seed: int = 0, device: str = "cpu"):
        self.model, self.context = ckpt.model, ckpt.context_steps
        self.frame_size = int(ckpt.config["config"]["cnn"]["frame_size"])
        self.greedy, self.seed, self.device = greedy, seed, torch.device(device)
        self.name = f"bc-cnn {ckpt.config['config']['size']['label']}"
        self.reset(0)

    def reset(self, n: int) -> None:
        self.history: list[np.ndarray] = []
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed)

    @torch.no_grad()
    def act(self, frames: np.ndarray) -> np.ndarray:
        self.history = [*self.history[-(self.context - 1) :], frames] if self.context > 1 else [frames]
        x = torch.from_numpy(np.stack(self.history, 1)).to(self.device)
        logits = self.model(x)[:, -1].float()
        out, off = [], 0
        for n in ACTION_NVEC:
            out.append(choose(logits[:, off : off + n], self.greedy, self.gen))
            off += n
        return torch.stack(out, 1).cpu().numpy().astype(np.uint8)

    def teacher_force(self, actions: np.ndarray) -> None:
        """BC-CNN reads frames only: the actions taken do not enter its context."""


class TokenPolicy:
    def __init__(self, ckpt: Checkpoint, greedy: bool = False, seed: int = 0, device: str = "cpu"):
        self.model, self.tokenizer = ckpt.model, ckpt.tokenizer
        self.frame_size = int(self.tokenizer.config.image_size)
        self.k = self.tokenizer.tokens_per_frame
        self.actions = ActionTokenizer(self.tokenizer.codebook_size, per_dimension=True)
        self.keep = (ckpt.context_steps - 1) * (self.k + N_DIMS)  # tokens of earlier steps kept as context
        self.greedy, self.seed, self.device = greedy, seed, torch.device(device)
        self.name = f"{ckpt.config['config']['name']} {ckpt.config['config']['size']['label']}"
        self.reset(0)

    def reset(self, n: int) -> None:
        self.history: torch.Tensor | None = None
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed)

    @torch.no_grad()
    def act(self, frames: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(self.tokenizer.encode(frames).astype(np.int64)).to(self.device)
        seq = z if self.history is None or self.keep == 0 else torch.cat([self.history[:, -self.keep :], z], 1)
        logits, cache = self.model.next_logits(seq)  # the window moves each step: one prefix pass, then cached
        chosen = []
        for d, n in enumerate(ACTION_NVEC):
            lo = int(self.actions.offsets[d])
            v = choose(logits[:, lo : lo + n], self.greedy, self.gen)
            chosen.append(v)
            if d + 1 < N_DIMS:
                logits, cache = self.model.next_logits((v + lo)[:, None], cache)
        self.history = torch.cat(
            [seq, torch.stack(chosen, 1) + torch.as_tensor(self.actions.offsets, device=seq.device)], 1
        )
        return torch.stack(chosen, 1).cpu().numpy().astype(np.uint8)

    def teacher_force(self, actions: np.ndarray) -> None:
        """Replace the actions chosen last by `actions` [B, 16] in the context (open-loop evaluation on
        recorded play: the model then always sees the demonstrators' previous actions, as in training)."""
        tokens = self.actions.encode(np.asarray(actions)).astype(np.int64)
        self.history[:, -N_DIMS:] = torch.from_numpy(tokens).to(self.history.device)


def policy_for(ckpt: Checkpoint, greedy: bool = False, seed: int = 0, device: str = "cpu"):
    """The policy of a BC checkpoint (a WM checkpoint predicts frames, it does not act)."""
    if ckpt.task == "bc-cnn":
        return CNNPolicy(ckpt, greedy, seed, device)
    if ckpt.task == "bc":
        return TokenPolicy(ckpt, greedy, seed, device)
    raise ValueError(f"{ckpt.run_dir} is a {ckpt.task!r} checkpoint: only BC checkpoints act")
