import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))
# Everything the tests generate (arena data, tokenizers, caches, runs, Jupyter's runtime files) goes to one
# temporary directory per session, never into the checkout. CLI subprocesses and notebook kernels inherit
# the environment. AGENTSCALING_TEST_DIR names a directory to keep between sessions (a faster inner loop).
_keep = os.environ.get("AGENTSCALING_TEST_DIR")
WORK = Path(_keep) if _keep else Path(tempfile.mkdtemp(prefix="agentscaling-tests-"))
if not _keep:
    atexit.register(shutil.rmtree, WORK, ignore_errors=True)
os.environ["AGENTSCALING_DATA"] = str(WORK / "data")
os.environ["AGENTSCALING_CACHE"] = str(WORK / "data" / "cache")
os.environ["AGENTSCALING_RUNS"] = str(WORK / "runs")
os.environ.pop("AGENTSCALING_STORE", None)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ["JUPYTER_RUNTIME_DIR"] = str(WORK / "jupyter-runtime")
# One torch/OpenMP thread in tests, in CLI subprocesses and in notebook kernels: the test models are tiny,
# and 2-thread OpenMP spin-waits slow down 4-10x whenever anything else runs on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def work_dir() -> Path:
    """The session's directory for generated data (AGENTSCALING_DATA is under it)."""
    return WORK


@pytest.fixture(autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(1)
    yield
