"""Resumable sweeps: train every size of a study once, skipping finished runs and resuming partial
ones from their checkpoint. The studies' data is prepared first (in this process); the runs then go
to any executor with `submit(fn, *args) -> future` (in-process by default, a local process pool, or a
Dask `distributed.Client` for many machines)."""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from ..executors import Executor, InProcessExecutor, gpu_resources, is_dask, resolve_device
from ..io import atomic_torch_save, file_lock
from ..model.gpt import GPT, GPTConfig
from ..prepare import prepare_studies
from ..store import Run, RunStore
from ..studies import PreparedData, SizeSpec, Study
from ..tasks import build_task
from ..train import TrainConfig, train


def open_size_run(study: Study, size: SizeSpec, store: RunStore, prepared: PreparedData, create: bool = True) -> Run:
    """The run of one size in `store`: its id hashes the study's config and the prepared data's hashes."""
    return store.open_run(study.name, study.run_config(size, prepared.hashes), label=size.label, create=create)


def existing_runs(study: Study, store: str | os.PathLike, prepared: PreparedData) -> list[tuple[SizeSpec, Run]]:
    """The runs of the study's sizes (and seeds) on this prepared data that exist in `store` (nothing is
    created): exactly the runs a fit of the study should see, never those of an older config or older data."""
    runs = RunStore(store)
    found = [(z, open_size_run(rep, z, runs, prepared, create=False)) for rep in study.replicas() for z in study.sizes]
    return [(z, run) for z, run in found if run.config_path.exists()]


def train_size(
    study: Study, size: SizeSpec, prepared: PreparedData, store_root: str, progress: bool = False, device: str = "cpu"
) -> dict[str, Any]:
    """Train (or resume, or skip) one size of a study on its prepared data. Returns the run's final status.

    The run's lock is held while it trains, so a run never trains twice at once: a job that a cluster
    retries while the first copy still runs (a worker thought dead) waits, then finds the run done."""
    store = RunStore(store_root)
    run = open_size_run(study, size, store, prepared)
    if run.status in ("done", "diverged"):
        return {"run_id": run.id, "status": run.status, "skipped": True}
    with file_lock(run.path / "train.lock"):
        if run.status in ("done", "diverged"):
            return {"run_id": run.id, "status": run.status, "skipped": True}
        run.remove_orphaned_temp_files()
        run.log_attempt()
        return _train_locked(study, size, prepared, run, progress, device)


def _train_locked(
    study: Study, size: SizeSpec, prepared: PreparedData, run: Run, progress: bool, device: str
) -> dict[str, Any]:
    try:
        task = build_task(study, prepared, device=device)
        if task.vocab_size != study.vocab_size:
            raise ValueError(f"study {study.name} declares vocab {study.vocab_size} but its data has {task.vocab_size}")
        counts = study.counts(size)
        steps = study.steps(size)
        cfg = TrainConfig(
            lr=size.lr,
            steps=steps,
            warmup_steps=study.warmup_steps(size),
            schedule=study.schedule,
            weight_decay=study.weight_decay,
            grad_clip=study.grad_clip,
            seed=study.seed,
            n_log=study.n_log,
            precision=study.precision,
            device=device,
            progress=progress,
            checkpoint_every_s=float(os.environ.get("AGENTSCALING_CHECKPOINT_S", 60)),
            compile=os.environ.get("AGENTSCALING_COMPILE", "") == "1",
        )
        if not run.config_path.exists():
            run.write_config(
                study.run_config(size, prepared.hashes),
                extra={
                    "size_label": size.label,
                    "preset": study.preset,
                    "description": study.description,
                    "counts": {
                        **counts,
                        "tokens_per_update": study.tokens_per_update,
                        "D_planned": steps * task.inputs_per_batch,
                        "epochs_planned": steps * task.inputs_per_batch / task.epoch_inputs,
                    },
                    "data": prepared.describe(),
                    "task": task.info,
                    "train_config": asdict(cfg),
                },
            )
        torch.manual_seed(study.seed)
        model = (task.build_model or GPT)(
            GPTConfig(
                vocab_size=task.vocab_size,
                context=task.context,
                n_layer=size.shape.n_layer,
                n_head=size.shape.n_head,
                n_embd=size.shape.n_embd,
            )
        )
        result = train(
            model,
            task.loss_fn,
            task.batch_fn,
            cfg,
            run=run,
            val_fn=task.val_fn,
            inputs_per_batch=task.inputs_per_batch,
            supervised_per_batch=task.supervised_per_batch,
            n_params=int(counts["N"]),
            flops_per_input_attn=counts["flops_per_input_attn"],
            epoch_inputs=task.epoch_inputs,
        )
        if result.status == "done":
            atomic_torch_save(run.path / "model.pt", model.state_dict())
            last = result.curve.iloc[-1]
            run.update_config(
                result={
                    "steps": result.steps_done,
                    "D": int(last["D"]),
                    "C": float(last["C"]),
                    "epochs": float(last["epochs"]),
                    "final_loss": float(last["loss"]),
                    "final_train_loss": float(last["train_loss"]),
                    "wall_s": result.wall_s,
                    "beyond_4_epochs": bool(last["epochs"] > 4.0),
                    # over the steps this process trained (for a resumed run, those after its checkpoint)
                    "throughput": result.extra.get("throughput", {}),
                }
            )
            run.set_status(
                "done", f"{result.steps_done} steps, final loss {result.final_loss:.4f}", wall_s=result.wall_s
            )
            result.message = run.status_info["message"]
            run.drop_checkpoint()
        else:
            run.set_status(result.status, result.message, wall_s=result.wall_s)
        return {"run_id": run.id, "status": result.status, "message": result.message, "final_loss": result.final_loss}
    except Exception as e:
        run.set_status("failed", f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        raise


PROGRESS_EVERY_S = 2.0


def _pool_size(executor: Executor) -> int:
    """How many runs the executor trains at once (a process pool's workers, a Dask cluster's threads)."""
    if hasattr(executor, "_max_workers"):
        return int(executor._max_workers)
    if hasattr(executor, "nthreads"):
        try:
            return max(1, sum(executor.nthreads().values()))
        except Exception:  # noqa: BLE001 - only for a progress estimate
            return 1
    return 1


class _PoolWatch:
    """The pool-level progress note: the runs in flight (read from their status.json, which trainers in
    other processes update every few seconds) and the time left by the cost model."""

    def __init__(self, jobs, prepared, store_root: str, cost, workers: int):
        self.jobs, self.prepared, self.workers = jobs, prepared, workers
        self.cost = cost if getattr(cost, "in_seconds", False) else None  # a FLOPs proxy orders runs, no more
        self.store = RunStore(store_root)

    def note(self, unfinished: list[int]) -> str:
        parts, left_s = [], 0.0
        for i in unfinished:
            st, z = self.jobs[i]
            info = open_size_run(st, z, self.store, self.prepared[st.name], create=False).status_info
            frac = 0.0
            if info.get("status") == "running" and info.get("steps"):
                frac = min(1.0, info["step"] / info["steps"])
                loss = info.get("train_loss")
                parts.append(
                    f"{st.name} {z.label}/s{st.seed}: step {info['step']}/{info['steps']}"
                    + (f", loss {loss:.3f}" if isinstance(loss, float) else "")
                )
            if self.cost is not None:
                left_s += self.cost(st, z) * (1.0 - frac)
        note = "; ".join(parts[:2]) + (f" (+{len(parts) - 2} more)" if len(parts) > 2 else "")
        if self.cost is not None:
            note += f" | ≈ {left_s / self.workers / 60:.1f} min left (cost model)"
        return note


def sweep(
    study: Study,
    store: str | os.PathLike,
    executor: Executor | None = None,
    progress: bool = False,
    device: str = "cpu",
    prepared: dict[str, PreparedData] | None = None,
) -> list[dict[str, Any]]:
    """Train every size of `study` into `store`; returns one status dict per size."""
    return sweep_studies([study], store, executor=executor, progress=progress, device=device, prepared=prepared)


def sweep_studies(
    studies: list[Study],
    store: str | os.PathLike,
    executor: Executor | None = None,
    progress: bool = False,
    device: str = "cpu",
    cost: Callable[[Study, SizeSpec], float] | None = None,
    prepared: dict[str, PreparedData] | None = None,
    data_workers: int = 1,
) -> list[dict[str, Any]]:
    """Train every size (and seed) of every study into `store` as one batch of jobs; one status dict per
    run, in study, seed and size order, each with "study", "size" and "seed".

    The studies' data is prepared first unless `prepared` (study name -> PreparedData) is given;
    `data_workers` processes generate arena data and train tokenizers. All runs then go to the
    executor at once, so a pool never idles while one study waits for its last, largest run. With
    `cost` (estimated seconds of a run) they are submitted longest first, the classic LPT rule: the
    makespan on k workers is then within 4/3 of the best possible, and the long runs do not end up
    alone at the end."""
    executor = executor or InProcessExecutor()
    device = resolve_device(device)
    store_root = str(Path(store))
    if prepared is None:
        prepared = prepare_studies(studies, workers=data_workers, progress=progress)
    jobs = [(rep, z) for st in studies for rep in st.replicas() for z in st.sizes]
    order = list(range(len(jobs)))
    if cost is not None and not isinstance(executor, InProcessExecutor):
        order.sort(key=lambda i: -cost(*jobs[i]))
    outer = None
    if progress:
        names = ", ".join(st.name for st in studies)
        outer = tqdm(total=len(jobs), desc=names if len(names) < 60 else f"{len(studies)} studies", unit="run")
    # Dask caches "pure" calls by their arguments: a repeated sweep would get the first call's result back
    # without looking at the store, so its tasks are submitted as impure
    extra: dict[str, Any] = {"pure": False} if is_dask(executor) else {}
    if resources := gpu_resources(executor, device):
        extra["resources"] = resources
    # a worker process's bars would interleave on this process's stderr: only in-process runs show theirs
    run_progress = progress and isinstance(executor, InProcessExecutor)
    pending = {
        executor.submit(train_size, st, z, prepared[st.name], store_root, run_progress, device, **extra): i
        for i in order
        for st, z in [jobs[i]]
    }
    results: list[dict[str, Any]] = [{} for _ in jobs]
    watch = _PoolWatch(jobs, prepared, store_root, cost, _pool_size(executor)) if outer is not None else None
    todo = dict(pending)
    last_note = 0.0
    while todo:
        finished = [f for f in todo if f.done()]
        if not finished:
            if watch is not None and time.monotonic() - last_note >= PROGRESS_EVERY_S:
                outer.set_postfix_str(watch.note([todo[f] for f in todo]), refresh=True)
                last_note = time.monotonic()
            time.sleep(0.2)
            continue
        for fut in finished:
            i = todo.pop(fut)
            try:
                res = fut.result()
            except Exception as e:  # recorded as failed in the store; keep going with the other sizes
                res = {"status": "failed", "message": f"{type(e).__name__}: {e}"}
            results[i] = {**res, "study": jobs[i][0].name, "size": jobs[i][1].label, "seed": jobs[i][0].seed}
            if outer is not None:
                outer.update(1)
    if outer is not None:
        outer.close()
    return results
