"""Data lifecycle: retention (post text older than MONITOR_RETENTION_DAYS is purged, figures
stay) and erasure (a post's or an author's rows deleted everywhere, logged without ids).

A stage on core only: it works on the warehouse tables, each as its owner, and leaves the
rebuild of the aggregates and the republication to the app (`monitor.lifecycle`).
docs/privacy.md, "Retention" and "Erasure".
"""
