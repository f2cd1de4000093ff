"""Tasks turn data into training sequences, targets and loss masks for the generic trainer.

A task builder returns a `TaskData`: everything the trainer needs, plus provenance for config.json.
Tasks are looked up by name (`Study.task`), so new families (world modelling, behaviour cloning)
plug in without the trainer or the sweep knowing about them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import UserError


@dataclass
class TaskData:
    vocab_size: int
    context: int
    batch_fn: Callable[[int], dict[str, torch.Tensor]]     # deterministic in the step
    val_fn: Callable[[torch.nn.Module], float] | None
    loss_fn: Callable[[torch.nn.Module, dict[str, torch.Tensor]], Any]
    inputs_per_batch: int          # D added per step (every input, the paper's rule)
    supervised_per_batch: int      # targets that enter the loss per step
    epoch_inputs: int              # inputs in one pass over the training split
    info: dict[str, Any] = field(default_factory=dict)
    build_model: Callable[..., torch.nn.Module] | None = None   # None: the plain GPT


def build_task(study, device: str = "cpu") -> TaskData:
    if study.task == "lm":
        from .lm import build_lm_task

        return build_lm_task(study, device=device)
    if study.task in ("wm", "bc"):
        from .tokens import build_token_task

        return build_token_task(study, device=device)
    if study.task == "bc-cnn":
        from .bccnn import build_bccnn_task

        return build_bccnn_task(study, device=device)
    raise UserError(f"unknown task {study.task!r} in study {study.name!r}")
