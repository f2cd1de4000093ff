"""`agentscaling tokenizer train|eval|encode`: frame tokenizers as runs in the run store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import presets
from ..data.dataset import TrajectoryDataset
from ..errors import UserError
from ..io import to_jsonable
from ..paths import DATA_DIR
from .cache import encode_dataset
from .train_vq import evaluate_tokenizer, train_tokenizer
from .vqvae import load_tokenizer


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser(
        "tokenizer",
        help="train, evaluate and apply frame tokenizers (VQ-VAEs)",
        description="Frame tokenizers: one VQ-VAE per compression level (tokens per frame).",
    )
    tsub = top.add_subparsers(dest="tokenizer_command", metavar="ACTION")
    tsub.required = True

    p = tsub.add_parser(
        "train",
        help="train (or resume) a tokenizer on a trajectory dataset",
        description="Train a VQ-VAE tokenizer on the dataset's train split with a preset's "
        "tokenizer settings. The run is stored at <out>/tokenizers/tok<K>-<hash>/; "
        "rerunning resumes it, or reports it if done.",
    )
    p.add_argument("--data", required=True, help="trajectory dataset directory")
    p.add_argument(
        "--tokens-per-frame", "-k", type=int, required=True, help="tokens per frame, a square: 16, 64, 256, ..."
    )
    p.add_argument(
        "--preset", default="cpu", help=f"whose tokenizer settings: {', '.join(presets.NAMES)} (default cpu)"
    )
    p.add_argument("--out", default=None, help="run store directory (default data/, where the studies' tokenizers are)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="override the preset's training steps")
    p.add_argument("--codebook-size", type=int, default=None, help="override the preset's codebook size")
    p.add_argument("--device", default="cpu", help="torch device for training (cpu, cuda)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print the evaluation as one JSON object")
    p.set_defaults(func=cmd_train)

    p = tsub.add_parser(
        "eval",
        help="held-out PSNR, codebook usage, perplexity, encode speed",
        description="Evaluate a trained tokenizer on held-out frames of a dataset.",
    )
    p.add_argument("tokenizer_dir", help="tokenizer run directory (holding tokenizer.pt)")
    p.add_argument("--data", required=True, help="trajectory dataset directory")
    p.add_argument("--split", default=None, help="val or test (default val, else test)")
    p.add_argument("--max-frames", type=int, default=1024, help="held-out frames to evaluate (default 1024)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval)

    p = tsub.add_parser(
        "encode",
        help="encode a whole dataset to cached uint16 tokens",
        description="Encode every frame of a dataset (cached under data/cache/tokens, keyed by "
        "dataset and tokenizer hash; a valid cache is reused, a corrupt one rebuilt).",
    )
    p.add_argument("tokenizer_dir", help="tokenizer run directory (holding tokenizer.pt)")
    p.add_argument("--data", required=True, help="trajectory dataset directory")
    p.add_argument("--cache-dir", default=None, help="cache root (default data/cache/tokens)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_encode)


def _open_dataset(path: str):
    if not Path(path).exists():
        raise UserError(f"dataset directory {path} does not exist")
    return TrajectoryDataset(path)


def _print_metrics(m: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(to_jsonable(m), sort_keys=True))
        return
    for key in (
        "path",
        "hash",
        "tokens_per_frame",
        "codebook_size",
        "bits_per_frame",
        "psnr",
        "usage",
        "codes_used",
        "perplexity",
        "reencode_agreement",
        "encode_fps",
        "n_frames",
        "split",
        "n_params",
    ):
        if key in m:
            v = m[key]
            print(f"{key:20s} {v:.4g}" if isinstance(v, float) else f"{key:20s} {v}")


def cmd_train(args) -> int:
    settings = presets.get(args.preset).tokenizer
    if args.tokens_per_frame < 1:
        raise UserError("--tokens-per-frame must be positive")
    overrides = {}
    if args.steps is not None:
        if args.steps < 1:
            raise UserError("--steps must be positive")
        overrides["steps"] = args.steps
    if args.codebook_size is not None:
        overrides["codebook_size"] = args.codebook_size
    ds = _open_dataset(args.data)
    tok = train_tokenizer(
        ds,
        args.tokens_per_frame,
        settings,
        args.out or DATA_DIR,
        seed=args.seed,
        progress=not args.no_progress,
        device=args.device,
        **overrides,
    )
    m = _stored_metrics(tok) or evaluate_tokenizer(tok, ds)
    _print_metrics({"path": str(tok.path), **m, "hash": tok.hash}, args.json)
    return 0


def _stored_metrics(tok) -> dict | None:
    p = Path(tok.path) / "tokenizer.json"
    if p.exists():
        m = json.loads(p.read_text())
        if m.get("hash") == tok.hash:
            return m
    return None


def cmd_eval(args) -> int:
    if args.max_frames < 1:
        raise UserError("--max-frames must be positive")
    tok = load_tokenizer(args.tokenizer_dir)
    ds = _open_dataset(args.data)
    if args.split is not None and args.split not in ("train", "val", "test"):
        raise UserError(f"--split must be train, val or test, got {args.split!r}")
    m = evaluate_tokenizer(tok, ds, split=args.split, max_frames=args.max_frames)
    _print_metrics({"path": str(tok.path), "hash": tok.hash, **m}, args.json)
    return 0


def cmd_encode(args) -> int:
    tok = load_tokenizer(args.tokenizer_dir)
    ds = _open_dataset(args.data)
    cache = encode_dataset(ds, tok, cache_dir=args.cache_dir, progress=not args.no_progress)
    out = {
        "path": str(cache.path),
        "frames": cache.n_frames,
        "tokens_per_frame": cache.tokens_per_frame,
        "codebook_size": cache.codebook_size,
        "dataset_hash": cache.dataset_hash,
        "tokenizer_hash": cache.tokenizer_hash,
        "encode_fps": cache.meta.get("encode_fps"),
    }
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        for k, v in out.items():
            print(f"{k:16s} {v}")
    return 0
