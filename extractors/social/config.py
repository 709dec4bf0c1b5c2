"""`config/sources.yml`: which sources to follow, validated before anything runs.

Which instances, hashtags, subreddits, feeds, searches and files to read, per city, country and
language, is configuration, not code. The file is validated as a whole at start: every problem
is reported at once, each naming the file, the source and the field, e.g.

    config/sources.yml: source 'reddit_rotterdam' (sources[3]), field 'options.subreddits':
    Input should be a valid list

Credentials never appear in the file: options name the environment variables that hold them
(`*_env`), read when the source runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from core.http import RetryPolicy
from core.settings import REPO_ROOT, load_settings
from extractors.social.connectors.base import Connector, ConnectorOptions, registered

CONFIG_ENV = "MONITOR_SOURCES_CONFIG"
DEFAULT_CONFIG = REPO_ROOT / "config" / "sources.yml"

LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
CityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9]{3}[A-Z][0-9]?$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
# Options name environment variables (never values) for credentials.
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")]


class ConfigError(ValueError):
    """The sources file is unusable; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Strict):
    timeout_s: float = Field(20.0, gt=0, le=600)
    max_attempts: int = Field(5, ge=1, le=20)
    backoff_base_s: float = Field(1.0, ge=0, le=600)
    backoff_max_s: float = Field(60.0, ge=0, le=3600)
    max_wait_s: float = Field(300.0, ge=0, le=3600)
    min_remaining: float = Field(1.0, ge=0)
    max_bytes: int = Field(64 * 1024 * 1024, ge=1024)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(**self.model_dump())


class Defaults(_Strict):
    http: HttpSettings = HttpSettings()
    max_pages: int = Field(50, ge=1, le=100_000)  # per stream and run; the rest resumes next run
    initial_lookback_hours: float = Field(24.0, gt=0)
    user_agent: str = Field(
        "european-monitor-urban-integration/0.1 (research; contact: data-engineering)",
        min_length=8,
    )


class SourceConfig(_Strict):
    id: SourceId
    kind: str = Field(min_length=1)
    enabled: bool = True
    description: str | None = None
    scope: str | None = None  # what the source covers, in words; generated when absent
    languages: list[LangCode] = []
    cities: list[CityCode] = []
    countries: list[CountryCode] = []
    max_pages: int | None = Field(None, ge=1, le=100_000)
    initial_lookback_hours: float | None = Field(None, gt=0)
    http: dict[str, Any] = {}  # overrides of defaults.http, validated when merged
    options: dict[str, Any] = {}  # validated by the connector's Options model


class SourcesFile(_Strict):
    version: Literal[1]
    defaults: Defaults = Defaults()
    sources: list[dict[str, Any]]  # each validated on its own, so errors name their source


@dataclass(frozen=True)
class Source:
    """A validated source, ready to run."""

    config: SourceConfig
    connector: type[Connector]
    options: ConnectorOptions
    http: HttpSettings
    max_pages: int
    initial_lookback_hours: float
    user_agent: str
    config_dir: Path

    @property
    def id(self) -> str:
        return self.config.id


@dataclass(frozen=True)
class SourcesConfig:
    path: Path
    defaults: Defaults
    sources: tuple[Source, ...]

    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.config.enabled]

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise KeyError(f"{self.path}: no source {source_id!r} (configured: {known})")


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or load_settings().sources_config or DEFAULT_CONFIG)


def _where(loc: Iterable[Any]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]" if parts else f"[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"


def _errors(exc: ValidationError, prefix: str, field_prefix: str = "") -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        where = _where(err["loc"]) if err["loc"] else ""
        field = f"{field_prefix}{where}".rstrip(".") or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        problems.append(f"{prefix}, field '{field}': {message}")
    return problems


def resolve_kind(kind: str) -> type[Connector]:
    """A registered kind (`mastodon`) or an external plugin class (`package.module:Class`)."""
    if ":" in kind:
        import importlib

        module_name, _, class_name = kind.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise LookupError(f"{kind!r} is not a Connector class")
        return cls
    kinds = registered()
    if kind not in kinds:
        raise LookupError(f"unknown kind {kind!r} (known: {', '.join(sorted(kinds))})")
    return kinds[kind]


def load_config(path: str | os.PathLike[str] | None = None) -> SourcesConfig:
    """Read and validate the sources file; raise `ConfigError` listing every problem."""
    path = config_path(path)
    name = str(path)
    if not path.is_file():
        raise ConfigError(
            [f"{name}: sources file not found (set {CONFIG_ENV} or create config/sources.yml)"]
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{name}: not valid YAML{where}: {problem}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{name}: not UTF-8 ({exc.reason})"]) from None
    if not isinstance(document, dict):
        raise ConfigError([f"{name}: expected a mapping with 'version' and 'sources'"])
    try:
        top = SourcesFile.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_errors(exc, name)) from None

    problems: list[str] = []
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(top.sources):
        label = raw.get("id") if isinstance(raw, dict) else None
        prefix = (
            f"{name}: source {label!r} (sources[{index}])" if label else f"{name}: sources[{index}]"
        )
        source = _source(raw, prefix, top.defaults, path.parent, problems)
        if source is None:
            continue
        if source.id in seen:
            problems.append(f"{prefix}, field 'id': duplicate of sources[{seen[source.id]}]")
            continue
        seen[source.id] = index
        sources.append(source)
    if problems:
        raise ConfigError(problems)
    return SourcesConfig(path=path, defaults=top.defaults, sources=tuple(sources))


def _source(
    raw: Any, prefix: str, defaults: Defaults, config_dir: Path, problems: list[str]
) -> Source | None:
    if not isinstance(raw, dict):
        problems.append(f"{prefix}: expected a mapping, got {type(raw).__name__}")
        return None
    try:
        config = SourceConfig.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_errors(exc, prefix))
        return None
    try:
        connector = resolve_kind(config.kind)
    except (LookupError, ImportError) as exc:
        problems.append(f"{prefix}, field 'kind': {exc}")
        return None
    ok = True
    try:
        options = connector.Options.model_validate(config.options)
    except ValidationError as exc:
        problems.extend(_errors(exc, prefix, "options."))
        ok = False
    try:
        http = HttpSettings.model_validate({**defaults.http.model_dump(), **config.http})
    except ValidationError as exc:
        problems.extend(_errors(exc, prefix, "http."))
        ok = False
    if not ok:
        return None
    return Source(
        config=config,
        connector=connector,
        options=options,
        http=http,
        max_pages=config.max_pages or defaults.max_pages,
        initial_lookback_hours=config.initial_lookback_hours or defaults.initial_lookback_hours,
        user_agent=defaults.user_agent,
        config_dir=config_dir,
    )


def secret(
    source: Source, field: str, env_name: str | None, *, required: bool = True
) -> str | None:
    """The value of the environment variable an option names; a clear error when missing."""
    if not env_name:
        if required:
            raise ConfigError([f"source {source.id!r}: option '{field}' is required"])
        return None
    value = os.environ.get(env_name)
    if not value and required:
        raise ConfigError(
            [
                f"source {source.id!r}: environment variable {env_name} (option '{field}') is not "
                "set; export it (Airflow: from your secrets backend) or disable the source"
            ]
        )
    return value or None
