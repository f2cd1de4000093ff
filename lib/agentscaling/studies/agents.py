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
                                   rule; agentscaling.analysis.lr.lr_search continues it size by size)

Budgets, contexts and learning rates per preset are in `agentscaling.presets`. Within a study every
size sees the same number of inputs D, so small models run far past their compute-optimal point and
the curves overlap for the frontier fit.
"""

from __future__ import annotations

from dataclasses import replace

from ..action_space import ACTION_DIMS, ACTION_LOGITS
from ..counting import count_params_shape
from ..model.bccnn import bccnn_counts
from ..model.ladder import ModelShape, shape_for_params
from ..presets import ARENA_LR, TPF_LEVELS_ALL, Ladder, Preset
from .base import SizeSpec, Study, get_study, register_study, resolve_shape, seeding, size_label
from .data import FrameData, TokenData

TPF_SEEDS = (0, 1, 2)
EXTRAPOLATION_FACTOR = 10.0
LR_SWEEP_D_FRACTION = 0.5  # the lr-sweep's runs see this fraction of the base study's D

PAPER = {
    "wm-token-64": {
        "a": 0.49,
        "b": 0.51,
        "method": "frontier",
        "parametric_a": 0.52,
        "parametric_b": 0.48,
        "source": "Pearce et al. 2025, Table 1 (WM-Token-256)",
        "paper_study": "WM-Token-256",
        "loss_law": {"E": 0.1, "c": 0.07},
    },
    "wm-token-256": {
        "a": 0.62,
        "b": 0.37,
        "method": "frontier",
        "parametric_a": 0.78,
        "parametric_b": 0.22,
        "source": "Pearce et al. 2025, Table 1 (WM-Token-540)",
        "paper_study": "WM-Token-540",
        "loss_law": {"E": 0.1, "c": 0.05},
    },
    "bc-token": {
        "a": 0.32,
        "b": 0.68,
        "method": "parametric",
        "source": "Pearce et al. 2025, Table 1 (BC-Token-540)",
        "paper_study": "BC-Token-540",
        "frontier": "not possible (curves do not overlap)",
        "loss_law": {"E": 0.1, "c": 0.03},
    },
    "bc-token-small": {
        "a": 0.35,
        "b": 0.65,
        "method": "parametric",
        "source": "Pearce et al. 2025, App. E, Fig. 18",
        "paper_study": "BC-Token small (App. E)",
        "frontier": "not possible",
    },
    "bc-cnn": {
        "a": 0.66,
        "b": 0.34,
        "method": "frontier",
        "parametric_a": 0.47,
        "parametric_b": 0.53,
        "source": "Pearce et al. 2025, Table 1 (BC-CNN)",
        "paper_study": "BC-CNN",
        "loss_law": {"E": 3.56, "c": 0.31},
    },
}
# App. C, Fig. 15: one example frontier a per tokens-per-image level (RT-1), and Fig. 16's fit line
PAPER_TPF = {16: 0.56, 36: 0.60, 64: 0.61, 100: 0.60, 256: 0.65}
PAPER_TPF_FIT = {"R": 0.61, "a_at_16": 0.578, "a_at_256": 0.632, "source": "Pearce et al. 2025, App. C, Figs. 15-16"}


def token_vocab(preset: Preset) -> int:
    """Image codes of the preset's frame tokenizer + one id per value of each action dimension."""
    return preset.tokenizer.codebook_size + ACTION_LOGITS


def _n_gpt(vocab_size: int, context: int, shape: ModelShape) -> int:
    return count_params_shape(shape, vocab_size, context)["N"]


def _token_study(
    name: str,
    preset: Preset,
    task: str,
    k: int,
    ladder: Ladder,
    paper: dict,
    description: str,
    seeds: tuple[int, ...] | None = None,
    batch: int | None = None,
    val_sequences: int | None = None,
) -> Study:
    vocab = token_vocab(preset)
    ctx = ladder.context * (k + ACTION_DIMS)
    sizes = []
    for i, t in enumerate(ladder.sizes):
        shape = resolve_shape(t, vocab, ctx)
        n = _n_gpt(vocab, ctx, shape)
        sizes.append(SizeSpec(label=size_label(n), shape=shape, lr=ladder.lr_for(i, n), flops=6.0 * n * ladder.inputs))
    return Study(
        name=name,
        preset=preset.name,
        task=task,
        data=TokenData(dataset=preset.data.arena, tokens_per_frame=k, tokenizer=preset.tokenizer),
        vocab_size=vocab,
        context=ctx,
        batch_size=batch or ladder.batch,
        sizes=tuple(sizes),
        val_sequences=val_sequences or ladder.val_sequences,
        **seeding(seeds or ladder.seeds),
        not_measurable=ladder.not_measurable,
        precision=preset.precision,
        n_log=50,
        description=description,
        paper=paper,
        task_options={"context_steps": ladder.context, "per_dimension": True, "wm_first_frame": True},
    )


@register_study("wm-token-64", "WM-Token, 64 tokens/frame (analogue of the paper's WM-Token-256; §4, Table 1)")
def wm_token_64(preset: Preset) -> Study:
    return _token_study(
        "wm-token-64",
        preset,
        "wm",
        64,
        preset.ladders.wm64,
        PAPER["wm-token-64"],
        "World model: next-image-token loss on [64 image tokens, 16 action tokens] steps",
    )


@register_study("wm-token-256", "WM-Token, 256 tokens/frame (analogue of the paper's WM-Token-540; §4, Table 1)")
def wm_token_256(preset: Preset) -> Study:
    return _token_study(
        "wm-token-256",
        preset,
        "wm",
        256,
        preset.ladders.wm256,
        PAPER["wm-token-256"],
        "World model: next-image-token loss on [256 image tokens, 16 action tokens] steps",
    )


@register_study("bc-token-64", "BC-Token, 64 tokens/frame: loss on the 16 action tokens only (§4, Table 1)")
def bc_token_64(preset: Preset) -> Study:
    return _token_study(
        "bc-token-64",
        preset,
        "bc",
        64,
        preset.ladders.bc64,
        PAPER["bc-token"],
        "Behaviour cloning: the WM-Token-64 sequences and GPT, loss on the 16 action tokens only; "
        "D counts all 80 tokens per step",
    )


@register_study(
    "bc-token-256", "BC-Token, 256 tokens/frame (the tokenizer of wm-token-256, as the paper's BC-Token-540)"
)
def bc_token_256(preset: Preset) -> Study:
    return _token_study(
        "bc-token-256",
        preset,
        "bc",
        256,
        preset.ladders.bc256,
        PAPER["bc-token"],
        "Behaviour cloning on the WM-Token-256 sequences; loss on the 16 action tokens of 272",
    )


@register_study("bc-token-small", "BC-Token at App. E's four tiny shapes, one LR for all, longer training (App. E)")
def bc_token_small(preset: Preset) -> Study:
    return _token_study(
        "bc-token-small",
        preset,
        "bc",
        64,
        preset.ladders.bc_small,
        PAPER["bc-token-small"],
        "Behaviour cloning with App. E's shapes (L1/d25, L2/d46, L2/d86, L2/d120), one learning rate "
        "for all sizes, more inputs per parameter than bc-token-64",
    )


# ------------------------------------------------------------------------------------------------
# tokens-per-frame sweep (App. C)
# ------------------------------------------------------------------------------------------------
def tpf_name(k: int, seed: int) -> str:
    return f"wm-tpf-{k}-s{seed}"


def _tpf(preset: Preset, k: int, seed: int) -> Study:
    ladder = preset.ladders.tpf
    ctx = ladder.context * (k + ACTION_DIMS)
    # every level trains on the same tokens per update and holds out the same tokens (per 160-token window)
    return _token_study(
        tpf_name(k, seed),
        preset,
        "wm",
        k,
        ladder,
        {
            "a": PAPER_TPF.get(k),
            "method": "frontier",
            "source": PAPER_TPF_FIT["source"],
            "paper_study": f"RT-1 WM-Token, {k} tokens per image",
        },
        f"Tokens-per-frame sweep: tiny WM-Token models at {k} tokens/frame, 2-step context, seed {seed}",
        seeds=(seed,),
        batch=max(1, round(ladder.batch_tokens / ctx)),
        val_sequences=max(8, round(ladder.val_sequences * 160 / ctx)),
    )


def _register_tpf(k: int, seed: int) -> None:
    register_study(tpf_name(k, seed), f"Tokens-per-frame sweep (App. C): WM-Token at {k} tokens/frame, seed {seed}")(
        lambda preset: _tpf(preset, k, seed)
    )


for _k in TPF_LEVELS_ALL:
    for _s in TPF_SEEDS:
        _register_tpf(_k, _s)


# ------------------------------------------------------------------------------------------------
# extrapolation (§4.3) and LR sweep (§5.4 protocol)
# ------------------------------------------------------------------------------------------------
@register_study(
    "wm-extrapolation", "One WM-Token-64 model a ladder step larger, to 10x the ladder's largest compute (§4.3)"
)
def wm_extrapolation(preset: Preset) -> Study:
    base = wm_token_64(preset)
    largest = max(base.sizes, key=lambda z: z.flops)
    target = preset.ladders.extrapolation
    if target is None:  # the next ladder size: the first shape at least one geometric ladder step bigger
        ns = sorted(base.counts(z)["N"] for z in base.sizes)
        step = (ns[-1] / ns[0]) ** (1 / (len(ns) - 1))
        want = ns[-1] * step
        shape = next(
            sh
            for f in (1.0, 1.15, 1.3, 1.5, 2.0)
            for sh in [shape_for_params(f * want, base.vocab_size, base.context)]
            if _n_gpt(base.vocab_size, base.context, sh) >= want
        )
    else:
        shape = resolve_shape(target, base.vocab_size, base.context)
    n = _n_gpt(base.vocab_size, base.context, shape)
    lr = preset.ladders.extrapolation_lr or ARENA_LR(n)
    size = SizeSpec(label=size_label(n), shape=shape, lr=lr, flops=EXTRAPOLATION_FACTOR * largest.flops)
    return replace(
        base,
        name="wm-extrapolation",
        sizes=(size,),
        seeds=(),  # one run, as the paper's: it is judged against the ladder's prediction interval
        n_log=80,
        description=f"Extrapolation run: {shape.label} (N={n:,}) trained to {EXTRAPOLATION_FACTOR:g}x the "
        f"final compute of wm-token-64's largest run ({largest.label}, C={largest.flops:.3g})",
        paper={
            "source": "Pearce et al. 2025, §4.3, Fig. 9",
            "paper_study": "WM-Token-256, 894M",
            "factor": EXTRAPOLATION_FACTOR,
            "base_study": "wm-token-64",
        },
    )


def lr_sweep_study(
    preset: Preset,
    shape: ModelShape | None = None,
    lrs: tuple[float, ...] | None = None,
    base_name: str = "wm-token-64",
) -> Study:
    """The base study's smallest shape (or `shape`) at each LR of the grid (or `lrs`); labels 'N@lr'."""
    base = get_study(base_name, preset)
    shape = shape or min(base.sizes, key=lambda z: base.counts(z)["N"]).shape
    lrs = lrs or preset.ladders.lr_grid
    n = _n_gpt(base.vocab_size, base.context, shape)
    d = LR_SWEEP_D_FRACTION * min(z.flops / (6.0 * base.counts(z)["N"]) for z in base.sizes)
    sizes = tuple(
        SizeSpec(label=f"{size_label(n)}@{lr:.1e}", shape=shape, lr=float(lr), flops=6.0 * n * d) for lr in lrs
    )
    return replace(
        base,
        name="lr-sweep",
        sizes=sizes,
        seeds=(),
        n_log=30,
        description=f"LR sweep on {base_name}'s model {shape.label}: grid {list(lrs)}; the next sizes are "
        "swept from the previous size's best (agentscaling.analysis.lr.lr_search)",
        paper={"source": "Pearce et al. 2025, §5.4 (LR protocol)", "base_study": base_name},
    )


@register_study("lr-sweep", "LR grid on wm-token-64's smallest model (the paper's protocol, step 1; §5.4)")
def lr_sweep(preset: Preset) -> Study:
    return lr_sweep_study(preset)


# ------------------------------------------------------------------------------------------------
# BC-CNN
# ------------------------------------------------------------------------------------------------
def _bccnn_shape(target: float, cnn_params: int, context: int) -> ModelShape:
    # the heads (68 logits) and the projection from the CNN act like a small vocabulary for the solver
    return shape_for_params(max(target - cnn_params, 2e3), ACTION_LOGITS + 64, context)


@register_study(
    "bc-cnn", "BC-CNN: Impala-style CNN per frame, GPT over frames, 16 independent action heads (§4, Table 1)"
)
def bc_cnn(preset: Preset) -> Study:
    ladder, cnn = preset.ladders.bccnn, preset.ladders.cnn
    arena = preset.data.bccnn_arena
    if arena.size != cnn.frame_size:
        raise ValueError(
            f"preset {preset.name}: BC-CNN's CNN takes {cnn.frame_size}px frames, its data is {arena.size}px"
        )
    ctx = ladder.context
    n_cnn = bccnn_counts(cnn, 1, 1, 8, ctx)["N_cnn"]
    sizes = []
    for i, t in enumerate(ladder.sizes):
        shape = _bccnn_shape(t, n_cnn, ctx) if isinstance(t, (int, float)) else resolve_shape(t, 0, ctx)
        n = bccnn_counts(cnn, shape.n_layer, shape.n_head, shape.n_embd, ctx)["N"]
        sizes.append(SizeSpec(label=size_label(n), shape=shape, lr=ladder.lr_for(i, n), flops=6.0 * n * ladder.inputs))
    return Study(
        name="bc-cnn",
        preset=preset.name,
        task="bc-cnn",
        data=FrameData(dataset=arena),
        vocab_size=ACTION_LOGITS,
        context=ctx,
        batch_size=ladder.batch,
        sizes=tuple(sizes),
        cnn=cnn,
        val_sequences=ladder.val_sequences,
        **seeding(ladder.seeds),
        not_measurable=ladder.not_measurable,
        n_log=50,
        precision=preset.precision,
        description=f"BC-CNN: {cnn.frame_size}px frames -> Impala CNN {list(cnn.channels)} x{cnn.res_blocks} res "
        f"-> {cnn.out_dim}-d -> GPT over {ctx} frames -> 16 heads ({ACTION_LOGITS} logits); loss = "
        "sum over dimensions of per-dimension cross-entropy; C = 6·N·D with N including the CNN",
        paper=PAPER["bc-cnn"],
    )


AGENT_STUDIES = (
    "wm-token-64",
    "wm-token-256",
    "bc-token-64",
    "bc-token-256",
    "bc-token-small",
    "bc-cnn",
    "wm-extrapolation",
    "lr-sweep",
) + tuple(tpf_name(k, s) for k in TPF_LEVELS_ALL for s in TPF_SEEDS)
