"""Training throughput and model FLOPs utilisation (MFU) against the device's peak.

MFU = achieved model FLOP/s / the device's dense peak at the run's precision. The achieved FLOP/s count
the PaLM convention (6·N + attention per input) where a run knows it, else 6·N; they are end to end
(evaluation and checkpoints included), so they are a little below a pure training-step MFU."""

from __future__ import annotations

import os
from typing import Any

import torch

PEAK_ENV = "AGENTSCALING_PEAK_FLOPS"

# Dense peaks (no sparsity) from the vendors' datasheets, FLOP/s; matched against torch's device name, the
# first matching fragment wins (so "H100 PCIe" before "H100"). fp32 is the non-tensor-core rate (torch's
# default matmul precision does not use TF32).
PEAK_FLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H200", {"bf16": 989e12, "fp32": 67e12}),
    ("H100 PCIe", {"bf16": 756e12, "fp32": 51e12}),
    ("H100", {"bf16": 989e12, "fp32": 67e12}),
    ("A100", {"bf16": 312e12, "fp32": 19.5e12}),
    ("L40S", {"bf16": 362e12, "fp32": 91.6e12}),
    ("L4", {"bf16": 121e12, "fp32": 30.3e12}),
)


def device_name(device: str | torch.device) -> str:
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev)
    return dev.type


def peak_flops(device: str | torch.device, precision: str = "bf16") -> float | None:
    """The device's dense peak FLOP/s at `precision`: AGENTSCALING_PEAK_FLOPS if set (any device, CPUs
    included), else the table above for known GPUs, else None (no MFU is reported)."""
    if value := os.environ.get(PEAK_ENV):
        try:
            peak = float(value)
        except ValueError:
            raise ValueError(f"{PEAK_ENV} must be a number of FLOP/s, got {value!r}") from None
        if not peak > 0:
            raise ValueError(f"{PEAK_ENV} must be positive, got {value!r}")
        return peak
    name = device_name(device)
    for fragment, peaks in PEAK_FLOPS:
        if fragment in name:
            return peaks.get(precision)
    return None


def throughput(
    inputs: float,
    seconds: float,
    n_params: float,
    flops_per_input_attn: float | None,
    device: str | torch.device,
    precision: str,
) -> dict[str, Any]:
    """Inputs/s, model FLOP/s (6·N and PaLM) and MFU of `inputs` trained in `seconds`."""
    if seconds <= 0 or inputs <= 0:
        return {}
    per_s = inputs / seconds
    flops = 6.0 * n_params * per_s
    flops_attn = flops_per_input_attn * per_s if flops_per_input_attn else None
    peak = peak_flops(device, precision)
    used = flops_attn or flops
    return {
        "inputs_per_s": per_s,
        "flops_per_s": flops,
        "flops_per_s_attn": flops_attn,
        "device_name": device_name(device),
        "precision": precision,
        "peak_flops": peak,
        "mfu": used / peak if peak else None,
        "mfu_count": "PaLM (6N + attention)" if flops_attn else "6N",
    }
