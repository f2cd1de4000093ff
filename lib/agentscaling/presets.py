"""The four presets as data: every size, budget and setting that differs between them lives here.

    smoke   seconds per study: tests the plumbing on 2 CPU cores and decides nothing
    cpu     the default: every study of the paper at laptop scale, `make reproduce` on 2 cores
    gpu     one H100/H200-class GPU: the paper's Table-2 transformer shapes and learning rates
    paper   the `gpu` preset with the paper's own ladders where they differ: the book studies keep
            exactly the paper's five sizes (`gpu` adds two larger ones for a wider frontier), and
            notebook 01's data-budget table uses the paper's 540 tokens per frame and 200M model

`paper` is its own preset (built from `gpu` with `dataclasses.replace`), not an alias. Everything
else reads a `Preset` from `get(name)`; no other module branches on a preset's name.

Ladder sizes are given three ways: a parameter count to hit (float; the ladder solver picks the
shape), a name from the paper's Table 2 ("27M"), or an explicit shape (layers, heads, width).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .errors import UserError
from .model.bccnn import CNNConfig

SizeTarget = float | str | tuple[int, int, int]


@dataclass(frozen=True)
class LRRule:
    """A constant learning rate per model size: lr0 at n0 parameters, ∝ N^-exponent, capped at lr_max
    (smaller models take larger rates: the paper's "larger models need smaller LRs", §5.4)."""

    lr0: float
    n0: float
    exponent: float
    lr_max: float

    def __call__(self, n_params: float) -> float:
        return float(min(self.lr_max, self.lr0 * (n_params / self.n0) ** -self.exponent))


# From the `lr-sweep` study at `cpu` (docs/studies.md): the paper's protocol found 1.6e-2 best for the
# 21.8k model (grid 1e-3 … 3.2e-2), 1.6e-2 for 44.0k and 8e-3 for 109.3k; the line also matches the
# paper's RT-1 rates (0.01 at 0.08M … 0.002 at 0.99M, App. C) within ~20 %.
ARENA_LR = LRRule(lr0=8e-3, n0=1.1e5, exponent=0.6, lr_max=1.6e-2)
# BC-CNN has no sweep of its own at cpu: 2e-3 at 1e5 parameters, a flatter slope
BCCNN_LR = LRRule(lr0=2e-3, n0=1e5, exponent=0.35, lr_max=1e-2)
# The language studies (§5): 3e-3 at 1e5 parameters, ∝ N^-0.25
LM_LR = LRRule(lr0=3e-3, n0=1e5, exponent=0.25, lr_max=1e-2)


@dataclass(frozen=True)
class Ladder:
    """One study's model ladder and budget at one preset.

    sizes: targets (see the module docstring); inputs: D, the inputs every size sees (so small models
    run far past their compute-optimal point and the curves overlap); batch: sequences per update, or
    0 when `batch_tokens` sets it; context: steps per sequence (arena token studies), tokens (language
    studies) or frames (BC-CNN); lr: a rule per size, one rate for all sizes, or one rate per size."""

    sizes: tuple[SizeTarget, ...]
    inputs: float
    val_sequences: int
    batch: int = 0
    batch_tokens: int = 0
    context: int = 0
    lr: LRRule | float | tuple[float, ...] = ARENA_LR
    seeds: tuple[int, ...] = (0,)  # every size trains once per seed: the run-to-run spread enters the intervals
    not_measurable: str = ""  # why this ladder cannot measure the paper's coefficients, with the evidence

    def __post_init__(self) -> None:
        if bool(self.batch) == bool(self.batch_tokens):
            raise ValueError("a ladder sets exactly one of batch (sequences) and batch_tokens")
        if isinstance(self.lr, tuple) and len(self.lr) != len(self.sizes):
            raise ValueError(f"{len(self.lr)} learning rates for {len(self.sizes)} sizes")

    def lr_for(self, index: int, n_params: float) -> float:
        if isinstance(self.lr, LRRule):
            return self.lr(n_params)
        if isinstance(self.lr, tuple):
            return float(self.lr[index])
        return float(self.lr)


@dataclass(frozen=True)
class ArenaSpec:
    """A generated arena dataset: `frames` frames of `size` px in matches of `episode_steps` steps.
    It lives at data/arena/<dirname>; a larger spec of the same name extends it."""

    name: str
    frames: int
    episode_steps: int
    size: int = 64
    seed: int = 0

    @property
    def dirname(self) -> str:
        return f"{self.name}-seed{self.seed}-{self.size}px"


@dataclass(frozen=True)
class TokenizerSettings:
    """Size and training length of the frame tokenizers (VQ-VAEs), one per tokens-per-frame level."""

    steps: int
    batch_size: int
    lr: float
    warmup_steps: int
    codebook_size: int
    codebook_dim: int = 32
    enc_channels: tuple[int, ...] = (16, 32, 64, 64)
    dec_channels: tuple[int, ...] = (48, 64, 128, 128)
    enc_res_blocks: int = 1
    dec_res_blocks: int = 2
    ema_decay: float = 0.95
    min_lr_frac: float = 0.1
    val_frames: int = 128  # held-out reconstruction MSE logged during training (0: off)
    eval_frames: int = 1024  # frames for the final held-out evaluation
    n_log: int = 30
    edge_weight: float = 0.0


@dataclass(frozen=True)
class DataSettings:
    arena: ArenaSpec  # notebook 01's dataset; the token studies encode it
    bccnn_arena: ArenaSpec  # rendered straight at BC-CNN's frame size
    workers: int  # arena generation processes
    sim_matches: int  # notebook 01's entropy check: freshly simulated matches ...
    sim_steps: int  # ... of this many steps
    budget_tokens_per_frame: int  # notebook 01's App. A.3.1 row for this preset: d_z ...
    budget_n_params: float  # ... and an example model size


@dataclass(frozen=True)
class Ladders:
    wm64: Ladder
    wm256: Ladder
    bc64: Ladder
    bc256: Ladder
    bc_small: Ladder
    tpf: Ladder
    tpf_levels: tuple[int, ...]
    tpf_seeds: tuple[int, ...]
    bccnn: Ladder
    cnn: CNNConfig
    lr_grid: tuple[float, ...]  # the lr-sweep study's grid on wm-token-64's smallest model
    extrapolation: SizeTarget | None  # None: one ladder step above wm-token-64's largest
    extrapolation_lr: float | None  # None: ARENA_LR at that size
    shakespeare: Ladder
    books_char: Ladder
    books_bpe: Ladder


@dataclass(frozen=True)
class ProxySettings:
    """Notebook 09 (is pre-training loss a proxy?): how hard every checkpoint is tested."""

    matches: int = 32  # arena matches per BC checkpoint, all played at once ...
    match_steps: int = 300  # ... for this many steps (10 per second of game time)
    clips: int = 32  # held-out clips per WM checkpoint ...
    horizon: int = 8  # ... each imagined this many frames ahead
    open_loop_episodes: int = 16  # recorded test episodes each BC checkpoint acts on with the real history ...
    open_loop_steps: int = 150  # ... for this many steps
    seed: int = 1_000_003  # match and clip seeds: never those the datasets were generated with
    greedy: bool = False  # BC agents draw from their action distribution; WMs from their token distribution


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    data: DataSettings
    tokenizer: TokenizerSettings
    ladders: Ladders
    precision: str  # one precision per preset: every study trains in it
    device: str  # "auto" (cuda when visible, else cpu) or the device it targets
    workers: int | None  # training processes; None: one 1-thread process per core, at most 2
    bootstrap: int  # bootstrap replicates per fit in the notebooks
    cell_timeout_s: int | None  # per notebook cell (None: no limit)
    notebook_attempts: int  # a notebook that times out is retried in a fresh kernel
    decides_claims: bool = True  # False: its runs test the pipeline only, and reports say so beside every verdict
    proxy: ProxySettings = ProxySettings()

    def default_workers(self, device: str) -> int:
        """Training processes when none are asked for: on a CPU, one 1-thread process per core (two
        1-thread workers beat one 2-thread process on 2 cores, ../shared/docs/machine.md), at most 2."""
        if self.workers is not None:
            return self.workers
        if device != "cpu":
            return 1
        return max(1, min(2, os.cpu_count() or 1))

    @property
    def verdict_caveat(self) -> str:
        """What every verdict at this preset carries beside it ("" where the preset decides claims)."""
        return "" if self.decides_claims else f"{self.name}: not a finding"


# seven sizes over two decades of targets (5.5k-391k counted parameters: 1.85 decades), chosen with the
# design planner (docs/planning.md): the parametric fit is unbiased and its interval half-width ~0.04
# with two seeds, where the five sizes over 1.3 decades it replaced gave 0.16 and 80 % coverage
CPU_SIZES = (4.5e3, 9.7e3, 2.09e4, 4.5e4, 9.69e4, 2.089e5, 4.5e5)
SHAKESPEARE_SIZES = (3.81e3, 8.75e3, 6e4, 1.1e5, 2.8e5, 1.08e6, 4.23e6, 16.75e6)  # the paper's eight
BOOKS_CHAR_SIZES = (8.64e3, 5e4, 1e5, 2.7e5, 6.3e5)  # the paper's five
BOOKS_BPE_SIZES = (0.81e6, 1.66e6, 2.11e6, 3.28e6, 4.64e6)  # the paper's five (embedding-dominated)
# App. E's shapes verbatim (layers, heads, width); the paper's N (147k … 1M) counted a 5,560-row embedding
BC_SMALL_SHAPES = ((1, 1, 25), (2, 2, 46), (2, 2, 86), (2, 2, 120))
TPF_LEVELS_ALL = (16, 36, 64, 100, 256)
SMALL_CNN = CNNConfig(frame_size=32, channels=(8, 16, 16), res_blocks=1, out_dim=64)

SMOKE = Preset(
    name="smoke",
    description="seconds per study: tests the plumbing, decides nothing",
    data=DataSettings(
        arena=ArenaSpec("smoke", 8_000, 100),
        bccnn_arena=ArenaSpec("smoke", 8_000, 100, size=32),
        workers=1,
        sim_matches=8,
        sim_steps=300,
        budget_tokens_per_frame=16,
        budget_n_params=1e5,
    ),
    tokenizer=TokenizerSettings(
        steps=60,
        batch_size=16,
        lr=3e-3,
        warmup_steps=5,
        codebook_size=128,
        enc_channels=(16, 32, 32, 32),
        dec_channels=(32, 48, 64, 64),
        dec_res_blocks=1,
        val_frames=0,
        eval_frames=256,
        n_log=10,
    ),
    ladders=Ladders(
        wm64=Ladder((5e3, 1.2e4, 3e4), 8.0e4, 32, batch=8, context=2),
        wm256=Ladder((8e3, 2e4, 5e4), 1.2e5, 16, batch=4, context=2),
        bc64=Ladder((8e3, 2e4, 5e4), 1.2e5, 32, batch=8, context=2),
        bc256=Ladder((8e3, 2e4, 5e4), 1.2e5, 16, batch=4, context=2),
        bc_small=Ladder(BC_SMALL_SHAPES[:3], 1.2e5, 32, batch=8, context=2, lr=ARENA_LR(1e5)),
        tpf=Ladder((5e3, 1.2e4, 3e4), 6.0e4, 32, batch_tokens=2048, context=2),
        tpf_levels=(16, 64, 256),
        tpf_seeds=(0,),
        bccnn=Ladder((4e4, 6e4, 1e5), 8.0e3, 64, batch=16, context=4, lr=BCCNN_LR),
        cnn=SMALL_CNN,
        lr_grid=(3e-3, 1e-2),
        extrapolation=None,
        extrapolation_lr=None,
        shakespeare=Ladder(SHAKESPEARE_SIZES[:4], 1.2e5, 128, batch=64, context=16, lr=LM_LR),
        books_char=Ladder((8.64e3, 3e4, 1e5), 1.5e5, 128, batch=32, context=64, lr=LM_LR),
        books_bpe=Ladder((4.1e5, 6.2e5, 8.1e5), 3.0e4, 32, batch=8, context=64, lr=LM_LR),
    ),
    precision="fp32",
    device="auto",
    workers=1,
    bootstrap=50,
    cell_timeout_s=240,
    notebook_attempts=2,
    decides_claims=False,
    proxy=ProxySettings(matches=4, match_steps=40, clips=4, horizon=3, open_loop_episodes=4, open_loop_steps=40),
)

# cpu: arena token ladders of 5.5k-391k parameters at 4M tokens each (720 down to 10 tokens per parameter), two seeds:
# the small models saturate and the curves cross, and the parametric fit sees both limits
# (docs/studies.md has the designs tried).
CPU = Preset(
    name="cpu",
    description="every study at laptop scale on 2 CPU cores (the default)",
    # 21 matches of 2 min at 64 px (201,600 frames), all of it encoded: the extrapolation run needs 3.6
    # epochs of it; BC-CNN gets 28 matches at 32 px
    data=DataSettings(
        arena=ArenaSpec("cpu", 200_000, 1200),
        bccnn_arena=ArenaSpec("cpu", 268_800, 1200, size=32),
        workers=2,
        sim_matches=32,
        sim_steps=1200,
        budget_tokens_per_frame=64,
        budget_n_params=3e6,
    ),
    # a 512-code codebook rather than the paper's 4096: at 64 tokens per frame 4096 codes gave +0.4 dB
    # PSNR for 2.2x the training time and ~3.5x slower encoding (docs/tokenizers.md)
    tokenizer=TokenizerSettings(
        steps=1200,
        batch_size=32,
        lr=2e-3,
        warmup_steps=50,
        codebook_size=512,
        dec_channels=(32, 48, 96, 96),
        dec_res_blocks=1,
    ),
    ladders=Ladders(
        wm64=Ladder(CPU_SIZES, 4.0e6, 192, batch=16, context=2, seeds=(0, 1)),
        wm256=Ladder(CPU_SIZES, 4.0e6, 64, batch=6, context=2, seeds=(0, 1)),
        bc64=Ladder(CPU_SIZES, 4.0e6, 192, batch=16, context=2, seeds=(0, 1)),
        bc256=Ladder(CPU_SIZES, 4.0e6, 64, batch=6, context=2, seeds=(0, 1)),
        bc_small=Ladder(BC_SMALL_SHAPES, 4.0e6, 192, batch=16, context=2, lr=ARENA_LR(1e5)),
        tpf=Ladder((4.5e3, 9e3, 2.2e4, 4.5e4), 2.5e6, 96, batch_tokens=2048, context=2),
        tpf_levels=(16, 64, 256),
        tpf_seeds=(0, 1, 2),
        bccnn=Ladder(
            (4e4, 7e4, 1.3e5, 2.5e5, 5e5),
            4.5e5,
            256,
            batch=64,
            context=4,
            lr=BCCNN_LR,
            not_measurable="at 450k frames of 32 px the final loss does not depend on the transformer's size "
            "(7.43-7.54 nats with no order in size; which size wins flips with the learning rate: pilot in "
            "docs/studies.md); the gpu preset trains the paper's design",
        ),
        cnn=SMALL_CNN,
        lr_grid=(1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2),
        extrapolation=None,
        extrapolation_lr=None,
        # eight sizes, stopping at the paper's 1.08M (the larger ones cost minutes each on 2 cores)
        # two seeds per size, so that the intervals carry the run-to-run spread (docs/results.md)
        shakespeare=Ladder(
            (3.81e3, 8.75e3, 2.3e4, 6e4, 1.1e5, 2.8e5, 5.5e5, 1.08e6),
            4.0e6,
            2048,
            batch=256,
            context=16,
            lr=LM_LR,
            seeds=(0, 1),
        ),
        books_char=Ladder(BOOKS_CHAR_SIZES, 6.0e6, 1024, batch=128, context=64, lr=LM_LR),
        books_bpe=Ladder((4.1e5, 6.2e5, 8.1e5, 1.22e6, 1.66e6), 2.0e6, 256, batch=32, context=64, lr=LM_LR),
    ),
    precision="fp32",
    device="auto",
    workers=None,
    bootstrap=200,
    cell_timeout_s=None,
    notebook_attempts=1,
)

# the paper's learning rates (paper.md §6.1-§6.3, App. C, App. E), per size of the ladders below
WM256_PAPER_LR = (7e-4, 7e-4, 7e-4, 7e-4, 5.7e-4)  # 15M, 27M, 52M, 110M, 206M
WM540_PAPER_LR = (5e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4)  # 4M, 11M, 27M, 52M, 110M, 206M
BC540_PAPER_LR = (5e-4, 5e-4, 1e-4, 1e-4)  # 2M, 4M, 11M, 27M
RT1_PAPER_LR = (0.01, 0.005, 0.004, 0.0027, 0.002)  # 0.08M … 0.99M
GPU = Preset(
    name="gpu",
    description="one H100/H200-class GPU: the paper's Table-2 shapes and learning rates",
    # 64 GiB of disk: 2M frames at 64 px are 24.6 GB; BC-CNN frames at 32 px are 3 KB each
    data=DataSettings(
        arena=ArenaSpec("gpu", 2_000_000, 1200),
        bccnn_arena=ArenaSpec("gpu", 8_000_000, 1200, size=32),
        workers=16,
        sim_matches=64,
        sim_steps=1200,
        budget_tokens_per_frame=256,
        budget_n_params=1e8,
    ),
    # the paper's vocabulary, a wider model, 40k updates at batch 128 like the RT-1 VQ-VAEs
    tokenizer=TokenizerSettings(
        steps=40_000,
        batch_size=128,
        lr=1e-3,
        warmup_steps=500,
        codebook_size=4096,
        codebook_dim=64,
        enc_channels=(64, 128, 128, 128),
        dec_channels=(96, 192, 256, 256),
        enc_res_blocks=2,
        dec_res_blocks=3,
        ema_decay=0.99,
        val_frames=512,
        eval_frames=4096,
        n_log=60,
    ),
    ladders=Ladders(
        wm64=Ladder(("15M", "27M", "52M", "110M", "206M"), 5.0e8, 256, batch=652, context=10, lr=WM256_PAPER_LR),
        wm256=Ladder(("4M", "11M", "27M", "52M", "110M", "206M"), 1.7e9, 96, batch=192, context=10, lr=WM540_PAPER_LR),
        bc64=Ladder(("2M", "4M", "11M", "27M"), 5.0e8, 256, batch=652, context=10, lr=BC540_PAPER_LR),
        bc256=Ladder(("2M", "4M", "11M", "27M"), 1.7e9, 96, batch=192, context=10, lr=BC540_PAPER_LR),
        # 90 x 5,560 = 500k tokens per update and one LR for all sizes, as in App. E
        bc_small=Ladder(BC_SMALL_SHAPES, 5.0e8, 256, batch=90, context=10, lr=5e-4),
        # tiny models, 2-step context, as the paper's RT-1 sweep (0.08M-0.99M at 34k tokens per update)
        tpf=Ladder((8e4, 2e5, 2.8e5, 5.4e5, 9.9e5), 2.0e8, 512, batch_tokens=34_000, context=2, lr=RT1_PAPER_LR),
        tpf_levels=TPF_LEVELS_ALL,
        tpf_seeds=(0, 1, 2),
        # the paper's transformer configs (paper.md §2.3) with a 0.6M-parameter CNN of 256 outputs at 32 px
        bccnn=Ladder(("2M", "4M", "11M", "27M", "52M", "110M"), 1.6e7, 512, batch=256, context=10, lr=3e-4),
        cnn=CNNConfig(frame_size=32, channels=(32, 64, 64), res_blocks=2, out_dim=256),
        lr_grid=(2e-4, 4e-4, 7e-4, 1.4e-3, 2.8e-3),
        extrapolation="894M",
        extrapolation_lr=2.8e-4,
        shakespeare=Ladder(SHAKESPEARE_SIZES, 1.0e8, 8192, batch=512, context=16, lr=LM_LR, seeds=(0, 1, 2)),
        books_char=Ladder(BOOKS_CHAR_SIZES + (1.5e6, 4e6), 1.2e8, 4096, batch=512, context=64, lr=LM_LR),
        books_bpe=Ladder(BOOKS_BPE_SIZES + (8e6, 16e6), 3.6e7, 4096, batch=512, context=64, lr=LM_LR),
    ),
    precision="bf16",
    device="cuda",
    workers=1,
    bootstrap=200,
    cell_timeout_s=None,
    notebook_attempts=1,
    proxy=ProxySettings(matches=64, match_steps=1200, clips=64, horizon=16),
)

PAPER = replace(
    GPU,
    name="paper",
    description="the gpu preset with the paper's own ladders (no extra sizes)",
    data=replace(GPU.data, budget_tokens_per_frame=540, budget_n_params=2e8),
    ladders=replace(
        GPU.ladders,
        books_char=replace(GPU.ladders.books_char, sizes=BOOKS_CHAR_SIZES),
        books_bpe=replace(GPU.ladders.books_bpe, sizes=BOOKS_BPE_SIZES),
    ),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (SMOKE, CPU, GPU, PAPER)}
NAMES = tuple(PRESETS)


def get(preset: str | Preset) -> Preset:
    """The preset of this name (a Preset passes through)."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except (KeyError, TypeError):
        raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(NAMES)}") from None


__all__ = [
    "ARENA_LR",
    "ArenaSpec",
    "BCCNN_LR",
    "DataSettings",
    "LM_LR",
    "LRRule",
    "Ladder",
    "Ladders",
    "NAMES",
    "PRESETS",
    "Preset",
    "TokenizerSettings",
    "get",
]
