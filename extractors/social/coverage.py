"""The source-coverage registry (`raw.source_coverage`, `raw.source_coverage_daily`).

What each source covers is declared in `config/sources.yml` (platform, scope, languages, cities,
countries) and registered here whenever the source runs; how much it actually delivered (first
and last post, totals, posts per UTC day by language and city) is maintained by the loader in
the statement that lands the posts (`extractors.social.landing`). Coverage reporting reads both to say
how representative a figure is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.db import Role, connection

if TYPE_CHECKING:
    from extractors.social.config import Source, SourcesConfig
    from extractors.social.connectors.base import Connector

_REGISTER = """
INSERT INTO raw.source_coverage AS c
    (source, kind, platform, scope, location, languages, cities, countries, enabled)
VALUES (%(source)s, %(kind)s, %(platform)s, %(scope)s, %(location)s, %(languages)s,
        %(cities)s, %(countries)s, %(enabled)s)
ON CONFLICT (source) DO UPDATE SET
    kind = EXCLUDED.kind, platform = coalesce(EXCLUDED.platform, c.platform),
    scope = EXCLUDED.scope, location = EXCLUDED.location, languages = EXCLUDED.languages,
    cities = EXCLUDED.cities, countries = EXCLUDED.countries, enabled = EXCLUDED.enabled,
    updated_at = now()
"""


def declared(source: Source, connector: Connector | None = None) -> dict[str, Any]:
    """The registry row a source's configuration declares."""
    cfg = source.config
    scope = cfg.scope
    location = None
    platform = source.connector.platform
    if connector is not None:
        scope = scope or connector.scope()
        location = connector.location()
        platform = connector.base_record().get("platform") or platform
    return {
        "source": cfg.id,
        "kind": cfg.kind,
        "platform": None if platform == "file" else platform,
        "scope": scope or cfg.description or f"{cfg.kind} source {cfg.id}",
        "location": location,
        "languages": list(cfg.languages),
        "cities": list(cfg.cities),
        "countries": list(cfg.countries),
        "enabled": cfg.enabled,
    }


def register(url: str, source: Source, connector: Connector | None = None) -> None:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(_REGISTER, declared(source, connector))


def register_all(url: str, config: SourcesConfig) -> int:
    """Register every configured source (disabled ones as such); return how many."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        for source in config.sources:
            cur.execute(_REGISTER, declared(source))
    return len(config.sources)


def record_run(url: str, source: str, run_id: str | None, status: str, error: str | None) -> None:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO raw.source_coverage (source, last_run_id, last_run_at, last_run_status,
                                             last_error)
            VALUES (%s, %s, now(), %s, %s)
            ON CONFLICT (source) DO UPDATE SET last_run_id = EXCLUDED.last_run_id,
                last_run_at = now(), last_run_status = EXCLUDED.last_run_status,
                last_error = EXCLUDED.last_error, updated_at = now()
            """,
            (source, run_id, status, error[:2000] if error else None),
        )
