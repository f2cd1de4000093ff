"""World-model rollouts against the real game.

From a held-out clip's real first frame and its real actions, a WM-Token checkpoint imagines the next
`horizon` frames one token at a time (each token drawn from the model's distribution over image tokens,
or its most likely one with greedy=True), with the context it was trained on (the last context_steps
steps). The imagined codes are decoded with the run's tokenizer and compared with the real frames: MSE
(PSNR of the mean MSE), SSIM (scikit-image, Wang et al. 2004) and the fraction of image tokens equal to
the real frame's tokens, per horizon. Two references bracket them: the tokenizer's own reconstruction
of the real frame (the best any model can do through this tokenizer) and "copy the first frame" (a
model that predicts no motion). FVD and LPIPS need pretrained network weights that cannot be downloaded
on these machines, so they are not computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from skimage.metrics import structural_similarity

from ..action_space import ACTION_NVEC
from ..data.dataset import TrajectoryDataset
from ..tokenize.actions import ActionTokenizer
from .checkpoints import Checkpoint
from .policies import choose

N_DIMS = len(ACTION_NVEC)


def held_out_clips(ds: TrajectoryDataset, n_clips: int, horizon: int, seed: int = 0, split: str = "test"):
    """(real frames uint8 [C, horizon+1, S, S, 3], real actions uint8 [C, horizon+1, 16]) of `n_clips`
    clips drawn (seeded) from the episodes of `split`, which no model trained or validated on."""
    rng = np.random.default_rng(seed)
    lengths = ds.episodes.set_index("episode_id")["length"]
    ids = [e for e in ds.split_ids(split) if int(lengths.loc[e]) > horizon]
    if not ids:
        raise ValueError(f"no {split} episode is longer than {horizon} frames")
    frames, actions = [], []
    for e in rng.choice(ids, size=n_clips, replace=True):
        f, a = ds.frames(int(e)), ds.actions(int(e))
        start = int(rng.integers(0, len(f) - horizon))
        frames.append(np.asarray(f[start : start + horizon + 1]))
        actions.append(np.asarray(a[start : start + horizon + 1]))
    return np.stack(frames), np.stack(actions)


@torch.no_grad()
def rollout(
    ckpt: Checkpoint, first_codes: np.ndarray, actions: np.ndarray, greedy: bool = False, seed: int = 0
) -> np.ndarray:
    """Imagined codes [C, H, k] of frames 1..H, from the real first frame's codes [C, k] and the real
    actions [C, H+1, 16] (action t follows frame t; the last one is not used)."""
    model, tok = ckpt.model, ckpt.tokenizer
    dev = next(model.parameters()).device
    k, V = tok.tokens_per_frame, tok.codebook_size
    if ckpt.context_steps < 2:
        raise ValueError(f"{ckpt.run_dir}: a 1-step context never sees the frame it should continue")
    keep = (ckpt.context_steps - 1) * (k + N_DIMS)
    act_tokens = torch.from_numpy(ActionTokenizer(V, per_dimension=True).encode(actions).astype(np.int64)).to(dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    seq = torch.from_numpy(first_codes.astype(np.int64)).to(dev)
    H = actions.shape[1] - 1
    out = torch.empty(len(first_codes), H, k, dtype=torch.int64, device=dev)
    for h in range(H):
        seq = torch.cat([seq, act_tokens[:, h]], 1)  # the step's real action
        seq = seq[:, -keep:]  # the earlier steps the model was trained to see
        logits, cache = model.next_logits(seq)  # one pass over the window, then one cached position per token
        for j in range(k):
            v = choose(logits[:, :V], greedy, gen)
            out[:, h, j] = v
            if j + 1 < k:
                logits, cache = model.next_logits(v[:, None], cache)
        seq = torch.cat([seq, out[:, h]], 1)
    return out.cpu().numpy()


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=-1, data_range=255))


def rollout_metrics(
    real_frames: np.ndarray, imagined_frames: np.ndarray, real_codes: np.ndarray, imagined_codes: np.ndarray
) -> pd.DataFrame:
    """One row per (clip, horizon 1..H): mse, ssim, token_accuracy of imagined against real frames
    [C, H, S, S, 3] and codes [C, H, k]."""
    C, H = imagined_frames.shape[:2]
    rows = []
    for c in range(C):
        for h in range(H):
            real, fake = real_frames[c, h], imagined_frames[c, h]
            rows.append(
                {
                    "clip": c,
                    "horizon": h + 1,
                    "mse": float(np.mean((real.astype(np.float64) - fake.astype(np.float64)) ** 2)),
                    "ssim": _ssim(real, fake),
                    "token_accuracy": float(np.mean(real_codes[c, h] == imagined_codes[c, h])),
                }
            )
    return pd.DataFrame(rows)


def psnr_of_mse(mse: float | np.ndarray) -> float | np.ndarray:
    """PSNR (dB, peak 255) of a mean squared error (inf for a perfect match)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0**2 / np.asarray(mse, dtype=float))
