"""The real GPT-2 byte-level BPE, loaded offline from the project's data/gpt2/, and a chunked encoder.

`gpt2_tokenizer()` builds a `tokenizers.Tokenizer` from OpenAI's original `encoder.json`/`vocab.bpe`
(shipped as data/gpt2/vocab.json and data/gpt2/merges.txt, byte-identical; sha256 pinned below):
BPE model, ByteLevel pre-tokenizer with `add_prefix_space=False` (GPT-2's regex split), ByteLevel
decoder, and `<|endoftext|>` (id 50256) as the one special token. Its ids equal GPT-2's / tiktoken's
`gpt2` encoding: "Hello world" -> [15496, 995].

Chunked encoding: long texts are cut into pieces of roughly `chunk_chars` characters, only at a
position where a newline follows a printable, non-space ASCII character. GPT-2's pre-tokenizer regex
never lets one pre-token span a non-space→space transition, and no alternative looks behind, so both
pieces tokenize exactly as they would inside the whole text: the concatenated ids are identical to
`tokenizer.encode(text).ids` (tests/test_text_data.py checks this on a corpus slice).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Callable, Iterator

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataIntegrityError
from ..paths import data_file

GPT2_VOCAB = "gpt2/vocab.json"
GPT2_MERGES = "gpt2/merges.txt"
GPT2_VOCAB_SIZE = 50257
GPT2_EOT = "<|endoftext|>"
GPT2_EOT_ID = 50256
# OpenAI's originals (also the hashes tiktoken pins for encoder.json / vocab.bpe).
GPT2_SHA256 = {
    GPT2_VOCAB: "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    GPT2_MERGES: "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
# Everything besides the two files that decides the ids; part of the tokenizer hash.
GPT2_PIPELINE = (
    "BPE(vocab.json, merges.txt); pre=ByteLevel(add_prefix_space=False, use_regex=True); "
    "decoder=ByteLevel; special=[<|endoftext|>=50256]"
)


@functools.lru_cache(maxsize=None)
def _verified_sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, computed once per process per (path, size, mtime)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def verified_data_file(name: str, expected_sha256: str):
    """The data/ file `name` (UserError if missing), its sha256 checked against the pinned value once per
    process (DataIntegrityError naming the file on a mismatch)."""
    p = data_file(name)
    st = p.stat()
    got = _verified_sha256(str(p), st.st_size, st.st_mtime_ns)
    if got != expected_sha256:
        raise DataIntegrityError(
            f"data file {p} has sha256 {got}, expected {expected_sha256}: it is corrupt or was replaced; "
            "restore it from the repository"
        )
    return p


def gpt2_tokenizer_hash() -> str:
    """sha256 identifying the GPT-2 tokenizer: the two files' sha256 plus the pipeline description."""
    text = "\n".join([GPT2_SHA256[GPT2_VOCAB], GPT2_SHA256[GPT2_MERGES], GPT2_PIPELINE])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=1)
def _gpt2_tokenizer_cached():
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = verified_data_file(GPT2_VOCAB, GPT2_SHA256[GPT2_VOCAB])
    merges = verified_data_file(GPT2_MERGES, GPT2_SHA256[GPT2_MERGES])
    tok = Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(GPT2_EOT, special=True)])
    if tok.get_vocab_size() != GPT2_VOCAB_SIZE or tok.token_to_id(GPT2_EOT) != GPT2_EOT_ID:
        raise DataIntegrityError(
            f"GPT-2 tokenizer from {vocab} has vocab {tok.get_vocab_size()}, expected {GPT2_VOCAB_SIZE}"
        )
    return tok


def gpt2_tokenizer():
    """The GPT-2 byte-level BPE as a `tokenizers.Tokenizer`, built offline from data/gpt2/.

    One shared instance per process (do not mutate it). "Hello world" -> [15496, 995]."""
    return _gpt2_tokenizer_cached()


# --------------------------------------------------------------------------------------------------
# Chunked encoding


def _is_cut_char(c: str) -> bool:
    return "!" <= c <= "~"  # printable ASCII, not space


def safe_chunks(text: str, chunk_chars: int = 1 << 16) -> Iterator[str]:
    """Split `text` into consecutive pieces of about `chunk_chars` characters, cutting only just before a
    "\\n" that follows a printable non-space ASCII character (a GPT-2 pre-token boundary). The pieces
    concatenate back to `text`; a piece may be longer when no such position exists."""
    n = len(text)
    start = 0
    while start < n:
        pos = start + chunk_chars
        if pos >= n:
            yield text[start:]
            return
        cut = text.find("\n", pos)
        while cut != -1 and not _is_cut_char(text[cut - 1]):
            cut = text.find("\n", cut + 1)
        if cut == -1:
            yield text[start:]
            return
        yield text[start:cut]
        start = cut


def encode_chunked(
    text: str,
    encode_batch: Callable[[list[str]], list[np.ndarray]],
    *,
    chunk_chars: int = 1 << 16,
    batch_chunks: int = 32,
    dtype=np.uint16,
    progress: bool = False,
    desc: str = "tokenize",
) -> np.ndarray:
    """Encode `text` piece by piece (see `safe_chunks`), `batch_chunks` pieces per `encode_batch` call,
    with a tqdm bar in characters behind `progress`. Returns one concatenated id array of `dtype`."""

    parts: list[np.ndarray] = []
    batch: list[str] = []
    with tqdm(total=len(text), unit="char", unit_scale=True, desc=desc, disable=not progress, leave=False) as bar:

        def flush():
            if batch:
                parts.extend(np.asarray(a, dtype=dtype) for a in encode_batch(batch))
                bar.update(sum(len(s) for s in batch))
                batch.clear()

        for piece in safe_chunks(text, chunk_chars):
            batch.append(piece)
            if len(batch) >= batch_chunks:
                flush()
        flush()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def gpt2_encode_batch(texts: list[str]) -> list[np.ndarray]:
    """GPT-2 ids for each text (plain text: a literal "<|endoftext|>" in the text maps to 50256)."""
    encs = gpt2_tokenizer().encode_batch(texts, add_special_tokens=False)
    return [np.asarray(e.ids, dtype=np.int64) for e in encs]


def gpt2_encode(text: str, *, progress: bool = False, desc: str = "gpt2") -> np.ndarray:
    """GPT-2 ids of `text` as uint16 (all ids < 50257), encoded in chunks; equal to the one-shot encode."""
    return encode_chunked(text, gpt2_encode_batch, progress=progress, desc=desc)


def gpt2_decode(ids) -> str:
    ids = np.asarray(ids, dtype=np.int64).reshape(-1).tolist()
    return gpt2_tokenizer().decode(ids, skip_special_tokens=False)
