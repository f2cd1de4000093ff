"""A finished run's model, rebuilt from its config.json and model.pt (and its frame tokenizer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..io import read_json
from ..model.bccnn import BCCNN, CNNConfig
from ..model.gpt import GPT, GPTConfig
from ..tokenize.vqvae import FrameTokenizer, load_tokenizer

MODEL_FILE = "model.pt"


@dataclass
class Checkpoint:
    run_dir: Path
    config: dict[str, Any]  # the run's config.json
    model: torch.nn.Module = field(repr=False)

    @property
    def task(self) -> str:  # "wm" | "bc" | "bc-cnn"
        return self.config["config"]["task"]

    @property
    def context_steps(self) -> int:
        """Steps of (frame, action) the model sees: the token tasks' context_steps, BC-CNN's frames."""
        c = self.config["config"]
        return int(c["context"]) if self.task == "bc-cnn" else int(c["task_options"]["context_steps"])

    @cached_property
    def tokenizer(self) -> FrameTokenizer:
        if self.task == "bc-cnn":
            raise UserError(f"{self.run_dir} is a BC-CNN run: it reads pixels, it has no frame tokenizer")
        return load_tokenizer(self.config["data"]["tokenizer"])


def load_checkpoint(run_dir: str | Path, device: str = "cpu") -> Checkpoint:
    """The trained model of a finished run, in eval mode on `device`."""
    run_dir = Path(run_dir)
    weights = run_dir / MODEL_FILE
    if not weights.exists():
        raise UserError(f"{run_dir} has no {MODEL_FILE}: only finished runs can be evaluated")
    cfg = read_json(run_dir / "config.json")
    c = cfg["config"]
    shape = c["size"]["shape"]
    if c["task"] == "bc-cnn":
        cc = c["cnn"]
        cnn = CNNConfig(int(cc["frame_size"]), tuple(cc["channels"]), int(cc["res_blocks"]), int(cc["out_dim"]))
        model: torch.nn.Module = BCCNN(cnn, shape["n_layer"], shape["n_head"], shape["n_embd"], int(c["context"]))
    elif c["task"] in ("wm", "bc"):
        if not c.get("task_options", {}).get("per_dimension", True):
            raise UserError(f"{run_dir}: only per-dimension action tokens can be decoded into actions")
        model = GPT(
            GPTConfig(int(c["vocab_size"]), int(c["context"]), shape["n_layer"], shape["n_head"], shape["n_embd"])
        )
    else:
        raise UserError(f"{run_dir} is a {c['task']!r} run: only arena runs (wm, bc, bc-cnn) can be evaluated")
    model.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
    return Checkpoint(run_dir, cfg, model.to(device).eval())
