"""Frame tokenizers (VQ-VAEs, one per compression level), cached dataset encodings, action tokens and
the sequence builders of the tokenized architectures. See docs/tokenizers.md."""

from .actions import ActionTokenizer
from .cache import CacheInvalid, TokenCache, encode_dataset, open_cache
from .sequences import SequenceBuilder
from .train_vq import (
    FramePool,
    evaluate_tokenizer,
    heldout_pool,
    open_tokenizer_run,
    tokenizer_config,
    tokenizer_split,
    train_tokenizer,
)
from .vqvae import VQVAE, FrameTokenizer, VQConfig, code_stats, load_tokenizer, psnr_uint8

__all__ = [
    "ActionTokenizer",
    "CacheInvalid",
    "FramePool",
    "FrameTokenizer",
    "SequenceBuilder",
    "TokenCache",
    "VQConfig",
    "VQVAE",
    "code_stats",
    "encode_dataset",
    "evaluate_tokenizer",
    "heldout_pool",
    "load_tokenizer",
    "open_cache",
    "open_tokenizer_run",
    "psnr_uint8",
    "tokenizer_config",
    "tokenizer_split",
    "train_tokenizer",
]
