"""Extractors: one module per source family, each landing privacy-scrubbed records in `raw`."""
