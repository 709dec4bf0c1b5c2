"""File imports with a declared column mapping: for platforms whose APIs are closed or paid
(X/Twitter, Facebook) and for researchers' existing captures (4CAT exports, X archives).

Each file matching `path` is a stream. Its cursor is the file's fingerprint (size, mtime) and the
number of records landed, saved with every batch: an interrupted import resumes at the next
record, a finished file is skipped until it changes (then it is read again; the natural key
makes that idempotent). Records are mapped by a preset or declared `mapping`
(`extractors.social.mapping`), or parsed as the platform's own objects (`native`, e.g. statuses in a
4CAT NDJSON capture of Mastodon).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from extractors.social.connectors.base import Connector, ConnectorOptions, Item, Page, StreamState
from extractors.social.landing import Rejection
from extractors.social.mapping import Mapping, MappingError, mapping_for
from extractors.social.readers import read_records


class FileOptions(ConnectorOptions):
    path: str = Field(min_length=1)  # a file or glob; relative to the config file; ${VAR} expanded
    format: Literal["auto", "ndjson", "csv", "json"] = "auto"
    mapping: str | dict[str, Any] = "import"  # preset (import, 4cat, x_archive) or declared
    native: Literal["mastodon", "bluesky", "reddit"] | None = None
    platform: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{1,30}$")
    csv_delimiter: str = Field(",", min_length=1, max_length=1)
    batch_size: int = Field(5000, ge=1, le=100_000)

    @field_validator("mapping")
    @classmethod
    def _mapping_compiles(cls, mapping: str | dict[str, Any]) -> str | dict[str, Any]:
        try:
            mapping_for(mapping)
        except MappingError as exc:
            raise ValueError(str(exc)) from None
        return mapping

    @model_validator(mode="after")
    def _platform_known(self) -> FileOptions:
        if self.native and self.mapping != "import":
            raise ValueError("give either 'native' or 'mapping', not both")
        compiled = mapping_for(self.mapping)
        needs_platform = compiled is not None and compiled.constant_platform is None
        if needs_platform and not self.platform:
            raise ValueError("a mapped file needs 'platform' (e.g. telegram, facebook)")
        return self


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


class FileConnector(Connector):
    kind = "file"
    platform = "file"
    Options = FileOptions
    supports_backfill = False
    unbounded_pages = True
    shares_page_identities = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mapping: Mapping | None = mapping_for(self.options.mapping)
        self._native = None
        if self.options.native:
            self._native = _native_parser(self.options.native, self.context.pepper)

    def _pattern(self) -> str:
        raw = os.path.expandvars(os.path.expanduser(self.options.path))
        if not os.path.isabs(raw):
            raw = os.path.join(self.context.config_dir, raw)
        return raw

    def streams(self) -> list[str]:
        return sorted(glob.glob(self._pattern()))

    def location(self) -> str:
        return self._pattern()

    def scope(self) -> str:
        what = self.options.native or (
            self.options.mapping if isinstance(self.options.mapping, str) else "mapped"
        )
        return f"file import ({what}) of {self.options.path}"

    def base_record(self) -> dict[str, Any]:
        base = super().base_record()
        platform = self.options.platform or (self._mapping and self._mapping.constant_platform)
        if platform or self._native:
            base["platform"] = platform or self.options.native
        else:
            del base["platform"]  # import format: every record names its platform
        return base

    def _item(self, position: str, record: Any, base: dict[str, Any]) -> Item:
        if isinstance(record, Rejection):
            return Item(position, None, error=record.reason, raw=record.record)
        if self._native is not None:
            item = self._native(record, base, position)
            return item or Item(position, record, error="not a post (a placeholder object)")
        if self._mapping is None:  # import format: hints fill what the record leaves out
            if isinstance(record, dict):
                for key, value in base.items():
                    if record.get(key) in (None, ""):
                        record[key] = value
            return Item(position, record)
        if not isinstance(record, dict):
            return Item(
                position, record, error=f"record is a {type(record).__name__}, not an object"
            )
        mapped = self._mapping.apply(record)
        if "platform" in mapped:
            mapped["platform"] = str(mapped["platform"]).lower()
        return Item(position, {**base, **mapped})

    def fetch(
        self, stream: str, state: StreamState, since: datetime, until: datetime
    ) -> Iterator[Page]:
        path = Path(stream)
        fingerprint = _fingerprint(path)
        same_file = state.cursor.get("fingerprint") == fingerprint
        if same_file and state.cursor.get("done"):
            return  # landed completely, unchanged since
        done_records = int(state.cursor.get("records", 0)) if same_file else 0
        base = self.base_record()
        batch: list[Item] = []
        count = done_records
        records = read_records(
            path, self.options.format, skip=done_records, delimiter=self.options.csv_delimiter
        )
        for position, record in records:
            batch.append(self._item(position, record, base))
            count += 1
            if len(batch) >= self.options.batch_size:
                cursor = {"fingerprint": fingerprint, "records": count, "done": False}
                yield Page(batch, StreamState(cursor, None), f"{path.name} to record {count}")
                batch = []
        cursor = {"fingerprint": fingerprint, "records": count, "done": True}
        yield Page(batch, StreamState(cursor, None), f"{path.name} complete ({count} records)")


def _native_parser(kind: str, pepper: str):
    """The item function of a platform connector, for files of that platform's own objects."""
    if kind == "mastodon":
        from extractors.social.connectors.mastodon import status_item

        return lambda record, base, where: status_item(record, base, where)
    if kind == "bluesky":
        from extractors.social.connectors.bluesky import post_item

        def bluesky(record: Any, base: dict[str, Any], where: str) -> Item:
            post = record.get("post", record) if isinstance(record, dict) else record
            return post_item(post, base, where, pepper)  # feed items wrap the post

        return bluesky
    from extractors.social.connectors.reddit import thing_item

    def reddit(record: Any, base: dict[str, Any], where: str) -> Item | None:
        if isinstance(record, dict) and "kind" not in record and "data" not in record:
            record = {"kind": "t3" if "title" in record else "t1", "data": record}
        return thing_item(record, base, where)

    return reddit
