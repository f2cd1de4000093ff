"""Text corpora for the language ablations: Tiny Shakespeare (paper §5.1, nanoGPT `shakespeare_char`) and
the Project Gutenberg book corpus standing in for BookCorpus (§5.3, character vs GPT-2 BPE).

    corpus = load_corpus("shakespeare", "char")       # or ("books", "gpt2"), ...
    corpus.train, corpus.val                          # 1-D uint16 token ids, memory-mapped from the cache
    corpus.vocab_size, corpus.info                    # info: JSON-able provenance for config.json
    corpus.decode(ids), corpus.encode(text)

Corpora (files under the project's data/, sha256 pinned below and checked once per process):
- "shakespeare": data/tinyshakespeare.txt (1,115,394 chars). Split exactly as nanoGPT: the first
  int(0.9 * n_chars) = 1,003,854 characters are train, the last 111,540 val. Byte/BPE tokenizers encode
  the two parts separately (as nanoGPT's shakespeare/prepare.py does).
- "books": data/gutenberg_books.txt.xz, decompressed once with Python's lzma into the cache dir (its
  sha256 verified). Split BY BOOK with the manifest (data/gutenberg_books.manifest.tsv): a book goes to
  val iff its manifest `order` is a multiple of 10; the three overlapping Grimm editions (PG 2591, 11027,
  19068, ~12 % shared 8-word shingles) form one group that follows its lowest order (42), so all three
  stay in train and no val text leaks into train. Val: orders 10, 20, 30, 40, 60 (5 books, ~6.5 % of the
  characters); train: the other 59. Each book keeps its trailing "\\n\\n" separator (the last book its
  final "\\n"); a split's text is its books concatenated in manifest order. Each book slice is checked
  against the manifest's `sha256_of_kept_text` when the cache is built.

Tokenizers:
- "char": one token per Unicode character; the vocabulary is the sorted set of distinct characters of
  the whole corpus file (nanoGPT's rule): 65 for Shakespeare, 159 for the books (91 ASCII + 68
  non-ASCII, >99 % of them curly quotes and dashes). Exact round trip.
- "byte": raw UTF-8 bytes, vocab 256 (an ASCII-like character level with no corpus-dependent vocab).
- "gpt2": OpenAI's GPT-2 byte-level BPE (see `agentscaling.data.bpe`), vocab 50,257.

Cache: CACHE_DIR/text/<corpus>-<tokenizer>-<key>/{train.npy, train.json, val.npy, val.json, meta.json};
key = config_hash(format, corpus sha256, tokenizer hash, split rule). Arrays are written atomically with
a sidecar JSON (sha256 of the array data, dtype, length); meta.json is written last. On load the dtype
and length are always checked and the sha256 once per process (per file identity); a corrupt or
truncated cache is rebuilt with a logged warning, never used. Concurrent builders serialise on a lock.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import lzma
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from ..errors import DataIntegrityError, UserError
from ..io import atomic_save_npy, atomic_write_bytes, atomic_write_json, config_hash, file_lock, read_json
from . import bpe

log = logging.getLogger(__name__)

CORPORA = ("shakespeare", "books")
TOKENIZERS = ("char", "byte", "gpt2")
FORMAT_VERSION = 1

SHAKESPEARE_FILE = "tinyshakespeare.txt"
BOOKS_XZ = "gutenberg_books.txt.xz"
BOOKS_MANIFEST = "gutenberg_books.manifest.tsv"
SHA256 = {
    SHAKESPEARE_FILE: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    BOOKS_XZ: "9d858fbed7476faf5f1ac20e8d3c0133a98b622985373cfc8bd67598277c10b4",
    BOOKS_MANIFEST: "bcb5ccf4e1c972d7e4b5231f30d0f64a11f969e3751677590a3967dac09e8c5a",
}
BOOKS_TXT_SHA256 = "d8541df923204f8639cd79067af57f005c8cd7dda30a488c8392456106a7f3fb"
BOOKS_TXT_BYTES = 36_126_015

SHAKESPEARE_SPLIT = (
    "nanoGPT shakespeare_char: the first int(0.9 * n_chars) characters -> train, the rest -> val; "
    "non-char tokenizers encode the two parts separately"
)
BOOKS_VAL_EVERY = 10
BOOKS_GROUPS = ((2591, 11027, 19068),)  # overlapping Grimm editions: kept in one split (pg_ebook numbers)
BOOKS_SPLIT = (
    "by book: a book goes to val iff its manifest order is a multiple of 10, else train; overlapping "
    "editions (PG 2591, 11027, 19068) follow their group's lowest order; each book keeps its trailing "
    "separator; books concatenated in manifest order"
)

_CHAR_RULE = "char: id = rank of the character in the sorted set of distinct characters of the whole corpus"
_BYTE_RULE = "byte: id = UTF-8 byte value, vocab 256"


# --------------------------------------------------------------------------------------------------
# Tokenizers (internal codecs)


class _Codec:
    name: str
    vocab_size: int
    hash: str

    @property
    def dtype(self):
        return np.uint16 if self.vocab_size <= 65536 else np.uint32

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        raise NotImplementedError

    def encode(self, text: str, *, progress: bool = False, desc: str = "tokenize") -> np.ndarray:
        return bpe.encode_chunked(
            text, self.encode_batch, chunk_chars=self.chunk_chars, dtype=self.dtype, progress=progress, desc=desc
        )

    def decode(self, ids) -> str:
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError


class _CharCodec(_Codec):
    name = "char"
    chunk_chars = 1 << 20

    def __init__(self, vocabulary: list[str]):
        if len(set(vocabulary)) != len(vocabulary) or any(len(c) != 1 for c in vocabulary):
            raise DataIntegrityError("character vocabulary must be distinct single characters")
        self.vocabulary = list(vocabulary)
        self.vocab_size = len(vocabulary)
        self.hash = hashlib.sha256(json.dumps(self.vocabulary, ensure_ascii=True).encode()).hexdigest()
        cps = np.array([ord(c) for c in vocabulary], dtype=np.int64)
        self._lut = np.full(int(cps.max()) + 2 if len(cps) else 1, -1, dtype=np.int64)
        self._lut[cps] = np.arange(len(cps))
        self._chars = np.array(vocabulary, dtype="<U1")

    @classmethod
    def from_text(cls, text: str) -> "_CharCodec":
        return cls(sorted(set(text)))

    def encode_batch(self, texts):
        out = []
        for t in texts:
            cps = np.frombuffer(t.encode("utf-32-le"), dtype="<u4").astype(np.int64)
            cps = np.minimum(cps, len(self._lut) - 1)  # the last lut slot is always -1 (unknown)
            ids = self._lut[cps]
            if (ids < 0).any():
                bad = sorted({c for c in t if ord(c) >= len(self._lut) - 1 or self._lut[ord(c)] < 0})
                raise UserError(
                    f"characters {bad[:10]!r} are not in this corpus's {self.vocab_size}-character vocabulary"
                )
            out.append(ids)
        return out

    def decode(self, ids) -> str:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise UserError(f"token ids must lie in [0, {self.vocab_size}) for this character vocabulary")
        return "".join(self._chars[ids].tolist())

    def describe(self):
        return {
            "name": "char",
            "hash": self.hash,
            "rule": _CHAR_RULE,
            "hash_of": "json.dumps(vocabulary, ensure_ascii=True)",
        }


class _ByteCodec(_Codec):
    name = "byte"
    vocab_size = 256
    chunk_chars = 1 << 20
    hash = hashlib.sha256(_BYTE_RULE.encode()).hexdigest()

    def encode_batch(self, texts):
        return [np.frombuffer(t.encode("utf-8"), dtype=np.uint8) for t in texts]

    def decode(self, ids) -> str:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() > 255):
            raise UserError("byte token ids must lie in [0, 256)")
        return ids.astype(np.uint8).tobytes().decode("utf-8", errors="replace")

    def describe(self):
        return {"name": "byte", "hash": self.hash, "rule": _BYTE_RULE, "hash_of": "the rule string"}


class _GPT2Codec(_Codec):
    name = "gpt2"
    vocab_size = bpe.GPT2_VOCAB_SIZE
    chunk_chars = 1 << 16

    def __init__(self):
        self.hash = bpe.gpt2_tokenizer_hash()

    def encode_batch(self, texts):
        return bpe.gpt2_encode_batch(texts)

    def decode(self, ids) -> str:
        return bpe.gpt2_decode(ids)

    def describe(self):
        return {
            "name": "gpt2",
            "hash": self.hash,
            "rule": bpe.GPT2_PIPELINE,
            "files": {f"data/{k}": v for k, v in bpe.GPT2_SHA256.items()},
            "hash_of": "sha256(vocab.json) + sha256(merges.txt) + pipeline",
        }


def _codec_rule_hash(tokenizer: str) -> str:
    """The part of the tokenizer's identity known before reading the corpus (for the cache key)."""
    if tokenizer == "char":
        return hashlib.sha256(_CHAR_RULE.encode()).hexdigest()
    if tokenizer == "byte":
        return _ByteCodec.hash
    return bpe.gpt2_tokenizer_hash()


def _make_codec(tokenizer: str, full_text: str | None = None, vocabulary: list[str] | None = None) -> _Codec:
    if tokenizer == "char":
        return _CharCodec(vocabulary) if vocabulary is not None else _CharCodec.from_text(full_text)
    if tokenizer == "byte":
        return _ByteCodec()
    bpe.gpt2_tokenizer()  # load + verify the files now, so a missing file is a UserError up front
    return _GPT2Codec()


# --------------------------------------------------------------------------------------------------
# The corpus object


@dataclass(frozen=True, eq=False)
class Corpus:
    name: str  # "shakespeare" | "books"
    tokenizer: str  # "char" | "byte" | "gpt2"
    train: np.ndarray  # token ids (uint16), memory-mapped from the cache
    val: np.ndarray
    vocab_size: int
    info: dict  # JSON-able provenance (see module docstring / load_corpus)
    _codec: Any = field(default=None, repr=False, compare=False)

    def _get_codec(self) -> _Codec:
        if self._codec is None:
            object.__setattr__(self, "_codec", _make_codec(self.tokenizer, vocabulary=self.info.get("vocabulary")))
        return self._codec

    def decode(self, ids) -> str:
        """Text of a sequence of token ids (list, numpy array or CPU tensor)."""
        return self._get_codec().decode(ids)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of `text` with this corpus's tokenizer (char: UserError on an unknown character)."""
        return self._get_codec().encode(text)

    def __repr__(self) -> str:
        return (
            f"Corpus(name={self.name!r}, tokenizer={self.tokenizer!r}, vocab_size={self.vocab_size}, "
            f"n_train={len(self.train):,}, n_val={len(self.val):,})"
        )


def epochs(tokens_seen: int, corpus: Corpus) -> float:
    """How many passes over the training split `tokens_seen` tokens amount to."""
    return float(tokens_seen) / len(corpus.train)


def superclass_partition(vocab_size: int, n_classes: int = 2, seed: int = 0) -> np.ndarray:
    """A fixed random partition of the vocabulary into `n_classes` classes (paper §5.1 super-classing):
    int64 array of length `vocab_size`, token id -> class id. Deterministic per seed; the classes are
    balanced (sizes differ by at most one) so every class is non-empty."""
    if vocab_size < 1 or n_classes < 1:
        raise UserError(f"vocab_size and n_classes must be >= 1 (got {vocab_size}, {n_classes})")
    if n_classes > vocab_size:
        raise UserError(f"cannot split {vocab_size} tokens into {n_classes} non-empty classes")
    perm = np.random.default_rng(seed).permutation(vocab_size)
    out = np.empty(vocab_size, dtype=np.int64)
    out[perm] = np.arange(vocab_size) % n_classes
    return out


# --------------------------------------------------------------------------------------------------
# Sources and splits


def _check_names(name: str, tokenizer: str) -> None:
    if name not in CORPORA:
        raise UserError(f"unknown corpus {name!r}; valid names: {', '.join(CORPORA)}")
    if tokenizer not in TOKENIZERS:
        raise UserError(f"unknown tokenizer {tokenizer!r}; valid names: {', '.join(TOKENIZERS)}")


def _source_info(name: str) -> dict:
    """Verify the corpus's data files (missing -> UserError, wrong sha256 -> DataIntegrityError) and
    describe them. Cheap: hashes are computed once per process."""
    if name == "shakespeare":
        bpe.verified_data_file(SHAKESPEARE_FILE, SHA256[SHAKESPEARE_FILE])
        return {
            "file": f"data/{SHAKESPEARE_FILE}",
            "sha256": SHA256[SHAKESPEARE_FILE],
            "text_sha256": SHA256[SHAKESPEARE_FILE],
        }
    bpe.verified_data_file(BOOKS_XZ, SHA256[BOOKS_XZ])
    bpe.verified_data_file(BOOKS_MANIFEST, SHA256[BOOKS_MANIFEST])
    return {
        "file": f"data/{BOOKS_XZ}",
        "sha256": SHA256[BOOKS_XZ],
        "text_sha256": BOOKS_TXT_SHA256,
        "decompressed_bytes": BOOKS_TXT_BYTES,
        "manifest": f"data/{BOOKS_MANIFEST}",
        "manifest_sha256": SHA256[BOOKS_MANIFEST],
    }


def _read_manifest() -> list[dict]:
    p = bpe.verified_data_file(BOOKS_MANIFEST, SHA256[BOOKS_MANIFEST])
    with open(p, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for r in rows:
        for k in ("order", "pg_ebook", "chars_kept", "char_offset"):
            r[k] = int(r[k])
    rows.sort(key=lambda r: r["order"])
    return rows


def books_split_of(rows: list[dict]) -> dict[int, str]:
    """manifest order -> "train" | "val" under the by-book rule (see module docstring)."""
    by_pg = {r["pg_ebook"]: r["order"] for r in rows}
    key = {r["order"]: r["order"] for r in rows}
    for group in BOOKS_GROUPS:
        orders = [by_pg[pg] for pg in group if pg in by_pg]
        for o in orders:
            key[o] = min(orders)
    return {o: ("val" if k % BOOKS_VAL_EVERY == 0 else "train") for o, k in key.items()}


def _verify_file_sha(path: Path, expected: str) -> bool:
    st = path.stat()
    return bpe._verified_sha256(str(path), st.st_size, st.st_mtime_ns) == expected


def books_text(cache_dir: Path) -> str:
    """The decompressed book corpus, decompressed once into `cache_dir/text/` (sha256 verified; a bad
    copy is replaced with a warning)."""
    xz = bpe.verified_data_file(BOOKS_XZ, SHA256[BOOKS_XZ])
    out = Path(cache_dir) / "text" / f"gutenberg_books.{BOOKS_TXT_SHA256[:16]}.txt"
    if out.exists():
        if out.stat().st_size == BOOKS_TXT_BYTES and _verify_file_sha(out, BOOKS_TXT_SHA256):
            return out.read_bytes().decode("utf-8")
        log.warning("decompressed corpus %s is corrupt or truncated; decompressing %s again", out, xz)
    with lzma.open(xz) as f:
        raw = f.read()
    got = hashlib.sha256(raw).hexdigest()
    if got != BOOKS_TXT_SHA256:
        raise DataIntegrityError(f"{xz} decompresses to sha256 {got}, expected {BOOKS_TXT_SHA256}")
    atomic_write_bytes(out, raw)
    return raw.decode("utf-8")


def _books_split(text: str, rows: list[dict]) -> tuple[str, str, dict]:
    split_of = books_split_of(rows)
    parts: dict[str, list[str]] = {"train": [], "val": []}
    books: dict[str, list[dict]] = {"train": [], "val": []}
    if not rows or rows[0]["char_offset"] != 0:
        raise DataIntegrityError("the manifest's first book must start at character 0")
    for i, r in enumerate(rows):
        start, n = r["char_offset"], r["chars_kept"]
        book = text[start : start + n]
        if hashlib.sha256(book.encode("utf-8")).hexdigest() != r["sha256_of_kept_text"]:
            raise DataIntegrityError(f"book {r['order']} ({r['title']}) does not match its manifest sha256")
        end = rows[i + 1]["char_offset"] if i + 1 < len(rows) else len(text)
        if text[start + n : end].strip() != "":
            raise DataIntegrityError(f"text between book {r['order']} and the next is not a separator")
        s = split_of[r["order"]]
        parts[s].append(text[start:end])  # the book plus its trailing separator
        books[s].append({"order": r["order"], "pg_ebook": r["pg_ebook"], "title": r["title"]})
    detail = {
        "val_books": books["val"],
        "n_train_books": len(books["train"]),
        "n_val_books": len(books["val"]),
        "train_orders": [b["order"] for b in books["train"]],
    }
    return "".join(parts["train"]), "".join(parts["val"]), detail


def _corpus_texts(name: str, cache_dir: Path) -> tuple[str, str, str, dict]:
    """(whole text, train text, val text, split detail)."""
    if name == "shakespeare":
        p = bpe.verified_data_file(SHAKESPEARE_FILE, SHA256[SHAKESPEARE_FILE])
        text = p.read_text(encoding="utf-8")
        n = int(len(text) * 0.9)
        return text, text[:n], text[n:], {}
    text = books_text(cache_dir)
    train, val, detail = _books_split(text, _read_manifest())
    return text, train, val, detail


# --------------------------------------------------------------------------------------------------
# Cache

_VERIFIED: set[tuple] = set()  # (path, inode, size, mtime_ns) of arrays whose sha256 matched this process


class _CacheInvalid(Exception):
    pass


def _file_id(p: Path) -> tuple:
    st = p.stat()
    return (str(p.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def _array_sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(memoryview(np.ascontiguousarray(arr)).cast("B")).hexdigest()


def _open_cached(d: Path, key: str) -> tuple[dict, dict[str, np.ndarray]]:
    try:
        meta = read_json(d / "meta.json")
    except (OSError, ValueError) as e:
        raise _CacheInvalid(f"meta.json unreadable ({e})") from None
    if meta.get("cache_key") != key or meta.get("format") != FORMAT_VERSION:
        raise _CacheInvalid("meta.json belongs to another key/format")
    arrays = {}
    for split in ("train", "val"):
        path = d / f"{split}.npy"
        try:
            side = read_json(d / f"{split}.json")
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as e:  # truncated/garbled .npy, missing files
            raise _CacheInvalid(f"{path.name}: {type(e).__name__}: {e}") from None
        if (
            arr.ndim != 1
            or str(arr.dtype) != side.get("dtype")
            or len(arr) != side.get("length")
            or len(arr) != meta.get(f"n_{split}")
        ):
            raise _CacheInvalid(f"{path.name}: dtype/length {arr.dtype}/{arr.shape} do not match its sidecar")
        fid = _file_id(path)
        if fid not in _VERIFIED:
            if _array_sha256(arr) != side.get("sha256"):
                raise _CacheInvalid(f"{path.name}: sha256 mismatch")
            _VERIFIED.add(fid)
        arrays[split] = arr
    return meta, arrays


def _build(
    name: str, tokenizer: str, d: Path, key: str, cache_dir: Path, source: dict, split_rule: str, progress: bool
) -> None:
    text, train_text, val_text, detail = _corpus_texts(name, cache_dir)
    codec = _make_codec(tokenizer, full_text=text)
    arrays = {}
    for split, t in (("train", train_text), ("val", val_text)):
        arrays[split] = codec.encode(t, progress=progress, desc=f"{name}/{tokenizer} {split}")
    for split, arr in arrays.items():
        atomic_save_npy(d / f"{split}.npy", arr)
        atomic_write_json(
            d / f"{split}.json",
            {"file": f"{split}.npy", "sha256": _array_sha256(arr), "dtype": str(arr.dtype), "length": int(len(arr))},
        )
    n_chars = {"train": len(train_text), "val": len(val_text)}
    meta = {
        "format": FORMAT_VERSION,
        "cache_key": key,
        "corpus": name,
        "source": {**source, "n_chars": len(text)},
        "tokenizer": codec.describe(),
        "vocab_size": codec.vocab_size,
        "dtype": str(np.dtype(codec.dtype)),
        "split": {"rule": split_rule, "n_train_chars": n_chars["train"], "n_val_chars": n_chars["val"], **detail},
        "n_train": int(len(arrays["train"])),
        "n_val": int(len(arrays["val"])),
        "chars_per_token": {s: (n_chars[s] / len(arrays[s]) if len(arrays[s]) else None) for s in arrays},
        "vocabulary": codec.vocabulary if tokenizer == "char" else None,
    }
    atomic_write_json(d / "meta.json", meta)


def cache_path(name: str, tokenizer: str = "char", cache_dir=None) -> Path:
    """The cache directory `load_corpus(name, tokenizer, cache_dir)` uses (validates the names and data)."""
    _check_names(name, tokenizer)
    source = _source_info(name)
    return _cache_dir_for(name, tokenizer, source, Path(cache_dir) if cache_dir is not None else _default_cache())[0]


def corpus_key(name: str, tokenizer: str = "char") -> str:
    """The hash that identifies a tokenized corpus: its text's sha256, the tokenizer's rule and the split rule."""
    _check_names(name, tokenizer)
    return _cache_dir_for(name, tokenizer, _source_info(name), _default_cache())[1]


def _default_cache() -> Path:
    return paths.CACHE_DIR


def _cache_dir_for(name, tokenizer, source, cache_dir: Path) -> tuple[Path, str, str]:
    split_rule = SHAKESPEARE_SPLIT if name == "shakespeare" else BOOKS_SPLIT
    key = config_hash(
        {
            "format": FORMAT_VERSION,
            "corpus": name,
            "corpus_sha256": source["text_sha256"],
            "tokenizer": tokenizer,
            "tokenizer_hash": _codec_rule_hash(tokenizer),
            "split": split_rule,
        },
        length=16,
    )
    return cache_dir / "text" / f"{name}-{tokenizer}-{key}", key, split_rule


def load_corpus(name: str, tokenizer: str = "char", cache_dir=None, progress: bool = False) -> Corpus:
    """Load a tokenized corpus, building its cache on first use.

    name: "shakespeare" | "books"; tokenizer: "char" | "byte" | "gpt2"; cache_dir: default
    agentscaling.paths.CACHE_DIR (data/cache); progress: tqdm bars while tokenizing.
    Unknown names or a missing data file raise UserError; a data file with the wrong sha256 raises
    DataIntegrityError. `info` holds: corpus, source (files + sha256), tokenizer (name, hash, rule),
    vocab_size, dtype, split (rule, chars per split, val books), n_train, n_val, chars_per_token,
    vocabulary (char only), cache (key, dir, files)."""
    _check_names(name, tokenizer)
    source = _source_info(name)
    cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache()
    d, key, split_rule = _cache_dir_for(name, tokenizer, source, cache_dir)

    def attempt(warn: bool):
        if not (d / "meta.json").exists() and not (d / "train.npy").exists():
            return None
        try:
            return _open_cached(d, key)
        except _CacheInvalid as e:
            if warn:
                log.warning("text cache %s is corrupt or incomplete (%s); rebuilding it", d, e)
            return None

    opened = attempt(warn=False)
    if opened is None:
        with file_lock(d.parent / f".{d.name}.lock"):
            opened = attempt(warn=True)  # another process may have built it meanwhile
            if opened is None:
                _build(name, tokenizer, d, key, cache_dir, source, split_rule, progress)
                opened = _open_cached(d, key)
    meta, arrays = opened
    info = {k: v for k, v in meta.items() if k != "vocabulary" or v is not None}
    info["cache"] = {"key": key, "dir": str(d), "train": str(d / "train.npy"), "val": str(d / "val.npy")}
    codec = _make_codec(tokenizer, vocabulary=meta.get("vocabulary")) if tokenizer == "char" else None
    return Corpus(
        name=name,
        tokenizer=tokenizer,
        train=arrays["train"],
        val=arrays["val"],
        vocab_size=int(meta["vocab_size"]),
        info=info,
        _codec=codec,
    )


gpt2_tokenizer = bpe.gpt2_tokenizer  # re-exported: the GPT-2 BPE as a tokenizers.Tokenizer

__all__ = [
    "CORPORA",
    "TOKENIZERS",
    "Corpus",
    "corpus_key",
    "load_corpus",
    "epochs",
    "superclass_partition",
    "gpt2_tokenizer",
    "cache_path",
    "books_split_of",
    "books_text",
]
