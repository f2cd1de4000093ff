"""Counting conventions for N (parameters), D (inputs) and C (compute), recorded with every run.

The paper (its §3.4, after Pearce & Song 2024) counts N as all trainable parameters including the
token embedding, with the tied output head counted once; its Table 2 numbers match a count that
leaves out learned position embeddings (nanoGPT's `get_num_params`), so that is our headline `N`.
D counts every transformer input, supervised or not; C = 6·N·D. We also record the non-embedding
count, the count with position embeddings, and the PaLM-style compute that adds attention:
per input 6·N + 12·L·d·T, with T the context length (d = heads × head size)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch.nn as nn

    from .model.ladder import ModelShape

CONVENTIONS = {
    "N": "paper: all trainable parameters incl. the token embedding (tied head counted once), "
    "excluding learned position embeddings (nanoGPT get_num_params); extra trainable modules "
    "(e.g. BC-CNN's encoder) are included",
    "N_total": "every trainable parameter, position embeddings included",
    "N_nonembedding": "N minus the token embedding (Kaplan's convention)",
    "D": "all transformer inputs seen in training (tokens, or frames for BC-CNN), supervised or not",
    "D_supervised": "inputs whose target enters the loss",
    "C": "6 * N * D (the paper's rule; attention and convolution FLOPs ignored)",
    "C_attn": "(6 * N + 12 * n_layer * n_embd * context) * D (PaLM's formula with attention)",
}


def count_params_shape(shape: "ModelShape", vocab_size: int, context: int, bias: bool = True) -> dict[str, int]:
    """Exact parameter counts of agentscaling.model.GPT for a shape, without building it."""
    L, d = shape.n_layer, shape.n_embd
    per_layer = 12 * d * d + (13 * d if bias else 4 * d)  # qkv, proj, fc, proj weights (+biases) + 2 LayerNorms
    blocks = L * per_layer + (2 * d if bias else d)  # + final LayerNorm
    wte, wpe = vocab_size * d, context * d
    return {
        "N": blocks + wte,
        "N_total": blocks + wte + wpe,
        "N_nonembedding": blocks,
        "token_embedding": wte,
        "position_embedding": wpe,
    }


def count_params_module(
    model: "nn.Module",
    position_params: tuple[str, ...] = ("wpe.weight",),
    token_params: tuple[str, ...] = ("wte.weight",),
) -> dict[str, int]:
    """Counts from a live module (shared/tied tensors counted once), under the same conventions."""
    seen: set[int] = set()
    total = pos = tok = 0
    for name, p in model.named_parameters():
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        total += p.numel()
        if any(name.endswith(s) for s in position_params):
            pos += p.numel()
        if any(name.endswith(s) for s in token_params):
            tok += p.numel()
    return {
        "N": total - pos,
        "N_total": total,
        "N_nonembedding": total - pos - tok,
        "token_embedding": tok,
        "position_embedding": pos,
    }


def flops_per_input_attn(n_params: float, n_layer: int, n_embd: int, context: int) -> float:
    """PaLM (Chowdhery et al. 2022, App. B): 6N + 12·L·H·Q·T per token, with H·Q = n_embd."""
    return 6.0 * n_params + 12.0 * n_layer * n_embd * context
