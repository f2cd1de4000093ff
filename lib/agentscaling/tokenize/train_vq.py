"""Training and evaluating frame tokenizers, one per compression level, as runs in the run store.

A tokenizer run lives at `<store>/tokenizers/tok<K>-<hash>/` (hash of the full config, which names
the dataset by its manifest hash). It is trained with the project's generic trainer
(`agentscaling.train.train`): batches are a pure function of the step, and the quantizer's own
randomness (k-means init, dead-code re-seeding) is re-seeded from the step inside the loss, so a
resumed run continues exactly as an uninterrupted one would. When training ends the frozen model is
written to `tokenizer.pt` (its sha256 is the tokenizer hash), the held-out evaluation to
`tokenizer.json` and to config.json, and the resume checkpoint is dropped.

The tokenizer's size and training length come in a `presets.TokenizerSettings` (one per preset).

Held-out frames are the dataset's val (else test) split. A dataset of a single match has neither (the
split is by match), so its last trajectory is held out instead and the others train the tokenizer.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch

from ..errors import UserError
from ..io import atomic_write_json
from ..presets import TokenizerSettings
from ..store import RunStore
from ..train import TrainConfig, train
from .vqvae import (
    TOKENIZER_FILE,
    VQVAE,
    FrameTokenizer,
    VQConfig,
    code_stats,
    grid_for_tokens,
    load_tokenizer,
    psnr_uint8,
)

STUDY = "tokenizers"
EVAL_SEED = 20_250_101  # held-out frames are the same for every tokenizer of a dataset


def model_config(tokens_per_frame: int, settings: TokenizerSettings, image_size: int = 64) -> VQConfig:
    return VQConfig(
        grid=grid_for_tokens(tokens_per_frame),
        image_size=image_size,
        enc_channels=settings.enc_channels,
        dec_channels=settings.dec_channels,
        enc_res_blocks=settings.enc_res_blocks,
        dec_res_blocks=settings.dec_res_blocks,
        codebook_size=settings.codebook_size,
        codebook_dim=settings.codebook_dim,
        ema_decay=settings.ema_decay,
        edge_weight=settings.edge_weight,
    ).validate()


# -- frames -----------------------------------------------------------------------------------------
class FramePool:
    """All frames of some episodes (a split by default) as one flat index (episode order), gathered
    from the dataset's memory-mapped episodes."""

    def __init__(self, dataset, split: str, ids: list[int] | None = None):
        self.dataset, self.split = dataset, split
        self.ids = list(dataset.split_ids(split)) if ids is None else list(ids)
        if not self.ids:
            raise UserError(f"the dataset has no episodes in split {split!r}; generate more episodes")
        self._mm: dict[int, np.ndarray] = {}
        lengths = [len(self._frames(e)) for e in self.ids]
        self.starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def _frames(self, eid: int) -> np.ndarray:
        if eid not in self._mm:
            self._mm[eid] = self.dataset.frames(eid)
        return self._mm[eid]

    def __len__(self) -> int:
        return int(self.starts[-1])

    def get(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        ep = np.searchsorted(self.starts, idx, side="right") - 1
        first = self._frames(self.ids[0])
        out = np.empty((len(idx),) + first.shape[1:], np.uint8)
        for e in np.unique(ep):
            sel = np.nonzero(ep == e)[0]
            rows = idx[sel] - self.starts[e]
            out[sel] = self._frames(self.ids[e])[rows]
        return out

    def fixed_sample(self, n: int, seed: int = EVAL_SEED) -> np.ndarray:
        """Up to n frames chosen by a fixed seed (the same for every tokenizer), in index order."""
        n = min(n, len(self))
        idx = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self.get(idx)


def tokenizer_split(dataset) -> tuple[FramePool, FramePool]:
    """(training frames, held-out frames) of a tokenizer: the train split and the val (else test) split;
    for a dataset of one match (all of it in train), its last trajectory is held out instead."""
    for held in ("val", "test"):
        if dataset.split_ids(held):
            return FramePool(dataset, "train"), FramePool(dataset, held)
    train_ids = list(dataset.split_ids("train"))
    if len(train_ids) < 2:
        raise UserError(
            "the dataset has one trajectory and no held-out split: a tokenizer needs at least two "
            "trajectories (one is held out), or a second match for a val split"
        )
    return FramePool(dataset, "train", train_ids[:-1]), FramePool(dataset, "trajectory", train_ids[-1:])


def heldout_pool(dataset, split: str | None = None) -> FramePool:
    """The frames a tokenizer is evaluated on: `split`, or those `tokenizer_split` holds out."""
    if split is not None:
        return FramePool(dataset, split)
    return tokenizer_split(dataset)[1]


# -- training ---------------------------------------------------------------------------------------
def tokenizer_config(
    dataset, tokens_per_frame: int, settings: TokenizerSettings, seed: int = 0, **overrides: Any
) -> dict[str, Any]:
    """The full config of a tokenizer run (its hash names the run directory); `overrides` replace
    settings fields (steps=..., codebook_size=...)."""
    p = dataclasses.replace(settings, **overrides) if overrides else settings
    size = int(dataset.manifest["frame_shape"][0])
    vq = model_config(tokens_per_frame, p, image_size=size)
    return {
        "kind": "frame_tokenizer",
        "tokens_per_frame": tokens_per_frame,
        "dataset_hash": dataset.manifest["hash"],
        "model": vq.to_dict(),
        "train": {
            "steps": p.steps,
            "batch_size": p.batch_size,
            "lr": p.lr,
            "warmup_steps": p.warmup_steps,
            "min_lr_frac": p.min_lr_frac,
            "schedule": "cosine",
            "weight_decay": 0.0,
            "seed": seed,
            "val_frames": p.val_frames,
            "eval_frames": p.eval_frames,
            "n_log": p.n_log,
        },
    }


def open_tokenizer_run(
    dataset,
    tokens_per_frame: int,
    settings: TokenizerSettings,
    store,
    seed: int = 0,
    create: bool = True,
    **overrides: Any,
):
    """The run of this tokenizer in `store` (a RunStore or its directory) and its config."""
    cfg = tokenizer_config(dataset, tokens_per_frame, settings, seed, **overrides)
    store = store if isinstance(store, RunStore) else RunStore(store)
    return store.open_run(STUDY, cfg, label=f"tok{tokens_per_frame}", create=create), cfg


def make_batch_fn(pool: FramePool, batch_size: int, seed: int, device: str = "cpu"):
    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([seed, step])
        frames = pool.get(rng.integers(0, len(pool), size=batch_size))
        return {"frames": torch.from_numpy(frames).to(device), "step": torch.tensor(step)}

    return batch_fn


def _loss_fn(seed: int):
    def loss_fn(model: VQVAE, batch: dict[str, torch.Tensor]):
        # the quantizer draws random numbers (k-means init, dead-code re-seeding): make them a function
        # of the step so a resumed run is bit-identical to an uninterrupted one
        torch.manual_seed(seed * 1_000_003 + int(batch["step"]))
        return model.loss(batch["frames"])

    return loss_fn


def train_tokenizer(
    dataset,
    tokens_per_frame: int,
    settings: TokenizerSettings,
    store,
    seed: int = 0,
    progress: bool = False,
    checkpoint_every_s: float = 60.0,
    device: str = "cpu",
    **overrides: Any,
) -> FrameTokenizer:
    """Train (or resume, or just load when already done) the tokenizer for this dataset and level, as
    a run of `store`.

    `overrides` replace settings fields (steps=..., codebook_size=...). The device is not part of the
    run's config (a run resumes on any device). Returns the frozen tokenizer, on the CPU."""
    run, cfg = open_tokenizer_run(dataset, tokens_per_frame, settings, store, seed, **overrides)
    if run.status == "done" and (run.path / TOKENIZER_FILE).exists():
        return load_tokenizer(run.path)
    if run.status == "new" or not run.config_path.exists():
        run.write_config(cfg, {"size_label": f"tok{tokens_per_frame}"})
    tc = cfg["train"]
    vq = VQConfig.from_dict(cfg["model"])
    torch.manual_seed(seed)
    model = VQVAE(vq)
    pool, heldout = tokenizer_split(dataset)
    val_frames = heldout.fixed_sample(tc["val_frames"]) if tc["val_frames"] else None

    def val_fn(m: VQVAE) -> float:
        m.eval()
        rec = m.reconstruct(val_frames).float()
        return float(((rec - torch.from_numpy(val_frames).float()) / 127.5).pow(2).mean())

    tcfg = TrainConfig(
        lr=tc["lr"],
        steps=tc["steps"],
        warmup_steps=tc["warmup_steps"],
        schedule="cosine",
        min_lr_frac=tc["min_lr_frac"],
        weight_decay=tc["weight_decay"],
        grad_clip=1.0,
        seed=seed,
        n_log=tc["n_log"],
        progress=progress,
        checkpoint_every_s=checkpoint_every_s,
        divergence_factor=5.0,
        device=device,
    )
    try:
        result = train(
            model,
            _loss_fn(seed),
            make_batch_fn(pool, tc["batch_size"], seed, device),
            tcfg,
            run=run,
            val_fn=val_fn if val_frames is not None else None,
            inputs_per_batch=tc["batch_size"],
            n_params=model.n_params(),
            epoch_inputs=len(pool),
        )
    except BaseException as e:
        if not isinstance(e, (KeyboardInterrupt, SystemExit)):
            run.set_status("failed", f"{e.__class__.__name__}: {e}")
        raise
    if result.status != "done":
        run.set_status(result.status, result.message)
        raise RuntimeError(f"tokenizer run {run.path} {result.status}: {result.message}")
    model.cpu()
    tok = FrameTokenizer(
        model,
        info={
            "run_id": run.id,
            "dataset_hash": cfg["dataset_hash"],
            "steps": tc["steps"],
            "train_wall_s": result.wall_s,
            "heldout": heldout.split,
        },
    )
    tok.save(run.path)
    metrics = evaluate_tokenizer(tok, dataset, max_frames=tc["eval_frames"])
    metrics["train_wall_s"] = result.wall_s
    atomic_write_json(run.path / "tokenizer.json", {"hash": tok.hash, **metrics})
    run.update_config(
        tokenizer={"hash": tok.hash, **metrics}, counts={"N": model.n_params(), "tokens_per_frame": tokens_per_frame}
    )
    run.drop_checkpoint()
    run.set_status("done", f"psnr {metrics['psnr']:.2f} dB, usage {metrics['usage']:.2f}")
    return tok


# -- evaluation -------------------------------------------------------------------------------------
def evaluate_tokenizer(
    tok: FrameTokenizer, dataset, split: str | None = None, max_frames: int = 1024, batch_size: int = 512
) -> dict[str, Any]:
    """Held-out reconstruction PSNR, codebook usage and perplexity, re-encode agreement, encode speed."""
    pool = heldout_pool(dataset, split)
    frames = pool.fixed_sample(max_frames)
    tok.encode(frames[: min(len(frames), 64)], batch_size)  # warm-up
    t0 = time.perf_counter()
    codes = tok.encode(frames, batch_size)
    enc_s = time.perf_counter() - t0
    recon = tok.decode(codes)
    codes2 = tok.encode(recon, batch_size)
    stats = code_stats(codes, tok.codebook_size)
    return {
        "tokens_per_frame": tok.tokens_per_frame,
        "grid": tok.config.grid,
        "codebook_size": tok.codebook_size,
        "bits_per_frame": tok.bits_per_frame,
        "psnr": psnr_uint8(recon, frames),
        "usage": stats["usage"],
        "codes_used": stats["codes_used"],
        "perplexity": stats["perplexity"],
        "reencode_agreement": float((codes == codes2).mean()),
        "encode_fps": len(frames) / max(enc_s, 1e-9),
        "n_frames": len(frames),
        "split": pool.split,
        "n_params": tok.model.n_params(),
        "encoder_params": sum(p.numel() for p in tok.model.encoder.parameters()),
    }


__all__ = [
    "FramePool",
    "evaluate_tokenizer",
    "heldout_pool",
    "model_config",
    "open_tokenizer_run",
    "tokenizer_config",
    "tokenizer_split",
    "train_tokenizer",
]
