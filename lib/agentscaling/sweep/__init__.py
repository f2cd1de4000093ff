"""Sweeps: train every size of one or more studies, resumably, on any executor.

core        sweep_studies / train_size: prepare the data, then one job per size, longest first
cost        the cost model: predicted wall time per run and per pool (the LPT schedule), `--dry-run`
calibrate   measuring the cost model on this machine (cached), comparing it with finished runs
cli         `agentscaling studies | sweep | runs | cost`
"""

from .core import existing_runs, open_size_run, sweep, sweep_studies, train_size

__all__ = ["existing_runs", "open_size_run", "sweep", "sweep_studies", "train_size"]
