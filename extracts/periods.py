"""Data intervals: the calendar period a package covers, and which one a schedule makes due.

A package covers one whole period of its subscription's grain (an ISO week from Monday, a
calendar month, a calendar year; a digest's day or week), as a half-open interval of dates
[start, end). The period that is due at a moment is the last one that ended before the most
recent firing of the subscription's cron schedule; earlier periods are delivered by a backfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from croniter import croniter

GRAINS = ("day", "week", "month", "year")


@dataclass(frozen=True, order=True)
class Interval:
    start: date
    end: date

    def __str__(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def period_start(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown grain {grain!r} (one of {', '.join(GRAINS)})")


def next_start(start: date, grain: str) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if grain == "year":
        return date(start.year + 1, 1, 1)
    raise ValueError(f"unknown grain {grain!r}")


def period(day: date, grain: str) -> Interval:
    start = period_start(day, grain)
    return Interval(start, next_start(start, grain))


def periods(span: Interval, grain: str) -> list[Interval]:
    """Every whole period of `grain` that starts inside `span` (a backfill's range)."""
    out = []
    start = period_start(span.start, grain)
    if start < span.start:
        start = next_start(start, grain)
    while start < span.end:
        out.append(Interval(start, next_start(start, grain)))
        start = next_start(start, grain)
    return out


def due(schedule: str, grain: str, now: datetime) -> Interval:
    """The last whole period that ended at or before the latest firing of `schedule`."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    fired = croniter(schedule, now + timedelta(microseconds=1)).get_prev(datetime)
    return period(period_start(fired.date(), grain) - timedelta(days=1), grain)


def parse_interval(text: str) -> Interval:
    """`START/END` as ISO dates, END exclusive."""
    try:
        start_s, end_s = text.split("/")
        span = Interval(date.fromisoformat(start_s), date.fromisoformat(end_s))
    except ValueError:
        raise ValueError(
            f"{text!r}: expected START/END as ISO dates, e.g. 2026-01-01/2027-01-01"
        ) from None
    if span.end <= span.start:
        raise ValueError(f"{text!r}: END must be after START")
    return span
