"""Studies: one frozen description per experiment of the paper, per preset.

A study fixes the task, the data and tokenizer, the model ladder, the learning rate and FLOP budget of
each size, the batch (tokens per update), the context and the precision. `get_study(name, preset)`
builds it; `STUDIES` lists what exists."""
from .base import PRESETS, SizeSpec, Study, get_study, list_studies, register_study

__all__ = ["PRESETS", "SizeSpec", "Study", "get_study", "list_studies", "register_study"]
