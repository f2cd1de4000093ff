"""Arena data generation throughput: recorded frames per second, rendering included.

    .venv/bin/python benchmarks/data_throughput.py            # full (a few minutes)
    .venv/bin/python benchmarks/data_throughput.py --quick    # < 1 minute
    .venv/bin/python benchmarks/data_throughput.py --json     # one JSON object per line

Rows:
  memory  simulate + bots + render, frames discarded (one process)
  actions simulate + bots only (no rendering)
  disk    generate_arena_dataset end to end: shards written, checksummed, manifest; the 2-worker
          row uses two processes (the 2-core figure), process start-up included.
The machine is shared: wall-clock rates move with its load. `frames_per_cpu_s` (frames per
second of CPU time used, children included) does not, and is what one free core delivers; two
workers on two free cores give about twice that, as long as the disk keeps up (`MiB_per_s`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from agentscaling.data.arena import generate as arena_generation  # noqa: E402


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _memory(size: int | None, matches: int, steps: int, seed: int = 0) -> dict:
    arena_generation.simulate(seed, list(range(matches)), size, 3, lambda t, f, a: None)  # warm caches
    t0, c0 = time.perf_counter(), _cpu_s()
    arena_generation.simulate(seed, list(range(matches)), size, steps, lambda t, f, a: None)
    dt, cpu = time.perf_counter() - t0, _cpu_s() - c0
    n = matches * 8 * steps
    return {
        "bench": "memory" if size else "actions",
        "size": size or 0,
        "workers": 1,
        "frames": n,
        "seconds": round(dt, 3),
        "frames_per_s": round(n / dt),
        "cpu_s": round(cpu, 3),
        "frames_per_cpu_s": round(n / cpu),
    }


def _disk(size: int, workers: int, shards: int, matches: int, steps: int, tmp: Path) -> dict:
    out = tmp / f"bench-{size}-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    n_frames = shards * matches * 8 * steps
    arena_generation.get_renderer(size)
    t0, c0 = time.perf_counter(), _cpu_s()
    ds = arena_generation.generate_arena_dataset(
        out, n_frames, size=size, workers=workers, episode_steps=steps, matches_per_shard=matches
    )
    dt, cpu = time.perf_counter() - t0, _cpu_s() - c0
    mib = ds.bytes_on_disk() / 2**20
    shutil.rmtree(out, ignore_errors=True)
    return {
        "bench": "disk",
        "size": size,
        "workers": workers,
        "frames": ds.n_frames,
        "seconds": round(dt, 3),
        "frames_per_s": round(ds.n_frames / dt),
        "cpu_s": round(cpu, 3),
        "frames_per_cpu_s": round(ds.n_frames / cpu),
        "MiB_per_s": round(mib / dt, 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small workloads (< 1 minute)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--tmp", type=Path, default=None, help="scratch directory for the disk rows")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    matches = arena_generation.DEFAULT_MATCHES_PER_SHARD
    steps = 100 if args.quick else 300
    sizes = [64] if args.quick else [32, 64, 128]
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="arena-bench-"))
    rows = []

    def emit(row):
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)

    try:
        for size in sizes:
            emit(_memory(size, matches, steps))
        emit(_memory(None, matches, steps))
        for workers in (1, 2):
            emit(_disk(64, workers, shards=2 if args.quick else 4, matches=matches, steps=steps, tmp=tmp))
    finally:
        if args.tmp is None:
            shutil.rmtree(tmp, ignore_errors=True)
    if not args.json:
        print(
            f"{'bench':8s} {'size':>5s} {'workers':>7s} {'frames':>9s} {'seconds':>8s} {'frames/s':>10s} "
            f"{'frames/cpu-s':>13s} {'MiB/s':>7s}"
        )
        for r in rows:
            print(
                f"{r['bench']:8s} {r['size']:5d} {r['workers']:7d} {r['frames']:9d} {r['seconds']:8.2f} "
                f"{r['frames_per_s']:10,d} {r['frames_per_cpu_s']:13,d} {r.get('MiB_per_s', float('nan')):7.1f}"
            )
        print(f"(cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
