"""The one shared encoder pass, as every head sees it, and an on-disk cache for training runs.

`post_input(text)` is the exact string embedded for a post (scrubbed the way ingestion scrubs it,
so training data look like warehouse posts). `load_shared_encoder()` applies the classification
stage's settings (precision, truncation, threads) so that training, evaluation, the CLI, the
warehouse stage and the benchmark embed identically: heads are only valid for the encoder version
they were trained on (`classifiers.linear_head` checks it).

The cache (`<MONITOR_HOME>/cache/embeddings/<encoder version>/<sha>.npy`) is for the `train` and
`evaluate` commands only: embedding the ~14,600 labelled posts takes minutes on 2 cores, and a
re-run with unchanged texts and encoder should not pay that again. Tests never use it.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.privacy import scrub_text
from core.settings import load_settings

if TYPE_CHECKING:
    from classifiers.encoder.model import Encoder

log = logging.getLogger(__name__)

# Posts are short (tweets: ~30 tokens); beyond 128 tokens a post's stance and topic are set, and
# attention cost grows with the square of the length. Truncation is part of the encoder version.
MAX_TOKENS = 128
# Runtime: ONNX Runtime on the int8 export (classifiers.encoder.onnx_runtime) or torch.
# MONITOR_ENCODER_RUNTIME=onnx|torch; with torch, MONITOR_ENCODER_PRECISION=int8-all (every Linear
# int8, ~1.4x the default int8 policy), int8 or fp32. Each choice gives other vectors, hence
# another encoder version: the heads must be retrained for it (`python -m classifiers train`).
# The measured choice between runtimes is in docs/benchmarks.md and docs/evaluation.md.
DEFAULT_RUNTIME = "torch"
RUNTIMES = ("onnx", "torch")
DEFAULT_PRECISION = "int8-all"
PRECISIONS = ("fp32", "int8", "int8-all")
ONNX_PRECISION = "onnx-int8"  # what `precision` arguments below accept to mean the onnx runtime
# Two workers with one torch thread each, not one worker with two threads: on 2 shared cores a
# forward pass split over intra-op threads waits at every op for a thread the OS descheduled
# (under load, about half the throughput: docs/benchmarks.md). Workers are Python threads: torch releases the GIL inside each op, the
# model and tokenizer are shared (the encoder serialises tokenisation, which is not re-entrant).
DEFAULT_THREADS = 1
DEFAULT_WORKERS = 2
BATCH_SIZE = 32
WORK_ITEM = 128  # posts per worker task (length-sorted, so each pads to similar lengths)


def post_input(text: str | None) -> str:
    """What the encoder sees for a post: its scrubbed text (idempotent on warehouse text)."""
    return scrub_text(text or "")


def encoder_settings() -> tuple[str, str]:
    """(model path or id, precision) from the environment; precision "onnx-int8" means the ONNX
    Runtime backend, the others torch."""
    settings = load_settings()
    runtime = settings.encoder_runtime or DEFAULT_RUNTIME
    if runtime not in RUNTIMES:
        raise ValueError(f"MONITOR_ENCODER_RUNTIME={runtime!r}: use one of {RUNTIMES}")
    precision = settings.encoder_precision or DEFAULT_PRECISION
    if precision not in PRECISIONS:
        raise ValueError(f"MONITOR_ENCODER_PRECISION={precision!r}: use one of {PRECISIONS}")
    return settings.encoder_path, ONNX_PRECISION if runtime == "onnx" else precision


def load_shared_encoder(
    path: str | None = None, precision: str | None = None, num_threads: int | None = None
) -> Encoder:
    """The stage's encoder; `precision` is one of PRECISIONS (torch) or "onnx-int8"."""
    from classifiers.encoder import load_encoder

    default_path, default_precision = encoder_settings()
    precision = precision or default_precision
    if precision not in (*PRECISIONS, ONNX_PRECISION):
        raise ValueError(f"precision {precision!r}: use one of {(*PRECISIONS, ONNX_PRECISION)}")
    threads = num_threads or load_settings().encoder_threads or DEFAULT_THREADS
    encoder = load_encoder(
        path or default_path,
        quantize=precision != "fp32",
        quantize_all=precision == "int8-all",
        num_threads=threads,
        runtime="onnx" if precision == ONNX_PRECISION else "torch",
    )
    encoder.max_length = min(encoder.max_length, MAX_TOKENS)
    return encoder


def encoder_version(encoder: Encoder) -> str:
    """Encoder.version plus the truncation: both change the vectors."""
    return f"{encoder.version}/t{encoder.max_length}"


def workers() -> int:
    return max(1, load_settings().encoder_workers or DEFAULT_WORKERS)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _embed(encoder: Encoder, texts: list[str], batch_size: int) -> np.ndarray:
    n_workers = workers()
    if n_workers <= 1 or len(texts) <= WORK_ITEM:
        return encoder.embed(texts, batch_size=batch_size)
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != n_workers:
            _pool = ThreadPoolExecutor(n_workers, thread_name_prefix="encoder")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    items = [order[i : i + WORK_ITEM] for i in range(0, len(order), WORK_ITEM)]

    def run(item: list[int]) -> np.ndarray:
        return encoder.embed([texts[i] for i in item], batch_size=batch_size)

    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for item, vectors in zip(items, _pool.map(run, items), strict=True):
        out[item] = vectors
    return out


def embed_posts(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 2048,
) -> np.ndarray:
    """Embed posts (scrubbed first) in chunks, reporting progress between chunks; each chunk is
    length-sorted and spread over `MONITOR_ENCODER_WORKERS` workers."""
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for start in range(0, len(texts), chunk):
        part = [post_input(t) for t in texts[start : start + chunk]]
        out[start : start + len(part)] = _embed(encoder, part, batch_size)
        if progress:
            progress(start + len(part), len(texts))
    return out


_background: ThreadPoolExecutor | None = None


def embed_posts_soon(encoder: Encoder, texts: Sequence[str], **kwargs) -> Future[np.ndarray]:
    """`embed_posts` started on a background thread: the caller does the stage's serial work
    (language ID, places, keywords: ~1 ms per post, docs/classifiers.md) while the workers
    encode, instead of leaving a core idle before and after the encoder."""
    global _background
    with _pool_lock:
        if _background is None:
            _background = ThreadPoolExecutor(1, thread_name_prefix="encoder-batches")
    return _background.submit(embed_posts, encoder, texts, **kwargs)


def cache_dir() -> Path:
    return load_settings().home / "cache" / "embeddings"


def cached_embeddings(encoder: Encoder, texts: Sequence[str], name: str) -> np.ndarray:
    """Embeddings of `texts`, from the cache when the same texts were embedded by this encoder."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    path_id = f"b{BATCH_SIZE}w{WORK_ITEM}"  # int8 vectors depend slightly on batch neighbours
    folder = cache_dir() / (encoder_version(encoder).replace("/", "_") + "-" + path_id)
    path = folder / f"{name}-{len(texts)}-{h.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        print(f"  embedding {name}: {done}/{total} ({rate:.0f} posts/s)", file=sys.stderr)

    vectors = embed_posts(encoder, texts, progress=report)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors
