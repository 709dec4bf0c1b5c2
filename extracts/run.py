"""Run a subscription for a data interval: build its package, deliver it, record the receipts.

`due_jobs` says which subscriptions a scheduler run owes (the Airflow DAG maps one task over
them), `run_subscription` builds and delivers one, `backfill` re-creates every period of a
range. All are idempotent: the package of a subscription and interval is the same bytes on the
same publication, and the delivery log skips a destination that already has it, so re-runs and
backfills deliver only what is missing. A failure on any destination raises `DeliveryError`
after the others were tried, so the scheduler retries and alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from core.db import Role, connection
from core.settings import load_settings
from extracts import build, digests
from extracts.config import ExtractsConfig, Subscriber, load_config, subscriber
from extracts.deliver import DeliveryError, Job, Retry, deliver
from extracts.package import Built, write_package
from extracts.periods import Interval, due, periods
from extracts.read import NoPublication, snapshot

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    subscriber: str
    interval: str
    package: str | None
    sha256: str | None
    destinations: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "subscriber": self.subscriber,
            "interval": self.interval,
            "package": self.package,
            "sha256": self.sha256,
            "destinations": self.destinations,
        }


def grain(sub: Subscriber) -> str:
    if sub.kind == "digest":
        return {"daily": "day", "weekly": "week"}[sub.period]
    return sub.grain


def packages_dir(sub: Subscriber) -> Path:
    return load_settings().home / "extracts" / "packages" / sub.name


def _reported(url: str, sub: Subscriber) -> set[tuple]:
    with connection(url, role=Role.EXTRACTS) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT city_code, area_id, day FROM extracts.reported_spikes WHERE subscriber = %s",
            (sub.name,),
        )
        return set(cur.fetchall())


def build_package(
    url: str, config: ExtractsConfig, sub: Subscriber, interval: Interval
) -> tuple[Built | None, Job | None, list[tuple]]:
    """Build (not deliver) the package; None for a digest without new spikes."""
    spikes: list[tuple] = []
    with snapshot(url) as snap:
        if sub.kind == "digest":
            pkg, record, spikes = digests.digest_package(
                snap, sub, interval, config.license, _reported(url, sub)
            )
            if pkg is None:
                return None, None, []
        else:
            pkg, record = build.extract_package(snap, sub, interval, config.license)
    built = write_package(pkg, packages_dir(sub), stamp=build.stamp(record))
    job = Job(
        subscriber=sub.name,
        kind=sub.kind,
        interval_start=interval.start.isoformat(),
        interval_end=interval.end.isoformat(),
        gate_run_id=record.gate_run_id,
        package=built,
        body=pkg.readme,
    )
    return built, job, spikes


def _mark_reported(url: str, sub: Subscriber, delivery_id: int, spikes: list[tuple]) -> None:
    with connection(url, role=Role.EXTRACTS) as conn, conn.cursor() as cur:
        for city, area, day in spikes:
            cur.execute(
                "INSERT INTO extracts.reported_spikes (subscriber, city_code, area_id, day, "
                "delivery_id) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (sub.name, city, area, day, delivery_id),
            )


def run_subscription(
    url: str,
    config: ExtractsConfig,
    sub: Subscriber,
    interval: Interval,
    *,
    retry: Retry | None = None,
) -> Outcome:
    built, job, spikes = build_package(url, config, sub, interval)
    outcome = Outcome(sub.name, str(interval), built and built.name, built and built.sha256)
    if job is None:
        log.info("%s %s: no new spikes, nothing to deliver", sub.name, interval)
        return outcome
    errors = []
    last_id = None
    for dest in sub.deliveries:
        try:
            last_id, status = deliver(url, job, dest, retry=retry)
        except DeliveryError as exc:
            errors.append(str(exc))
            status = "failed"
        outcome.destinations[f"{dest.type}:{dest.name}"] = status
    if errors:
        raise DeliveryError("; ".join(errors))
    if spikes and last_id is not None:
        _mark_reported(url, sub, last_id, spikes)
    log.info("%s %s: %s (%s)", sub.name, interval, built.name, outcome.destinations)
    return outcome


def backfill(
    url: str, config: ExtractsConfig, sub: Subscriber, span: Interval, *, retry: Retry | None = None
) -> list[Outcome]:
    return [run_subscription(url, config, sub, p, retry=retry) for p in periods(span, grain(sub))]


def due_jobs(url: str, now: datetime, config: ExtractsConfig | None = None) -> list[dict]:
    """(subscriber, interval) pairs whose latest due period has no delivered package yet."""
    config = config or load_config()
    try:
        with snapshot(url) as snap:
            snap.publication()
    except NoPublication as exc:
        # The failed gate alerted already; subscribers wait for the next publication.
        log.warning("no extracts are due: %s", exc)
        return []
    out = []
    with connection(url, role=Role.EXTRACTS) as conn, conn.cursor() as cur:
        for sub in config.subscribers:
            interval = due(sub.schedule, grain(sub), now)
            cur.execute(
                "SELECT count(DISTINCT destination) FROM extracts.deliveries WHERE subscriber = %s "
                "AND interval_start = %s AND interval_end = %s AND status = 'delivered'",
                (sub.name, interval.start, interval.end),
            )
            if cur.fetchone()[0] < len(sub.deliveries) or sub.kind == "digest":
                out.append({"subscriber": sub.name, "interval": str(interval)})
    return out


def run_job(url: str, job: dict, config: ExtractsConfig | None = None) -> dict:
    config = config or load_config()
    start, end = job["interval"].split("/")
    interval = Interval(date.fromisoformat(start), date.fromisoformat(end))
    return run_subscription(url, config, subscriber(config, job["subscriber"]), interval).as_dict()
