"""What a task hands the generic trainer: batches, the loss, the held-out loss, and how much each step
counts (D and supervised targets), plus provenance for config.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import DataIntegrityError
from ..studies import PreparedData


@dataclass
class TaskData:
    vocab_size: int
    context: int
    batch_fn: Callable[[int], dict[str, torch.Tensor]]  # deterministic in the step
    val_fn: Callable[[torch.nn.Module], float] | None
    loss_fn: Callable[[torch.nn.Module, dict[str, torch.Tensor]], Any]
    inputs_per_batch: int  # D added per step (every input, the paper's rule)
    supervised_per_batch: int  # targets that enter the loss per step
    epoch_inputs: int  # inputs in one pass over the training split
    info: dict[str, Any] = field(default_factory=dict)
    build_model: Callable[..., torch.nn.Module] | None = None  # None: the plain GPT


def check_hash(prepared: PreparedData, kind: str, actual: str) -> None:
    """The data a task opens must be the data its run's id was made from."""
    expected = prepared.hashes.get(kind)
    if expected != actual:
        raise DataIntegrityError(
            f"the {kind} changed since it was prepared (hash {str(expected)[:12]} -> "
            f"{actual[:12]}); prepare the study's data again before training"
        )
