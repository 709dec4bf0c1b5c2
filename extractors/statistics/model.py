"""What every statistics parser returns: observations with dimension codes, a normalised period,
a value (or none), observation flags and confidentiality.

Periods come in several spellings (Eurostat ``2024-Q1``, older SDMX ``2024Q1``, PxWeb ``2024M01``
or Swedish ``2024K1``); they are normalised here once so that every source compares alike.
Flags follow Eurostat's observation-status vocabulary; confidentiality (``C`` in Eurostat's
CONF_STATUS, ``|C`` in JSON-stat, the legacy ``c`` flag) is a separate boolean because a
confidential cell has no value at all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime

log = logging.getLogger(__name__)

# Eurostat observation flags (OBS_FLAG, code list ESTAT:OBS_FLAG). Several can combine ("bep").
EUROSTAT_FLAGS: dict[str, str] = {
    "b": "break in time series",
    "c": "confidential (legacy flag; now CONF_STATUS)",
    "d": "definition differs (see metadata)",
    "e": "estimated",
    "f": "forecast",
    "m": "missing value",
    "n": "not significant",
    "p": "provisional",
    "r": "revised",
    "s": "Eurostat estimate",
    "u": "low reliability",
    "z": "not applicable",
}
# Confidentiality status (CONF_STATUS): only F ("free") and blank mean publishable.
CONFIDENTIAL_STATUSES = {"C", "D", "N", "S", "A", "M"}

_warned_flags: set[str] = set()


@dataclass(frozen=True, slots=True)
class Observation:
    """One cell of a statistics table."""

    codes: tuple[str, ...]  # one code per dimension of StatisticsTable.dimensions (time excluded)
    labels: tuple[str | None, ...]  # the published label of each code, when the format has one
    period: str
    frequency: str  # A, S, Q, M, W, D
    period_start: date
    value: float | None
    flags: str = ""  # sorted Eurostat flag letters
    confidential: bool = False
    status_raw: str | None = None


@dataclass
class StatisticsTable:
    """A parsed response or file: dimensions in published order (time excluded) and cells."""

    dataset: str
    data_format: str
    dimensions: list[str]
    dimension_labels: dict[str, str] = field(default_factory=dict)
    label: str | None = None
    updated: datetime | None = None
    units: dict[str, str] = field(default_factory=dict)  # metric code -> unit (PxWeb)
    # True for SDMX-CSV downloaded "with labels": the cells hold labels, not codes, so indicator
    # ids are built from slugs of the labels (thousand_persons) rather than codes.
    codes_are_labels: bool = False
    observations: list[Observation] = field(default_factory=list)
    # (position, reason, record) of cells that could not be read; landed in raw.rejected_records
    rejected: list[tuple[str, str, str]] = field(default_factory=list)

    def dimension_index(self, name: str) -> int:
        try:
            return self.dimensions.index(name)
        except ValueError:
            raise KeyError(
                f"{self.dataset}: no dimension {name!r} in the response; it has "
                f"{', '.join(self.dimensions)}. Fix geo_dimension/unit_dimension in "
                "config/statistics.yml."
            ) from None


# --- periods ----------------------------------------------------------------------------------

_PERIOD_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d{4})$"), "A"),
    (re.compile(r"^(\d{4})-?[SH]([12])$"), "S"),
    (re.compile(r"^(\d{4})-?[QK]([1-4])$"), "Q"),
    (re.compile(r"^(\d{4})(?:-|M)(0[1-9]|1[0-2]|[1-9])$"), "M"),
    (re.compile(r"^(\d{4})-?W(0[1-9]|[1-4]\d|5[0-3])$"), "W"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "D"),
]


def normalise_period(raw: str) -> tuple[str, str, date]:
    """``(period, frequency, first day)`` for a published time code.

    >>> normalise_period("2024Q1")
    ('2024-Q1', 'Q', datetime.date(2024, 1, 1))
    """
    text = str(raw).strip()
    for pattern, freq in _PERIOD_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        year = int(m.group(1))
        if freq == "A":
            return f"{year}", freq, date(year, 1, 1)
        if freq == "S":
            half = int(m.group(2))
            return f"{year}-S{half}", freq, date(year, 1 + 6 * (half - 1), 1)
        if freq == "Q":
            q = int(m.group(2))
            return f"{year}-Q{q}", freq, date(year, 1 + 3 * (q - 1), 1)
        if freq == "M":
            month = int(m.group(2))
            return f"{year}-{month:02d}", freq, date(year, month, 1)
        if freq == "W":
            week = int(m.group(2))
            return f"{year}-W{week:02d}", freq, date.fromisocalendar(year, week, 1)
        day = date(year, int(m.group(2)), int(m.group(3)))
        return day.isoformat(), freq, day
    raise ValueError(
        f"unknown time period {raw!r}: expected annual (2024), semester (2024-S1), quarterly "
        "(2024-Q1, 2024Q1, 2024K1), monthly (2024-01, 2024M01), weekly (2024-W05) or daily"
    )


# --- flags ------------------------------------------------------------------------------------


def parse_status(obs_flag: str | None, conf_status: str | None = None) -> tuple[str, bool]:
    """Eurostat observation flags and confidentiality from the published status fields.

    JSON-stat packs both into one string, ``"<flags>|<conf>"`` (``"|C"`` is confidential with no
    flag, ``"p"`` provisional); SDMX-CSV has two columns (OBS_FLAG, CONF_STATUS). Unknown flag
    letters are kept (never dropped) and logged once, so a new Eurostat flag is noticed.
    """
    flags_text = (obs_flag or "").strip()
    conf = (conf_status or "").strip()
    if "|" in flags_text:
        flags_text, _, packed_conf = flags_text.partition("|")
        conf = conf or packed_conf.strip()
    if flags_text in (":", "-"):  # TSV-style "not available" markers carry no flag
        flags_text = ""
    letters = sorted({ch for ch in flags_text.lower() if not ch.isspace()})
    unknown = [ch for ch in letters if ch not in EUROSTAT_FLAGS]
    for ch in unknown:
        if ch not in _warned_flags:
            _warned_flags.add(ch)
            log.warning("unknown Eurostat observation flag %r (kept as published)", ch)
    confidential = conf.upper() in CONFIDENTIAL_STATUSES or "c" in letters
    return "".join(letters), confidential


def parse_number(text: str | float | int | None) -> float | None:
    """A published value as float; blanks and ':' (Eurostat's "not available") are None."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return float(text)
    s = text.strip()
    if s in ("", ":", "..", "...", ".", "-", "NaN", "nan"):
        return None
    return float(s.replace(" ", ""))


_CODE_RE = re.compile(r"^[A-Za-z0-9_\-.+]+$")


def code_key(value: str, *, slug: bool = False) -> str:
    """A code usable in an indicator id: codes stay as they are, labels are slugified.

    SDMX-CSV 1.0 files downloaded "with labels" have no codes at all ("Thousand persons"); the
    slug keeps the indicator id stable and readable (``thousand_persons``).
    """
    if not slug and _CODE_RE.match(value):
        return value
    slug = re.sub(r"[^0-9a-z]+", "_", value.casefold()).strip("_")
    return slug or "_"
