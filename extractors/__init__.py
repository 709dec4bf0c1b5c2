"""Extraction stages, side by side and independent of each other: `social` (social media, news
feeds and file imports into `raw.posts`) and `statistics` (official statistics and reference
data into `raw.statistics_*`)."""
