"""Language-model tasks of the paper's §5 ablations: next-token prediction on a text corpus with a
dense, sparse (last position only) or super-classed (last position, target mapped to one of a few
classes by a fixed random partition of the vocabulary) loss.

Super-classed targets: the model is unchanged; its loss is the cross-entropy over the first
`n_classes` logits only (class c is read from the logit of token id c). The paper does not say how
it implemented the 2-way target; this choice keeps the architecture and N identical across the three
variants, which is what the comparison needs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data.text import load_corpus, superclass_partition
from ..errors import UserError
from ..model.gpt import head_cross_entropy
from ..studies import PreparedData
from .base import TaskData, check_hash

MASKS = ("dense", "last", "superclass")
VAL_SEED = 1_000_003  # held-out windows are fixed for a whole study, whatever the run seed


def sample_windows(
    tokens: np.ndarray, context: int, batch: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`batch` random windows of `context` inputs and their next-token targets."""
    starts = rng.integers(0, len(tokens) - context - 1, size=batch)
    idx = starts[:, None] + np.arange(context + 1)[None, :]
    win = np.asarray(tokens[idx], dtype=np.int64)
    return win[:, :-1], win[:, 1:]


def build_lm_task(study, prepared: PreparedData, device: str = "cpu") -> TaskData:
    if study.loss_mask not in MASKS:
        raise UserError(f"unknown loss mask {study.loss_mask!r}; expected one of {MASKS}")
    corpus = load_corpus(study.data.corpus, study.data.tokenizer)
    check_hash(prepared, "corpus", corpus.info["cache"]["key"])
    ctx, B = study.context, study.batch_size
    dev = torch.device(device)
    partition = None
    if study.loss_mask == "superclass":
        partition = torch.as_tensor(
            superclass_partition(corpus.vocab_size, study.n_classes, study.partition_seed), dtype=torch.long, device=dev
        )

    last_only = study.loss_mask in ("last", "superclass")
    mask = None
    if last_only:
        mask = torch.zeros(B, ctx, dtype=torch.bool, device=dev)
        mask[:, -1] = True

    def to_batch(x: np.ndarray, y: np.ndarray, m: torch.Tensor | None) -> dict[str, torch.Tensor]:
        yt = torch.from_numpy(y).to(dev)
        if partition is not None:
            yt = partition[yt]
        out = {"x": torch.from_numpy(x).to(dev), "y": yt}
        if m is not None:
            out["mask"] = m
        return out

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([study.seed, step])
        return to_batch(*sample_windows(corpus.train, ctx, B, rng), mask)

    # fixed held-out windows, evaluated in chunks of the training batch size
    vrng = np.random.default_rng(VAL_SEED)
    vx, vy = sample_windows(corpus.val, ctx, study.val_sequences, vrng)

    def loss_fn(model, batch):
        h = model.hidden(batch["x"])
        y = batch["y"]
        m = batch.get("mask")
        h = h[m] if m is not None else h.reshape(-1, h.shape[-1])
        y = y[m] if m is not None else y.reshape(-1)
        if partition is None:
            return head_cross_entropy(model, h, y)
        return F.cross_entropy(model.head(h)[:, : study.n_classes].float(), y)

    @torch.no_grad()
    def val_fn(model) -> float:
        model.eval()
        total, count = 0.0, 0
        for i in range(0, len(vx), B):
            xb, yb = vx[i : i + B], vy[i : i + B]
            m = None
            if last_only:
                m = torch.zeros(len(xb), ctx, dtype=torch.bool, device=dev)
                m[:, -1] = True
            batch = to_batch(xb, yb, m)
            n = int(m.sum()) if m is not None else yb.size
            total += float(loss_fn(model, batch)) * n
            count += n
        return total / count

    supervised = B if last_only else B * ctx
    info: dict[str, Any] = {
        "corpus": corpus.info,
        "loss_mask": study.loss_mask,
        "val_sequences": study.val_sequences,
        "val_seed": VAL_SEED,
    }
    if partition is not None:
        info["superclass_partition"] = partition.cpu().tolist()
        info["n_classes"] = study.n_classes
        info["partition_seed"] = study.partition_seed
    return TaskData(
        vocab_size=corpus.vocab_size,
        context=ctx,
        batch_fn=batch_fn,
        val_fn=val_fn,
        loss_fn=loss_fn,
        inputs_per_batch=B * ctx,
        supervised_per_batch=supervised,
        epoch_inputs=len(corpus.train),
        info=info,
    )
