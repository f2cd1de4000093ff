"""Run small optimisations with single-threaded BLAS.

SciPy's L-BFGS-B does tiny matrix products through OpenBLAS. When OpenBLAS may use several threads
and the machine is busy, each of those products waits for threads to wake up: measured here, a fit
that takes 0.3 s single-threaded took 1-3 s, and 200 bootstrap replicates went from 1.9 s to 13 s.
We therefore pin BLAS to one thread around our fits (threadpoolctl when installed, otherwise the
OpenBLAS libraries already loaded by numpy/scipy, found through /proc/self/maps on Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from typing import Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable)

_SETTERS = (
    "openblas_set_num_threads",
    "scipy_openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
    "openblas_set_num_threads64_",
)
_GETTERS = (
    "openblas_get_num_threads",
    "scipy_openblas_get_num_threads",
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
)


def _openblas_handles() -> list[tuple[Callable, Callable]]:
    try:
        with open("/proc/self/maps") as f:
            paths = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and ln.rstrip().split()[-1].startswith("/")}
    except OSError:
        return []
    out = []
    for p in sorted(paths):
        try:
            lib = ctypes.CDLL(p)
        except OSError:
            continue
        setter = next((getattr(lib, s) for s in _SETTERS if hasattr(lib, s)), None)
        getter = next((getattr(lib, g) for g in _GETTERS if hasattr(lib, g)), None)
        if setter is not None and getter is not None:
            out.append((setter, getter))
    return out


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    handles = _openblas_handles()
    old = [int(g()) for _, g in handles]
    for s, _ in handles:
        s(1)
    try:
        yield
    finally:
        for (s, _), n in zip(handles, old):
            s(n)


def blas_single_thread(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
