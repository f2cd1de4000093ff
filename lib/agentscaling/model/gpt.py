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
    context: int  # maximum sequence length (tokens)
    n_layer: int
    n_head: int
    n_embd: int
    bias: bool = True

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}")
        if min(self.vocab_size, self.context, self.n_layer, self.n_head, self.n_embd) < 1:
            raise ValueError(f"invalid GPTConfig {self}")


KV = tuple[torch.Tensor, torch.Tensor]  # one layer's keys and values [B, heads, T, head_dim]


class CausalSelfAttention(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.n_head = c.n_head
        self.qkv = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        """The heads' outputs, concatenated, before the output projection."""
        return self.mix_cached(x, None)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.mix(x))

    def mix_cached(self, x: torch.Tensor, past: KV | None) -> tuple[torch.Tensor, KV]:
        """mix() for new positions x [B, T, C] after cached keys and values `past` (decoding)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            if T != 1:
                raise ValueError("after a cached prefix, decode one position at a time")
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        # one new position attends to every cached one; a prefix is causal within itself
        y = F.scaled_dot_product_attention(q, k, v, is_causal=past is None)
        return y.transpose(1, 2).reshape(B, T, C), (k, v)


class MLP(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.fc(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.hidden(x))


class Block(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = CausalSelfAttention(c)
        self.ln2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = MLP(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_cached(x, None)[0]

    def forward_cached(self, x: torch.Tensor, past: KV | None) -> tuple[torch.Tensor, KV]:
        h, kv = self.attn.mix_cached(self.ln1(x), past)
        x = residual_linear(x, h, self.attn.proj)
        return residual_linear(x, self.mlp.hidden(self.ln2(x)), self.mlp.proj), kv


def residual_linear(x: torch.Tensor, h: torch.Tensor, proj: nn.Linear) -> torch.Tensor:
    """x + proj(h). In fp32 on CPU as one GEMM accumulating into x + bias: nn.Linear would first copy its
    bias into a fresh output and the residual add read both back (1.01-1.02x per training step at the
    benchmark's 3M and 0.1M shapes). Under autocast, and on GPUs, the plain expression."""
    if x.device.type != "cpu" or torch.is_autocast_enabled("cpu") or x.dtype != torch.float32:
        return x + proj(h)
    C = x.shape[-1]
    x2 = x.reshape(-1, C)
    out = x2 + proj.bias if proj.bias is not None else x2.clone()
    return out.addmm_(h.reshape(-1, h.shape[-1]), proj.weight.t()).view(x.shape)


def init_weights(m: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) weights, zero biases."""
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    if isinstance(m, nn.Linear) and m.bias is not None:
        nn.init.zeros_(m.bias)


def init_residual_projections(module: nn.Module, n_layer: int) -> None:
    """GPT-2's scaled init of the projections that write into the residual stream: std 0.02/sqrt(2L)."""
    for name, p in module.named_parameters():
        if name.endswith("proj.weight"):
            nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))


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
        self.apply(init_weights)
        init_residual_projections(self, c.n_layer)

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

    @torch.no_grad()
    def next_logits(self, idx: torch.Tensor, cache: list[KV] | None = None) -> tuple[torch.Tensor, list[KV]]:
        """Logits [B, vocab] of the token after `idx` and the keys/values of every position so far, for
        decoding: pass a prefix [B, T] with no cache, then one token [B, 1] at a time with the cache it
        returned. Equal to forward(whole sequence)[:, -1] up to floating-point order."""
        T0 = 0 if cache is None else cache[0][0].shape[2]
        T = idx.shape[1]
        if T0 + T > self.config.context:
            raise ValueError(f"sequence of {T0 + T} tokens exceeds the context of {self.config.context}")
        x = self.wte(idx) + self.wpe(torch.arange(T0, T0 + T, device=idx.device))
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block.forward_cached(x, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.head(self.ln_f(x[:, -1])), new_cache


# Output head + cross-entropy in row chunks (the "fused linear cross-entropy" of Liger-Kernel and
# Apple's cut-cross-entropy, here in plain torch). With a 50,257-token vocabulary and a narrow model the
# logits dominate a CPU training step: 2,048 positions x 50,257 logits are 412 MB of fp32 that are written,
# normalised, differentiated and read back by two matmuls, all from DRAM. In chunks of about 2^20 logits
# (4 MB) they stay in cache, and the gradients of h and W are formed in the same pass, so the backward
# neither zero-fills a logits-sized gradient nor reads the logits again. Same maths, summed in another
# order (equal to rounding, tests/test_trainer.py). It pays from a few hundred classes up (the 1,024-token
# vocabulary of benchmarks/train_throughput.py: 58 -> 26 ms per 8,192-position step); below
# FUSED_CE_MIN_VOCAB the logits are a few columns wide and the plain path is a little faster, and GPUs keep
# the plain path (many tiny kernels).
FUSED_CE_MIN_VOCAB = 256
FUSED_CE_CHUNK_LOGITS = 1 << 20
FUSED_CE_MIN_CHUNK = 32


def fused_ce_chunk(vocab: int) -> int:
    """Rows per chunk: about FUSED_CE_CHUNK_LOGITS logits, never fewer than FUSED_CE_MIN_CHUNK rows."""
    return max(FUSED_CE_MIN_CHUNK, FUSED_CE_CHUNK_LOGITS // max(1, vocab))


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)
    def forward(ctx, h: torch.Tensor, w: torch.Tensor, y: torch.Tensor, chunk: int) -> torch.Tensor:
        n = h.shape[0]
        grad_h, grad_w = torch.empty_like(h), torch.zeros_like(w)
        total = torch.zeros((), dtype=torch.float64, device=h.device)
        for s in range(0, n, chunk):
            hc, yc = h[s : s + chunk], y[s : s + chunk]
            rows = torch.arange(len(yc), device=h.device)
            logp = torch.log_softmax(hc @ w.t(), dim=1)
            total -= logp[rows, yc].sum(dtype=torch.float64)
            p = logp.exp_()  # softmax, in place
            p[rows, yc] -= 1.0  # n * d(mean CE)/d(logits)
            torch.mm(p, w, out=grad_h[s : s + chunk])
            grad_h[s : s + chunk] /= n
            grad_w.addmm_(p.t(), hc, alpha=1.0 / n)
        ctx.save_for_backward(grad_h, grad_w)
        return (total / n).to(h.dtype)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx, grad_out: torch.Tensor):
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * grad_out, grad_w * grad_out, None, None


def chunked_linear_cross_entropy(
    h: torch.Tensor, w: torch.Tensor, y: torch.Tensor, chunk: int | None = None
) -> torch.Tensor:
    """mean_i CE(h_i @ w.T, y_i) without materialising all logits; h [M, d], w [V, d], y [M]."""
    chunk = fused_ce_chunk(w.shape[0]) if chunk is None else chunk
    if torch.is_grad_enabled() and (h.requires_grad or w.requires_grad):
        return _ChunkedLinearCrossEntropy.apply(h, w, y, chunk)
    h, w = h.float(), w.float()
    total = sum(
        F.cross_entropy(h[s : s + chunk] @ w.t(), y[s : s + chunk], reduction="sum").double()
        for s in range(0, h.shape[0], chunk)
    )
    return (total / h.shape[0]).float()


def head_cross_entropy(model: GPT, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the (tied) output head on hidden states h [M, d] against targets y [M]."""
    w = model.head.weight
    if h.device.type == "cpu" and w.shape[0] >= FUSED_CE_MIN_VOCAB and h.shape[0] > 0:
        return chunked_linear_cross_entropy(h, w, y)
    return F.cross_entropy(model.head(h).float(), y)


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
    return head_cross_entropy(model, h, y)
