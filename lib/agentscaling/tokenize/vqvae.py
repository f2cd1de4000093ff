"""A small convolutional VQ-VAE that turns 64×64 RGB frames into a grid of discrete codes.

The transformer studies only ever see the codes, so the tokenizer is trained once per compression
level (tokens per frame = grid²) and frozen. The design follows the usual VQ-VAE / VQGAN recipe,
kept light enough for CPU encoding:

* encoder: stride-2 4×4 convolutions down to the grid (64→16, 8, 4 = 2, 3, 4 downsamplings; any
  other square grid, e.g. 6×6 or 10×10 as in the paper's RT-1 sweep, is reached by a bilinear
  resample after the last one that keeps the side ≥ the grid), a residual block at the grid
  resolution, then a 1×1 projection to the (small) codebook dimension;
  channel widths are given per resolution (32², 16², 8², 4²), so the levels differ only in depth;
* quantizer: ``vector_quantize_pytorch.VectorQuantize`` (pinned 1.32.0) with an EMA codebook,
  k-means initialisation and dead-code replacement; codebook health (usage, perplexity) matters more
  for the studies than the commitment loss, and this layer does those three things well;
* decoder: mirrored, wider than the encoder (decoding is not on the hot path, encoding is): a 3×3
  conv and residual blocks at the grid, transposed convolutions up to RGB.

Encoding at inference does its own nearest-code search (one matmul + argmin on the codebook buffer),
which is what the quantizer does in training too, minus its bookkeeping.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DataIntegrityError, UserError
from ..io import atomic_torch_save, sha256_file


@dataclass(frozen=True)
class VQConfig:
    """Architecture of one tokenizer. `grid` is the side of the code grid: tokens per frame = grid²."""

    grid: int = 8
    image_size: int = 64
    enc_channels: tuple[int, ...] = (16, 32, 64, 64)  # per downsampling, truncated to the number needed
    dec_channels: tuple[int, ...] = (48, 64, 128, 128)  # width at 32², 16², 8², 4² (like enc_channels)
    enc_res_blocks: int = 1
    dec_res_blocks: int = 2
    codebook_size: int = 512
    codebook_dim: int = 32
    ema_decay: float = 0.95
    # A code whose EMA assignment count per batch falls below this is re-seeded from a random batch
    # vector. `None` = auto: 0.1 × the average count per code in a batch (it scales with batch size).
    dead_code_threshold: float | None = None
    kmeans_init: bool = True
    commitment_weight: float = 0.25
    edge_weight: float = 0.0  # optional sharpness term: L1 on image gradients (VQGAN-ish, no pretrained net)

    @property
    def tokens_per_frame(self) -> int:
        return self.grid * self.grid

    @property
    def n_down(self) -> int:
        """Stride-2 downsamplings: as many as keep the side ≥ grid (64→8: 3; 64→6: 3, then 8→6 resampled)."""
        n = 0
        while self.image_size % 2 ** (n + 1) == 0 and self.image_size // 2 ** (n + 1) >= self.grid:
            n += 1
        return n

    @property
    def conv_side(self) -> int:
        """Side after the strided convolutions; when it is not the grid, a bilinear resample bridges them."""
        return self.image_size // 2**self.n_down

    def validate(self) -> "VQConfig":
        if not 1 <= self.grid <= self.image_size // 2:
            raise UserError(f"grid {self.grid} must be between 1 and half the image size ({self.image_size // 2})")
        if self.n_down < 1:
            raise UserError(f"image size {self.image_size} must be divisible by 2")
        if self.n_down > len(self.enc_channels) or self.n_down > len(self.dec_channels):
            raise UserError(
                f"grid {self.grid} needs {self.n_down} downsamplings: give at least that many enc/dec channel entries"
            )
        if not 2 <= self.codebook_size <= 65535:
            raise UserError(f"codebook_size {self.codebook_size} must be in [2, 65535] (codes are stored as uint16)")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["enc_channels"] = list(self.enc_channels)
        d["dec_channels"] = list(self.dec_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VQConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise UserError(f"unknown tokenizer config keys: {sorted(unknown)}")
        d = dict(d)
        for k in ("enc_channels", "dec_channels"):
            if k in d:
                d[k] = tuple(int(c) for c in d[k])
        return cls(**d).validate()


def grid_for_tokens(tokens_per_frame: int) -> int:
    g = int(round(math.sqrt(max(tokens_per_frame, 0))))
    if tokens_per_frame < 1 or g * g != tokens_per_frame:
        raise UserError(f"tokens per frame must be a square (16, 36, 64, 100, 256, ...), got {tokens_per_frame}")
    return g


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class Resample(nn.Module):
    """Bilinear resize to side×side, for grids that are not image_size / 2**n (36 = 6², 100 = 10², …)."""

    def __init__(self, side: int):
        super().__init__()
        self.side = side

    def forward(self, x):
        return F.interpolate(
            x, size=(self.side, self.side), mode="bilinear", align_corners=False, antialias=x.shape[-1] > self.side
        )


class Encoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i in range(cfg.n_down):
            c = cfg.enc_channels[i]
            layers.append(nn.Conv2d(c_in, c, 4, stride=2, padding=1))
            if i < cfg.n_down - 1:
                layers.append(nn.ReLU(inplace=True))
            c_in = c
        if cfg.conv_side != cfg.grid:
            layers.append(Resample(cfg.grid))
        layers += [ResBlock(c_in) for _ in range(cfg.enc_res_blocks)]
        layers += [nn.ReLU(inplace=True), nn.Conv2d(c_in, cfg.codebook_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """Mirror of the encoder: `dec_channels[j]` is the width at resolution image_size / 2**(j+1), so
    every level uses the same width at the same resolution; the last transposed conv emits RGB."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        n, ch = cfg.n_down, cfg.dec_channels
        layers: list[nn.Module] = [nn.Conv2d(cfg.codebook_dim, ch[n - 1], 3, padding=1)]
        layers += [ResBlock(ch[n - 1]) for _ in range(cfg.dec_res_blocks)]
        layers.append(nn.ReLU(inplace=True))
        if cfg.conv_side != cfg.grid:
            layers.append(Resample(cfg.conv_side))
        for j in range(n - 1, 0, -1):
            layers += [nn.ConvTranspose2d(ch[j], ch[j - 1], 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.ConvTranspose2d(ch[0], 3, 4, stride=2, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


def _to_input(frames: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 [B,H,W,3] → float [B,3,H,W] in [-1, 1], channels_last memory (a view: no copy)."""
    if isinstance(frames, np.ndarray):
        frames = torch.from_numpy(np.ascontiguousarray(frames))
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames [B,H,W,3], got {tuple(frames.shape)} {frames.dtype}")
    x = frames.permute(0, 3, 1, 2)  # NCHW view of NHWC memory = channels_last
    return x.float().mul_(2.0 / 255.0).sub_(1.0)


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [B,3,H,W] in [-1,1] → uint8 [B,H,W,3]."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class VQVAE(nn.Module):
    """Frame tokenizer. `forward(x)` (x float [B,3,H,W] in [-1,1]) returns (recon, codes, commit_loss)."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        from vector_quantize_pytorch import VectorQuantize

        self.cfg = cfg.validate()
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.vq = VectorQuantize(
            dim=cfg.codebook_dim,
            codebook_size=cfg.codebook_size,
            decay=cfg.ema_decay,
            kmeans_init=cfg.kmeans_init,
            kmeans_iters=10,
            threshold_ema_dead_code=0,  # set per batch in forward (auto threshold scales with batch)
            commitment_weight=cfg.commitment_weight,
            accept_image_fmap=True,
            rotation_trick=False,  # plain straight-through: cheaper and stable for this size
        )
        self.to(memory_format=torch.channels_last)

    # -- training ---------------------------------------------------------------------------------
    def _set_dead_code_threshold(self, n_vectors: int) -> None:
        # The library takes a fixed threshold at construction; ours scales with the vectors per batch
        # (batch × tokens per frame), so it is set on the codebook before each training forward. These
        # are attributes of EuclideanCodebook in vector-quantize-pytorch 1.32.0 (the pinned version).
        cb = self.vq._codebook
        thr = self.cfg.dead_code_threshold
        if thr is None:
            thr = 0.1 * n_vectors / self.cfg.codebook_size
        cb.threshold_ema_dead_code = float(thr)
        cb.reset_cluster_size = float(thr)
        cb.has_dead_code_replacement = thr > 0

    def forward(self, x: torch.Tensor):
        z = self.encoder(x)
        if self.training:
            self._set_dead_code_threshold(z.shape[0] * z.shape[2] * z.shape[3])
        q, codes, commit = self.vq(z)
        recon = self.decoder(q)
        return recon, codes, commit

    def loss(self, frames_u8: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        x = _to_input(frames_u8).contiguous(memory_format=torch.channels_last)
        recon, codes, commit = self(x)
        mse = F.mse_loss(recon, x)
        loss = mse + commit.sum()
        if self.cfg.edge_weight > 0:
            loss = loss + self.cfg.edge_weight * _edge_loss(recon, x)
        with torch.no_grad():
            counts = torch.bincount(codes.reshape(-1), minlength=self.cfg.codebook_size).float()
            p = counts / counts.sum()
            ppl = torch.exp(-(p[p > 0] * p[p > 0].log()).sum()).item()
            # PSNR on [0,1] scale: mse on [-1,1] is 4× larger
            psnr = 10 * math.log10(4.0 / max(mse.item(), 1e-12))
        metrics = {
            "recon_mse": mse.item(),
            "commit": float(commit.sum().item()),
            "psnr": psnr,
            "batch_perplexity": ppl,
            "batch_usage": float((counts > 0).float().mean().item()),
        }
        return loss, metrics

    # -- inference --------------------------------------------------------------------------------
    @property
    def codebook(self) -> torch.Tensor:
        return self.vq.codebook  # [V, D]

    @torch.inference_mode()
    def encode(self, frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        """uint8 [B,H,W,3] → int64 codes [B, grid*grid] (row-major over the grid)."""
        dev = self.codebook.device
        x = _to_input(torch.as_tensor(frames).to(dev) if dev.type != "cpu" else frames)
        if x.shape[-1] != self.cfg.image_size or x.shape[-2] != self.cfg.image_size:
            raise ValueError(
                f"this tokenizer takes {self.cfg.image_size}×{self.cfg.image_size} frames, got {tuple(x.shape[-2:])}"
            )
        z = self.encoder(x)  # [B,D,g,g]
        b, d, g, _ = z.shape
        return nearest_code(z.permute(0, 2, 3, 1).reshape(-1, d), self.codebook).view(b, g * g).cpu()

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor | np.ndarray) -> torch.Tensor:
        """codes [B, grid*grid] (any int dtype) → uint8 frames [B,H,W,3]."""
        if isinstance(codes, np.ndarray):
            codes = torch.from_numpy(codes.astype(np.int64))
        codes = codes.long().to(self.codebook.device)
        g = self.cfg.grid
        if codes.ndim != 2 or codes.shape[1] != g * g:
            raise ValueError(f"expected codes [B,{g * g}], got {tuple(codes.shape)}")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.cfg.codebook_size):
            raise ValueError(f"codes outside [0, {self.cfg.codebook_size})")
        q = self.codebook[codes].view(codes.shape[0], g, g, -1).permute(0, 3, 1, 2)
        return _to_uint8(self.decoder(q.contiguous(memory_format=torch.channels_last))).cpu()

    @torch.inference_mode()
    def reconstruct(self, frames) -> torch.Tensor:
        return self.decode(self.encode(frames))

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def nearest_code(flat: torch.Tensor, codebook: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """argmin_v ||z - e_v||² for each row z of `flat` [N,D], as argmax_v (2 z·e_v - ||e_v||²): one GEMM
    on [z, 1]·[2e, -||e||²]ᵀ per chunk of rows, so the [chunk, V] scores stay in cache. (Chunked
    `max(1).indices` is ~4× faster than a full-size addmm + argmin on CPU at 256 tokens/frame.)"""
    n, v = flat.shape[0], codebook.shape[0]
    ea = torch.cat([2 * codebook, -(codebook * codebook).sum(1, keepdim=True)], 1).t().contiguous()
    fa = torch.cat([flat, flat.new_ones(n, 1)], 1)
    out = torch.empty(n, dtype=torch.long, device=flat.device)
    buf = flat.new_empty(min(chunk, n), v)
    for i in range(0, n, chunk):
        j = min(n, i + chunk)
        torch.mm(fa[i:j], ea, out=buf[: j - i])
        out[i:j] = buf[: j - i].max(1).indices
    return out


def _edge_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    def grads(t):
        return t[..., 1:, :] - t[..., :-1, :], t[..., :, 1:] - t[..., :, :-1]

    (ry, rx), (xy, xx) = grads(recon), grads(x)
    return (ry - xy).abs().mean() + (rx - xx).abs().mean()


def psnr_uint8(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """PSNR in dB between two uint8 image batches (peak 255), over the whole batch."""
    a = torch.as_tensor(np.asarray(a)).float()
    b = torch.as_tensor(np.asarray(b)).float()
    mse = F.mse_loss(a, b).item()
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def code_stats(codes: np.ndarray | torch.Tensor, codebook_size: int) -> dict[str, float]:
    """Codebook usage fraction (codes used at least once) and perplexity exp(H) of the code histogram."""
    c = torch.as_tensor(np.asarray(codes, dtype=np.int64)).reshape(-1)
    counts = torch.bincount(c, minlength=codebook_size).double()
    p = counts / counts.sum().clamp(min=1)
    nz = p[p > 0]
    ppl = float(torch.exp(-(nz * nz.log()).sum()).item()) if nz.numel() else 0.0
    return {
        "usage": float((counts > 0).double().mean().item()),
        "perplexity": ppl,
        "codes_used": int((counts > 0).sum().item()),
    }


# -- a trained, frozen tokenizer ----------------------------------------------------------------------
TOKENIZER_FILE = "tokenizer.pt"
FORMAT = "agentscaling.vqvae/1"


class FrameTokenizer:
    """A frozen VQ-VAE plus where it came from. `hash` is the sha256 of its tokenizer.pt, the key of
    every token cache built with it."""

    def __init__(
        self, model: VQVAE, path: Path | None = None, hash: str | None = None, info: dict[str, Any] | None = None
    ):
        self.model = model.eval()
        self.path = path
        self.hash = hash
        self.info = dict(info or {})

    @property
    def config(self) -> VQConfig:
        return self.model.cfg

    @property
    def tokens_per_frame(self) -> int:
        return self.model.cfg.tokens_per_frame

    @property
    def codebook_size(self) -> int:
        return self.model.cfg.codebook_size

    @property
    def bits_per_frame(self) -> float:
        return self.tokens_per_frame * math.log2(self.codebook_size)

    def encode(self, frames: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """uint8 frames [N,H,W,3] → uint16 codes [N, tokens_per_frame]."""
        frames = np.asarray(frames)
        out = np.empty((len(frames), self.tokens_per_frame), np.uint16)
        for i in range(0, len(frames), batch_size):
            chunk = np.ascontiguousarray(frames[i : i + batch_size])
            out[i : i + len(chunk)] = self.model.encode(chunk).numpy().astype(np.uint16)
        return out

    def decode(self, codes: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """codes [N, tokens_per_frame] → uint8 frames [N,H,W,3]."""
        codes = np.asarray(codes)
        s = self.config.image_size
        out = np.empty((len(codes), s, s, 3), np.uint8)
        for i in range(0, len(codes), batch_size):
            chunk = codes[i : i + batch_size].astype(np.int64)
            out[i : i + len(chunk)] = self.model.decode(chunk).numpy()
        return out

    def save(self, path: str | Path) -> str:
        """Write tokenizer.pt atomically (weights_only-loadable); returns its sha256."""
        path = Path(path)
        target = path / TOKENIZER_FILE if path.suffix != ".pt" else path
        atomic_torch_save(
            target,
            {
                "format": FORMAT,
                "config": self.config.to_dict(),
                "state_dict": self.model.state_dict(),
                "info": self.info,
            },
        )
        self.path = target.parent
        self.hash = sha256_file(target)
        return self.hash

    def __repr__(self) -> str:
        return (
            f"FrameTokenizer(tokens_per_frame={self.tokens_per_frame}, codebook={self.codebook_size}, "
            f"hash={(self.hash or '?')[:12]}, path={self.path})"
        )


def load_tokenizer(path: str | Path) -> FrameTokenizer:
    """Load a tokenizer from a run directory (or its tokenizer.pt), with torch.load(weights_only=True)."""
    path = Path(path)
    target = path / TOKENIZER_FILE if path.is_dir() else path
    if not target.exists():
        raise UserError(f"no trained tokenizer at {target} (train one with `agentscaling tokenizer train`)")
    try:
        obj = torch.load(target, weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file
        raise DataIntegrityError(
            f"{target} is not a readable tokenizer checkpoint ({e.__class__.__name__}: {e})"
        ) from e
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UserError(f"{target} is not an {FORMAT} tokenizer")
    model = VQVAE(VQConfig.from_dict(obj["config"]))
    model.load_state_dict(obj["state_dict"])
    return FrameTokenizer(model, target.parent, sha256_file(target), obj.get("info", {}))
