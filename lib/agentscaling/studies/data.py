"""The data a study trains on: a typed spec of what it is, and the artifacts `agentscaling.prepare`
makes from the spec before any training (dataset directory, frame tokenizer, token cache), with the
hashes that identify them. A run's id includes those hashes, so regenerated data or a retrained
tokenizer never reuses runs trained on the old tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ..presets import ArenaSpec, TokenizerSettings


@dataclass(frozen=True)
class TextData:
    """A text corpus in data/ (agentscaling.data.text): "shakespeare" or "books"; "char" or "gpt2" tokens."""

    corpus: str
    tokenizer: str


@dataclass(frozen=True)
class DatasetDir:
    """A trajectory dataset of your own, already on disk in the shard format (agentscaling.data.dataset:
    recorded from a Gymnasium environment, imported from Minari, or written with write_dataset)."""

    path: str

    @property
    def dirname(self) -> str:
        return Path(self.path).name


Frames = Union[ArenaSpec, DatasetDir]  # generated arena data, or a dataset directory of your own


@dataclass(frozen=True)
class TokenData:
    """Frames encoded by a frozen frame tokenizer of `tokens_per_frame` codes (WM-/BC-Token)."""

    dataset: Frames
    tokens_per_frame: int
    tokenizer: TokenizerSettings
    tokenizer_seed: int = 0


@dataclass(frozen=True)
class FrameData:
    """Raw frames, read straight from the memory-mapped shards (BC-CNN)."""

    dataset: Frames


DataSpec = Union[TextData, TokenData, FrameData]


@dataclass(frozen=True)
class PreparedData:
    """What `agentscaling.prepare.prepare` made for a spec: where to open it and what identifies it.

    hashes: the content hashes a run's id includes ({"corpus": ...} for text; {"dataset": ...,
    "tokenizer": ...} for tokens; {"dataset": ...} for frames). Paths are strings so the record
    pickles into sweep workers and serialises into config.json."""

    spec: DataSpec
    hashes: dict[str, str]
    dataset: str | None = None  # trajectory dataset directory
    tokenizer: str | None = None  # frame tokenizer run directory (holding tokenizer.pt)
    token_cache: str | None = None  # verified token cache directory
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "hashes": dict(self.hashes),
            "dataset": self.dataset,
            "tokenizer": self.tokenizer,
            "token_cache": self.token_cache,
            **self.info,
        }
