"""Landing parsed statistics in the warehouse, as versions.

:func:`map_rows` turns a parsed table into warehouse rows using the dataset's mapping rules
(which dimension is the geography, which codes form the indicator, the unit).
:func:`store_fetch` writes one fetch: the import run, the fetch log row, the observations that
are new or changed since the latest stored version, and the rejected cells, in one transaction
under an advisory lock per dataset (two concurrent fetches of one dataset cannot both write the
same version).

A cell that an earlier answer had and the current one lacks is marked deleted: a tombstone
version (``deleted``, no value), so the latest view stops showing it while its history stays.
Only cells inside the answer's scope are tombstoned: the geographies asked for (when the request
named them) and periods from the answer's first period on (a query for "the last ten years"
moves forward without deleting the oldest year). An empty answer tombstones nothing: it is more
likely a broken query than a withdrawn dataset.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from core.copy import copy_rows
from core.db import Role, connection, transaction_lock
from core.runs import new_run_id
from extractors.statistics.config import MappingRules
from extractors.statistics.model import StatisticsTable, code_key
from extractors.statistics.reference import GeoResolver

log = logging.getLogger(__name__)

FREQUENCY_DIMENSIONS = {"freq", "FREQ", "frequency"}
OBSERVATION_COLUMNS = (
    "provider",
    "dataset",
    "series_key",
    "period",
    "period_start",
    "frequency",
    "geo_code",
    "geo_label",
    "indicator",
    "indicator_label",
    "unit",
    "unit_label",
    "value",
    "flags",
    "confidential",
    "status_raw",
    "dimensions",
)


@dataclass
class FetchReport:
    provider: str
    dataset: str
    run_id: str
    fetch_id: int
    observations: int
    new_series: int
    revised: int
    unchanged: int
    rejected: int
    deleted: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def map_rows(
    table: StatisticsTable,
    rules: MappingRules,
    *,
    provider: str,
    resolver: GeoResolver,
    geo_map: dict[str, str] | None = None,
) -> tuple[list[tuple], list[tuple[str, str, str]]]:
    """Warehouse rows (in :data:`OBSERVATION_COLUMNS` order) and rejected cells."""
    gi = table.dimension_index(rules.geo_dimension)
    ui = (
        table.dimensions.index(rules.unit_dimension)
        if rules.unit_dimension and rules.unit_dimension in table.dimensions
        else None
    )
    # The indicator is every dimension but geography and frequency (unit included, so one
    # indicator id never mixes units): "lfsa_egan.THS_PER.T.Y15-64.FOR".
    ind = [k for k, d in enumerate(table.dimensions) if k != gi and d not in FREQUENCY_DIMENSIONS]
    rows: list[tuple] = []
    rejected = list(table.rejected)
    unresolved: dict[str, int] = {}
    for obs in table.observations:
        geo_raw, geo_label = obs.codes[gi], obs.labels[gi]
        if geo_map is not None:
            geo_code = geo_map.get(geo_raw)
        else:
            geo_code = resolver.resolve(geo_raw, geo_label)
        if geo_code is None:
            unresolved[geo_raw] = unresolved.get(geo_raw, 0) + 1
            if unresolved[geo_raw] == 1:  # one rejection per unknown geography, not per cell
                rejected.append(
                    (
                        f"{rules.geo_dimension}={geo_raw}",
                        f"unknown geography {geo_raw!r} ({geo_label or 'no label'}): add it to "
                        "dbt/seeds/countries.csv or cities.csv (aliases), or to geo_map",
                        json.dumps(dict(zip(table.dimensions, obs.codes, strict=True))),
                    )
                )
            continue
        indicator_code = ".".join(code_key(obs.codes[k], slug=table.codes_are_labels) for k in ind)
        indicator = rules.aliases.get(indicator_code) or (
            f"{table.dataset}.{indicator_code}" if indicator_code else table.dataset
        )
        parts = [obs.labels[k] or obs.codes[k] for k in ind]
        indicator_label = ", ".join(p for p in parts if p)
        if table.label:
            indicator_label = (
                f"{table.label}: {indicator_label}" if indicator_label else table.label
            )
        if ui is not None:
            unit, unit_label = obs.codes[ui], obs.labels[ui]
        else:
            unit = (
                rules.units.get(indicator_code)
                or next((table.units[c] for c in obs.codes if c in table.units), None)
                or rules.unit_by_code_suffix.get(indicator_code[-1:])
                or rules.default_unit
            )
            unit_label = None
        rows.append(
            (
                provider,
                table.dataset,
                ".".join(obs.codes),
                obs.period,
                obs.period_start.isoformat(),
                obs.frequency,
                geo_code,
                geo_label,
                indicator,
                indicator_label or None,
                unit,
                unit_label,
                obs.value,
                obs.flags,
                obs.confidential,
                obs.status_raw,
                json.dumps(dict(zip(table.dimensions, obs.codes, strict=True)), ensure_ascii=False),
            )
        )
    if unresolved:
        log.warning(
            "%s: %d cells of %d unknown geographies rejected: %s",
            table.dataset,
            sum(unresolved.values()),
            len(unresolved),
            ", ".join(sorted(unresolved)[:10]),
        )
    return rows, rejected


def store_rejections(
    cur, run_id: str, source: str, rejected: Sequence[tuple[str, str, str]]
) -> None:
    """Quarantine (position, reason, record) triples in raw.rejected_records, once each."""
    for position, reason, record in rejected:
        cur.execute(
            "INSERT INTO raw.rejected_records (run_id, source, position, reason, record, "
            "record_hash) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT ON CONSTRAINT rejected_records_once DO NOTHING",
            (
                run_id,
                source,
                position,
                reason,
                record,
                hashlib.sha256(f"{reason}\n{record}".encode()).hexdigest(),
            ),
        )


def store_fetch(
    url: str,
    *,
    provider: str,
    dataset: str,
    request: str,
    data_format: str,
    body: bytes,
    table: StatisticsTable,
    rows: list[tuple],
    rejected: list[tuple[str, str, str]],
    scope_geo_codes: Sequence[str] | None = None,
) -> FetchReport:
    """Land one fetch; only observations new or changed since their latest version are written,
    and cells of the fetch's scope missing from the answer get a tombstone version.

    ``scope_geo_codes``: the geographies the request asked for (None: all of the dataset's).
    """
    run_id = new_run_id(provider, dataset)
    source = f"{provider}:{dataset}"
    content_hash = hashlib.sha256(body).hexdigest()
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        # Serialise fetches of one dataset: versions are decided against the latest stored one.
        transaction_lock(cur, f"statistics:{source}")
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, records_read) "
            "VALUES (%s, %s, %s, %s)",
            (run_id, source, request[:2000], len(table.observations)),
        )
        cur.execute(
            "INSERT INTO raw.statistics_fetches (run_id, provider, dataset, request, data_format, "
            "content_hash, source_updated_at, observations) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING fetch_id, fetched_at",
            (
                run_id,
                provider,
                dataset,
                request[:2000],
                data_format,
                content_hash,
                table.updated,
                len(rows),
            ),
        )
        fetch_id, fetched_at = cur.fetchone()
        cur.execute(
            "CREATE TEMP TABLE incoming ON COMMIT DROP AS "
            f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM raw.statistics_observations LIMIT 0"
        )
        copy_rows(cur, "incoming", OBSERVATION_COLUMNS, rows)
        cur.execute(
            """
            CREATE TEMP TABLE classified ON COMMIT DROP AS
            SELECT n.*,
                   CASE
                       WHEN l.series_key IS NULL THEN 'new'
                       WHEN l.deleted OR l.value IS DISTINCT FROM n.value OR l.flags <> n.flags
                            OR l.confidential <> n.confidential THEN 'revised'
                       ELSE 'unchanged'
                   END AS change
            FROM incoming AS n
            LEFT JOIN LATERAL (
                SELECT o.series_key, o.value, o.flags, o.confidential, o.deleted
                FROM raw.statistics_observations AS o
                WHERE o.provider = n.provider AND o.dataset = n.dataset
                  AND o.series_key = n.series_key AND o.period = n.period
                ORDER BY o.fetched_at DESC
                LIMIT 1
            ) AS l ON true
            """
        )
        cols = ", ".join(OBSERVATION_COLUMNS)
        cur.execute(
            f"INSERT INTO raw.statistics_observations ({cols}, fetched_at, fetch_id) "
            f"SELECT {cols}, %s, %s FROM classified WHERE change <> 'unchanged'",
            (fetched_at, fetch_id),
        )
        cur.execute("SELECT change, count(*) FROM classified GROUP BY change")
        counts = dict(cur.fetchall())
        deleted = _write_tombstones(
            cur,
            table,
            provider=provider,
            dataset=dataset,
            fetched_at=fetched_at,
            fetch_id=fetch_id,
            scope_geo_codes=scope_geo_codes,
        )
        store_rejections(cur, run_id, source, rejected)
        report = FetchReport(
            provider=provider,
            dataset=dataset,
            run_id=run_id,
            fetch_id=fetch_id,
            observations=len(rows),
            new_series=counts.get("new", 0),
            revised=counts.get("revised", 0),
            unchanged=counts.get("unchanged", 0),
            rejected=len(rejected),
            deleted=deleted,
        )
        cur.execute(
            "UPDATE raw.statistics_fetches SET new_series = %s, revised = %s, unchanged = %s, "
            "rejected = %s, deleted = %s WHERE fetch_id = %s",
            (
                report.new_series,
                report.revised,
                report.unchanged,
                report.rejected,
                report.deleted,
                fetch_id,
            ),
        )
        cur.execute(
            "UPDATE raw.import_runs SET status = 'succeeded', finished_at = now(), inserted = %s, "
            "updated = %s, unchanged = %s, rejected = %s WHERE run_id = %s",
            (report.new_series, report.revised, report.unchanged, report.rejected, run_id),
        )
    log.info(
        "%s: %d observations: %d new, %d revised, %d unchanged, %d deleted; %d rejected (run %s)",
        source,
        report.observations,
        report.new_series,
        report.revised,
        report.unchanged,
        report.deleted,
        report.rejected,
        run_id,
    )
    return report


def _write_tombstones(
    cur,
    table: StatisticsTable,
    *,
    provider: str,
    dataset: str,
    fetched_at,
    fetch_id: int,
    scope_geo_codes: Sequence[str] | None,
) -> int:
    """Tombstone the cells of the fetch's scope whose latest version is live but which the
    answer no longer has; return how many."""
    if not table.observations:
        log.warning("%s:%s: empty answer; no cell is marked deleted", provider, dataset)
        return 0
    # Every cell the answer has, mapped or not (a cell rejected for an unknown geography still
    # exists at the source).
    cur.execute("CREATE TEMP TABLE answered (series_key text, period text) ON COMMIT DROP")
    copy_rows(
        cur,
        "answered",
        ("series_key", "period"),
        sorted({(".".join(o.codes), o.period) for o in table.observations}),
    )
    first_period = min(o.period_start for o in table.observations)
    cols = ", ".join(OBSERVATION_COLUMNS)
    cur.execute(
        f"""
        INSERT INTO raw.statistics_observations ({cols}, deleted, fetched_at, fetch_id)
        SELECT provider, dataset, series_key, period, period_start, frequency, geo_code,
               geo_label, indicator, indicator_label, unit, unit_label,
               NULL, '', false, NULL, dimensions, true, %(fetched_at)s, %(fetch_id)s
        FROM (
            SELECT DISTINCT ON (o.series_key, o.period) o.*
            FROM raw.statistics_observations AS o
            WHERE o.provider = %(provider)s AND o.dataset = %(dataset)s
              AND o.fetched_at < %(fetched_at)s
            ORDER BY o.series_key, o.period, o.fetched_at DESC
        ) AS latest
        WHERE NOT latest.deleted
          AND latest.period_start >= %(first_period)s
          AND (%(all_geos)s OR latest.geo_code = ANY(%(geos)s))
          AND NOT EXISTS (
              SELECT 1 FROM answered AS a
              WHERE a.series_key = latest.series_key AND a.period = latest.period
          )
        """,
        {
            "provider": provider,
            "dataset": dataset,
            "fetched_at": fetched_at,
            "fetch_id": fetch_id,
            "first_period": first_period,
            "all_geos": scope_geo_codes is None,
            "geos": list(scope_geo_codes or []),
        },
    )
    return cur.rowcount
