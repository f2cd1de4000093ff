import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))
# keep Jupyter's runtime files inside the test session, not in $HOME
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
# One torch/OpenMP thread in tests, in CLI subprocesses and in notebook kernels (they inherit the
# environment): the test models are tiny, and 2-thread OpenMP spin-waits slow down 4-10x whenever
# anything else runs on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(1)
    yield
