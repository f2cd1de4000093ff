"""Where things live. Everything the project reads at run time sits under the project's own data/."""
from __future__ import annotations

import os
from pathlib import Path

# lib/agentscaling/paths.py -> project root is two levels above the package.
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent.parent
DATA_DIR = Path(os.environ.get("AGENTSCALING_DATA", PROJECT_ROOT / "data"))
CACHE_DIR = Path(os.environ.get("AGENTSCALING_CACHE", DATA_DIR / "cache"))
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"


def default_store(preset: str = "cpu") -> Path:
    """The default run store for a preset: runs/<preset> under the project (or $AGENTSCALING_STORE)."""
    root = os.environ.get("AGENTSCALING_STORE")
    return Path(root) if root else PROJECT_ROOT / "runs" / preset


def data_file(name: str) -> Path:
    """A file shipped in data/; a clear error if it is missing."""
    from .errors import UserError

    p = DATA_DIR / name
    if not p.exists():
        raise UserError(f"data file {p} is missing (it ships with the repository; re-clone or restore it)")
    return p
