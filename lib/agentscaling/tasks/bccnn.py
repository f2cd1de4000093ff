"""The BC-CNN task (paper §2.2, Fig. 4): windows of raw frames and their 16-dimensional actions.

Frames stay memory-mapped in the prepared dataset's shards; a batch reads only its own windows. The
model (an Impala CNN per frame feeding a GPT, 16 independent heads) and its loss are in
`agentscaling.model.bccnn`. Batches are a pure function of (seed, step); the held-out loss is the mean
over fixed validation windows (the same for every run of a study)."""

from __future__ import annotations

import numpy as np
import torch

from ..data.dataset import TrajectoryDataset
from ..errors import UserError
from ..model.bccnn import BCCNN, action_loss
from ..model.gpt import GPTConfig
from ..studies import PreparedData
from .base import TaskData, check_hash

VAL_SEED = 7_919_001


class FrameWindows:
    """Windows of `context` consecutive frames (and their actions) of the episodes of one split.
    Frames stay memory-mapped in the dataset's shards; a batch reads only its own windows."""

    def __init__(self, dataset, split: str, context: int):
        self.dataset, self.context = dataset, int(context)
        ids = [e for e in dataset.split_ids(split)]
        self.frames = [dataset.frames(e) for e in ids]
        self.actions = [np.asarray(dataset.actions(e)) for e in ids]
        lengths = np.array([len(f) for f in self.frames], dtype=np.int64)
        ok = lengths >= self.context
        if not ok.any():
            raise UserError(f"no episode of ≥ {context} frames in split {split!r}")
        self.n_frames = int(lengths.sum())
        starts_per = np.maximum(lengths - self.context + 1, 0)
        self.cum = np.concatenate([[0], np.cumsum(starts_per)])

    @property
    def n_windows(self) -> int:
        return int(self.cum[-1])

    def get(self, window_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        window_idx = np.asarray(window_idx, dtype=np.int64)
        ep = np.searchsorted(self.cum, window_idx, side="right") - 1
        t0 = window_idx - self.cum[ep]
        T = self.context
        f = np.stack([self.frames[e][s : s + T] for e, s in zip(ep, t0)])
        a = np.stack([self.actions[e][s : s + T] for e, s in zip(ep, t0)])
        return f, a


def build_bccnn_task(study, prepared: PreparedData, device: str = "cpu") -> TaskData:
    cnn = study.cnn
    ds = TrajectoryDataset(prepared.dataset)
    check_hash(prepared, "dataset", ds.hash)
    if tuple(ds.frame_shape[:2]) != (cnn.frame_size, cnn.frame_size):
        raise UserError(f"BC-CNN expects {cnn.frame_size}px frames, the dataset has {ds.frame_shape}")
    nvec = tuple(int(v) for v in ds.action_nvec)
    T, B = study.context, study.batch_size
    dev = torch.device(device)
    train = FrameWindows(ds, "train", T)
    val = FrameWindows(ds, "val", T)

    def to_batch(f: np.ndarray, a: np.ndarray) -> dict[str, torch.Tensor]:
        return {"frames": torch.from_numpy(f).to(dev), "actions": torch.from_numpy(a.astype(np.int64)).to(dev)}

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([study.seed, step])
        return to_batch(*train.get(rng.integers(0, train.n_windows, size=B)))

    vrng = np.random.default_rng(VAL_SEED)
    vidx = vrng.integers(0, val.n_windows, size=study.val_sequences)
    vf, va = val.get(vidx)

    def loss_fn(model, batch):
        return action_loss(model(batch["frames"]), batch["actions"], nvec)[0]

    @torch.no_grad()
    def val_fn(model) -> float:
        model.eval()
        total = 0.0
        for i in range(0, len(vf), B):
            xb = to_batch(vf[i : i + B], va[i : i + B])
            total += float(loss_fn(model, xb)) * len(xb["frames"])
        return total / len(vf)

    def build_model(gcfg: GPTConfig) -> BCCNN:
        return BCCNN(cnn, gcfg.n_layer, gcfg.n_head, gcfg.n_embd, T, nvec)

    cnn_info = {
        "frame_size": cnn.frame_size,
        "channels": list(cnn.channels),
        "res_blocks": cnn.res_blocks,
        "cnn_out_dim": cnn.out_dim,
    }
    info = {
        "data": prepared.describe(),
        "frame_shape": list(ds.frame_shape),
        "cnn": cnn_info,
        "context_frames": T,
        "loss": "sum over the 16 action dimensions of per-dimension cross-entropy (nats per step)",
        "heads": list(nvec),
        "val_sequences": study.val_sequences,
        "val_seed": VAL_SEED,
        "train_frames": train.n_frames,
        "val_frames": val.n_frames,
    }
    return TaskData(
        vocab_size=study.vocab_size,
        context=T,
        batch_fn=batch_fn,
        val_fn=val_fn,
        loss_fn=loss_fn,
        inputs_per_batch=B * T,
        supervised_per_batch=B * T,
        epoch_inputs=train.n_frames,
        info=info,
        build_model=build_model,
    )
