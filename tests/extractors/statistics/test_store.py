"""Cells that disappear from a later Eurostat answer: two replayed answers, the second without
one cell. The cell gets a tombstone version (the latest views stop showing it), its history
stays, periods before the answer's first are left alone, and a cell that comes back is live
again."""

from __future__ import annotations

import psycopg2
import pytest

from extractors.statistics.client import statistics_client
from extractors.statistics.eurostat import EurostatClient
from extractors.statistics.ingest import ingest_eurostat_dataset
from monitor.transform import run_dbt
from tests.extractors.statistics.conftest import local_config
from tests.extractors.statistics.replay import Answer, ReplayServer
from tests.extractors.statistics.wire import jsonstat_dataset

pytestmark = pytest.mark.slow

PATH = "/statistics/1.0/data/urb_cpop1"


def _answer(cells: dict[tuple[str, str], float]) -> bytes:
    """urb_cpop1 in Eurostat's JSON-stat: population (DE1001V) of the given (city, year) cells."""
    cities = sorted({c for c, _ in cells})
    years = sorted({y for _, y in cells})
    names = {"SE003C": "Malmö", "NL037C": "Rotterdam", "DE004C": "Köln"}
    dims = [
        ("freq", "Time frequency", [("A", "Annual")]),
        ("indic_ur", "Urban audit indicator", [("DE1001V", "Population on the 1st of January")]),
        ("cities", "Geopolitical entity (declaring)", [(c, names[c]) for c in cities]),
        ("time", "Time", [(y, y) for y in years]),
    ]
    values = {("A", "DE1001V", c, y): v for (c, y), v in cells.items()}
    return jsonstat_dataset(dims, values, label="Population on 1 January - cities")


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_dropped_cells_are_tombstoned_and_history_stays(
    warehouse_url: str, server: ReplayServer
) -> None:
    cfg = local_config(server.url)
    client = EurostatClient(
        cfg.eurostat, http=statistics_client(retries=0, sleep=lambda _: None), sleep=lambda _: None
    )
    first = {
        ("SE003C", "2022"): 357377,
        ("SE003C", "2023"): 362133,
        ("NL037C", "2022"): 655468,
        ("NL037C", "2023"): 664311,
    }
    server.route("GET", PATH, Answer(_answer(first)))
    r1 = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=client)
    assert (r1["new_series"], r1["deleted"]) == (4, 0)

    # Eurostat withdraws Rotterdam 2023; Malmö 2022 is unchanged, Malmö 2023 revised.
    second = {("SE003C", "2022"): 357377, ("SE003C", "2023"): 362500, ("NL037C", "2022"): 655468}
    server.route("GET", PATH, Answer(_answer(second)))
    r2 = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=client)
    assert (r2["revised"], r2["unchanged"], r2["deleted"]) == (1, 2, 1)
    history = _rows(
        warehouse_url,
        "SELECT value, deleted FROM raw.statistics_observations WHERE geo_code = 'NL037C' "
        "AND period = '2023' ORDER BY fetched_at",
    )
    assert history == [(664311.0, False), (None, True)]
    assert _rows(
        warehouse_url,
        "SELECT deleted FROM raw.statistics_fetches ORDER BY fetch_id",
    ) == [(0,), (1,)]

    # The same second answer again: the tombstone is not written twice (idempotent).
    r3 = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=client)
    assert (r3["new_series"], r3["revised"], r3["deleted"]) == (0, 0, 0)

    run_dbt(
        warehouse_url,
        [
            "build",
            "--select",
            "stg_statistics__fetches",
            "stg_statistics__observation_versions",
            "stg_statistics__eurostat_observations",
            "stg_statistics__observation_flags",
            "--indirect-selection",
            "cautious",
        ],
    )
    latest = _rows(
        warehouse_url,
        "SELECT geo_code, period, value FROM staging.stg_statistics__eurostat_observations ORDER BY 1, 2",
    )
    assert latest == [
        ("NL037C", "2022", 655468.0),
        ("SE003C", "2022", 357377.0),
        ("SE003C", "2023", 362500.0),
    ]
    versions = _rows(
        warehouse_url,
        "SELECT version_number, value, previous_value, is_deleted, is_latest "
        "FROM staging.stg_statistics__observation_versions "
        "WHERE geo_code = 'NL037C' AND period = '2023' ORDER BY version_number",
    )
    assert versions == [(1, 664311.0, None, False, False), (2, None, 664311.0, True, True)]

    # An answer starting later (a "last N years" window that moved on) deletes nothing before
    # its first period: 2022 was not asked for, so it did not disappear.
    server.route("GET", PATH, Answer(_answer({("SE003C", "2023"): 362500})))
    r4 = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=client)
    assert (r4["unchanged"], r4["deleted"]) == (1, 0)

    # Rotterdam 2023 comes back: a live version again.
    server.route("GET", PATH, Answer(_answer({**second, ("NL037C", "2023"): 664311})))
    r5 = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=client)
    assert r5["revised"] >= 1
    assert _rows(
        warehouse_url,
        "SELECT value, deleted FROM raw.statistics_observations WHERE geo_code = 'NL037C' "
        "AND period = '2023' ORDER BY fetched_at DESC LIMIT 1",
    ) == [(664311.0, False)]
