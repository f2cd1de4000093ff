"""Model families: the GPT decoder and its size ladders."""

from .gpt import GPT, GPTConfig
from .ladder import ModelShape, paper_ladder, shape_for_params, tiny_ladder

__all__ = ["GPT", "GPTConfig", "ModelShape", "paper_ladder", "tiny_ladder", "shape_for_params"]
