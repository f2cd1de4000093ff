"""Encode (and decode) throughput of the frame tokenizers, in frames per second.

    .venv/bin/python benchmarks/tokenizer_encode.py            # 8192 frames × 5 repeats per level
    .venv/bin/python benchmarks/tokenizer_encode.py --quick    # 1024 frames × 3 repeats, < 1 min
    .venv/bin/python benchmarks/tokenizer_encode.py --json     # one JSON object per line
    .venv/bin/python benchmarks/tokenizer_encode.py --tokenizer data/tokenizers/tok64-… --data DIR

Times `FrameTokenizer.encode` (uint8 frames → uint16 codes: the path `encode_dataset` runs) for the
16/64/256 tokens-per-frame models of a preset's architecture. Speed does not depend on the weights,
so untrained models are used unless --tokenizer is given; frames are random unless --data is given.
Each row reports the median over repeats. Shared machines are noisy, so a baseline is timed in the
same process: a plain VQ-VAE encoder (three stride-2 convs 3→32→64→64, vector-quantize-pytorch's
own forward, 512 codes), the kind that encoded 762 frames/s on this machine (docs/machine.md §4.5);
`x_baseline` is the ratio, which is steadier than the absolute numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from agentscaling import presets  # noqa: E402
from agentscaling.tokenize.train_vq import model_config  # noqa: E402
from agentscaling.tokenize.vqvae import VQVAE, FrameTokenizer, load_tokenizer  # noqa: E402


class PlainVQEncoder(torch.nn.Module):
    """The baseline: a textbook conv encoder and vector-quantize-pytorch's forward (eval mode)."""

    def __init__(self):
        super().__init__()
        from vector_quantize_pytorch import VectorQuantize

        self.enc = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, 4, 2, 1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(32, 64, 4, 2, 1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(64, 64, 4, 2, 1),
        )
        self.vq = VectorQuantize(dim=64, codebook_size=512, decay=0.8, accept_image_fmap=True)

    @torch.no_grad()
    def encode(self, frames: np.ndarray, batch_size: int) -> np.ndarray:
        out = []
        for i in range(0, len(frames), batch_size):
            x = torch.from_numpy(frames[i : i + batch_size]).permute(0, 3, 1, 2).float() / 127.5 - 1
            _, idx, _ = self.vq(self.enc(x))
            out.append(idx.reshape(len(x), -1).numpy().astype(np.uint16))
        return np.concatenate(out)


def _median_fps(fn, n_frames: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n_frames / statistics.median(times)


def _frames(args, n: int) -> np.ndarray:
    if args.data:
        from agentscaling.data.dataset import TrajectoryDataset
        from agentscaling.tokenize.train_vq import FramePool

        pool = FramePool(TrajectoryDataset(args.data), "train")
        return pool.get(np.arange(n) % len(pool))
    return np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1024 frames × 3 repeats (< 1 min)")
    ap.add_argument("--preset", default="cpu", help="architecture of the untrained models (default cpu)")
    ap.add_argument("--levels", default="16,64,256", help="tokens per frame, comma-separated")
    ap.add_argument("--tokenizer", default=None, help="benchmark this trained tokenizer run dir instead")
    ap.add_argument("--data", default=None, help="take frames from this dataset's train split")
    ap.add_argument("--codebook-size", type=int, default=None, help="override the preset's codebook size")
    ap.add_argument("--batch", type=int, default=512, help="frames per forward pass (default 512)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    n = args.frames or (1024 if args.quick else 8192)
    repeats = args.repeats or (3 if args.quick else 5)
    frames = _frames(args, n)

    if args.tokenizer:
        toks = [("trained", load_tokenizer(args.tokenizer))]
    else:
        preset = presets.get(args.preset).tokenizer
        if args.codebook_size:
            preset = dataclasses.replace(preset, codebook_size=args.codebook_size)
        toks = []
        for k in (int(x) for x in args.levels.split(",")):
            torch.manual_seed(0)
            toks.append((args.preset, FrameTokenizer(VQVAE(model_config(k, preset)))))

    base_fps = None
    if not args.no_baseline:
        base = PlainVQEncoder().eval()
        base.encode(frames[: args.batch], args.batch)
        base_fps = _median_fps(lambda: base.encode(frames, args.batch), n, repeats)

    rows = []
    for label, tok in toks:
        tok.encode(frames[: args.batch], args.batch)  # warm-up
        enc = _median_fps(lambda: tok.encode(frames, args.batch), n, repeats)
        codes = tok.encode(frames[:1024], args.batch)
        tok.decode(codes[:256])
        dec = _median_fps(lambda: tok.decode(codes, 256), len(codes), max(1, repeats - 1))
        rows.append(
            {
                "bench": "tokenizer_encode",
                "model": label,
                "tokens_per_frame": tok.tokens_per_frame,
                "codebook_size": tok.codebook_size,
                "encoder_params": sum(p.numel() for p in tok.model.encoder.parameters()),
                "params": tok.model.n_params(),
                "batch": args.batch,
                "threads": args.threads,
                "frames": n,
                "repeats": repeats,
                "encode_fps": round(enc),
                "decode_fps": round(dec),
                "baseline_encode_fps": round(base_fps) if base_fps else None,
                "x_baseline": round(enc / base_fps, 2) if base_fps else None,
                "data": "dataset" if args.data else "random",
                "cpus": os.cpu_count(),
            }
        )
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print(
        f"frame tokenizer encode throughput: {n} frames, batch {args.batch}, {args.threads} threads, "
        f"median of {repeats}"
    )
    if base_fps:
        print(
            f"baseline (plain conv encoder + vector-quantize-pytorch forward, 64 tok/frame): {base_fps:,.0f} frames/s"
        )
    print(
        f"{'model':<8} {'tok/frame':>9} {'codebook':>8} {'enc params':>10} {'encode f/s':>11} {'x base':>7} "
        f"{'decode f/s':>11}"
    )
    for r in rows:
        xb = f"{r['x_baseline']:.2f}" if r["x_baseline"] else "-"
        print(
            f"{r['model']:<8} {r['tokens_per_frame']:>9} {r['codebook_size']:>8} {r['encoder_params']:>10,} "
            f"{r['encode_fps']:>11,} {xb:>7} {r['decode_fps']:>11,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
