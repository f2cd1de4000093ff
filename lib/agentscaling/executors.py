"""Where jobs run: in this process, in a local pool of 1-thread worker processes, or on anything with
`submit(fn, *args) -> future` (a Dask `distributed.Client`); and which torch device they use.

On 2 cores two 1-thread workers beat one 2-thread process, and a 2-thread torch job that shares its
cores with anything else slows down 4-10x (../shared/docs/machine.md), so pool workers set one thread."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing as mp
from typing import Iterator, Protocol

import torch

from .errors import UserError


class Executor(Protocol):
    def submit(self, fn, *args, **kwargs) -> cf.Future: ...


class InProcessExecutor:
    """Runs each job immediately in this process (one at a time, at torch's thread count)."""

    def submit(self, fn, *args, **kwargs) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)
        return fut

    def shutdown(self, wait: bool = True) -> None:
        pass


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def process_pool(workers: int, threads_per_worker: int = 1) -> cf.ProcessPoolExecutor:
    """A local pool of spawned processes, each with `threads_per_worker` torch threads."""
    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads_per_worker,),
    )


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Executor]:
    """`workers` 1-thread processes (this process when 1), shut down when the block ends."""
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    executor = process_pool(workers) if workers > 1 else InProcessExecutor()
    try:
        yield executor
    finally:
        executor.shutdown()


def resolve_device(device: str = "auto") -> str:
    """ "auto" -> "cuda" when a GPU is visible, else "cpu"; a named device must be usable here."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise UserError(f"unknown device {device!r}: {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"device {device!r} is not available here (no CUDA GPU is visible); pass --device cpu "
            "to run on the CPU anyway"
        )
    if dev.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"unsupported device {device!r}")
    return device
