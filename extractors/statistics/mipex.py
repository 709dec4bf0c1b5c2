"""MIPEX (Migrant Integration Policy Index) scores from published spreadsheets exported as CSV.

Each configured file (``config/statistics.yml``, ``mipex.files``) says which column names the
country, which edition the scores belong to (fixed, or a column for files with several
editions), and which columns are which policy strands (overall, labour market mobility, family
reunification, education, health, political participation, permanent residence, access to
nationality, anti-discrimination).

Country reconciliation: names and codes (ISO3 ``AUT``, ISO2, English, native and other-language
names, old names such as "Czech Republic") are matched to Eurostat codes with the countries seed.
The :class:`ReconciliationReport` says what could not be matched (those rows also go to
``raw.rejected_records``) and where two files disagree on the same edition, country and strand
(e.g. Austria 42 vs 41): both are kept, by file, and the disagreement is reported, never
averaged away.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from core.db import Role, connection
from core.runs import new_run_id
from extractors.statistics.config import MipexFile
from extractors.statistics.reference import CountryResolver
from extractors.statistics.store import store_rejections

log = logging.getLogger(__name__)

STRANDS = (
    "overall",
    "labour_market_mobility",
    "family_reunification",
    "education",
    "health",
    "political_participation",
    "permanent_residence",
    "access_to_nationality",
    "anti_discrimination",
)


@dataclass(frozen=True)
class MipexScore:
    source_file: str
    edition: int
    country_code: str
    country_name: str
    strand: str
    score: float


@dataclass
class Unmatched:
    source_file: str
    line: int
    country: str
    reason: str


@dataclass
class Conflict:
    edition: int
    country_code: str
    strand: str
    scores: dict[str, float]  # file id -> score


@dataclass
class ReconciliationReport:
    files: dict[str, int] = field(default_factory=dict)  # file id -> scores read
    unmatched: list[Unmatched] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    scores: list[MipexScore] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "files": self.files,
            "scores": len(self.scores),
            "unmatched": [
                f"{u.source_file}:{u.line} {u.country!r}: {u.reason}" for u in self.unmatched
            ],
            "conflicts": [
                f"{c.country_code} {c.edition} {c.strand}: "
                + ", ".join(f"{k}={v:g}" for k, v in sorted(c.scores.items()))
                for c in self.conflicts
            ],
        }


def read_mipex_file(
    path: Path, spec: MipexFile, countries: CountryResolver
) -> tuple[list[MipexScore], list[Unmatched]]:
    """Scores of one file; rows whose country (or score) cannot be read are returned as unmatched."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), delimiter=spec.delimiter)
    header = reader.fieldnames or []
    needed = [
        spec.country_column,
        *spec.strands,
        *([spec.edition_column] if spec.edition_column else []),
    ]
    missing = [c for c in needed if c not in header]
    if missing:
        raise ValueError(
            f"{path.name}: column(s) {missing} not found (header: {header}); fix mipex.files "
            f"entry {spec.id!r} in config/statistics.yml"
        )
    bad_strands = sorted(set(spec.strands.values()) - set(STRANDS))
    if bad_strands:
        raise ValueError(f"{spec.id}: unknown strand(s) {bad_strands}; known: {', '.join(STRANDS)}")
    scores: list[MipexScore] = []
    unmatched: list[Unmatched] = []
    for lineno, row in enumerate(reader, start=2):
        name = (row.get(spec.country_column) or "").strip()
        if not name:
            continue
        code = countries.resolve(name)
        if code is None:
            unmatched.append(
                Unmatched(spec.id, lineno, name, "country not in dbt/seeds/countries.csv")
            )
            continue
        try:
            edition = spec.edition or int(float(row[spec.edition_column or ""]))
        except (TypeError, ValueError):
            unmatched.append(
                Unmatched(
                    spec.id,
                    lineno,
                    name,
                    f"unreadable edition {row.get(spec.edition_column or '')!r}",
                )
            )
            continue
        for column, strand in spec.strands.items():
            cell = (row.get(column) or "").strip()
            if cell in ("", "NA", "n/a", "-", ".."):
                continue  # the strand was not scored for this country in this edition
            try:
                score = float(cell.replace(",", "."))
            except ValueError:
                unmatched.append(
                    Unmatched(spec.id, lineno, name, f"unreadable score {cell!r} in {column!r}")
                )
                continue
            if not 0 <= score <= 100:
                unmatched.append(
                    Unmatched(spec.id, lineno, name, f"score {score} outside 0-100 in {column!r}")
                )
                continue
            scores.append(MipexScore(spec.id, edition, code, name, strand, score))
    return scores, unmatched


def reconcile(
    files: list[tuple[Path, MipexFile]], countries: CountryResolver
) -> ReconciliationReport:
    """Read every file, match countries, and find disagreements between files."""
    report = ReconciliationReport()
    for path, spec in files:
        scores, unmatched = read_mipex_file(path, spec, countries)
        # The same country twice in one file (e.g. "Czechia" and "Czech Republic"): keep the
        # first and report the second, rather than letting the last one win silently.
        seen: set[tuple[int, str, str]] = set()
        for s in scores:
            key = (s.edition, s.country_code, s.strand)
            if key in seen:
                report.unmatched.append(
                    Unmatched(
                        spec.id,
                        0,
                        s.country_name,
                        f"{s.country_code} {s.edition} {s.strand} listed twice",
                    )
                )
                continue
            seen.add(key)
            report.scores.append(s)
        report.files[spec.id] = len(seen)
        report.unmatched.extend(unmatched)
        log.info("MIPEX %s: %d scores, %d rows unmatched", spec.id, len(seen), len(unmatched))
    by_key: dict[tuple[int, str, str], dict[str, float]] = {}
    for s in report.scores:
        by_key.setdefault((s.edition, s.country_code, s.strand), {})[s.source_file] = s.score
    for (edition, code, strand), per_file in sorted(by_key.items()):
        if len(set(per_file.values())) > 1:
            report.conflicts.append(Conflict(edition, code, strand, per_file))
    for c in report.conflicts:
        log.warning(
            "MIPEX sources disagree: %s %s %s %s", c.country_code, c.edition, c.strand, c.scores
        )
    for u in report.unmatched:
        log.warning(
            "MIPEX %s line %d: %r not imported: %s", u.source_file, u.line, u.country, u.reason
        )
    return report


def store_mipex(url: str, report: ReconciliationReport, *, location: str) -> str:
    """Upsert the scores; file the unmatched rows in raw.rejected_records. Returns the run id."""
    run_id = new_run_id("mipex", "scores")
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, records_read) VALUES (%s, 'mipex', %s, %s)",
            (run_id, location[:2000], len(report.scores) + len(report.unmatched)),
        )
        inserted = updated = 0
        for s in report.scores:
            cur.execute(
                "INSERT INTO raw.mipex_scores (source_file, edition, country_code, country_name, strand, "
                "score, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (source_file, edition, country_code, strand) DO UPDATE SET "
                "score = EXCLUDED.score, country_name = EXCLUDED.country_name, run_id = EXCLUDED.run_id, "
                "fetched_at = now() WHERE raw.mipex_scores.score IS DISTINCT FROM EXCLUDED.score "
                "RETURNING (xmax = 0) AS inserted",
                (
                    s.source_file,
                    s.edition,
                    s.country_code,
                    s.country_name,
                    s.strand,
                    s.score,
                    run_id,
                ),
            )
            row = cur.fetchone()
            if row is not None:
                inserted += int(row[0])
                updated += int(not row[0])
        store_rejections(
            cur,
            run_id,
            "mipex",
            [
                (f"{u.source_file}:{u.line}", u.reason, f"{u.source_file}:{u.line}: {u.country}")
                for u in report.unmatched
            ],
        )
        cur.execute(
            "UPDATE raw.import_runs SET status = 'succeeded', finished_at = now(), inserted = %s, "
            "updated = %s, unchanged = %s, rejected = %s WHERE run_id = %s",
            (
                inserted,
                updated,
                len(report.scores) - inserted - updated,
                len(report.unmatched),
                run_id,
            ),
        )
    log.info(
        "MIPEX: %d scores (%d new, %d changed), %d unmatched, %d conflicts (run %s)",
        len(report.scores),
        inserted,
        updated,
        len(report.unmatched),
        len(report.conflicts),
        run_id,
    )
    return run_id
