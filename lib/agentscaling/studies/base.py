"""The Study dataclass and the registry of study builders."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import presets
from ..action_space import ACTION_NVEC
from ..counting import count_params_shape, flops_per_input_attn
from ..data.dataset import TrajectoryDataset
from ..errors import UserError
from ..model.bccnn import CNNConfig, bccnn_counts
from ..model.ladder import PAPER_TABLE2, ModelShape, shape_for_params
from .data import DatasetDir, DataSpec, TextData


@dataclass(frozen=True)
class SizeSpec:
    label: str
    shape: ModelShape
    lr: float
    flops: float  # training budget in C = 6·N·D; steps are derived from it


@dataclass(frozen=True)
class Study:
    name: str
    preset: str  # the preset it was built for: a label for reports, never looked up
    task: str  # "lm", "wm", "bc" or "bc-cnn"
    data: DataSpec  # what it trains on; agentscaling.prepare makes it
    vocab_size: int  # model vocabulary (checked against the data at run time)
    context: int  # inputs per training sequence
    batch_size: int  # sequences per update
    sizes: tuple[SizeSpec, ...]
    loss_mask: str = "dense"
    n_classes: int = 2  # super-classed targets
    partition_seed: int = 0
    warmup_frac: float = 0.02
    max_warmup_steps: int = 200
    schedule: str = "constant"
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    precision: str = "fp32"
    seed: int = 0  # the run's seed: weight initialisation and the order of its batches
    seeds: tuple[int, ...] = ()  # every seed to train (one run per size and seed); empty: just `seed`
    n_log: int = 40
    val_sequences: int = 512
    cnn: CNNConfig | None = None  # BC-CNN's frame encoder (None: the plain GPT over tokens)
    description: str = ""
    paper: dict[str, Any] = field(default_factory=dict)  # the paper's reported coefficients for this study
    not_measurable: str = ""  # why this design cannot measure the paper's coefficients (its verdicts say so)
    task_options: dict[str, Any] = field(default_factory=dict)  # task-specific settings (part of the run config)

    @property
    def tokens_per_update(self) -> int:
        return self.batch_size * self.context

    def counts(self, size: SizeSpec) -> dict[str, float]:
        """N under every convention and the compute per input (with attention; with the CNN's true
        convolution FLOPs for BC-CNN)."""
        s = size.shape
        if self.cnn is not None:
            return bccnn_counts(self.cnn, s.n_layer, s.n_head, s.n_embd, self.context)
        c = count_params_shape(s, self.vocab_size, self.context)
        c["flops_per_input_attn"] = flops_per_input_attn(c["N"], s.n_layer, s.n_embd, self.context)
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

    def run_config(self, size: SizeSpec, data_hashes: Mapping[str, str]) -> dict[str, Any]:
        """Everything that determines a run's result, including the hashes of the prepared data and
        tokenizer it trains on; its hash names the run directory."""
        d = asdict(self)
        for k in ("sizes", "description", "paper", "preset", "seeds", "not_measurable"):
            d.pop(k)
        d["size"] = asdict(size)
        d["steps"] = self.steps(size)
        d["warmup_steps"] = self.warmup_steps(size)
        d["data_hashes"] = dict(sorted(data_hashes.items()))
        return d

    def replicas(self) -> list["Study"]:
        """One study per seed, each training every size once (the runs of a multi-seed study)."""
        return [replace(self, seed=s, seeds=()) for s in (self.seeds or (self.seed,))]

    def with_sizes(self, labels: list[str]) -> "Study":
        return replace(self, sizes=tuple(self.size(lbl) for lbl in labels))

    def plan(self) -> list[dict[str, Any]]:
        """Per size: shape, N, LR, D, steps, C = 6ND, the compute with attention (and the true conv
        FLOPs for BC-CNN), inputs per update."""
        rows = []
        for z in self.sizes:
            c = self.counts(z)
            steps = self.steps(z)
            D = steps * self.tokens_per_update
            per_in = c["flops_per_input_attn"]
            rows.append(
                {
                    "study": self.name,
                    "preset": self.preset,
                    "size": z.label,
                    "shape": z.shape.label,
                    "N": int(c["N"]),
                    "lr": z.lr,
                    "D": D,
                    "steps": steps,
                    "C": 6.0 * c["N"] * D,
                    "C_attn": per_in * D,
                    "C_true": c.get("flops_per_input_true", per_in) * D,
                    "conv_flops": c.get("cnn_flops_train_per_frame", 0.0) * D,
                    "inputs_per_update": self.tokens_per_update,
                    "context": self.context,
                }
            )
        return rows


def seeding(seeds: tuple[int, ...]) -> dict[str, Any]:
    """Study fields for a ladder's seeds: the first is the study's `seed`, all of them its `seeds`."""
    if not seeds:
        raise ValueError("a ladder needs at least one seed")
    return {"seed": int(seeds[0]), "seeds": tuple(int(s) for s in seeds) if len(seeds) > 1 else ()}


def size_label(n: float) -> str:
    """A size's label from its N: 21.8k, 1.08M."""
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def resolve_shape(target: presets.SizeTarget, vocab_size: int, context: int) -> ModelShape:
    """A ladder entry as a shape: a parameter count to hit, a Table-2 name, or (layers, heads, width)."""
    if isinstance(target, str):
        return PAPER_TABLE2[target]
    if isinstance(target, tuple):
        return ModelShape(*target)
    return shape_for_params(target, vocab_size, context)


def on_dataset(study: Study, path: str | os.PathLike, name: str | None = None) -> Study:
    """The study retargeted at a trajectory dataset of your own (a directory in the shard format of
    agentscaling.data.dataset), under a new name (default "<study>@<directory>"). The built-in studies
    predict the arena's 16-dimensional controller, so the dataset must record that action layout (the
    arena's Gymnasium env does, whatever the policy); BC-CNN also needs frames at its CNN's size."""
    if isinstance(study.data, TextData):
        raise UserError(f"{study.name} trains on a text corpus, not on a trajectory dataset")
    ds = TrajectoryDataset(path)
    if tuple(ds.action_nvec) != ACTION_NVEC:
        raise UserError(
            f"{path} records actions {list(ds.action_nvec)}; {study.name} predicts the arena's controller "
            f"{list(ACTION_NVEC)}: define a study for this action space (studies.register_study)"
        )
    if study.cnn is not None and tuple(ds.frame_shape[:2]) != (study.cnn.frame_size,) * 2:
        raise UserError(f"{path} has {ds.frame_shape[0]}px frames; {study.name}'s CNN takes {study.cnn.frame_size}px")
    spec = DatasetDir(str(Path(path).resolve()))
    return replace(study, name=name or f"{study.name}@{spec.dirname}", data=replace(study.data, dataset=spec))


Builder = Callable[[presets.Preset], Study]
_REGISTRY: dict[str, tuple[Builder, str]] = {}


def register_study(name: str, description: str):
    def deco(fn: Builder) -> Builder:
        _REGISTRY[name] = (fn, description)
        return fn

    return deco


def list_studies() -> dict[str, str]:
    return {k: v[1] for k, v in sorted(_REGISTRY.items())}


def get_study(name: str, preset: str | presets.Preset = "cpu") -> Study:
    """The study `name` at a preset (a Preset, or its name)."""
    p = presets.get(preset)
    if name not in _REGISTRY:
        raise UserError(f"unknown study {name!r}; known studies: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name][0](p)
