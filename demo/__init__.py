"""Synthetic demo data: multilingual posts about European cities and city statistics.

Everything here is invented and labelled ``synthetic``; see ``docs/demo-data.md``. The public
surface is small: stream posts with :func:`iter_posts`, write them with :func:`write_posts`,
write the synthetic official statistics with :func:`write_official_statistics`.
"""

from demo.generate import (
    EVENTS,
    LANGUAGES,
    PLATFORMS,
    KeywordMatcher,
    event_calendar,
    iter_official_statistics,
    iter_posts,
    load_cities,
    load_keywords,
    post_stats,
    read_posts,
    write_official_statistics,
    write_posts,
)

__all__ = [
    "EVENTS",
    "LANGUAGES",
    "PLATFORMS",
    "KeywordMatcher",
    "event_calendar",
    "iter_official_statistics",
    "iter_posts",
    "load_cities",
    "load_keywords",
    "post_stats",
    "read_posts",
    "write_official_statistics",
    "write_posts",
]
