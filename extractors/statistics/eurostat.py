"""Eurostat dissemination API: request building, the asynchronous answer, and parsing.

Endpoints (``base_url`` = ``https://ec.europa.eu/eurostat/api/dissemination``):

- ``jsonstat``: ``{base}/statistics/1.0/data/{dataset}?format=JSON&lang=EN&<dim>=<code>...``
  (filters repeat a parameter per code; Urban Audit tables call their geography ``cities``).
- ``sdmx-csv-2.0``: ``{base}/sdmx/3.0/data/dataflow/ESTAT/{dataset}/1.0/*?c[<dim>]=a,b
  &c[TIME_PERIOD]=ge:2010&format=csvdata&formatVersion=2.0&labels=both``.
- ``sdmx-csv-1.0``: ``{base}/sdmx/2.1/data/{dataset}/{key}?format=SDMX-CSV&startPeriod=2010``.

Large SDMX extractions are answered asynchronously: instead of data, an XML envelope with a
key and status ``SUBMITTED``. The client then polls ``{base}/1.0/async/status/{key}`` until
``AVAILABLE`` and downloads ``{base}/1.0/async/data/{key}`` (possibly zipped or gzipped).
``EXPIRED``, ``ERROR`` and ``UNKNOWN_REQUEST`` fail with the key, so the request can be retried.
"""

from __future__ import annotations

import gzip
import io
import logging
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from core.http import FetchError, HttpClient
from extractors.statistics.client import statistics_client
from extractors.statistics.config import EurostatDataset, EurostatSection
from extractors.statistics.jsonstat import parse_jsonstat
from extractors.statistics.model import StatisticsTable
from extractors.statistics.sdmx_csv import parse_sdmx_csv

log = logging.getLogger(__name__)

ASYNC_PENDING = {"SUBMITTED", "PROCESSING", "QUEUED", "IN_PROCESS", "PENDING"}
ASYNC_READY = {"AVAILABLE"}
ASYNC_FAILED = {"EXPIRED", "ERROR", "UNKNOWN_REQUEST", "FAILED"}


class AsyncExtractionError(FetchError):
    """Eurostat's asynchronous extraction failed, expired or did not finish in time."""


@dataclass(frozen=True)
class Fetched:
    url: str
    body: bytes
    data_format: str


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_async_envelope(body: bytes) -> tuple[str | None, str | None]:
    """``(key, status)`` from an asynchronous-delivery or status envelope, namespace-agnostic.

    The first answer carries ``<queued><id>KEY</id><status>SUBMITTED</status></queued>``; the
    status endpoint ``<status><key>KEY</key><status>AVAILABLE</status></status>``.
    """
    try:
        # The envelope comes from the configured Eurostat host. ElementTree never resolves
        # external entities, and expat >= 2.4 caps entity expansion (billion laughs).
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return None, None
    key = status = None
    for el in root.iter():
        name = _local(el.tag)
        text = (el.text or "").strip()
        if not text or len(el):
            continue
        if name in ("id", "key") and key is None:
            key = text
        elif name == "status" and status is None:
            status = text.upper()
        elif name in ("faultstring", "faultcode") and status is None:
            status = "ERROR"
            key = key or text
    return key, status


def _looks_async(body: bytes, content_type: str) -> bool:
    head = body[:2000].lstrip()
    if not head.startswith(b"<"):
        return False
    return b"queued" in head or b"syncResponse" in head or "xml" in content_type


def _unpack(body: bytes) -> bytes:
    """Async data may come zipped (one file) or gzipped."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise FetchError(f"expected one file in the zipped async answer, got {names}")
            return zf.read(names[0])
    if body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    return body


class EurostatClient:
    def __init__(
        self,
        section: EurostatSection,
        *,
        http: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.section = section
        self.base = section.base_url.rstrip("/")
        self.http = http or statistics_client(
            timeout_s=section.timeout_seconds, retries=section.retries
        )
        self.sleep = sleep
        self.clock = clock

    # --- requests -----------------------------------------------------------------------------

    def request_for(
        self, ds: EurostatDataset, geo_codes: list[str] | None
    ) -> tuple[str, list[tuple[str, str]]]:
        """URL and query parameters for a dataset; ``geo_codes`` None means all geographies."""
        since = ds.since or self.section.since
        if ds.format == "jsonstat":
            params: list[tuple[str, str]] = [("format", "JSON"), ("lang", self.section.lang)]
            if since:
                params.append(("sinceTimePeriod", since))
            for dim, codes in ds.filters.items():
                params.extend((dim, c) for c in codes)
            params.extend((ds.geo_dimension, g) for g in geo_codes or [])
            params.extend(ds.params.items())
            return f"{self.base}/statistics/1.0/data/{ds.id}", params
        if ds.format == "sdmx-csv-2.0":
            params = [(f"c[{dim}]", ",".join(codes)) for dim, codes in ds.filters.items()]
            if geo_codes:
                params.append((f"c[{ds.geo_dimension}]", ",".join(geo_codes)))
            if since:
                params.append(("c[TIME_PERIOD]", f"ge:{since}"))
            params += [
                ("format", "csvdata"),
                ("formatVersion", "2.0"),
                ("labels", "both"),
                ("compress", "false"),
                ("lang", self.section.lang.lower()),
            ]
            params.extend(ds.params.items())
            return f"{self.base}/sdmx/3.0/data/dataflow/ESTAT/{ds.id}/1.0/*", params
        # sdmx-csv-1.0: SDMX 2.1 REST with a positional series key (geo filtered after parsing).
        params = [("format", "SDMX-CSV"), ("lang", self.section.lang.lower())]
        if since:
            params.append(("startPeriod", since))
        params.extend(ds.params.items())
        return f"{self.base}/sdmx/2.1/data/{ds.id}/{ds.key or 'all'}", params

    def fetch(self, ds: EurostatDataset, geo_codes: list[str] | None = None) -> Fetched:
        url, params = self.request_for(ds, geo_codes)
        log.info("eurostat %s: GET %s (%d parameters)", ds.id, url, len(params))
        response = self.http.request("GET", url, params=params)
        body = response.content
        if ds.format != "jsonstat" and _looks_async(body, response.headers.get("content-type", "")):
            body = self._wait_for_async(ds.id, body)
        return Fetched(url=response.url, body=body, data_format=ds.format)

    def _wait_for_async(self, dataset: str, envelope: bytes) -> bytes:
        key, status = parse_async_envelope(envelope)
        if not key or status in ASYNC_FAILED:
            raise AsyncExtractionError(
                f"eurostat {dataset}: the answer is XML but neither data nor an async key "
                f"(status {status}): {envelope[:300]!r}"
            )
        log.info("eurostat %s: asynchronous extraction %s (%s)", dataset, key, status)
        deadline = self.clock() + self.section.async_max_wait_seconds
        while status not in ASYNC_READY:
            if status in ASYNC_FAILED:
                raise AsyncExtractionError(
                    f"eurostat {dataset}: asynchronous extraction {key} ended with {status}; "
                    "the task's retry submits the query again"
                )
            if status not in ASYNC_PENDING:
                raise AsyncExtractionError(
                    f"eurostat {dataset}: unknown asynchronous status {status!r} for {key}"
                )
            if self.clock() >= deadline:
                raise AsyncExtractionError(
                    f"eurostat {dataset}: asynchronous extraction {key} not ready after "
                    f"{self.section.async_max_wait_seconds:.0f}s (last status {status}); raise "
                    "eurostat.async_max_wait_seconds or narrow the dataset's filters"
                )
            self.sleep(self.section.async_poll_seconds)
            polled = self.http.request("GET", f"{self.base}/1.0/async/status/{key}").content
            _, status = parse_async_envelope(polled)
            log.info("eurostat %s: asynchronous extraction %s is %s", dataset, key, status)
        data = self.http.request("GET", f"{self.base}/1.0/async/data/{key}").content
        return _unpack(data)


def parse_eurostat(body: bytes, *, dataset: str, data_format: str) -> StatisticsTable:
    """Parse a Eurostat answer in the configured format (the SDMX-CSV layout is detected)."""
    if data_format == "jsonstat":
        return parse_jsonstat(body, dataset=dataset)
    return parse_sdmx_csv(body, dataset=dataset)
