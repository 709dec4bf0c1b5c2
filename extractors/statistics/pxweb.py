"""PxWeb API v1: the statistics API of Statistics Sweden, Finland, Norway, Denmark and others.

A table is queried with ``POST <table URL>`` and a JSON body
``{"query": [{"code": "Region", "selection": {"filter": "item", "values": ["0180"]}}, ...],
"response": {"format": "json-stat2"}}``; the answer is a JSON-stat 2.0 dataset whose ``value``
is a list, whose ``role`` names the time and metric (``ContentsCode``) dimensions, and whose
metric categories carry a ``unit``. Missing cells are ``null`` with a PxWeb symbol in ``status``
(``..`` not available, ``...`` not applicable, ``-`` nil). Variables left out of the query are
eliminated (summed) by the server when the table allows it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from core.http import HttpClient
from extractors.statistics.client import statistics_client
from extractors.statistics.config import PxwebSection, PxwebTable
from extractors.statistics.jsonstat import parse_jsonstat
from extractors.statistics.model import StatisticsTable, parse_status

log = logging.getLogger(__name__)

# PxWeb data symbols -> Eurostat-style flags (m missing, z not applicable, c confidential).
PXWEB_SYMBOLS: dict[str, str] = {
    ".": "z",
    "..": "m",
    "...": "z",
    "....": "m",
    ".....": "c",
    "......": "m",
    "-": "",  # nil: the value itself says 0 when the table publishes it
}


def pxweb_status(symbol: str) -> tuple[str, bool]:
    """``(flags, confidential)`` for a PxWeb status symbol (or an Eurostat-style status)."""
    s = symbol.strip()
    if s in PXWEB_SYMBOLS:
        flag = PXWEB_SYMBOLS[s]
        return flag, flag == "c"
    return parse_status(s)


@dataclass(frozen=True)
class PxwebFetched:
    url: str
    request_body: str
    body: bytes


class PxwebClient:
    def __init__(self, section: PxwebSection, *, http: HttpClient | None = None) -> None:
        self.section = section
        self.http = http or statistics_client(
            timeout_s=section.timeout_seconds, retries=section.retries
        )

    @staticmethod
    def query_body(table: PxwebTable) -> dict:
        return {"query": table.query, "response": {"format": "json-stat2"}}

    def fetch(self, table: PxwebTable) -> PxwebFetched:
        body = self.query_body(table)
        log.info("pxweb %s: POST %s (%d variables)", table.id, table.url, len(table.query))
        response = self.http.request("POST", table.url, json_body=body)
        return PxwebFetched(
            url=table.url, request_body=json.dumps(body, sort_keys=True), body=response.content
        )


def parse_pxweb(body: bytes, *, table: PxwebTable) -> StatisticsTable:
    return parse_jsonstat(
        body,
        dataset=table.id,
        time_dimension=table.time_dimension,
        status_map=pxweb_status,
        data_format="pxweb-jsonstat2",
    )
