"""The language-model studies of the paper's §5 (Tiny Shakespeare loss variants; character vs BPE).

Budgets: every size of a study sees the same number of training inputs D (so C = 6·N·D grows with N),
which is how the paper's Shakespeare curves look (all sizes end near the same D); small models thus
train far past their compute-optimal point and the curves overlap. Learning rates follow
`presets.LM_LR` (smaller models take larger rates, as the paper's "larger models need smaller LRs").

The book studies use the same context in tokens (64), so a BPE sequence spans ~3.7x more text. Every
size sees the same D; D stays within the paper's 4-epoch "infinite data" bound of the training split
(33.4M character tokens, 9.03M BPE tokens), and the run records its epochs."""

from __future__ import annotations

from ..counting import count_params_shape
from ..presets import Ladder, Preset
from .base import SizeSpec, Study, register_study, resolve_shape, seeding, size_label
from .data import TextData

SHAKESPEARE_VOCAB = 65
BOOKS_VOCAB = {"char": 159, "gpt2": 50257}

PAPER_SHAKESPEARE = {
    "dense": {"a": 0.63, "b": 0.37, "method": "parametric", "source": "Pearce et al. 2025, Fig. 10"},
    "last": {"a": 0.50, "b": 0.50, "method": "parametric", "source": "Pearce et al. 2025, Fig. 10"},
    "superclass": {"a": 0.15, "b": 0.85, "method": "parametric", "source": "Pearce et al. 2025, Fig. 10"},
}
PAPER_BOOKS = {
    "char": {"a": 0.66, "b": 0.34, "method": "frontier", "source": "Pearce et al. 2025, App. B, Fig. 12"},
    "gpt2": {"a": 0.44, "b": 0.56, "method": "frontier", "source": "Pearce et al. 2025, App. B, Fig. 13"},
}


def _sizes(ladder: Ladder, vocab: int) -> tuple[SizeSpec, ...]:
    sizes = []
    for i, t in enumerate(ladder.sizes):
        shape = resolve_shape(t, vocab, ladder.context)
        n = count_params_shape(shape, vocab, ladder.context)["N"]
        sizes.append(SizeSpec(label=size_label(n), shape=shape, lr=ladder.lr_for(i, n), flops=6.0 * n * ladder.inputs))
    return tuple(sizes)


def _shakespeare(preset: Preset, mask: str, description: str) -> Study:
    ladder = preset.ladders.shakespeare
    name = {
        "dense": "lm-shakespeare-dense",
        "last": "lm-shakespeare-sparse",
        "superclass": "lm-shakespeare-superclass",
    }[mask]
    return Study(
        name=name,
        preset=preset.name,
        task="lm",
        data=TextData("shakespeare", "char"),
        vocab_size=SHAKESPEARE_VOCAB,
        context=ladder.context,
        batch_size=ladder.batch,
        sizes=_sizes(ladder, SHAKESPEARE_VOCAB),
        loss_mask=mask,
        val_sequences=ladder.val_sequences,
        description=description,
        paper=PAPER_SHAKESPEARE[mask],
        precision=preset.precision,
        **seeding(ladder.seeds),
        not_measurable=ladder.not_measurable,
    )


@register_study(
    "lm-shakespeare-dense", "Tiny Shakespeare, characters, context 16, loss on all 16 positions (paper §5.1)"
)
def shakespeare_dense(preset: Preset) -> Study:
    return _shakespeare(preset, "dense", "Tiny Shakespeare, dense next-character loss on all 16 positions")


@register_study("lm-shakespeare-sparse", "Tiny Shakespeare, loss on the last of 16 positions only (paper §5.1)")
def shakespeare_sparse(preset: Preset) -> Study:
    return _shakespeare(preset, "last", "Tiny Shakespeare, sparse loss: the last of 16 positions only")


@register_study(
    "lm-shakespeare-superclass", "Tiny Shakespeare, last position, target mapped to 2 super-classes (paper §5.1)"
)
def shakespeare_superclass(preset: Preset) -> Study:
    return _shakespeare(
        preset,
        "superclass",
        "Tiny Shakespeare, sparse loss on the last position with the target character mapped to "
        "one of 2 classes by a fixed, seeded random partition of the vocabulary",
    )


def _books(preset: Preset, tokenizer: str) -> Study:
    ladder = preset.ladders.books_char if tokenizer == "char" else preset.ladders.books_bpe
    vocab = BOOKS_VOCAB[tokenizer]
    desc = (
        "Gutenberg books, character-level (159-character vocabulary), context 64"
        if tokenizer == "char"
        else "Gutenberg books, GPT-2 byte-level BPE (50,257 tokens), context 64"
    )
    return Study(
        name=f"lm-books-{tokenizer}",
        preset=preset.name,
        task="lm",
        data=TextData("books", tokenizer),
        vocab_size=vocab,
        context=ladder.context,
        batch_size=ladder.batch,
        sizes=_sizes(ladder, vocab),
        val_sequences=ladder.val_sequences,
        description=desc,
        paper=PAPER_BOOKS[tokenizer],
        precision=preset.precision,
        **seeding(ladder.seeds),
        not_measurable=ladder.not_measurable,
    )


@register_study("lm-books-char", "Gutenberg books, character tokens, context 64 (paper §5.3, App. B, Fig. 12)")
def books_char(preset: Preset) -> Study:
    return _books(preset, "char")


@register_study("lm-books-gpt2", "Gutenberg books, GPT-2 BPE tokens, context 64 (paper §5.3, App. B, Fig. 13)")
def books_gpt2(preset: Preset) -> Study:
    return _books(preset, "gpt2")
