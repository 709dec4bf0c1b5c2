"""SQL functions the marts rely on behave the same on every supported PostgreSQL (15 and 16)."""

from __future__ import annotations

import math

import psycopg2
import pytest


@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 0.3, 1.96 / math.sqrt(2), 4.0, 10 / math.sqrt(2)])
def test_erfc_matches_the_standard_library(warehouse_url: str, x: float) -> None:
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT erfc(%s::double precision)", (x,))
        got = cur.fetchone()[0]
    assert got == pytest.approx(math.erfc(x), rel=2e-7)


def test_erfc_stays_in_its_range_near_zero(warehouse_url: str) -> None:
    # p-values erfc(|z| / sqrt 2) must never exceed 1 (the quality gate checks it)
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT erfc(0.0::double precision), erfc(-1e-9::double precision)")
        at_zero, below = cur.fetchone()
    assert 0.9999999 <= at_zero <= 1.0 <= below <= 1.0000001


def test_erfc_of_huge_arguments_does_not_underflow(warehouse_url: str) -> None:
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT erfc(40.0::double precision), erfc(-40.0::double precision)")
        assert cur.fetchone() == (pytest.approx(0.0, abs=1e-300), pytest.approx(2.0))
