"""Nonparametric bootstrap over runs: each replicate draws the runs with replacement and is
expressed as integer weights on the points (a run drawn twice counts twice). Methods refit with
those weights, so resampling never copies data and every method shares the same draws for a seed.

Runs, not points, are the unit: points along one training curve are strongly correlated, and
resampling them separately would give intervals that are far too narrow. When the data has no run
structure (independent final-loss points, e.g. the Chinchilla CSV), each point is its own run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

DEFAULT_REPLICATES = 1000


def run_counts(n_runs: int, replicates: int, seed: int | None) -> np.ndarray:
    """(replicates, n_runs) integer counts: how often each run is drawn in each replicate."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_runs, size=(replicates, n_runs))
    flat = idx + (np.arange(replicates)[:, None] * n_runs)
    return np.bincount(flat.ravel(), minlength=replicates * n_runs).reshape(replicates, n_runs)


def point_weights(run: np.ndarray, replicates: int, seed: int | None) -> np.ndarray:
    """(replicates, n_points) float weights from resampling the runs that `run` codes (0..R-1)."""
    counts = run_counts(int(run.max()) + 1, replicates, seed)
    return counts[:, run].astype(float)


def map_chunks(fn: Callable[[Any], Any], chunks: Sequence[Any], n_jobs: int = 1) -> list[Any]:
    """Apply `fn` to each chunk, in a process pool when n_jobs > 1 (fork: the numpy arrays inside
    each chunk are pickled once per chunk, which is cheap for the small data sets we fit)."""
    if n_jobs is None or n_jobs <= 1 or len(chunks) <= 1:
        return [fn(c) for c in chunks]

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    workers = min(n_jobs, len(chunks), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        return list(ex.map(fn, chunks))


def split(n: int, parts: int) -> list[np.ndarray]:
    return [a for a in np.array_split(np.arange(n), max(1, parts)) if a.size]
