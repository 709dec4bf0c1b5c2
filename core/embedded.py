"""The embedded PostgreSQL (`pgserver`, PostgreSQL 16 from PyPI) that `bin/run` and `bin/test`
use when no server is configured. It listens on a Unix socket inside its data directory only.

pgserver initialises the server with `trust` for every connection, which would make the reader
logins' passwords mean nothing. Each start therefore writes its own `pg_hba.conf`: the admin
(`postgres`) connects over the socket by `peer` authentication, mapped from the operating-system
users that started the server (`pg_ident.conf`), and every other role - the monitor_* logins -
must give its password (`scram-sha-256`), over the socket and over TCP alike.
"""

from __future__ import annotations

import atexit
import os
import pwd
import time
from pathlib import Path

import psycopg2

ADMIN_USER = "postgres"
IDENT_MAP = "monitor_admin"
HBA = f"""\
# Written by core.embedded at every start; edits are overwritten.
# TYPE  DATABASE  USER          ADDRESS       METHOD
local   all       {ADMIN_USER}                peer map={IDENT_MAP}
local   all       all                         scram-sha-256
host    all       all           127.0.0.1/32  scram-sha-256
host    all       all           ::1/128       scram-sha-256
"""


def _os_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _ident(existing: str, user: str) -> str:
    """pg_ident.conf mapping every OS user who started the server, and `user`, to the admin."""
    users = [
        fields[1]
        for fields in (line.split() for line in existing.splitlines())
        if len(fields) == 3 and fields[0] == IDENT_MAP and fields[2] == ADMIN_USER
    ]
    if user not in users:
        users.append(user)
    lines = ["# Written by core.embedded: who may connect as the admin over the socket (peer)."]
    lines += [f"{IDENT_MAP}  {u}  {ADMIN_USER}" for u in users]
    return "\n".join(lines) + "\n"


def secure_authentication(pgdata: Path, admin_url: str) -> bool:
    """Write the embedded server's pg_hba.conf and pg_ident.conf (above) and reload them when
    they changed; return whether they did. Run while the admin can still connect: on the first
    start that is pgserver's `trust`, later the peer mapping."""
    hba, ident = pgdata / "pg_hba.conf", pgdata / "pg_ident.conf"
    old_ident = ident.read_text() if ident.exists() else ""
    new_ident = _ident(old_ident, _os_user())
    if (hba.read_text() if hba.exists() else "") == HBA and old_ident == new_ident:
        return False
    owner = (pgdata / "PG_VERSION").stat()  # the server's OS user (pgserver's own under root)
    for path, text in ((ident, new_ident), (hba, HBA)):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(tmp, owner.st_uid, owner.st_gid)
        tmp.replace(path)  # atomic: a concurrent reload never reads half a file
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            # A file the server cannot parse would keep the old rules: refuse rather than run open.
            cur.execute("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")
            if cur.fetchone()[0]:
                raise RuntimeError(f"{hba}: the server rejects these authentication rules")
            cur.execute("SELECT pg_conf_load_time()")
            (loaded,) = cur.fetchone()
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    _await_reload(admin_url, loaded)
    return True


def _await_reload(admin_url: str, before, timeout_s: float = 10.0) -> None:
    """Wait until new sessions run with the reloaded rules (the postmaster reloads on SIGHUP,
    asynchronously): a session started after the reload reports a later load time."""
    deadline = time.monotonic() + timeout_s
    while True:
        conn = psycopg2.connect(admin_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_conf_load_time() > %s", (before,))
                if cur.fetchone()[0]:
                    return
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError("the embedded server did not reload its authentication rules")
        time.sleep(0.05)


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
    admin_url = server.get_uri(ADMIN_USER)
    secure_authentication(pgdata, admin_url)
    return admin_url


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    server.cleanup()
    return True
