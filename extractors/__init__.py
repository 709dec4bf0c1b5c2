"""Extractors: each source family lands privacy-scrubbed, pseudonymised records in `raw`.

Social media and news (`connectors/`: Mastodon, Bluesky, Reddit, RSS/Atom, mapped files), run by
`runner` from `config/sources.yml` (see docs/extractors.md); plain file imports
(`file_import`); official statistics (`statistics/`, `statistics_file`).
"""
