"""BC-CNN (paper §2.2, Fig. 4): behaviour cloning from raw frames through a small trainable CNN.

Each frame o_t goes through an Impala-style CNN (Espeholt et al. 2018: per stack a 3×3 convolution,
a 3×3/stride-2 max-pool and residual blocks of two 3×3 convolutions; then a linear layer) to one
vector, which a linear layer projects to the transformer width. A causal GPT over the frames of a
window (learned positions, no token embedding) produces one hidden state per step, and one linear
layer gives the logits of all 16 action dimensions at once: a factorised product of per-dimension
categoricals, predicted independently from a single forward pass per step (as VPT does).

Choices the paper does not pin down (paper.md §2.2, §12.6), documented here:

* Loss: the SUM over the 16 dimensions of each dimension's cross-entropy (mean over steps), i.e. the
  negative log-likelihood of the whole action vector per step in nats. The paper's BC-CNN losses
  (≈3.6) against BC-Token's per-token ≈0.42 suggest a sum; it also makes the loss comparable to
  16 × the per-token BC-Token loss.
* Heads: dimension d has exactly nvec[d] classes (2 for each of the 12 buttons, 11 for each of the
  4 stick axes), 68 logits in all; one Linear(d_model, 68) is the same function as 16 independent
  linear heads. (With 11 classes for every head the buttons would carry 9 dead logits each.)
* Inputs: observations only; previous actions are not fed back (as drawn in the paper's Fig. 4).
* N (the paper's rule, §3.4): every trainable parameter of CNN + projection + transformer + heads,
  position embeddings excluded (our counting convention); there is no token embedding.
  `bccnn_counts` builds the model and sums `numel`, so N is exact by construction.
* C = 6·N·D with D = frames (the paper's rule), which counts the CNN as 6·N_cnn FLOPs per frame.
  The true convolution cost is far larger: `conv_flops` measures the forward multiply-accumulates of
  every Conv2d/Linear of the CNN with hooks (FLOPs = 2·MACs, training = 3× forward), and
  `flops_per_input_true` adds the transformer's 6·N_transformer + 12·L·d·T (PaLM) per frame. Runs
  record both, so reports can show how much 6·N·D undercounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..action_space import ACTION_NVEC
from .gpt import Block, GPTConfig, init_residual_projections, init_weights


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv0 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class ImpalaStack(nn.Module):
    def __init__(self, c_in: int, c_out: int, res_blocks: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.res = nn.Sequential(*[ResidualBlock(c_out) for _ in range(res_blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv(x), 3, stride=2, padding=1)
        return self.res(x)


@dataclass(frozen=True)
class CNNConfig:
    frame_size: int = 32
    channels: tuple[int, ...] = (8, 16, 16)
    res_blocks: int = 1
    out_dim: int = 64  # the CNN's output vector (the paper's is 1024 for a 0.6M-parameter CNN)

    def side_out(self) -> int:
        s = self.frame_size
        for _ in self.channels:
            s = (s + 1) // 2  # 3x3 max-pool, stride 2, padding 1
        return s


class ImpalaCNN(nn.Module):
    """uint8 frames [B, H, W, 3] -> [B, out_dim]."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.cfg = cfg
        stacks, c = [], 3
        for ch in cfg.channels:
            stacks.append(ImpalaStack(c, ch, cfg.res_blocks))
            c = ch
        self.stacks = nn.Sequential(*stacks)
        s = cfg.side_out()
        self.fc = nn.Linear(c * s * s, cfg.out_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        x = F.relu(self.stacks(x))
        return F.relu(self.fc(x.flatten(1)))


class BCCNN(nn.Module):
    """Frames [B, T, H, W, 3] uint8 -> action logits [B, T, sum(nvec)]."""

    def __init__(
        self, cnn: CNNConfig, n_layer: int, n_head: int, n_embd: int, context: int, nvec: Sequence[int] = ACTION_NVEC
    ):
        super().__init__()
        self.nvec = tuple(int(v) for v in nvec)
        self.context = int(context)
        self.cnn = ImpalaCNN(cnn)
        self.proj = nn.Linear(cnn.out_dim, n_embd)
        gcfg = GPTConfig(vocab_size=1, context=context, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
        self.wpe = nn.Embedding(context, n_embd)
        self.blocks = nn.ModuleList(Block(gcfg) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.heads = nn.Linear(n_embd, sum(self.nvec))
        for m in [self.proj, self.wpe, self.blocks, self.ln_f, self.heads]:
            m.apply(init_weights)
        init_residual_projections(self.blocks, n_layer)

    def hidden(self, frames: torch.Tensor) -> torch.Tensor:
        B, T = frames.shape[:2]
        if T > self.context:
            raise ValueError(f"window of {T} frames exceeds the context of {self.context}")
        e = self.cnn(frames.reshape(B * T, *frames.shape[2:])).reshape(B, T, -1)
        x = self.proj(e) + self.wpe(torch.arange(T, device=frames.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.heads(self.hidden(frames))


def action_loss(logits: torch.Tensor, actions: torch.Tensor, nvec: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum over dimensions of the per-dimension cross-entropy (mean over steps); also the [n_dims]
    per-dimension losses. logits [..., sum(nvec)], actions [..., n_dims] int64."""
    lg = logits.reshape(-1, logits.shape[-1]).float()
    a = actions.reshape(-1, len(nvec))
    per_dim, off = [], 0
    for d, n in enumerate(nvec):
        per_dim.append(F.cross_entropy(lg[:, off : off + n], a[:, d]))
        off += n
    per = torch.stack(per_dim)
    return per.sum(), per


# ------------------------------------------------------------------------------------------------
# Counting
# ------------------------------------------------------------------------------------------------
def conv_flops(module: nn.Module, input_shape: Sequence[int], dtype: torch.dtype = torch.float32) -> dict[str, int]:
    """Forward multiply-accumulates of every Conv2d and Linear in `module` for ONE input of shape
    `input_shape` (e.g. (H, W, 3) with dtype uint8 for ImpalaCNN), measured with forward hooks.
    Returns {"macs", "flops_fwd" (= 2·MACs), "flops_train" (= 3 × forward: backward ≈ 2 × forward)}.
    Pooling, ReLU and additions are not counted (they are not multiply-accumulates)."""
    macs = 0

    def hook(m, inp, out):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            per_out = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
            macs += out.numel() * per_out
        elif isinstance(m, nn.Linear):
            macs += out.numel() * m.in_features

    hooks = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        was = module.training
        module.eval()
        with torch.no_grad():
            x = torch.zeros((1, *input_shape), dtype=dtype)
            module(x)
        module.train(was)
    finally:
        for h in hooks:
            h.remove()
    return {"macs": int(macs), "flops_fwd": int(2 * macs), "flops_train": int(6 * macs)}


def count_module(model: nn.Module) -> dict[str, int]:
    seen: set[int] = set()
    out = {"cnn": 0, "proj": 0, "transformer": 0, "heads": 0, "position": 0}
    for name, p in model.named_parameters():
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        part = name.split(".")[0]
        key = {"cnn": "cnn", "proj": "proj", "heads": "heads", "wpe": "position"}.get(part, "transformer")
        out[key] += p.numel()
    return out


@lru_cache(maxsize=256)
def _counts_cached(cnn: CNNConfig, n_layer: int, n_head: int, n_embd: int, context: int) -> tuple:
    torch_state = torch.random.get_rng_state()
    try:
        model = BCCNN(cnn, n_layer, n_head, n_embd, context)
    finally:
        torch.random.set_rng_state(torch_state)
    return tuple(sorted(count_module(model).items())), _cnn_flops_cached(cnn)


@lru_cache(maxsize=64)
def _cnn_flops_cached(cnn: CNNConfig) -> tuple:
    """conv_flops of the Impala CNN for one frame, as sorted items (built without touching torch's RNG)."""
    torch_state = torch.random.get_rng_state()
    try:
        module = ImpalaCNN(cnn)
    finally:
        torch.random.set_rng_state(torch_state)
    return tuple(sorted(conv_flops(module, (cnn.frame_size, cnn.frame_size, 3), dtype=torch.uint8).items()))


def cnn_flops_train(cnn: CNNConfig) -> int:
    """Training FLOPs (6·MACs) of the Impala CNN per frame (the cost model's CNN term)."""
    return dict(_cnn_flops_cached(cnn))["flops_train"]


def bccnn_counts(cnn: CNNConfig, n_layer: int, n_head: int, n_embd: int, context: int) -> dict[str, float]:
    """N and compute per frame of one BC-CNN: its CNN and a transformer of this shape over `context` frames."""
    parts, cf = (dict(t) for t in _counts_cached(cnn, n_layer, n_head, n_embd, context))
    N = parts["cnn"] + parts["proj"] + parts["transformer"] + parts["heads"]
    n_tr = parts["transformer"]
    attn = 12.0 * n_layer * n_embd * context
    # per frame, training: the CNN's true cost + 6 x (every matmul parameter outside the CNN) + attention
    true = cf["flops_train"] + 6.0 * (N - parts["cnn"]) + attn
    return {
        "N": N,
        "N_total": N + parts["position"],
        "N_nonembedding": N,
        "token_embedding": 0,
        "position_embedding": parts["position"],
        "N_cnn": parts["cnn"],
        "N_proj": parts["proj"],
        "N_transformer": n_tr,
        "N_heads": parts["heads"],
        "cnn_macs_per_frame": cf["macs"],
        "cnn_flops_train_per_frame": cf["flops_train"],
        "flops_per_input_attn": 6.0 * N + attn,
        "flops_per_input_true": true,
        "undercount_ratio": true / (6.0 * N),
    }
