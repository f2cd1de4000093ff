"""The generic training loop (it knows nothing of tasks, tokenizers or studies)."""

from .trainer import TrainConfig, TrainResult, log_steps, split_batch, train

__all__ = ["TrainConfig", "TrainResult", "log_steps", "split_batch", "train"]
