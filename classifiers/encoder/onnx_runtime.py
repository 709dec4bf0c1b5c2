"""ONNX Runtime backend of the shared encoder: export once, fuse, quantise to int8, run sessions.

    path = ensure_onnx(source, fingerprint)       # exports on first use (~1 min), then cached
    model = OnnxModel(path, config, num_threads=1)
    hidden = model(input_ids, attention_mask)     # numpy int64 in, float32 [b, w, dim] out

Recipe (EXPORT_FORMAT 2, docs/encoder.md):
1. `torch.onnx.export(..., dynamo=False)` (the TorchScript exporter, opset 17) of the model loaded
   with `attn_implementation="eager"`, dynamic batch and sequence axes: the one graph in which
   the transformers fusion script recognises BERT's attention (neither the dynamo graph nor
   SDPA attention fuse).
2. `onnxruntime.transformers.optimizer.optimize_model(model_type="bert")`: one
   EmbedLayerNormalization, one Attention per layer, BiasGelu; residual Add + LayerNormalization
   are deliberately *not* fused into SkipLayerNormalization, and the session does not fuse them
   either (`SkipLayerNormFusion` disabled): on this CPU ORT's SkipLayerNormalization kernel took
   ~20 % of a forward pass, the separate Add and LayerNormalization ~4 %.
3. `onnxruntime.quantization.quantize_dynamic`: int8 weights with one scale per output channel
   for every MatMul, the fused Attention (QAttention) and the embedding tables
   (QEmbedLayerNormalization); activations quantised per call (uint8, asymmetric).
Per-channel weight scales keep the vectors much closer to fp32 than torch's per-tensor dynamic
int8 (docs/encoder.md), and the int8 embedding table makes the file ~4x smaller. The fp32 ONNX
files are only intermediates.

The result lives in `<MONITOR_HOME>/cache/onnx/<name>@<fingerprint>/` with a marker naming the
source weights and the tool versions; a marker that does not match (other weights, another torch
or onnxruntime, another EXPORT_FORMAT) triggers a new export. The folder is built next to its
target and renamed into place, so concurrent or interrupted exports never leave a half-written
model behind.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import load_settings

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2  # bump when the export or quantisation recipe changes (goes into the version)
MODEL_FILE = "model.int8.onnx"
MARKER_FILE = "onnx_export.json"
OPSET = 17
QUANTIZED_OPS = ("MatMul", "Attention", "EmbedLayerNormalization", "Gather")
# session graph optimisations left out: SkipLayerNormalization is slower than Add + LayerNorm here
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)
# Minimum cosine between the int8 session and torch fp32 on the check sentences (measured 0.99+).
MIN_COSINE = 0.98
_CHECK_SENTENCES = (
    "query: Die Mieten in Berlin steigen weiter.",
    "query: Nouveau centre d'accueil pour réfugiés à Lyon 🙂",
    "query: ok",
)


def cache_root() -> Path:
    return load_settings().cache_dir / "onnx"


def export_dir(name: str, fingerprint: str, root: Path | None = None) -> Path:
    safe = re.sub(r"[^\w.@+-]", "_", f"{name}@{fingerprint}")
    return (root or cache_root()) / safe


def _tool_versions() -> dict[str, Any]:
    import onnxruntime
    import torch

    return {
        "format": EXPORT_FORMAT,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def is_current(folder: Path, fingerprint: str) -> bool:
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
        size = (folder / MODEL_FILE).stat().st_size
    except (OSError, ValueError):
        return False
    return (
        marker.get("fingerprint") == fingerprint
        and all(marker.get(k) == v for k, v in _tool_versions().items())
        and marker.get("size") == size
    )


class _LastHiddenState:
    """Wraps a transformers encoder so the exported graph takes (ids, mask) -> hidden states."""

    def __new__(cls, model: Any) -> Any:
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
                return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

        return Wrapper().eval()


def export(
    source: str,
    out: Path,
    fingerprint: str,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Export `source` (transformers folder or hub id) to an int8 ONNX model in `out`."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    say = progress or (lambda msg: log.info("%s", msg))
    say(f"onnx: exporting {source} (once, about a minute) ...")
    tokenizer = AutoTokenizer.from_pretrained(source)
    # eager attention: the exported graph then has the pattern the fusion script recognises
    model = AutoModel.from_pretrained(source, attn_implementation="eager").float().eval()
    wrapper = _LastHiddenState(model)
    sample = tokenizer(list(_CHECK_SENTENCES), padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model is not secret
    try:
        axes = {0: "batch", 1: "seq"}
        with warnings.catch_warnings(), torch.inference_mode(False):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                args,
                str(tmp / "model.fp32.onnx"),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
                opset_version=OPSET,
                dynamo=False,
            )
        say("onnx: fusing (attention, embeddings, GELU) ...")
        fused = _fuse(tmp / "model.fp32.onnx", tmp / "model.fused.onnx", model.config)
        (tmp / "model.fp32.onnx").unlink()
        say("onnx: quantising to int8 (per-channel weights) ...")
        # quantize_dynamic logs a "consider pre-processing" hint on the root logger
        root_level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                tmp / "model.fused.onnx",
                tmp / MODEL_FILE,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=list(QUANTIZED_OPS),
                # the fused graph's contrib ops carry no type information for the quantiser
                extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT
            )
        finally:
            logging.getLogger().setLevel(root_level)
        (tmp / "model.fused.onnx").unlink()

        # check the session against torch fp32 before publishing it
        with torch.inference_mode():
            ref = _pool(wrapper(*args).numpy(), sample["attention_mask"].numpy())
        session = OnnxModel(tmp / MODEL_FILE, model.config, num_threads=1)
        got = _pool(session(*(a.numpy() for a in args)), sample["attention_mask"].numpy())
        cosine = float((ref * got).sum(axis=1).min())
        if cosine < MIN_COSINE:
            raise RuntimeError(
                f"ONNX int8 export of {source} disagrees with torch fp32 (cosine {cosine:.4f} < "
                f"{MIN_COSINE}); not using it"
            )
        marker = {
            **_tool_versions(),
            "fingerprint": fingerprint,
            "source": source,
            "exporter": "torch.onnx.export(dynamo=False), eager attention",
            "opset": OPSET,
            "fusion": {"tool": "onnxruntime.transformers.optimizer (bert)", "fused": fused},
            "session_disabled_optimizers": list(DISABLED_OPTIMIZERS),
            "quantization": {
                "tool": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": "QInt8",
                "per_channel": True,
                "ops": list(QUANTIZED_OPS),
            },
            "check_cosine_min": round(cosine, 5),
            "size": (tmp / MODEL_FILE).stat().st_size,
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"onnx: ready at {out} ({marker['size'] / 1e6:.0f} MB, check cosine {cosine:.4f})")
    return out / MODEL_FILE


def _fuse(src: Path, dst: Path, config: Any) -> dict[str, int]:
    """BERT fusions of the transformers optimizer, without SkipLayerNormalization; returns the
    fused operator counts (recorded in the marker). A graph without fused attention still works
    (the check below decides), only slower: the counts say what happened."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    opt_log = logging.getLogger("onnxruntime.transformers")
    level = opt_log.level
    opt_log.setLevel(logging.WARNING)
    try:
        fused = optimizer.optimize_model(
            str(src),
            model_type="bert",
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
            opt_level=1,  # ORT basic optimisations first (constant folding), then the fusions
            optimization_options=options,
        )
    finally:
        opt_log.setLevel(level)
    fused.save_model_to_file(str(dst))
    stats = {k: int(v) for k, v in fused.get_fused_operator_statistics().items() if v}
    if stats.get("Attention", 0) < int(config.num_hidden_layers):
        log.warning("onnx: attention fused in %s of %s layers", stats.get("Attention", 0),
                    config.num_hidden_layers)  # fmt: skip
    return stats


def ensure_onnx(
    source: str,
    name: str,
    fingerprint: str,
    root: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """The int8 ONNX model of `source`, exported first when there is no current one."""
    folder = export_dir(name, fingerprint, root)
    if is_current(folder, fingerprint):
        return folder / MODEL_FILE
    return export(source, folder, fingerprint, progress)


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the attention mask, then L2 normalisation (as Encoder.embed does)."""
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class OnnxModel:
    """One ONNX Runtime session; `__call__` is safe from several threads at once (ORT's
    `run` is thread-safe and releases the GIL), so worker threads share it."""

    def __init__(self, path: Path, config: Any, num_threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = int(num_threads or 0)  # 0 = one per core
        options.inter_op_num_threads = 1
        # on shared cores, spinning threads burn the time another job (or worker) needs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.path = Path(path)
        self.config = config
        self.recipe = f"x{EXPORT_FORMAT}"  # part of Encoder.version: another recipe, other vectors
        self.session = ort.InferenceSession(
            str(path),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(DISABLED_OPTIMIZERS),
        )

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self.session.run(None, feed)[0]
