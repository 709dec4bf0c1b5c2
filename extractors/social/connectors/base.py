"""The one small interface every source plugin implements, and the types it exchanges.

A connector turns one configured source into pages of records in the import format
(`docs/contracts.md`). It does not write anywhere: the runner (`extractors.social.runner`) validates,
scrubs and lands each page and saves the page's `StreamState` in the same transaction, which is
what makes every connector incremental, idempotent and resumable after a crash.

To add a source: write a module in `extractors/social/connectors/` with a subclass of `Connector` that
sets `kind`, `platform` and `Options` (a `ConnectorOptions` model of its `options:` in
`config/sources.yml`) and implements `fetch`. Subclasses register themselves by `kind`; nothing
else changes (see docs/extractors.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from core.http import HttpClient
    from extractors.social.config import SourceConfig

_REGISTRY: dict[str, type[Connector]] = {}


class Item(NamedTuple):
    """One record of a page: an import-format dict for `normalise`, or an error found while
    mapping the platform's object (then `raw` is what the rejection keeps)."""

    position: str  # where it came from: stream and platform id, or file and line
    record: Any
    identities: tuple[str, ...] = ()  # strings naming people in it (handles, display names)
    error: str | None = None
    raw: str | bytes | None = None


@dataclass(frozen=True)
class StreamState:
    """Where a stream stands: a connector-specific cursor and the time before which everything
    has landed (None before the first complete pass)."""

    cursor: dict[str, Any] = field(default_factory=dict)
    watermark: datetime | None = None


def pass_window(
    state: StreamState, since: datetime, until: datetime, position_key: str
) -> tuple[datetime, datetime, Any] | None:
    """The window of a paged pass over a stream and where to continue in it: the interrupted
    pass saved in `state` (its window and its saved `position_key`: a cursor, an "after"
    token), else a new pass from the watermark (or `since`) to `until`; None when that new
    window is empty."""
    current = state.cursor.get("pass")
    if current:
        return (
            datetime.fromisoformat(current["since"]),
            datetime.fromisoformat(current["until"]),
            current.get(position_key),
        )
    since = state.watermark or since
    return None if since >= until else (since, until, None)


def pass_progress(
    state: StreamState, since: datetime, until: datetime, position_key: str, position: Any
) -> StreamState:
    """The state saved with a page of an unfinished pass (`pass_window` resumes from it)."""
    window = {"since": since.isoformat(), "until": until.isoformat(), position_key: position}
    return StreamState({"pass": window}, state.watermark)


@dataclass
class Page:
    items: list[Item]
    state: StreamState | None  # saved with the page; None leaves the stored state unchanged
    label: str = ""  # what was fetched, for logs

    def with_shared_identities(self) -> Page:
        """Every item also redacts the identities of every other item of the page: a post that
        names another account of the same response (without a mention) does not keep it."""
        shared = tuple(dict.fromkeys(n for item in self.items for n in item.identities))
        if shared:
            self.items = [item._replace(identities=shared) for item in self.items]
        return self


class ConnectorOptions(BaseModel):
    """Base of every connector's options: unknown keys are errors (they are typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Context:
    """What a connector gets besides its configuration."""

    http: HttpClient
    pepper: str
    config_dir: str  # relative paths in options are relative to the config file


class Connector(ABC):
    kind: ClassVar[str]
    platform: ClassVar[str]
    Options: ClassVar[type[ConnectorOptions]]
    # Can the source fetch a past window again (for backfills)? RSS and files cannot.
    supports_backfill: ClassVar[bool] = True
    # Is a run's page budget (max_pages) ignored? Files are read to their end in one run.
    unbounded_pages: ClassVar[bool] = False
    # Does every post of a page also redact the identities of the page's other accounts? Yes
    # for API responses (small pages of one platform); files use each record's own.
    shares_page_identities: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            other = _REGISTRY.get(kind)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise TypeError(f"connector kind {kind!r} is defined twice: {other} and {cls}")
            _REGISTRY[kind] = cls

    def __init__(self, source: SourceConfig, options: Any, context: Context) -> None:
        self.source = source
        self.options = options
        self.context = context
        self.http = context.http

    # -- what the runner asks -------------------------------------------------------------

    def streams(self) -> list[str]:
        """Independent parts of the source, each with its own cursor (e.g. one per hashtag)."""
        return ["main"]

    @abstractmethod
    def location(self) -> str:
        """The endpoint or file pattern read (for the run log and coverage; no credentials)."""

    def scope(self) -> str:
        """A human description of what the source covers."""
        return self.location()

    @abstractmethod
    def fetch(
        self, stream: str, state: StreamState, since: datetime, until: datetime
    ) -> Iterator[Page]:
        """Yield pages of `stream` created in [since, until), resuming from `state`.

        Each page's `state` must be safe to resume from once the page has landed. A stream that
        ends (rather than being stopped by the runner's page budget) is complete.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what `fetch` opened (sessions); called once per run."""

    # -- helpers for subclasses -----------------------------------------------------------

    def base_record(self) -> dict[str, Any]:
        """Source-level hints: a source that declares exactly one language, city or country
        gives it to every post (a city's subreddit, a national feed); the platform's own
        per-post language wins over the declared one."""
        src = self.source
        return {
            "source": src.id,
            "platform": self.platform,
            "lang": src.languages[0] if len(src.languages) == 1 else None,
            "city_code": src.cities[0] if len(src.cities) == 1 else None,
            "country_code": src.countries[0] if len(src.countries) == 1 else None,
        }


def registered() -> dict[str, type[Connector]]:
    """Every connector kind, after importing the plugin modules of `extractors.social.connectors`."""
    from extractors.social.connectors import discover

    discover()
    return dict(_REGISTRY)
