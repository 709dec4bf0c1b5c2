"""``config/extracts.yml``: who receives which extract or alert digest, when and how.

Subscriptions are data. The file is validated when it is loaded, against the published models
of the dbt manifest (`core.publications`): a table must be published to `published` (`bi: true`;
detail-only models such as `fct_posts` are refused), its columns and filters must be documented
columns, and it must be scoped by geography unless it is a reference dimension. Credentials are
never in the file: a destination names the environment variable (usually an Airflow connection,
`AIRFLOW_CONN_*`) that holds them. Every error names the file, the subscriber and the field.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.publications import Publication, load_publications
from core.reference import seed_file
from core.settings import LANGUAGES, REPO_ROOT, load_settings

CONFIG_PATH = REPO_ROOT / "config" / "extracts.yml"
LABELS_SEED = "area_labels.csv"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Columns a table is scoped by, most specific first, and the reference tables sent whole.
GEO_COLUMNS = ("city_code", "country_code")
# Each table's period column: rows whose period starts inside the data interval are extracted.
TIME_COLUMNS = ("day", "week", "month", "period_start", "event_date", "year")


class ConfigError(ValueError):
    """config/extracts.yml is invalid; the message names the file, subscriber and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not _ENV.match(value) or value.startswith("MONITOR_"):
        raise ValueError(
            f"{value!r}: name an environment variable (e.g. AIRFLOW_CONN_...), not a value; "
            "MONITOR_* variables are the platform's settings"
        )
    return value


class SftpDestination(_Strict):
    type: Literal["sftp"]
    name: str
    # AIRFLOW_CONN_* (or any variable) holding sftp://user:password@host:port/path
    connection: str
    path: str | None = None  # remote folder; default: the connection URI's path
    known_hosts: str | None = None  # file of trusted host keys; default ~/.ssh/known_hosts

    _conn = field_validator("connection")(_env_name)


class EmailDestination(_Strict):
    type: Literal["email"]
    name: str
    # AIRFLOW_CONN_* holding smtp://user:password@host:port?starttls=true|ssl=true
    connection: str
    to: list[str] = Field(min_length=1)
    sender: str = Field(alias="from")
    # Above this the message carries a link to the package instead of the package.
    max_attachment_bytes: int = Field(default=10_000_000, ge=1)
    # Where a package too large to attach can be fetched: a folder or SFTP URL; the package's
    # file name is appended.
    link: str | None = None

    _conn = field_validator("connection")(_env_name)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        return value


class FolderDestination(_Strict):
    type: Literal["folder"]
    name: str
    path: Path  # relative paths are under $MONITOR_HOME/extracts/outbox


Destination = Annotated[
    SftpDestination | EmailDestination | FolderDestination, Field(discriminator="type")
]


class Scope(_Strict):
    countries: list[str] = Field(default_factory=list)
    cities: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)  # alert digests only


class Content(_Strict):
    table: str
    columns: list[str] | None = None  # default: every documented column
    filters: dict[str, list[str | int]] = Field(default_factory=dict)


class License(_Strict):
    name: str
    path: str
    title: str


class Subscriber(_Strict):
    name: str
    kind: Literal["extract", "digest"] = "extract"
    title: str
    scope: Scope
    contents: list[Content] = Field(default_factory=list)  # extracts
    grain: Literal["week", "month", "year"] | None = None  # extracts: the period of a package
    period: Literal["daily", "weekly"] | None = None  # digests
    lookback_days: int = Field(default=7, ge=1, le=92)  # digests: spikes published late
    formats: list[Literal["csv", "xlsx", "parquet"]] = Field(default_factory=lambda: ["csv"])
    languages: list[str] = Field(default_factory=lambda: ["en"])
    schedule: str
    deliveries: list[Destination] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("lower-case letters, digits and _, starting with a letter")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression")
        return value


class ExtractsConfig(_Strict):
    license: License
    subscribers: list[Subscriber]


@functools.lru_cache(maxsize=4)
def _publications_of(path: str, mtime_ns: int) -> tuple[Publication, ...]:
    return load_publications(Path(path))


def publications() -> tuple[Publication, ...]:
    """The manifest's publications, parsed once per manifest version (a package build asks for
    them every time; the manifest is megabytes of JSON)."""
    path = load_settings().manifest_path
    try:
        return _publications_of(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return load_publications(path)


def label_languages(seeds: Path | None = None) -> set[str]:
    with seed_file(LABELS_SEED, seeds).open(encoding="utf-8") as f:
        return {row["lang"] for row in csv.DictReader(f)}


def time_column(pub: Publication) -> str | None:
    names = {c.name for c in pub.columns}
    return next((c for c in TIME_COLUMNS if c in names), None)


def geo_column(pub: Publication) -> str | None:
    names = {c.name for c in pub.columns}
    return next((c for c in GEO_COLUMNS if c in names), None)


def _check(sub: Subscriber, pubs: dict[str, Publication], langs: set[str]) -> Iterable[str]:
    if not (sub.scope.countries or sub.scope.cities):
        yield "scope: name countries and/or cities"
    for i, lang in enumerate(sub.languages):
        if lang != "en" and (lang not in LANGUAGES or lang not in langs):
            yield (
                f"languages[{i}]: {lang!r} has no labels in dbt/seeds/{LABELS_SEED} "
                f"(available: en, {', '.join(sorted(langs))})"
            )
    if "en" not in sub.languages:
        yield "languages: en is always included; list it first"
    if len(set(d.name for d in sub.deliveries)) != len(sub.deliveries):
        yield "deliveries: destination names must be unique"
    if sub.kind == "digest":
        if sub.period is None:
            yield "period: a digest needs daily or weekly"
        for f in ("contents", "grain"):
            if getattr(sub, f):
                yield f"{f}: a digest reports the focal points; it has no {f}"
        return
    if sub.scope.areas:
        yield "scope.areas: only alert digests select areas (use contents[].filters.area_id)"
    if sub.grain is None:
        yield "grain: week, month or year"
    if not sub.contents:
        yield "contents: list at least one published table"
    seen = set()
    for i, content in enumerate(sub.contents):
        where = f"contents[{i}].table"
        pub = pubs.get(content.table)
        if content.table in seen:
            yield f"{where}: {content.table} listed twice"
        seen.add(content.table)
        if pub is None:
            yield f"{where}: {content.table!r} is not a published model"
            continue
        if not pub.bi:
            yield (
                f"{where}: {content.table} is published to published_detail only (post-level "
                "detail); extracts read the suppressed `published` schema"
            )
            continue
        if geo_column(pub) is None and not content.table.startswith("dim_"):
            yield f"{where}: {content.table} has no city_code or country_code to scope it by"
        known = {c.name for c in pub.columns}
        for col in content.columns or ():
            if col not in known:
                yield f"contents[{i}].columns: {col!r} is not a column of {content.table}"
        for col in content.filters:
            if col not in known:
                yield f"contents[{i}].filters: {col!r} is not a column of {content.table}"


def _manifest_publications() -> tuple[Publication, ...]:
    return publications()


def parse_config(
    raw: Any, *, source: str, publications: tuple[Publication, ...] | None = None
) -> ExtractsConfig:
    """Validate a parsed YAML document; `source` names it in errors."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with license and subscribers")
    names = [s.get("name", f"#{i}") for i, s in enumerate(raw.get("subscribers") or [])]
    try:
        config = ExtractsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = list(e["loc"])
            if len(loc) >= 2 and loc[0] == "subscribers" and isinstance(loc[1], int):
                who = names[loc[1]] if loc[1] < len(names) else f"#{loc[1]}"
                rest = ".".join(str(x) for x in loc[2:] if x not in ("sftp", "email", "folder"))
                problems.append(f"subscriber {who}: {rest or '(entry)'}: {e['msg']}")
            else:
                problems.append(f"{'.'.join(map(str, loc))}: {e['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
    pubs = {p.table: p for p in (publications or _manifest_publications())}
    langs = label_languages()
    problems = []
    if len(set(names)) != len(names):
        problems.append("subscribers: names must be unique")
    for sub in config.subscribers:
        problems += [f"subscriber {sub.name}: {p}" for p in _check(sub, pubs, langs)]
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return config


def load_config(
    path: Path | None = None, *, publications: tuple[Publication, ...] | None = None
) -> ExtractsConfig:
    p = Path(path or load_settings().extracts_config or CONFIG_PATH)
    if not p.is_file():
        raise ConfigError(f"{p}: file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    return parse_config(raw, source=str(p), publications=publications)


def subscriber(config: ExtractsConfig, name: str) -> Subscriber:
    for sub in config.subscribers:
        if sub.name == name:
            return sub
    known = ", ".join(s.name for s in config.subscribers)
    raise ConfigError(f"no subscriber {name!r} (configured: {known})")
