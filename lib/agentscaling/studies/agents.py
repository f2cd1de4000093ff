"""World-modelling and behaviour-cloning studies (paper §3–§4, §5.2, App. C, App. E).

Names (every one exists at every preset; docs/studies.md tabulates them per preset):

    wm-token-64, wm-token-256      WM-Token at 64 / 256 tokens per frame (our analogues of the paper's
                                   WM-Token-256 / -540: more tokens per frame = less compression)
    bc-token-64, bc-token-256      BC-Token: the same sequences and GPT, loss on the 16 action tokens
    bc-token-small                 App. E: the paper's four tiny BC-Token shapes, one LR, trained longer
    bc-cnn                         BC-CNN: Impala-style CNN per frame -> GPT -> 16 independent heads
    wm-tpf-<k>-s<seed>             the tokens-per-frame sweep (App. C, RT-1): tiny WM-Token models,
                                   2-step context, k in 16/36/64/100/256, seeds 0/1/2
    wm-extrapolation               §4.3: one model one ladder step above wm-token-64's largest, trained
                                   to 10x the compute of that ladder's largest run
    lr-sweep                       the LR grid on wm-token-64's smallest model (step 1 of the paper's
                                   rule; agents_analysis.lr_search continues it size by size)

Budgets: within a study every size sees the same number of inputs D (as the language studies do), so
small models run far past their compute-optimal point and the curves overlap for the frontier fit.
Context (cpu/smoke): 2 steps, i.e. 2·(k+16) tokens, as in the paper's RT-1 runs; gpu/paper: 10 steps.
Learning rates: `lr_rule` (constant per size, smaller for larger models) at smoke/cpu, checked by
the lr-sweep study (docs/studies.md records the sweep); the paper's own rates at gpu/paper.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..model.ladder import PAPER_TABLE2, ModelShape, shape_for_params
from .base import SizeSpec, Study, register_counter, register_study

ACTION_VOCAB = 68           # per-dimension action ids: 12 buttons x 2 + 4 axes x 11
NVEC_LOGITS = 68            # BC-CNN heads: the same 68 classes
TPF_LEVELS_ALL = (16, 36, 64, 100, 256)
TPF_SEEDS = (0, 1, 2)

PAPER = {
    "wm-token-64": {"a": 0.49, "b": 0.51, "method": "frontier", "parametric_a": 0.52, "parametric_b": 0.48,
                    "source": "Pearce et al. 2025, Table 1 (WM-Token-256)", "paper_study": "WM-Token-256",
                    "loss_law": {"E": 0.1, "c": 0.07}},
    "wm-token-256": {"a": 0.62, "b": 0.37, "method": "frontier", "parametric_a": 0.78, "parametric_b": 0.22,
                     "source": "Pearce et al. 2025, Table 1 (WM-Token-540)", "paper_study": "WM-Token-540",
                     "loss_law": {"E": 0.1, "c": 0.05}},
    "bc-token": {"a": 0.32, "b": 0.68, "method": "parametric", "source": "Pearce et al. 2025, Table 1 (BC-Token-540)",
                 "paper_study": "BC-Token-540", "frontier": "not possible (curves do not overlap)",
                 "loss_law": {"E": 0.1, "c": 0.03}},
    "bc-token-small": {"a": 0.35, "b": 0.65, "method": "parametric", "source": "Pearce et al. 2025, App. E, Fig. 18",
                       "paper_study": "BC-Token small (App. E)", "frontier": "not possible"},
    "bc-cnn": {"a": 0.66, "b": 0.34, "method": "frontier", "parametric_a": 0.47, "parametric_b": 0.53,
               "source": "Pearce et al. 2025, Table 1 (BC-CNN)", "paper_study": "BC-CNN",
               "loss_law": {"E": 3.56, "c": 0.31}},
}
# App. C, Fig. 15: one example frontier a per tokens-per-image level (RT-1), and Fig. 16's fit line
PAPER_TPF = {16: 0.56, 36: 0.60, 64: 0.61, 100: 0.60, 256: 0.65}
PAPER_TPF_FIT = {"R": 0.61, "a_at_16": 0.578, "a_at_256": 0.632, "source": "Pearce et al. 2025, App. C, Figs. 15-16"}


def lr_rule(n_params: float, lr0: float = 8e-3, n0: float = 1.1e5, exponent: float = 0.6,
            lr_max: float = 1.6e-2) -> float:
    """Constant LR per size for the small presets: lr0 at n0 parameters, ∝ N^-exponent, capped at lr_max.

    The defaults come from the `lr-sweep` study at `cpu` (docs/studies.md): the paper's protocol found
    1.6e-2 best for the 21.8k model (grid 1e-3 … 3.2e-2), 1.6e-2 for 44.0k and 8e-3 for 109.3k (each swept
    down from the previous best). The fitted line also matches the paper's own RT-1 rates (0.01 at 0.08M …
    0.002 at 0.99M, App. C) within ~20 %."""
    return float(min(lr_max, lr0 * (n_params / n0) ** -exponent))


def bccnn_lr_rule(n_params: float) -> float:
    """BC-CNN (no sweep of its own at cpu): 2e-3 at 1e5 parameters, ∝ N^-0.35, capped at 1e-2."""
    return lr_rule(n_params, lr0=2e-3, n0=1e5, exponent=0.35, lr_max=1e-2)


def token_vocab(preset: str) -> int:
    from ..tokenize.train_vq import get_preset

    return get_preset(preset).codebook_size + ACTION_VOCAB


def _label(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def _n_gpt(shape: ModelShape, vocab: int, context: int) -> int:
    from ..counting import count_params_shape

    return count_params_shape(shape, vocab, context)["N"]


# ------------------------------------------------------------------------------------------------
# token studies (WM-Token, BC-Token)
# ------------------------------------------------------------------------------------------------
# preset -> (size targets | paper Table-2 names, tokens D per size, sequences per update, context steps, val seqs)
# cpu: 4.3k-109k parameters at 10M tokens each (2,300 down to 90 tokens per parameter). A first design with
# 21.8k-521k at 3M tokens had no model overtaken while still training (every hand-over on the frontier fell at
# a curve's end), so its frontier only traced the budget; at 10M tokens the small models saturate and the
# curves cross (docs/studies.md).
CPU_SIZES = (4.5e3, 9e3, 2.2e4, 4.5e4, 1.1e5)
WM64 = {
    "smoke": ((5e3, 1.2e4, 3e4), 8.0e4, 8, 2, 32),
    "cpu": (CPU_SIZES, 1.0e7, 16, 2, 192),
    "gpu": (("15M", "27M", "52M", "110M", "206M"), 5.0e8, 652, 10, 256),
}
WM256 = {
    "smoke": ((8e3, 2e4, 5e4), 1.2e5, 4, 2, 16),
    "cpu": (CPU_SIZES, 6.0e6, 6, 2, 64),
    "gpu": (("4M", "11M", "27M", "52M", "110M", "206M"), 1.7e9, 192, 10, 96),
}
BC64 = {
    "smoke": ((8e3, 2e4, 5e4), 1.2e5, 8, 2, 32),
    "cpu": (CPU_SIZES, 1.0e7, 16, 2, 192),
    "gpu": (("2M", "4M", "11M", "27M"), 5.0e8, 652, 10, 256),
}
BC256 = {
    "smoke": ((8e3, 2e4, 5e4), 1.2e5, 4, 2, 16),
    "cpu": (CPU_SIZES, 6.0e6, 6, 2, 64),
    "gpu": (("2M", "4M", "11M", "27M"), 1.7e9, 192, 10, 96),
}
# App. E's shapes verbatim (layers, heads, width); the paper's N (147k … 1M) counted a 5,560-row embedding
BC_SMALL_SHAPES = (ModelShape(1, 1, 25), ModelShape(2, 2, 46), ModelShape(2, 2, 86), ModelShape(2, 2, 120))
BC_SMALL = {
    "smoke": (BC_SMALL_SHAPES[:3], 1.2e5, 8, 2, 32),
    "cpu": (BC_SMALL_SHAPES, 4.0e6, 16, 2, 192),
    "gpu": (BC_SMALL_SHAPES, 5.0e8, 90, 10, 256),   # 90 x 5,560 = 500k tokens/update as in App. E
}
TPF = {  # tiny models, 2-step context, as the paper's RT-1 sweep (0.08M-0.99M at 34k tokens/update)
    "smoke": ((5e3, 1.2e4, 3e4), 6.0e4, 2048, 32),
    "cpu": ((4.5e3, 9e3, 2.2e4, 4.5e4), 2.5e6, 2048, 96),
    "gpu": ((8e4, 2e5, 2.8e5, 5.4e5, 9.9e5), 2.0e8, 34_000, 512),
}
TPF_LEVELS = {"smoke": (16, 64, 256), "cpu": (16, 64, 256), "gpu": TPF_LEVELS_ALL, "paper": TPF_LEVELS_ALL}
TPF_PRESET_SEEDS = {"smoke": (0,), "cpu": TPF_SEEDS, "gpu": TPF_SEEDS, "paper": TPF_SEEDS}  # smoke: plumbing only
TPF_PAPER_LR = (0.01, 0.005, 0.004, 0.0027, 0.002)   # App. C, by size

# the paper's learning rates (paper.md §6.1, §6.2): Table-2 name -> LR
PAPER_LR_WM256 = {"15M": 7e-4, "27M": 7e-4, "52M": 7e-4, "110M": 7e-4, "206M": 5.7e-4, "894M": 2.8e-4}
PAPER_LR_WM540 = {"4M": 5e-3, "11M": 1e-3, "27M": 1e-3, "52M": 1e-3, "110M": 5e-4, "206M": 5e-4}
PAPER_LR_BC540 = {"2M": 5e-4, "4M": 5e-4, "11M": 1e-4, "27M": 1e-4}


def _table(tbl: dict, preset: str):
    return tbl["gpu" if preset == "paper" else preset]


def _token_study(name: str, preset: str, task: str, k: int, table: dict, paper: dict, description: str,
                 paper_lrs: dict | None = None, seed: int = 0, fixed_lr: float | None = None) -> Study:
    targets, tokens, seqs, steps_ctx, val = _table(table, preset)
    vocab = token_vocab(preset)
    ctx = steps_ctx * (k + 16)
    sizes = []
    for t in targets:
        if isinstance(t, ModelShape):
            shape = t
        elif isinstance(t, str):
            shape = PAPER_TABLE2[t]
        else:
            shape = shape_for_params(t, vocab, ctx)
        n = _n_gpt(shape, vocab, ctx)
        if fixed_lr is not None:
            lr = fixed_lr
        elif paper_lrs is not None and isinstance(t, str):
            lr = paper_lrs[t]
        else:
            lr = lr_rule(n)
        sizes.append(SizeSpec(label=_label(n), shape=shape, lr=lr, flops=6.0 * n * tokens))
    return Study(name=name, preset=preset, task=task, data="arena", tokenizer=f"vq{k}", vocab_size=vocab,
                 context=ctx, batch_size=seqs, sizes=tuple(sizes), val_sequences=val, seed=seed,
                 precision="bf16" if preset in ("gpu", "paper") else "fp32", n_log=50,
                 description=description, paper=paper,
                 task_options={"tokens_per_frame": k, "context_steps": steps_ctx, "per_dimension": True,
                               "wm_first_frame": True})


@register_study("wm-token-64", "WM-Token, 64 tokens/frame (analogue of the paper's WM-Token-256; §4, Table 1)")
def wm_token_64(preset: str) -> Study:
    return _token_study("wm-token-64", preset, "wm", 64, WM64, PAPER["wm-token-64"],
                        "World model: next-image-token loss on [64 image tokens, 16 action tokens] steps",
                        PAPER_LR_WM256)


@register_study("wm-token-256", "WM-Token, 256 tokens/frame (analogue of the paper's WM-Token-540; §4, Table 1)")
def wm_token_256(preset: str) -> Study:
    return _token_study("wm-token-256", preset, "wm", 256, WM256, PAPER["wm-token-256"],
                        "World model: next-image-token loss on [256 image tokens, 16 action tokens] steps",
                        PAPER_LR_WM540)


@register_study("bc-token-64", "BC-Token, 64 tokens/frame: loss on the 16 action tokens only (§4, Table 1)")
def bc_token_64(preset: str) -> Study:
    return _token_study("bc-token-64", preset, "bc", 64, BC64, PAPER["bc-token"],
                        "Behaviour cloning: the WM-Token-64 sequences and GPT, loss on the 16 action tokens only; "
                        "D counts all 80 tokens per step", PAPER_LR_BC540)


@register_study("bc-token-256", "BC-Token, 256 tokens/frame (the tokenizer of wm-token-256, as the paper's BC-Token-540)")
def bc_token_256(preset: str) -> Study:
    return _token_study("bc-token-256", preset, "bc", 256, BC256, PAPER["bc-token"],
                        "Behaviour cloning on the WM-Token-256 sequences; loss on the 16 action tokens of 272",
                        PAPER_LR_BC540)


@register_study("bc-token-small", "BC-Token at App. E's four tiny shapes, one LR for all, longer training (App. E)")
def bc_token_small(preset: str) -> Study:
    # App. E used one LR (5e-4) for every size; at smoke/cpu the one LR is the rule's value at the middle size
    fixed = 5e-4 if preset in ("gpu", "paper") else lr_rule(1e5)
    return _token_study("bc-token-small", preset, "bc", 64, BC_SMALL, PAPER["bc-token-small"],
                        "Behaviour cloning with App. E's shapes (L1/d25, L2/d46, L2/d86, L2/d120), one learning rate "
                        "for all sizes, more inputs per parameter than bc-token-64", fixed_lr=fixed)


# ------------------------------------------------------------------------------------------------
# tokens-per-frame sweep (App. C)
# ------------------------------------------------------------------------------------------------
def tpf_name(k: int, seed: int) -> str:
    return f"wm-tpf-{k}-s{seed}"


def _tpf(preset: str, k: int, seed: int) -> Study:
    targets, tokens, tokens_per_update, val = _table(TPF, preset)
    vocab = token_vocab(preset)
    ctx = 2 * (k + 16)
    seqs = max(1, round(tokens_per_update / ctx))
    sizes = []
    for i, t in enumerate(targets):
        shape = shape_for_params(t, vocab, ctx)
        n = _n_gpt(shape, vocab, ctx)
        lr = TPF_PAPER_LR[i] if preset in ("gpu", "paper") else lr_rule(n)
        sizes.append(SizeSpec(label=_label(n), shape=shape, lr=lr, flops=6.0 * n * tokens))
    return Study(name=tpf_name(k, seed), preset=preset, task="wm", data="arena", tokenizer=f"vq{k}", vocab_size=vocab,
                 context=ctx, batch_size=seqs, sizes=tuple(sizes), val_sequences=max(8, round(val * 160 / ctx)),
                 seed=seed, n_log=50, precision="bf16" if preset in ("gpu", "paper") else "fp32",
                 description=f"Tokens-per-frame sweep: tiny WM-Token models at {k} tokens/frame, 2-step context, seed {seed}",
                 paper={"a": PAPER_TPF.get(k), "method": "frontier", "source": PAPER_TPF_FIT["source"],
                        "paper_study": f"RT-1 WM-Token, {k} tokens per image"},
                 task_options={"tokens_per_frame": k, "context_steps": 2, "per_dimension": True, "wm_first_frame": True})


def _register_tpf(k: int, seed: int) -> None:
    register_study(tpf_name(k, seed), f"Tokens-per-frame sweep (App. C): WM-Token at {k} tokens/frame, seed {seed}")(
        lambda preset: _tpf(preset, k, seed))


for _k in TPF_LEVELS_ALL:
    for _s in TPF_SEEDS:
        _register_tpf(_k, _s)


# ------------------------------------------------------------------------------------------------
# extrapolation (§4.3) and LR sweep (§5.4 protocol)
# ------------------------------------------------------------------------------------------------
EXTRAPOLATION_FACTOR = 10.0
EXTRAPOLATION_SHAPE = {"gpu": "894M"}   # the paper's L23/H14/d1792


@register_study("wm-extrapolation", "One WM-Token-64 model a ladder step larger, to 10x the ladder's largest compute (§4.3)")
def wm_extrapolation(preset: str) -> Study:
    base = wm_token_64(preset)
    largest = max(base.sizes, key=lambda z: z.flops)
    n_largest = base.counts(largest)["N"]
    if preset in ("gpu", "paper"):
        shape, lr = PAPER_TABLE2[EXTRAPOLATION_SHAPE["gpu"]], PAPER_LR_WM256["894M"]
    else:
        ns = sorted(base.counts(z)["N"] for z in base.sizes)
        step = (ns[-1] / ns[0]) ** (1 / (len(ns) - 1))      # the ladder's geometric step
        target = n_largest * step                             # the next ladder size: the first shape at least that big
        shape = next(sh for f in (1.0, 1.15, 1.3, 1.5, 2.0) for sh in [shape_for_params(f * target, base.vocab_size,
                     base.context)] if _n_gpt(sh, base.vocab_size, base.context) >= target)
        lr = None
    n = _n_gpt(shape, base.vocab_size, base.context)
    size = SizeSpec(label=_label(n), shape=shape, lr=lr if lr is not None else lr_rule(n),
                    flops=EXTRAPOLATION_FACTOR * largest.flops)
    return replace(base, name="wm-extrapolation", sizes=(size,), n_log=80,
                   description=f"Extrapolation run: {shape.label} (N={n:,}) trained to {EXTRAPOLATION_FACTOR:g}x the "
                               f"final compute of wm-token-64's largest run ({largest.label}, C={largest.flops:.3g})",
                   paper={"source": "Pearce et al. 2025, §4.3, Fig. 9", "paper_study": "WM-Token-256, 894M",
                          "factor": EXTRAPOLATION_FACTOR, "base_study": "wm-token-64"})


LR_GRID = {"smoke": (3e-3, 1e-2), "cpu": (1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2),
           "gpu": (2e-4, 4e-4, 7e-4, 1.4e-3, 2.8e-3), "paper": (2e-4, 4e-4, 7e-4, 1.4e-3, 2.8e-3)}
LR_SWEEP_D_FRACTION = 0.5   # the sweep's runs see this fraction of the base study's D


def lr_sweep_study(preset: str, shape: ModelShape | None = None, lrs: tuple[float, ...] | None = None,
                   base_name: str = "wm-token-64") -> Study:
    """The base study's smallest shape (or `shape`) at each LR of the grid (or `lrs`); labels 'N@lr'."""
    from . import get_study

    base = get_study(base_name, preset)
    shape = shape or min(base.sizes, key=lambda z: base.counts(z)["N"]).shape
    lrs = lrs or LR_GRID[preset]
    n = _n_gpt(shape, base.vocab_size, base.context)
    d = LR_SWEEP_D_FRACTION * min(z.flops / (6.0 * base.counts(z)["N"]) for z in base.sizes)
    sizes = tuple(SizeSpec(label=f"{_label(n)}@{lr:.1e}", shape=shape, lr=float(lr), flops=6.0 * n * d) for lr in lrs)
    return replace(base, name="lr-sweep", sizes=sizes, n_log=30,
                   description=f"LR sweep on {base_name}'s model {shape.label}: grid {list(lrs)}; the next sizes are "
                               "swept from the previous size's best (agents_analysis.lr_search)",
                   paper={"source": "Pearce et al. 2025, §5.4 (LR protocol)", "base_study": base_name})


@register_study("lr-sweep", "LR grid on wm-token-64's smallest model (the paper's protocol, step 1; §5.4)")
def lr_sweep(preset: str) -> Study:
    return lr_sweep_study(preset)


# ------------------------------------------------------------------------------------------------
# BC-CNN
# ------------------------------------------------------------------------------------------------
# preset -> (total-N targets | Table-2 names, frames D per size, sequences per update, context frames, val seqs, CNN)
BCCNN = {
    "smoke": ((4e4, 6e4, 1e5), 8.0e3, 16, 4, 64,
              {"frame_size": 32, "cnn_channels": (8, 16, 16), "cnn_res_blocks": 1, "cnn_out_dim": 64}),
    "cpu": ((4e4, 7e4, 1.3e5, 2.5e5, 5e5), 4.5e5, 64, 4, 256,
            {"frame_size": 32, "cnn_channels": (8, 16, 16), "cnn_res_blocks": 1, "cnn_out_dim": 64}),
    # the paper's transformer configs (paper.md §2.3) with a 0.6M-parameter CNN of 256 outputs at 32 px
    "gpu": (("2M", "4M", "11M", "27M", "52M", "110M"), 1.6e7, 256, 10, 512,
            {"frame_size": 32, "cnn_channels": (32, 64, 64), "cnn_res_blocks": 2, "cnn_out_dim": 256}),
}
BCCNN_PAPER_LR = 3e-4


def _bccnn_shape(target: float, cnn_params: int, context: int) -> ModelShape:
    # heads (68 logits) and the projection from the CNN act like a small vocabulary for the solver
    return shape_for_params(max(target - cnn_params, 2e3), NVEC_LOGITS + 64, context)


@register_study("bc-cnn", "BC-CNN: Impala-style CNN per frame, GPT over frames, 16 independent action heads (§4, Table 1)")
def bc_cnn(preset: str) -> Study:
    from ..tasks.bccnn import bccnn_counts, cnn_config

    targets, frames, seqs, ctx, val, cnn_opts = _table(BCCNN, preset)
    proto = Study(name="bc-cnn", preset=preset, task="bc-cnn", data="arena", tokenizer="none", vocab_size=NVEC_LOGITS,
                  context=ctx, batch_size=seqs, sizes=(), task_options=dict(cnn_opts))
    sizes = []
    for t in targets:
        if isinstance(t, str):
            shape = PAPER_TABLE2[t]
        else:
            probe = SizeSpec("probe", ModelShape(1, 1, 8), 1e-3, 1.0)
            n_cnn = bccnn_counts(proto, probe)["N_cnn"]
            shape = _bccnn_shape(t, n_cnn, ctx)
        z = SizeSpec("x", shape, 1e-3, 1.0)
        n = bccnn_counts(proto, z)["N"]
        lr = BCCNN_PAPER_LR if preset in ("gpu", "paper") else bccnn_lr_rule(n)
        sizes.append(SizeSpec(label=_label(n), shape=shape, lr=lr, flops=6.0 * n * frames))
    cnn = cnn_config(cnn_opts)
    return replace(proto, sizes=tuple(sizes), val_sequences=val, n_log=50,
                   precision="bf16" if preset in ("gpu", "paper") else "fp32",
                   description=f"BC-CNN: {cnn.frame_size}px frames -> Impala CNN {list(cnn.channels)} x{cnn.res_blocks} res "
                               f"-> {cnn.out_dim}-d -> GPT over {ctx} frames -> 16 heads (68 logits); loss = sum over "
                               "dimensions of per-dimension cross-entropy; C = 6·N·D with N including the CNN",
                   paper=PAPER["bc-cnn"])


def _bccnn_counter(study: Study, size: SizeSpec) -> dict[str, float]:
    from ..tasks.bccnn import bccnn_counts

    return bccnn_counts(study, size)


register_counter("bc-cnn", _bccnn_counter)


# ------------------------------------------------------------------------------------------------
# planning helpers (docs/studies.md)
# ------------------------------------------------------------------------------------------------
AGENT_STUDIES = ("wm-token-64", "wm-token-256", "bc-token-64", "bc-token-256", "bc-token-small", "bc-cnn",
                 "wm-extrapolation", "lr-sweep") + tuple(tpf_name(k, s) for k in TPF_LEVELS_ALL for s in TPF_SEEDS)

# assumed sustained throughput of one H100/H200 in bf16: 40 % MFU of the 989 TFLOP/s dense peak,
# on the PaLM count (6N + attention); convolutions at 10 % MFU (tiny channel counts)
GPU_FLOPS = 0.40 * 989e12
GPU_CONV_FLOPS = 0.10 * 989e12
GPU_MIN_STEP_S = 0.01      # tiny models are launch-bound: at least 10 ms per optimiser step


def plan(study: Study) -> list[dict[str, Any]]:
    """Per size: shape, N, LR, D, steps, C = 6ND, the compute with attention (and true conv FLOPs for
    BC-CNN), tokens (inputs) per update."""
    rows = []
    for z in study.sizes:
        c = study.counts(z)
        steps = study.steps(z)
        D = steps * study.tokens_per_update
        per_in = c["flops_per_input_attn"]
        true = c.get("flops_per_input_true", per_in)
        conv = c.get("cnn_flops_train_per_frame", 0.0) * D
        rows.append({"study": study.name, "preset": study.preset, "size": z.label, "shape": z.shape.label,
                     "N": int(c["N"]), "lr": z.lr, "D": D, "steps": steps, "C": 6.0 * c["N"] * D,
                     "C_attn": per_in * D, "C_true": true * D, "conv_flops": conv,
                     "inputs_per_update": study.tokens_per_update, "context": study.context})
    return rows


def gpu_hours(study: Study) -> float:
    """Estimated hours on one H100/H200 at GPU_FLOPS (conv at GPU_CONV_FLOPS) for the whole study."""
    total = 0.0
    for r in plan(study):
        flops_s = (r["C_true"] - r["conv_flops"]) / GPU_FLOPS + r["conv_flops"] / GPU_CONV_FLOPS
        total += max(flops_s, r["steps"] * GPU_MIN_STEP_S)
    return total / 3600.0

