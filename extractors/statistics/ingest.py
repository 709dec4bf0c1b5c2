"""The statistics stage: fetch, parse, map and land each configured source.

These functions are what ``dags/ingest_statistics.py`` calls (one task per dataset or table, so
one failing source does not hide the others) and what the tests drive against a local HTTP
server. Each returns a small JSON-serialisable report.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.http import HttpClient
from core.settings import load_settings
from extractors.statistics.config import MappingRules, StatisticsConfig, load_config
from extractors.statistics.eurostat import EurostatClient, parse_eurostat
from extractors.statistics.gisco import gisco_city_codes, load_gisco_cities
from extractors.statistics.jsonstat import parse_jsonstat
from extractors.statistics.mipex import reconcile, store_mipex
from extractors.statistics.model import StatisticsTable
from extractors.statistics.pxweb import PxwebClient, parse_pxweb
from extractors.statistics.reference import geo_resolver
from extractors.statistics.sdmx_csv import parse_sdmx_csv
from extractors.statistics.store import map_rows, store_fetch

log = logging.getLogger(__name__)


def _land(
    url: str,
    table: StatisticsTable,
    rules: MappingRules,
    *,
    provider: str,
    request: str,
    body: bytes,
    geo_map: dict[str, str] | None = None,
    scope_geo_codes: list[str] | None = None,
) -> dict:
    """Map a parsed answer to warehouse rows and land them as versions (shared by every source)."""
    rows, rejected = map_rows(
        table, rules, provider=provider, resolver=geo_resolver(), geo_map=geo_map
    )
    return store_fetch(
        url,
        provider=provider,
        dataset=table.dataset,
        request=request,
        data_format=table.data_format,
        body=body,
        table=table,
        rows=rows,
        rejected=rejected,
        scope_geo_codes=scope_geo_codes,
    ).as_dict()


def requested_city_codes(url: str, config: StatisticsConfig) -> list[str]:
    """The Urban Audit cities to ask for: the seed's, plus GISCO's when ``cities.source`` is
    ``gisco`` and they have been loaded (:func:`extractors.statistics.gisco.load_gisco_cities`)."""
    codes = list(geo_resolver().city_codes)
    if config.cities.source == "gisco":
        known = set(codes)
        codes += [c for c in gisco_city_codes(url) if c not in known]
    return codes


def ingest_eurostat_dataset(
    url: str,
    dataset_id: str,
    *,
    config: StatisticsConfig | None = None,
    client: EurostatClient | None = None,
) -> dict:
    """Fetch one configured Eurostat dataset and land it as versions."""
    config = config or load_config()
    ds = config.eurostat_dataset(dataset_id)
    if ds.geo_scope == "cities":
        geo_codes: list[str] | None = requested_city_codes(url, config)
    elif ds.geo_scope == "countries":
        geo_codes = geo_resolver().countries.codes(ds.country_groups)
    else:
        geo_codes = None
    client = client or EurostatClient(config.eurostat)
    fetched = client.fetch(ds, geo_codes)
    table = parse_eurostat(fetched.body, dataset=ds.id, data_format=ds.format)
    if ds.format != "jsonstat" and table.data_format != ds.format:
        log.warning(
            "eurostat %s: configured %s but the answer is %s (parsed as such)",
            ds.id,
            ds.format,
            table.data_format,
        )
    return _land(
        url,
        table,
        ds,
        provider="eurostat",
        request=fetched.url,
        body=fetched.body,
        scope_geo_codes=geo_codes,
    )


def ingest_pxweb_table(
    url: str,
    table_id: str,
    *,
    config: StatisticsConfig | None = None,
    client: PxwebClient | None = None,
) -> dict:
    """Query one configured PxWeb table and land it as versions."""
    config = config or load_config()
    spec = config.pxweb_table(table_id)
    client = client or PxwebClient(config.pxweb)
    fetched = client.fetch(spec)
    return _land(
        url,
        parse_pxweb(fetched.body, table=spec),
        spec,
        provider="pxweb",
        request=f"POST {fetched.url} {fetched.request_body}",
        body=fetched.body,
        geo_map=spec.geo_map or None,
    )


def ingest_statistics_file(
    url: str,
    path: Path,
    *,
    dataset: str,
    rules: MappingRules | None = None,
    provider: str = "eurostat_file",
) -> dict:
    """Land a downloaded Eurostat file (SDMX-CSV in either layout, or JSON-stat) as versions.

    For offline use and bulk downloads: the same parsing, mapping and versioning as the API.
    """
    path = Path(path)
    body = path.read_bytes()
    if path.suffix.lower() == ".json":
        table = parse_jsonstat(body, dataset=dataset)
    else:
        table = parse_sdmx_csv(body, dataset=dataset)
    return _land(
        url, table, rules or MappingRules(), provider=provider, request=str(path), body=body
    )


def mipex_directory(config: StatisticsConfig) -> Path:
    directory = Path(config.mipex.directory)
    return directory if directory.is_absolute() else load_settings().home / directory


def import_mipex(
    url: str, directory: Path | None = None, *, config: StatisticsConfig | None = None
) -> dict:
    """Import the configured MIPEX files found in ``directory`` (default
    ``$MONITOR_HOME/imports/mipex``); report unmatched countries and disagreements."""
    config = config or load_config()
    directory = Path(directory) if directory else mipex_directory(config)
    present = [
        (directory / f.filename, f)
        for f in config.mipex.files
        if (directory / f.filename).is_file()
    ]
    absent = [f.filename for f in config.mipex.files if not (directory / f.filename).is_file()]
    if absent:
        log.info("MIPEX: not in %s (skipped): %s", directory, ", ".join(absent))
    if not present:
        log.warning("MIPEX: none of the configured files is in %s; nothing imported", directory)
        return {"files": {}, "scores": 0, "unmatched": [], "conflicts": [], "skipped": absent}
    report = reconcile(present, geo_resolver().countries)
    run_id = store_mipex(url, report, location=str(directory))
    return {**report.summary(), "skipped": absent, "run_id": run_id}


def load_reference_cities(
    url: str, config: StatisticsConfig | None = None, http: HttpClient | None = None
) -> dict:
    """The cities the platform knows: with `cities.source: gisco`, GISCO's Urban Audit list is
    fetched and landed (the Urban Audit datasets then ask for those cities too); with the seed
    only (the offline default), nothing to fetch."""
    config = config or load_config()
    if config.cities.source != "gisco":
        return {"source": "seed", "fetched": False}
    return {"source": "gisco", "fetched": True, **load_gisco_cities(url, config=config, http=http)}


def enabled_eurostat_datasets(config: StatisticsConfig | None = None) -> list[str]:
    return [d.id for d in (config or load_config()).eurostat.datasets if d.enabled]


def enabled_pxweb_tables(config: StatisticsConfig | None = None) -> list[str]:
    return [t.id for t in (config or load_config()).pxweb.tables if t.enabled]


def summarise(reports: list[dict]) -> dict:
    """Totals over fetch reports, for the DAG's log and the asset event."""
    keys = ("observations", "new_series", "revised", "unchanged", "deleted", "rejected")
    totals = {k: sum(int(r.get(k, 0)) for r in reports) for k in keys}
    totals["datasets"] = len(reports)
    log.info(
        "statistics: %(datasets)d datasets, %(observations)d observations, %(new_series)d new, "
        "%(revised)d revised, %(deleted)d deleted, %(rejected)d rejected",
        totals,
    )
    return totals


def ingest_all(url: str, *, config: StatisticsConfig | None = None) -> dict:
    """Every enabled source, one after the other; failures are collected, then raised."""
    config = config or load_config()
    report: dict[str, dict] = {}
    failures: dict[str, str] = {}
    sources = [
        *(
            ("eurostat", d.id, ingest_eurostat_dataset)
            for d in config.eurostat.datasets
            if d.enabled
        ),
        *(("pxweb", t.id, ingest_pxweb_table) for t in config.pxweb.tables if t.enabled),
    ]
    for provider, source_id, ingest_one in sources:
        key = f"{provider}:{source_id}"
        try:
            report[key] = ingest_one(url, source_id, config=config)
        except Exception as exc:  # one failing source must not stop the others
            log.exception("%s failed", key)
            failures[key] = str(exc)
    report["mipex"] = import_mipex(url, config=config)
    if failures:
        raise RuntimeError(
            f"{len(failures)} statistics source(s) failed: "
            + "; ".join(f"{k}: {v}" for k, v in failures.items())
        )
    return report
