"""Where things live.

    data/                  files shipped with the repository (corpora, GPT-2 BPE, Chinchilla's points): read only
    $AGENTSCALING_DATA     what the project generates (default data/): arena/ datasets, tokenizers/, cache/
    $AGENTSCALING_CACHE    caches (default <generated data>/cache): token and text caches, cost-model calibrations
    $AGENTSCALING_RUNS     run stores, one per preset (default runs/); $AGENTSCALING_STORE names one store for all

The tests point the generated directories at a temporary directory, so they never write into a checkout."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

# lib/agentscaling/paths.py -> project root is two levels above the package.
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent.parent
SHIPPED_DATA_DIR = PROJECT_ROOT / "data"
DATA_DIR = Path(os.environ.get("AGENTSCALING_DATA", SHIPPED_DATA_DIR))
CACHE_DIR = Path(os.environ.get("AGENTSCALING_CACHE", DATA_DIR / "cache"))
RUNS_DIR = Path(os.environ.get("AGENTSCALING_RUNS", PROJECT_ROOT / "runs"))
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"


def default_store(preset: str = "cpu") -> Path:
    """The default run store for a preset: runs/<preset> (or $AGENTSCALING_STORE)."""
    root = os.environ.get("AGENTSCALING_STORE")
    return Path(root) if root else RUNS_DIR / preset


def data_file(name: str) -> Path:
    """A file shipped in data/; a clear error if it is missing."""
    p = SHIPPED_DATA_DIR / name
    if not p.exists():
        raise UserError(f"data file {p} is missing (it ships with the repository; re-clone or restore it)")
    return p
