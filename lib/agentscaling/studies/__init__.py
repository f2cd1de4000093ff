"""Studies: one frozen description per experiment of the paper, per preset.

A study fixes the task, the data it trains on (a typed spec that `agentscaling.prepare` turns into
artifacts), the model ladder, the learning rate and FLOP budget of each size, the batch (tokens per
update), the context and the precision. `get_study(name, preset)` builds it from a preset of
`agentscaling.presets`; `list_studies()` lists what exists."""

from . import agents, lm  # noqa: F401  (each module registers its studies)
from .base import SizeSpec, Study, get_study, list_studies, on_dataset, register_study, size_label
from .data import DatasetDir, DataSpec, FrameData, PreparedData, TextData, TokenData

__all__ = [
    "DataSpec",
    "DatasetDir",
    "FrameData",
    "PreparedData",
    "SizeSpec",
    "Study",
    "TextData",
    "TokenData",
    "get_study",
    "list_studies",
    "on_dataset",
    "register_study",
    "size_label",
]
