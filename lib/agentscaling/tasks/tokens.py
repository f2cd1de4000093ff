"""WM-Token and BC-Token tasks (paper §2.1, Fig. 4): one GPT over [image tokens, action tokens] steps.

A sequence is `context_steps` consecutive steps of one episode, each step k image codes of the frozen
frame tokenizer followed by the 16 action tokens (ids above the image codes, one range per action
dimension): S = context_steps·(k+16) inputs. The architecture is the same for both tasks; only the
supervised targets differ (agentscaling.tokenize.SequenceBuilder):

* "wm": next-token loss on the image tokens (including the first frame's tokens 2…k, the paper's
  ≈97 % of tokens for its 540 variant); the loss is the mean cross-entropy per image token.
* "bc": next-token loss on the 16 action tokens of every step only (mean per action token).

D counts every input token of a sequence whatever the mask (the paper's rule), so BC's D is the same
as WM's for the same batches; `supervised_per_batch` records how many targets enter the loss.
Batches are a pure function of (seed, step) — (episode, start) pairs drawn from a seeded generator —
so resumed runs are exact; the held-out loss is the mean over fixed validation windows (the same for
every run of a study, whatever its seed). The tokens per frame come from the study's data spec;
Study.task_options: context_steps, per_dimension (action ids per dimension, default True),
wm_first_frame (default True).
"""

from __future__ import annotations

from typing import Any

import torch

from ..action_space import ACTION_DIMS
from ..data.dataset import TrajectoryDataset
from ..errors import UserError
from ..model.gpt import masked_next_token_loss
from ..studies import PreparedData
from ..tokenize.cache import open_cache
from ..tokenize.sequences import SequenceBuilder
from .base import TaskData, check_hash


def token_context(tokens_per_frame: int, context_steps: int) -> int:
    return int(context_steps) * (int(tokens_per_frame) + ACTION_DIMS)


def make_token_task(study, builder, device: str = "cpu", info: dict[str, Any] | None = None) -> TaskData:
    """A TaskData from a SequenceBuilder whose task ("wm"/"bc") matches the study's."""
    if builder.task != study.task:
        raise UserError(f"study {study.name} is a {study.task!r} study but the sequences are {builder.task!r}")
    B, S = study.batch_size, builder.seq_len
    if S != study.context:
        raise UserError(f"study {study.name} declares context {study.context} but the sequences have {S} tokens")
    dev = torch.device(device)

    def move(b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(dev) for k, v in b.items()}

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        return move(builder.batch(step, B, "train"))

    heldout = [move(b) for b in builder.heldout(study.val_sequences, B, "val")]

    @torch.no_grad()
    def val_fn(model) -> float:
        model.eval()
        total, count = 0.0, 0
        for b in heldout:
            n = int(b["mask"].sum())
            total += float(masked_next_token_loss(model, b)) * n
            count += n
        return total / count

    sup = builder.supervised_per_sequence
    out_info = {
        **(info or {}),
        "sequences": builder.describe(),
        "val_sequences": study.val_sequences,
        "train_frames": builder.epoch_inputs("train") // builder.tokens_per_step,
        "val_frames": builder.epoch_inputs("val") // builder.tokens_per_step,
        "supervised_fraction": sup / S,
    }
    return TaskData(
        vocab_size=builder.vocab_size,
        context=S,
        batch_fn=batch_fn,
        val_fn=val_fn,
        loss_fn=masked_next_token_loss,
        inputs_per_batch=B * S,
        supervised_per_batch=B * sup,
        epoch_inputs=builder.epoch_inputs("train"),
        info=out_info,
    )


def build_token_task(study, prepared: PreparedData, device: str = "cpu") -> TaskData:
    opts = study.task_options
    ds = TrajectoryDataset(prepared.dataset)
    check_hash(prepared, "dataset", ds.hash)
    cache = open_cache(prepared.token_cache, ds, prepared.hashes["tokenizer"])
    if cache.tokens_per_frame != study.data.tokens_per_frame:
        raise UserError(
            f"study {study.name} wants {study.data.tokens_per_frame} tokens per frame, its token cache "
            f"holds {cache.tokens_per_frame}"
        )
    builder = SequenceBuilder.from_cache(
        cache,
        ds,
        int(opts["context_steps"]),
        task=study.task,
        per_dimension=bool(opts.get("per_dimension", True)),
        seed=study.seed,
        wm_first_frame=bool(opts.get("wm_first_frame", True)),
        splits=("train", "val"),
    )
    return make_token_task(study, builder, device, info={"data": prepared.describe()})
