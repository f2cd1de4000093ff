"""Nonparametric bootstrap over runs: each replicate draws the runs with replacement and is
expressed as integer weights on the points (a run drawn twice counts twice). Methods refit with
those weights, so resampling never copies data and every method shares the same draws for a seed.

Runs, not points, are the unit: points along one training curve are strongly correlated, and
resampling them separately would give intervals that are far too narrow. When the data has no run
structure (independent final-loss points, e.g. the Chinchilla CSV), each point is its own run.

When every model size was trained with several seeds, the unit is the seed: each replicate draws,
for every size with m seeds, m - 1 of them with replacement. The sizes are the design and stay fixed;
what varies is the training noise, so an interval covers what a rerun of the same design would give.
Drawing m - 1 rather than m makes the replicates' variance of a size's mean seed exactly s^2/m (the
unbiased one); drawing m would shrink it by (m - 1)/m, a 30 % narrower interval with 3 seeds.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

DEFAULT_REPLICATES = 1000


def run_counts(n_runs: int, replicates: int, seed: int | None, groups: np.ndarray | None = None) -> np.ndarray:
    """(replicates, n_runs) integer counts: how often each run is drawn in each replicate. With
    `groups` (a group code per run: its model size), m - 1 of a group's m runs are drawn, within it."""
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, n_runs, size=(replicates, n_runs))
    else:
        groups = np.asarray(groups)
        drawn = []
        for g in np.unique(groups):
            members = np.flatnonzero(groups == g)
            m = max(1, members.size - 1)
            drawn.append(members[rng.integers(0, members.size, size=(replicates, m))])
        idx = np.concatenate(drawn, axis=1)
    flat = idx + (np.arange(replicates)[:, None] * n_runs)
    return np.bincount(flat.ravel(), minlength=replicates * n_runs).reshape(replicates, n_runs)


def seed_groups(run_sizes: np.ndarray, run_seeds: np.ndarray) -> np.ndarray | None:
    """Size codes of the runs when they are seeds of their sizes: every size has at least two runs and
    its runs have distinct seeds. Else None (the runs themselves are then the bootstrap unit; runs of
    one N with one seed are different designs, e.g. isoFLOP budgets, not replicates)."""
    _, codes, counts = np.unique(np.asarray(run_sizes, float), return_inverse=True, return_counts=True)
    if counts.min() < 2:
        return None
    pairs = {(int(c), str(s)) for c, s in zip(codes, run_seeds)}
    return codes if len(pairs) == codes.size else None


def point_weights(run: np.ndarray, replicates: int, seed: int | None, groups: np.ndarray | None = None) -> np.ndarray:
    """(replicates, n_points) float weights from resampling the runs that `run` codes (0..R-1), within
    their groups (a code per run) when given; a group's weights are then scaled by m/(m - 1) so that
    every size keeps the total weight of its m runs."""
    counts = run_counts(int(run.max()) + 1, replicates, seed, groups).astype(float)
    if groups is not None:
        sizes = np.bincount(groups)[groups]
        counts *= sizes / np.maximum(sizes - 1, 1)
    return counts[:, run]


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
