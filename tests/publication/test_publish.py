"""Publish accepts only the latest passed gate run of the marts it publishes, and writes as the
publisher role, the only one that may."""

from __future__ import annotations

import psycopg2
import pytest

from core.db import Role, connection
from core.publications import load_publications
from expectations.gate import validate
from publication import publish
from tests.core.test_roles import member_login
from tests.expectations.conftest import K, built, published_checksum, query, restored

__all__ = ["built"]  # the module-scoped warehouse fixture
pytestmark = pytest.mark.slow


def test_a_gate_run_publishes_only_the_data_it_validated(built: str) -> None:
    first = validate(built)
    assert first.passed and first.fingerprint
    publish.publish(built, first.gate_run_id, k=K)
    before = published_checksum(built)
    with restored(built, "dim_cities"):
        # A valid change (the gate would pass it), made after the gate ran: not validated.
        query(built, "UPDATE marts.dim_cities SET city_name = city_name || ' (renamed)'")
        with pytest.raises(publish.GateNotPassed, match="validated other data") as refused:
            publish.publish(built, first.gate_run_id, k=K)
        assert first.fingerprint in str(refused.value)
        assert published_checksum(built) == before
        assert query(
            built,
            "SELECT published FROM quality.gate_runs WHERE gate_run_id = %s",
            (first.gate_run_id,),
        ) == [(True,)]  # from the publish before the change; nothing else marked
        # The gate run of this build publishes it.
        second = validate(built)
        assert second.passed and second.fingerprint != first.fingerprint
        publish.publish(built, second.gate_run_id, k=K)
        renamed = query(built, "SELECT count(*) FROM published.dim_cities "
                        "WHERE city_name LIKE '%(renamed)'")  # fmt: skip
        assert renamed[0][0] > 0
    # The data is back as the first run validated it; a newer run of it supersedes the first.
    third = validate(built)
    assert third.fingerprint == first.fingerprint
    with pytest.raises(publish.GateNotPassed, match="not the latest gate run"):
        publish.publish(built, first.gate_run_id, k=K)
    publish.publish(built, third.gate_run_id, k=K)
    assert published_checksum(built) == before


def test_a_gate_run_of_other_tables_does_not_publish_all(built: str) -> None:
    from core.publications import load_publications

    only = tuple(p for p in load_publications() if p.table == "dim_countries")
    gate = validate(built, publications=only)
    assert gate.passed
    before = published_checksum(built)
    with pytest.raises(publish.GateNotPassed, match="validated other data"):
        publish.publish(built, gate.gate_run_id, k=K)
    assert published_checksum(built) == before


def test_only_the_publisher_writes_published(built: str) -> None:
    owners = query(
        built,
        "SELECT DISTINCT tableowner FROM pg_tables "
        "WHERE schemaname IN ('published', 'published_detail')",
    )
    assert owners == [(Role.PUBLISHER.value,)]
    for statement in (
        "UPDATE published.mart_city_area_daily SET posts = posts + 1",
        "DELETE FROM published_detail.fct_posts",
        "CREATE TABLE published.forged (x int)",
        "DROP TABLE published.dim_cities",
    ):
        with (
            pytest.raises(psycopg2.errors.InsufficientPrivilege),
            connection(built, role=Role.TRANSFORMER) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(statement)
    with (
        pytest.raises(psycopg2.errors.InsufficientPrivilege),
        connection(built, role=Role.PUBLISHER) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("UPDATE marts.dim_cities SET city_name = 'x'")


def test_the_transformer_cannot_forge_a_passing_gate_run(built: str) -> None:
    """dbt's role builds failing data and writes a passing verdict for it: refused, and publish
    finds no gate run to publish it with."""
    before = published_checksum(built)
    with restored(built, "mart_city_area_daily"):
        query(built, "UPDATE marts.mart_city_area_daily SET attention_share = 1.5")
        failed = validate(built)
        assert not failed.passed
        tables = sorted(p.table for p in load_publications())
        with member_login(built, Role.TRANSFORMER) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT quality.tables_fingerprint('marts', %s)", (tables,))
                (current,) = cur.fetchone()
                assert current == failed.fingerprint
                for statement, args in (
                    ("INSERT INTO quality.gate_runs (gate_run_id, finished_at, passed, summary, "
                     "fingerprint) VALUES ('forged', now(), true, 'PASSED', %s)", (current,)),
                    ("UPDATE quality.gate_runs SET passed = true WHERE gate_run_id = %s",
                     (failed.gate_run_id,)),
                ):  # fmt: skip
                    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                        cur.execute(statement, args)
        for gate_run_id in ("forged", failed.gate_run_id):
            with pytest.raises(publish.GateNotPassed, match="did not pass"):
                publish.publish(built, gate_run_id, k=K)
        assert published_checksum(built) == before
    # The gate's own run of the restored build still publishes.
    gate = validate(built)
    assert gate.passed
    publish.publish(built, gate.gate_run_id, k=K)
    assert query(
        built, "SELECT published FROM quality.gate_runs WHERE gate_run_id = %s", (gate.gate_run_id,)
    ) == [(True,)]
