"""The language-model studies of the paper's §5 (Tiny Shakespeare loss variants; character vs BPE).

Budgets: every size of a study sees the same number of training inputs D (so C = 6·N·D grows with N),
which is how the paper's Shakespeare curves look (all sizes end near the same D); small models thus
train far past their compute-optimal point and the curves overlap. Learning rates follow one rule,
lr(N) = lr0 · (N / 1e5)^-0.25 capped at lr_max (smaller models take larger rates, as the paper's
"larger models need smaller LRs"); the LR-sweep study refines it."""
from __future__ import annotations

from ..model.ladder import shape_for_params
from .base import SizeSpec, Study, register_study

SHAKESPEARE_SIZES = (3.81e3, 8.75e3, 6e4, 1.1e5, 2.8e5, 1.08e6, 4.23e6, 16.75e6)  # the paper's eight

# preset -> (size targets, tokens D per size, batch sequences, val sequences)
SHAKESPEARE_PRESETS = {
    "smoke": (SHAKESPEARE_SIZES[:4], 1.2e5, 64, 128),
    # eight sizes, stopping at the paper's 1.08M (the larger ones cost minutes each on 2 cores)
    "cpu": ((3.81e3, 8.75e3, 2.3e4, 6e4, 1.1e5, 2.8e5, 5.5e5, 1.08e6), 4.0e6, 256, 2048),
    "gpu": (SHAKESPEARE_SIZES, 1.0e8, 512, 8192),
    "paper": (SHAKESPEARE_SIZES, 1.0e8, 512, 8192),
}

PAPER_SHAKESPEARE = {
    "dense": {"a": 0.63, "b": 0.37, "method": "parametric", "source": "Pearce et al. 2025, Fig. 10"},
    "last": {"a": 0.50, "b": 0.50, "method": "parametric", "source": "Pearce et al. 2025, Fig. 10"},
    "superclass": {"a": 0.15, "b": 0.85, "method": "parametric", "source": "Pearce et al. 2025, Fig. 10"},
}


def lr_rule(n_params: float, lr0: float = 3e-3, lr_max: float = 1e-2) -> float:
    return float(min(lr_max, lr0 * (n_params / 1e5) ** -0.25))


def precision_for(preset: str) -> str:
    """One precision per study: fp32 on CPU presets, bf16 autocast on the GPU presets."""
    return "bf16" if preset in ("gpu", "paper") else "fp32"


def _label(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def _shakespeare(preset: str, mask: str, description: str) -> Study:
    from ..counting import count_params_shape

    targets, tokens, batch, val = SHAKESPEARE_PRESETS[preset]
    vocab, ctx = 65, 16
    sizes = []
    for t in targets:
        shape = shape_for_params(t, vocab, ctx)
        n = count_params_shape(shape, vocab, ctx)["N"]
        sizes.append(SizeSpec(label=_label(n), shape=shape, lr=lr_rule(n), flops=6.0 * n * tokens))
    name = {"dense": "lm-shakespeare-dense", "last": "lm-shakespeare-sparse",
            "superclass": "lm-shakespeare-superclass"}[mask]
    return Study(name=name, preset=preset, task="lm", data="shakespeare", tokenizer="char", vocab_size=vocab,
                 context=ctx, batch_size=batch, sizes=tuple(sizes), loss_mask=mask, val_sequences=val,
                 description=description, paper=PAPER_SHAKESPEARE[mask], precision=precision_for(preset))


@register_study("lm-shakespeare-dense", "Tiny Shakespeare, characters, context 16, loss on all 16 positions (paper §5.1)")
def shakespeare_dense(preset: str) -> Study:
    return _shakespeare(preset, "dense", "Tiny Shakespeare, dense next-character loss on all 16 positions")


@register_study("lm-shakespeare-sparse", "Tiny Shakespeare, loss on the last of 16 positions only (paper §5.1)")
def shakespeare_sparse(preset: str) -> Study:
    return _shakespeare(preset, "last", "Tiny Shakespeare, sparse loss: the last of 16 positions only")


@register_study("lm-shakespeare-superclass", "Tiny Shakespeare, last position, target mapped to 2 super-classes (paper §5.1)")
def shakespeare_superclass(preset: str) -> Study:
    return _shakespeare(preset, "superclass",
                        "Tiny Shakespeare, sparse loss on the last position with the target character mapped to "
                        "one of 2 classes by a fixed, seeded random partition of the vocabulary")


# --- Tokenizer compression (paper §5.3, App. B): the book corpus at character and GPT-2 BPE level ---
# Both studies use the same context in tokens (64), so a BPE sequence spans ~3.7x more text. Every size
# sees the same D; D stays within the paper's 4-epoch "infinite data" bound of the training split
# (33.4M character tokens, 9.03M BPE tokens), and the run records its epochs.
BOOKS_CHAR_SIZES = (8.64e3, 5e4, 1e5, 2.7e5, 6.3e5)          # the paper's five
BOOKS_BPE_SIZES = (0.81e6, 1.66e6, 2.11e6, 3.28e6, 4.64e6)    # the paper's five (embedding-dominated)

# preset -> (size targets, tokens D per size, batch sequences, val sequences)
BOOKS_CHAR_PRESETS = {
    "smoke": ((8.64e3, 3e4, 1e5), 1.5e5, 32, 128),
    "cpu": (BOOKS_CHAR_SIZES, 6.0e6, 128, 1024),
    "gpu": (BOOKS_CHAR_SIZES + (1.5e6, 4e6), 1.2e8, 512, 4096),
    "paper": (BOOKS_CHAR_SIZES, 1.2e8, 512, 4096),
}
BOOKS_BPE_PRESETS = {
    "smoke": ((4.1e5, 6.2e5, 8.1e5), 3.0e4, 8, 32),
    "cpu": ((4.1e5, 6.2e5, 8.1e5, 1.22e6, 1.66e6), 2.0e6, 32, 256),
    "gpu": (BOOKS_BPE_SIZES + (8e6, 16e6), 3.6e7, 512, 4096),
    "paper": (BOOKS_BPE_SIZES, 3.6e7, 512, 4096),
}
PAPER_BOOKS = {
    "char": {"a": 0.66, "b": 0.34, "method": "frontier", "source": "Pearce et al. 2025, App. B, Fig. 12"},
    "gpt2": {"a": 0.44, "b": 0.56, "method": "frontier", "source": "Pearce et al. 2025, App. B, Fig. 13"},
}


def _books(preset: str, tokenizer: str) -> Study:
    from ..counting import count_params_shape

    table, vocab = (BOOKS_CHAR_PRESETS, 159) if tokenizer == "char" else (BOOKS_BPE_PRESETS, 50257)
    targets, tokens, batch, val = table[preset]
    ctx = 64
    sizes = []
    for t in targets:
        shape = shape_for_params(t, vocab, ctx)
        n = count_params_shape(shape, vocab, ctx)["N"]
        sizes.append(SizeSpec(label=_label(n), shape=shape, lr=lr_rule(n), flops=6.0 * n * tokens))
    name = f"lm-books-{tokenizer}"
    desc = ("Gutenberg books, character-level (159-character vocabulary), context 64" if tokenizer == "char" else
            "Gutenberg books, GPT-2 byte-level BPE (50,257 tokens), context 64")
    return Study(name=name, preset=preset, task="lm", data="books", tokenizer=tokenizer, vocab_size=vocab,
                 context=ctx, batch_size=batch, sizes=tuple(sizes), val_sequences=val, description=desc,
                 paper=PAPER_BOOKS[tokenizer], precision=precision_for(preset))


@register_study("lm-books-char", "Gutenberg books, character tokens, context 64 (paper §5.3, App. B, Fig. 12)")
def books_char(preset: str) -> Study:
    return _books(preset, "char")


@register_study("lm-books-gpt2", "Gutenberg books, GPT-2 BPE tokens, context 64 (paper §5.3, App. B, Fig. 13)")
def books_gpt2(preset: str) -> Study:
    return _books(preset, "gpt2")
