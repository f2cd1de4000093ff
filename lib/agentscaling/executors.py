"""Where jobs run: in this process, in a local pool of 1-thread worker processes, or on anything with
`submit(fn, *args) -> future` (a Dask `distributed.Client`); and which torch device they use.

On 2 cores two 1-thread workers beat one 2-thread process, and a 2-thread torch job that shares its
cores with anything else slows down 4-10x (../shared/docs/machine.md), so pool workers set one thread.

A Dask cluster is chosen once, for a whole command: `dask_cluster(scheduler=..., local_workers=...)`
puts its address in the environment (SCHEDULER_ENV), so that every `worker_pool` of this process and of
the notebook kernels it starts sends its jobs there instead of to a local pool (docs/cluster.md)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
import warnings
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


SCHEDULER_ENV = "AGENTSCALING_SCHEDULER"


def is_dask(executor: Executor) -> bool:
    """Whether the executor is a Dask client (its futures and submit options differ from the pools')."""
    return type(executor).__module__.split(".")[0] == "distributed"


@contextlib.contextmanager
def scoped_env(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the block (child processes started in it inherit it), then
    restore what was there."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def cluster_address() -> str | None:
    """The Dask scheduler this process's worker pools send their jobs to (dask_cluster), or None."""
    return os.environ.get(SCHEDULER_ENV) or None


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Executor]:
    """`workers` 1-thread processes (this process when 1), shut down when the block ends; or, when a Dask
    scheduler is named in the environment (SCHEDULER_ENV), a client of that cluster (`workers` is then
    the cluster's business)."""
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    if address := cluster_address():
        with dask_client(address) as client:
            yield client
        return
    executor = process_pool(workers) if workers > 1 else InProcessExecutor()
    try:
        yield executor
    finally:
        executor.shutdown()


def _one_torch_thread_plugin():
    """A Dask worker plugin: jobs on a worker use one torch thread, as in the local pool (a worker that
    a nanny restarts gets it again)."""
    from distributed import WorkerPlugin

    class OneTorchThread(WorkerPlugin):
        name = "agentscaling-one-torch-thread"

        def setup(self, worker) -> None:
            torch.set_num_threads(1)

    return OneTorchThread()


@contextlib.contextmanager
def dask_client(address: str):
    """A client of the Dask scheduler at `address`, its workers set to one torch thread."""
    try:
        from distributed import Client
    except ImportError:
        raise UserError("a Dask scheduler needs the cluster extra: pip install -e '.[cluster]'") from None
    try:
        client = Client(address, timeout="30s", set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise UserError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    try:
        client.register_plugin(_one_torch_thread_plugin())
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def dask_cluster(scheduler: str | None = None, local_workers: int | None = None) -> Iterator[str | None]:
    """For the block, send every worker_pool's jobs to a Dask cluster: the scheduler at `scheduler`
    (tcp://HOST:PORT), or a LocalCluster of `local_workers` 1-thread worker processes started here
    (each under a nanny, which restarts a worker that dies; the scheduler retries its job, which resumes
    from its checkpoint). Yields the address (None when neither is given: nothing changes)."""
    if scheduler and local_workers:
        raise UserError("give either a scheduler address or a number of local Dask workers, not both")
    if local_workers is not None and local_workers < 1:
        raise UserError(f"the local Dask cluster needs >= 1 worker, got {local_workers}")
    if not scheduler and not local_workers:
        yield None
        return
    cluster = None
    if local_workers:
        try:
            from distributed import LocalCluster
        except ImportError:
            raise UserError("--dask-local needs the cluster extra: pip install -e '.[cluster]'") from None
        cluster = LocalCluster(
            n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        )
        scheduler = cluster.scheduler_address
    elif not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise UserError(f"a scheduler address looks like tcp://HOST:PORT, got {scheduler!r}")
    try:
        with scoped_env(SCHEDULER_ENV, scheduler):
            yield scheduler
    finally:
        if cluster is not None:
            cluster.close()


def add_dask_arguments(parser) -> None:
    """The command-line options that send a command's runs to a Dask cluster (sweep, reproduce)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="run on the Dask cluster of this scheduler"
    )
    g.add_argument(
        "--dask-local",
        type=int,
        default=None,
        metavar="N",
        help="run on a local Dask cluster of N 1-thread worker processes (started and stopped here)",
    )


def gpu_resources(executor: Executor, device: str) -> dict[str, float] | None:
    """Dask resources for one run on `device`: one GPU per CUDA run when the cluster's workers declare
    GPU resources (`dask worker --resources GPU=1`), so that a GPU trains one run at a time."""
    if not str(device).startswith("cuda") or not is_dask(executor):
        return None
    workers = executor.scheduler_info().get("workers", {}).values()
    if not any("GPU" in (w.get("resources") or {}) for w in workers):
        warnings.warn(
            "no Dask worker declares a GPU resource: CUDA runs are not limited to one per GPU "
            "(start workers with `dask worker --nthreads 1 --resources GPU=1`)",
            stacklevel=2,
        )
        return None
    return {"GPU": 1}


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
