"""The sources file: the project's own file is valid; every kind of mistake is reported at once,
naming the file, the source and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.social.config import DEFAULT_CONFIG, ConfigError, load_config
from extractors.social.connectors.base import registered
from tests.extractors.social.conftest import write_config


def test_the_repository_sources_file_is_valid() -> None:
    config = load_config(DEFAULT_CONFIG)
    kinds = {s.config.kind for s in config.sources}
    assert kinds == {"mastodon", "bluesky", "reddit", "rss", "file"}
    assert len({s.id for s in config.sources}) == len(config.sources)
    assert config.enabled(), "at least one source runs without credentials"
    # Credentials are named, never written down.
    text = DEFAULT_CONFIG.read_text()
    assert "secret:" not in text and "password:" not in text


def test_every_connector_is_registered_by_kind() -> None:
    assert set(registered()) >= {"mastodon", "bluesky", "reddit", "rss", "file"}


def _problems(tmp_path: Path, sources: list, **defaults) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, sources, defaults or None))
    return error.value.problems


def test_all_problems_are_reported_with_file_source_and_field(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        [
            {"id": "ok_source", "kind": "rss", "options": {"feeds": ["https://example.org/feed"]}},
            {"id": "typo_kind", "kind": "mastodn", "options": {}},
            {
                "id": "bad_tags",
                "kind": "mastodon",
                "options": {"instance": "https://m.example", "hashtags": "migration"},
            },
            {
                "id": "bad_city",
                "kind": "rss",
                "cities": ["Rotterdam"],
                "options": {"feeds": ["https://e.org/f"]},
            },
            {
                "id": "extra_field",
                "kind": "rss",
                "optoins": {},
                "options": {"feeds": ["https://e.org/f"]},
            },
            {"id": "no_creds", "kind": "reddit", "options": {"subreddits": ["berlin"]}},
            {
                "id": "slow",
                "kind": "rss",
                "http": {"timeout_s": -1},
                "options": {"feeds": ["https://e.org/f"]},
            },
            {"id": "ok_source", "kind": "rss", "options": {"feeds": ["https://example.org/other"]}},
            {"id": "Bad Id", "kind": "rss", "options": {"feeds": ["https://e.org/f"]}},
        ],
    )
    name = str(tmp_path / "sources.yml")
    assert all(p.startswith(name + ": ") for p in problems)
    text = "\n".join(problems)
    assert (
        "source 'typo_kind' (sources[1]), field 'kind': unknown kind 'mastodn' (known: bluesky, file, mastodon, reddit, rss)"
        in text
    )
    assert (
        "source 'bad_tags' (sources[2]), field 'options.hashtags': Input should be a valid list"
        in text
    )
    assert "source 'bad_city' (sources[3]), field 'cities[0]': String should match pattern" in text
    assert (
        "source 'extra_field' (sources[4]), field 'optoins': Extra inputs are not permitted" in text
    )
    assert "source 'no_creds' (sources[5]), field 'options.client_id_env': Field required" in text
    assert (
        "source 'slow' (sources[6]), field 'http.timeout_s': Input should be greater than 0" in text
    )
    assert "source 'ok_source' (sources[7]), field 'id': duplicate of sources[0]" in text
    assert "source 'Bad Id' (sources[8]), field 'id': String should match pattern" in text
    assert len(problems) == 9  # no_creds lacks two fields


def test_cross_field_rules(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        [
            {"id": "no_tags", "kind": "mastodon", "options": {"instance": "https://m.example"}},
            {
                "id": "no_subs",
                "kind": "reddit",
                "options": {"client_id_env": "A", "client_secret_env": "B"},
            },
            {
                "id": "bad_env",
                "kind": "bluesky",
                "options": {"queries": ["x"], "identifier_env": "my secret"},
            },
            {
                "id": "half_auth",
                "kind": "bluesky",
                "options": {"queries": ["x"], "identifier_env": "BSKY_ID"},
            },
        ],
    )
    text = "\n".join(problems)
    assert (
        "'no_tags' (sources[0]), field 'options': timeline 'hashtag' needs at least one entry in 'hashtags'"
        in text
    )
    assert "'no_subs' (sources[1]), field 'options': give 'subreddits' or 'searches'" in text
    assert "'bad_env' (sources[2]), field 'options.identifier_env'" in text
    assert (
        "'half_auth' (sources[3]), field 'options': give both 'identifier_env' and 'app_password_env', or neither"
        in text
    )


def test_unreadable_files_say_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\nsources:\n  - id: a\n    kind: [rss\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yml: not valid YAML at line \d+, column \d+"):
        load_config(broken)
    with pytest.raises(ConfigError, match="sources file not found"):
        load_config(tmp_path / "missing.yml")
    wrong = tmp_path / "wrong.yml"
    wrong.write_text("version: 2\nsources: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"wrong.yml, field 'version': Input should be 1"):
        load_config(wrong)


def test_defaults_and_overrides_merge(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        [
            {"id": "aa", "kind": "rss", "options": {"feeds": ["https://e.org/f"]}},
            {
                "id": "bb",
                "kind": "rss",
                "max_pages": 3,
                "http": {"max_attempts": 9},
                "options": {"feeds": ["https://e.org/g"]},
            },
        ],
        {"max_pages": 7},
    )
    config = load_config(path)
    a, b = config.sources
    assert (a.max_pages, b.max_pages) == (7, 3)
    assert (a.http.max_attempts, b.http.max_attempts) == (4, 9)
    assert b.http.timeout_s == a.http.timeout_s == 1.0  # from the test defaults
    with pytest.raises(KeyError, match="no source 'cc'"):
        config.get("cc")
