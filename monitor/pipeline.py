"""The stages of the end-to-end pipeline, each a plain function of the warehouse URL.

The production DAGs (`dags/`) run the same stages as asset-linked DAGs; tests and the CLI call
them directly. Import folders: `<import_dir>/posts/*.ndjson[.gz]|*.csv[.gz]` and
`<import_dir>/statistics/*.csv`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from core import migrate
from monitor import transform
from publication import publish

log = logging.getLogger(__name__)

POST_PATTERNS = ("*.ndjson", "*.ndjson.gz", "*.jsonl", "*.csv", "*.csv.gz")


class QualityGateFailed(RuntimeError):
    pass


def prepare(url: str) -> list[str]:
    return migrate.migrate(url)


def post_files(import_dir: Path) -> list[Path]:
    folder = Path(import_dir) / "posts"
    return sorted({p for pattern in POST_PATTERNS for p in folder.glob(pattern)})


def ingest(url: str, import_dir: Path, *, pepper: str) -> dict[str, dict]:
    from extractors.social.file_import import import_file
    from extractors.statistics.simple_csv import import_simple_csv

    files = post_files(import_dir)
    if not files:
        raise FileNotFoundError(
            f"no post files in {Path(import_dir) / 'posts'} (expected {', '.join(POST_PATTERNS)}); "
            "`monitor demo-data` writes the demo files there"
        )
    report: dict[str, dict] = {}
    for path in files:
        # Each file is its own run: one that cannot be read is recorded (its run in
        # raw.import_runs says why) and the files after it are still imported.
        try:
            report[path.name] = {
                "status": "succeeded",
                **asdict(import_file(url, path, pepper=pepper)),
            }
        except Exception as exc:
            log.error("%s: import failed: %s: %s", path.name, type(exc).__name__, exc)
            report[path.name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    for path in sorted((Path(import_dir) / "statistics").glob("*.csv")):
        report[path.name] = {"rows": import_simple_csv(url, path, source=path.stem)}
    return report


def classify(url: str) -> dict[str, int]:
    """Every classification task (language, areas, sentiment, hate, places, keywords) on the
    posts the current model versions have not seen: the same routine as the classify_posts DAG,
    so both register the same versions and the marts never mix them."""
    from classifiers.warehouse import classify_warehouse

    return classify_warehouse(url)


def build(url: str) -> int:
    return len(transform.build(url))


def audit(url: str) -> str:
    """Run the quality gate; return its run id, or raise when a blocking check failed."""
    from expectations.gate import validate

    gate = validate(url)
    if not gate.passed:
        raise QualityGateFailed(f"quality gate {gate.gate_run_id} {gate.summary()}")
    return gate.gate_run_id


def publish_marts(url: str, gate_run_id: str) -> None:
    publish.publish(url, gate_run_id)


def run_all(url: str, import_dir: Path, *, pepper: str) -> str:
    """Every stage in order, without Airflow (for tests and debugging); returns the gate run id."""
    prepare(url)
    ingest(url, import_dir, pepper=pepper)
    classify(url)
    build(url)
    gate_run_id = audit(url)
    publish_marts(url, gate_run_id)
    return gate_run_id
