"""The run store: one directory per run, named by a hash of its full config.

    <store>/<study>/<label>-<hash>/
        config.json      the full config, versions, git commit, counting conventions, host
        status.json      {"status": new|running|done|diverged|failed, "message": ..., "updated": ...}
        curve.parquet    one row per logged point (step, inputs, FLOPs, losses, ...)
        checkpoint.pt    model + optimiser + step, for resuming (loaded with weights_only=True)

Every write is atomic, so a SIGKILL at any moment leaves either the old file or the new one."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy
import pandas as pd

from . import __version__
from .counting import CONVENTIONS
from .errors import UserError
from .io import atomic_torch_save, atomic_write_json, atomic_write_parquet, config_hash, read_json
from .paths import PROJECT_ROOT

STATUSES = ("new", "running", "done", "diverged", "failed")


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
        if out.returncode:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Versions and host, recorded with every run."""
    import torch

    return {
        "agentscaling": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "git_commit": git_commit(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Run:
    path: Path
    study: str

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def curve_path(self) -> Path:
        return self.path / "curve.parquet"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    # -- status ------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        p = self.path / "status.json"
        return read_json(p)["status"] if p.exists() else "new"

    @property
    def status_info(self) -> dict[str, Any]:
        p = self.path / "status.json"
        return read_json(p) if p.exists() else {"status": "new", "message": ""}

    def set_status(self, status: str, message: str = "", **extra: Any) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
        atomic_write_json(self.path / "status.json", {"status": status, "message": message, "updated": _now(), **extra})

    # -- config ------------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        atomic_write_json(
            self.config_path,
            {
                "run_id": self.id,
                "study": self.study,
                "config": config,
                "config_hash": config_hash(config),
                "counting_conventions": CONVENTIONS,
                "environment": environment(),
                "created": _now(),
                **(extra or {}),
            },
        )

    def update_config(self, **fields: Any) -> None:
        """Add fields to config.json (e.g. measured quantities known only after training)."""
        data = self.read_config()
        data.update(fields)
        atomic_write_json(self.config_path, data)

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            raise UserError(f"run {self.path} has no config.json")
        return read_json(self.config_path)

    # -- curve and checkpoint ----------------------------------------------------------------
    def write_curve(self, df: pd.DataFrame) -> None:
        atomic_write_parquet(self.curve_path, df)

    def read_curve(self) -> pd.DataFrame:
        return pd.read_parquet(self.curve_path) if self.curve_path.exists() else pd.DataFrame()

    def save_checkpoint(self, obj: dict[str, Any]) -> None:
        atomic_torch_save(self.checkpoint_path, obj)

    def load_checkpoint(self) -> dict[str, Any] | None:
        import torch

        if not self.checkpoint_path.exists():
            return None
        return torch.load(self.checkpoint_path, weights_only=True, map_location="cpu")

    def remove_orphaned_temp_files(self) -> list[Path]:
        """Delete the `.NAME.*.tmp` files that a writer killed mid-write (SIGKILL, power loss) leaves behind.

        Atomic writes guarantee the real files are whole; their temporary siblings are garbage. Call this only
        from the process that is about to train the run (one trainer owns a run at a time)."""
        orphans = sorted(self.path.glob(".*.tmp"))
        for p in orphans:
            p.unlink(missing_ok=True)
        return orphans

    def log_attempt(self) -> list[dict[str, Any]]:
        """Record in attempts.json that a trainer starts (or resumes) this run: when, where, and from
        which checkpoint. Call it only under the run's lock; it shows how often a run was started."""
        path = self.path / "attempts.json"
        attempts = read_json(path) if path.exists() else []
        attempts.append(
            {"started": _now(), "host": platform.node(), "pid": os.getpid(), "resumed": self.checkpoint_path.exists()}
        )
        atomic_write_json(path, attempts)
        return attempts

    def drop_checkpoint(self) -> None:
        """Finished runs keep only their curve and config (checkpoints can be large)."""
        self.checkpoint_path.unlink(missing_ok=True)


class RunStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def open_run(self, study: str, config: dict[str, Any], label: str = "run", create: bool = True) -> Run:
        """The run directory for this exact config (created if new, unless `create` is False)."""
        if not study or "/" in study:
            raise UserError(f"invalid study name {study!r}")
        path = self.root / study / f"{label}-{config_hash(config)}"
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return Run(path, study)

    def runs(self, study: str | None = None) -> Iterator[Run]:
        if not self.root.exists():
            return
        studies = [self.root / study] if study else sorted(p for p in self.root.iterdir() if p.is_dir())
        for sdir in studies:
            if not sdir.is_dir():
                continue
            for rdir in sorted(sdir.iterdir()):
                if rdir.is_dir() and (rdir / "config.json").exists():
                    yield Run(rdir, sdir.name)

    def studies(self) -> list[str]:
        return sorted({r.study for r in self.runs()})


def load_runs(
    store: str | os.PathLike | RunStore, study: str | None = None, statuses: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """One DataFrame, one row per logged point of every run (of one study, or all), with the run's
    identity and counts (run_id, study, size, N, ..., status) joined onto its curve."""
    store = store if isinstance(store, RunStore) else RunStore(store)
    return runs_frame(store.runs(study), statuses)


def runs_frame(runs: Iterable[Run], statuses: tuple[str, ...] | None = None) -> pd.DataFrame:
    """`load_runs` for the given runs."""
    frames = []
    for run in runs:
        status = run.status
        if statuses and status not in statuses:
            continue
        curve = run.read_curve()
        if curve.empty:
            continue
        cfg = run.read_config()
        counts = cfg.get("counts", {})
        meta = {
            "run_id": run.id,
            "study": run.study,
            "status": status,
            "size": cfg.get("size_label", run.id),
            "seed": cfg.get("config", {}).get("seed", 0),
            **{k: v for k, v in counts.items() if isinstance(v, (int, float))},
        }
        frames.append(curve.assign(**meta))
    if not frames:
        return pd.DataFrame(columns=["run_id", "study", "status", "size", "N", "D", "C", "loss"])
    return pd.concat(frames, ignore_index=True)


def run_summaries(store: str | os.PathLike | RunStore, study: str | None = None) -> list[dict[str, Any]]:
    """One dict per run: identity, status, counts and final values (for `agentscaling runs`)."""
    store = store if isinstance(store, RunStore) else RunStore(store)
    return sorted((summarize(run) for run in store.runs(study)), key=lambda r: (r["study"], r["N"] or 0))


def summarize(run: Run) -> dict[str, Any]:
    """A run's identity, status, counts and final values."""
    cfg = run.read_config()
    info = run.status_info
    curve = run.read_curve()
    last = curve.iloc[-1].to_dict() if not curve.empty else {}
    counts = cfg.get("counts", {})
    return {
        "run_id": run.id,
        "study": run.study,
        "status": info["status"],
        "message": info.get("message", ""),
        "size": cfg.get("size_label"),
        "N": counts.get("N"),
        "D": last.get("D"),
        "C": last.get("C"),
        "C_attn": last.get("C_attn"),
        "step": last.get("step"),
        "final_loss": last.get("loss"),
        "final_train_loss": last.get("train_loss"),
        "final_val_loss": last.get("val_loss"),
        "epochs": last.get("epochs"),
        "wall_s": last.get("wall_s"),
        "path": str(run.path),
    }
