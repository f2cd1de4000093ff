"""A GPT-2-style decoder in one file (after nanoGPT): pre-LayerNorm blocks, causal attention through
scaled_dot_product_attention, a GELU MLP of 4x width, learned positions, and an output head tied to
the token embedding. No dropout: scaling studies train in the infinite-data regime."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    context: int          # maximum sequence length (tokens)
    n_layer: int
    n_head: int
    n_embd: int
    bias: bool = True

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}")
        if min(self.vocab_size, self.context, self.n_layer, self.n_head, self.n_embd) < 1:
            raise ValueError(f"invalid GPTConfig {self}")


class CausalSelfAttention(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.n_head = c.n_head
        self.qkv = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = CausalSelfAttention(c)
        self.ln2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = MLP(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = c = config
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.context, c.n_embd)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.head.weight = self.wte.weight  # tied
        self.apply(self._init)
        # GPT-2's scaled init of the residual projections
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def hidden(self, idx: torch.Tensor | None = None, embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states for token ids, or for continuous input embeddings (BC-CNN)."""
        x = self.wte(idx) if embeddings is None else embeddings
        T = x.shape[1]
        if T > self.config.context:
            raise ValueError(f"sequence of {T} tokens exceeds the context of {self.config.context}")
        x = x + self.wpe(torch.arange(T, device=x.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, vocab]."""
        return self.head(self.hidden(idx))


def masked_next_token_loss(model: GPT, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy over the supervised positions (batch['mask']; all positions when absent).

    Only the supervised positions go through the output head, so sparse losses (BC, the sparse
    Shakespeare variant) do not pay for logits they never use."""
    h = model.hidden(batch["x"])
    y = batch["y"]
    mask = batch.get("mask")
    if mask is not None and not bool(mask.all()):
        h, y = h[mask], y[mask]
    else:
        h, y = h.reshape(-1, h.shape[-1]), y.reshape(-1)
    logits = model.head(h)
    return F.cross_entropy(logits.float(), y)
