"""The embedded PostgreSQL (`pgserver`, PostgreSQL 16 from PyPI) that `bin/run` and `bin/test`
use when no server is configured. It listens on a Unix socket inside its data directory only."""

from __future__ import annotations

import atexit
from pathlib import Path


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in `pgdata`; return its admin URL.

    The server outlives this process (Airflow tasks and Superset connect to it too);
    `stop_embedded` stops it.
    """
    import pgserver  # imported lazily: only the embedded mode needs it

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    # pgserver would deregister this process at interpreter exit, logging after logging has shut
    # down; with cleanup_mode=None that is all it does, so do it now.
    atexit.unregister(server._cleanup)
    server._cleanup()
    return server.get_uri("postgres")


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    server.cleanup()
    return True
