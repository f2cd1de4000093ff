"""`agentscaling data ...`: generate arena gameplay, import Minari datasets, inspect datasets.

agentscaling data arena --frames 1000000 --out data/arena/cpu --workers 2
agentscaling data stats data/arena/cpu [--json] [--verify full]
agentscaling data minari path/to/minari_dataset --out data/minari/x [--size 64]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UserError
from .arena.generate import generate_arena_dataset
from .dataset import TrajectoryDataset, dataset_stats
from .minari_import import import_minari


def _count(text: str) -> int:
    """A whole number; accepts 1_000_000 and 1e6."""
    t = text.replace("_", "")
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not v.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(v)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="generate, import and inspect trajectory datasets",
        description="Generate, import and inspect trajectory datasets.",
    )
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    sub.required = True

    a = sub.add_parser(
        "arena",
        help="generate arena gameplay (resumable)",
        description="Record all 8 players of simulated 4v4 arena matches as a trajectory "
        "dataset. Rerunning the same command resumes; a larger --frames extends.",
    )
    a.add_argument("--frames", type=_count, required=True, help="frames to record (at least)")
    a.add_argument("--out", type=Path, required=True, help="dataset directory")
    a.add_argument("--size", type=int, default=64, help="image size in pixels (default 64)")
    a.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    a.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    a.add_argument(
        "--episode-steps", type=int, default=None, help="steps per match at 10 Hz (default 1200 = 2 minutes)"
    )
    a.add_argument("--matches-per-shard", type=int, default=None, help="matches per shard (default 16)")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    a.set_defaults(func=_arena)

    s = sub.add_parser(
        "stats",
        help="summarise a dataset",
        description="Frames, matches, maps, splits, per-dimension action entropy (bits, "
        "overall and per persona) and bytes on disk.",
    )
    s.add_argument("dir", type=Path, help="dataset directory")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument(
        "--verify",
        choices=("size", "full", "none"),
        default="size",
        help="integrity check: file sizes (default), full sha256, or none",
    )
    s.set_defaults(func=_stats)

    m = sub.add_parser(
        "minari",
        help="import a dataset in Minari's on-disk format",
        description="Convert a Minari dataset (hdf5 or arrow layout) with image observations.",
    )
    m.add_argument("src", type=Path, help="the Minari dataset directory (or its data/ folder)")
    m.add_argument("--out", type=Path, required=True, help="output dataset directory")
    m.add_argument("--size", type=int, default=None, help="resize frames to SIZE x SIZE")
    m.add_argument("--obs-key", default=None, help="image entry of a Dict observation")
    m.add_argument("--action-buckets", type=int, default=11, help="buckets per continuous action dim")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.set_defaults(func=_minari)


def _arena(args) -> int:
    ds = generate_arena_dataset(
        args.out,
        args.frames,
        size=args.size,
        seed=args.seed,
        workers=args.workers,
        progress=not args.no_progress,
        episode_steps=args.episode_steps,
        matches_per_shard=args.matches_per_shard,
    )
    print(
        f"{ds.root}: {ds.n_frames:,} frames, {len(ds):,} trajectories, "
        f"{ds.episodes['match'].nunique():,} matches, manifest {ds.hash[:12]}"
    )
    if not ds.split_ids("val"):
        per_match = len(ds) // max(1, ds.episodes["match"].nunique()) * int(ds.episodes["length"].max())
        print(
            f"note: the split is by match (80/10/10) and all matches are in train: a val split needs 2 matches "
            f"(--frames {2 * per_match}). Tokenizers hold out one trajectory instead; BC-CNN needs a val split."
        )
    return 0


def _minari(args) -> int:
    if not args.src.exists():
        raise UserError(f"{args.src} does not exist")
    ds = import_minari(
        args.src,
        args.out,
        size=args.size,
        obs_key=args.obs_key,
        action_buckets=args.action_buckets,
        progress=not args.no_progress,
    )
    print(f"{ds.root}: {ds.n_frames:,} frames, {len(ds):,} episodes, frames {ds.frame_shape}")
    return 0


def _stats(args) -> int:
    if not args.dir.is_dir():
        raise UserError(f"{args.dir} is not a directory")
    st = dataset_stats(TrajectoryDataset(args.dir, verify=args.verify))
    if args.json:
        print(json.dumps(st, sort_keys=True))
        return 0
    print(format_stats(st))
    return 0


def format_stats(st: dict) -> str:
    lines = [
        f"dataset     {st['root']}",
        f"frames      {st['frames']:,}  ({st['frame_shape'][0]}x{st['frame_shape'][1]} RGB)",
        f"episodes    {st['episodes']:,} player trajectories in {st['matches']:,} matches",
        "splits      " + ", ".join(f"{k} {v:,}" for k, v in st["split_frames"].items()) + " frames",
        "maps        " + ", ".join(f"{k} {v:,}" for k, v in st["maps"].items()),
        "personas    " + ", ".join(f"{k} {v:,}" for k, v in st["personas"].items()),
        f"on disk     {st['bytes_on_disk'] / 2**20:,.1f} MiB",
        f"manifest    {st['hash']}",
        "",
        "action entropy per dimension, bits (max: buttons 1.00, axes 3.46)",
    ]
    dims = list(st["entropy_bits"])
    w = max(8, max(len(d) for d in dims) + 1)
    rows = [("all", st["entropy_bits"])] + sorted(st["entropy_bits_by_persona"].items())
    name_w = max(10, max(len(r[0]) for r in rows) + 1)
    lines.append(" " * name_w + "".join(d[: w - 1].rjust(w) for d in dims))
    for name, ent in rows:
        lines.append(name.ljust(name_w) + "".join(f"{ent[d]:.2f}".rjust(w) for d in dims))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="agentscaling")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
