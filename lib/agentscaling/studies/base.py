"""The Study dataclass and the registry of study builders."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from ..counting import count_params_shape, flops_per_input_attn
from ..errors import UserError
from ..model.ladder import ModelShape

PRESETS = ("smoke", "cpu", "gpu", "paper")


@dataclass(frozen=True)
class SizeSpec:
    label: str
    shape: ModelShape
    lr: float
    flops: float            # training budget in C = 6·N·D; steps are derived from it


@dataclass(frozen=True)
class Study:
    name: str
    preset: str
    task: str                       # "lm" (later: "wm", "bc", "bc-cnn")
    data: str                       # corpus or dataset name
    tokenizer: str
    vocab_size: int                 # model vocabulary (checked against the data at run time)
    context: int                    # inputs per training sequence
    batch_size: int                 # sequences per update
    sizes: tuple[SizeSpec, ...]
    loss_mask: str = "dense"
    n_classes: int = 2              # super-classed targets
    partition_seed: int = 0
    warmup_frac: float = 0.02
    max_warmup_steps: int = 200
    schedule: str = "constant"
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    precision: str = "fp32"
    seed: int = 0
    n_log: int = 40
    val_sequences: int = 512
    description: str = ""
    paper: dict[str, Any] = field(default_factory=dict)   # the paper's reported coefficients for this study
    task_options: dict[str, Any] = field(default_factory=dict)  # task-specific settings (part of the run config)

    @property
    def tokens_per_update(self) -> int:
        return self.batch_size * self.context

    def counts(self, size: SizeSpec) -> dict[str, float]:
        # The counters register on import of the study modules; a Study unpickled in a fresh worker
        # process has not imported them (a BC-CNN run once counted N without its CNN there).
        _load_builtin()
        if self.task in _COUNTERS:  # models other than the plain GPT (e.g. BC-CNN) count themselves
            return _COUNTERS[self.task](self, size)
        c = count_params_shape(size.shape, self.vocab_size, self.context)
        c["flops_per_input_attn"] = flops_per_input_attn(c["N"], size.shape.n_layer, size.shape.n_embd, self.context)
        return c

    def steps(self, size: SizeSpec) -> int:
        n = self.counts(size)["N"]
        return max(1, math.ceil(size.flops / (6.0 * n * self.tokens_per_update)))

    def warmup_steps(self, size: SizeSpec) -> int:
        return min(self.max_warmup_steps, int(self.warmup_frac * self.steps(size)))

    def size(self, label: str) -> SizeSpec:
        for s in self.sizes:
            if s.label == label:
                return s
        raise UserError(f"study {self.name} has no size {label!r}; sizes: {[s.label for s in self.sizes]}")

    def run_config(self, size: SizeSpec) -> dict[str, Any]:
        """Everything that determines a run's result; its hash names the run directory."""
        d = asdict(self)
        d.pop("sizes"); d.pop("description"); d.pop("paper"); d.pop("preset")
        if not d["task_options"]:
            d.pop("task_options")  # studies without options keep the run hashes they always had
        d["size"] = asdict(size)
        d["steps"] = self.steps(size)
        d["warmup_steps"] = self.warmup_steps(size)
        return d

    def with_sizes(self, labels: list[str]) -> "Study":
        return replace(self, sizes=tuple(self.size(lbl) for lbl in labels))


_REGISTRY: dict[str, tuple[Callable[[str], Study], str]] = {}
_COUNTERS: dict[str, Callable[[Study, SizeSpec], dict[str, float]]] = {}


def register_counter(task: str, fn: Callable[[Study, SizeSpec], dict[str, float]]) -> None:
    """Parameter/compute counts for a task whose model is not the plain GPT (needs at least N and
    flops_per_input_attn)."""
    _COUNTERS[task] = fn


def register_study(name: str, description: str):
    def deco(fn: Callable[[str], Study]):
        _REGISTRY[name] = (fn, description)
        return fn
    return deco


def _load_builtin() -> None:
    from . import lm  # noqa: F401  (registers the language studies)
    from . import agents  # noqa: F401  (world-modelling and behaviour-cloning studies)


def list_studies() -> dict[str, str]:
    _load_builtin()
    return {k: v[1] for k, v in sorted(_REGISTRY.items())}


def get_study(name: str, preset: str = "cpu") -> Study:
    _load_builtin()
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if name not in _REGISTRY:
        raise UserError(f"unknown study {name!r}; known studies: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name][0](preset)
