"""URL handling for TCP and Unix-socket PostgreSQL URLs (the embedded server uses a socket)."""

from core.db import PgParams, redact


def test_socket_url_round_trip() -> None:
    url = "postgresql://postgres:@/monitor?host=/work/main/.local/pg"
    p = PgParams.from_url(url)
    assert (p.host, p.port, p.user, p.dbname) == (
        "/work/main/.local/pg",
        5432,
        "postgres",
        "monitor",
    )
    again = PgParams.from_url(p.url(driver="psycopg2"))
    assert again == p
    assert p.url(user="monitor_bi").startswith("postgresql://monitor_bi@/monitor?host=")


def test_tcp_url_with_password_is_redacted() -> None:
    p = PgParams.from_url("postgresql+psycopg2://loader:s3cret@db.example:6543/wh")
    assert (p.host, p.port, p.user, p.password, p.dbname) == (
        "db.example",
        6543,
        "loader",
        "s3cret",
        "wh",
    )
    assert "s3cret" not in redact(p.url())
    assert p.url(user="monitor_bi") == "postgresql://monitor_bi@db.example:6543/wh"
