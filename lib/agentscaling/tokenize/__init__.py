"""Frame tokenizers (VQ-VAEs, one per compression level), cached dataset encodings, action tokens and
the sequence builders of the tokenized architectures. See docs/tokenizers.md."""
from .actions import ACTION_NVEC, ActionTokenizer
from .cache import CacheInvalid, TokenCache, encode_dataset, open_cache
from .sequences import SequenceBuilder
from .levels import check_levels, compare_levels, levels_chart, notebook_dataset
from .train_vq import (PRESETS, FramePool, TokenizerPreset, evaluate_tokenizer, open_tokenizer_run, tokenizer_config,
                       train_tokenizer)
from .vqvae import VQVAE, FrameTokenizer, VQConfig, code_stats, load_tokenizer, psnr_uint8

__all__ = [
    "ACTION_NVEC", "ActionTokenizer", "CacheInvalid", "TokenCache", "encode_dataset", "open_cache",
    "SequenceBuilder", "PRESETS", "FramePool", "TokenizerPreset", "check_levels", "compare_levels", "levels_chart",
    "notebook_dataset",
    "evaluate_tokenizer", "open_tokenizer_run", "tokenizer_config", "train_tokenizer", "VQVAE",
    "FrameTokenizer", "VQConfig", "code_stats", "load_tokenizer", "psnr_uint8",
]
