"""Tasks turn prepared data into training sequences, targets and loss masks for the generic trainer.

A task builder receives the study and its `PreparedData` (made by `agentscaling.prepare` before any
training) and returns a `TaskData`: everything the trainer needs, plus provenance for config.json.
Tasks open prepared artifacts; they never generate data or train tokenizers."""

from __future__ import annotations

from ..errors import UserError
from ..studies import PreparedData, Study
from .base import TaskData
from .bccnn import build_bccnn_task
from .lm import build_lm_task
from .tokens import build_token_task

BUILDERS = {"lm": build_lm_task, "wm": build_token_task, "bc": build_token_task, "bc-cnn": build_bccnn_task}


def build_task(study: Study, prepared: PreparedData, device: str = "cpu") -> TaskData:
    if study.task not in BUILDERS:
        raise UserError(f"unknown task {study.task!r} in study {study.name!r}")
    return BUILDERS[study.task](study, prepared, device=device)


__all__ = ["BUILDERS", "TaskData", "build_task"]
