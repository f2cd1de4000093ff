"""Encode throughput of the text tokenizers (char, byte, gpt2) on the book corpus.

    .venv/bin/python benchmarks/text_tokenize.py            # whole corpus (35.7M chars), ~0.5 min on 2 cores
    .venv/bin/python benchmarks/text_tokenize.py --quick    # a 2M-character slice, a few seconds
    .venv/bin/python benchmarks/text_tokenize.py --json     # one JSON object per line

Measures the in-memory encode the cache builder runs (`agentscaling.data.text`: chunked, GPT-2 via
`tokenizers.encode_batch`, which uses all cores); reading and decompressing the corpus is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from agentscaling.data import text as text_corpus  # noqa: E402
from agentscaling.paths import CACHE_DIR  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="encode a 2M-character slice instead of the whole corpus")
    ap.add_argument("--chars", type=int, default=None, help="encode this many characters (from the middle)")
    ap.add_argument("--repeat", type=int, default=1, help="best of N timings")
    ap.add_argument("--tokenizers", default="char,byte,gpt2")
    ap.add_argument("--cache-dir", default=str(CACHE_DIR), help="where the decompressed corpus is kept")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)

    whole = text_corpus.books_text(Path(args.cache_dir))
    n = args.chars or (2_000_000 if args.quick else len(whole))
    start = max(0, (len(whole) - n) // 2)
    sample = whole[start : start + n]
    rows = []
    for name in args.tokenizers.split(","):
        codec = text_corpus._make_codec(name, full_text=whole)
        codec.encode(sample[:10_000])  # warm up (loads the BPE, fills nothing big)
        best = float("inf")
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            ids = codec.encode(sample)
            best = min(best, time.perf_counter() - t0)
        rows.append(
            {
                "bench": "text_tokenize",
                "corpus": "books",
                "tokenizer": name,
                "chars": len(sample),
                "tokens": int(len(ids)),
                "seconds": round(best, 4),
                "chars_per_s": round(len(sample) / best),
                "tokens_per_s": round(len(ids) / best),
                "chars_per_token": round(len(sample) / len(ids), 4),
                "vocab_size": codec.vocab_size,
                "cpus": os.cpu_count(),
            }
        )
    if args.json:
        for r in rows:
            print(json.dumps(r))
    else:
        print(f"books corpus, {len(sample):,} chars, {os.cpu_count()} CPUs")
        print(
            f"{'tokenizer':<9} {'vocab':>6} {'tokens':>12} {'chars/tok':>9} {'seconds':>8} "
            f"{'Mchars/s':>9} {'Mtok/s':>8}"
        )
        for r in rows:
            print(
                f"{r['tokenizer']:<9} {r['vocab_size']:>6} {r['tokens']:>12,} {r['chars_per_token']:>9.3f} "
                f"{r['seconds']:>8.2f} {r['chars_per_s'] / 1e6:>9.2f} {r['tokens_per_s'] / 1e6:>8.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
