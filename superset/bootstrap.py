"""Bootstrap Superset for the European Monitor on Urban Integration (idempotent).

Run with the Superset virtualenv (it imports Superset)::

    .venv-superset/bin/python superset/bootstrap.py --home DIR --warehouse-uri URI \
        [--detail-uri URI] --admin-password PASSWORD [--port N] [--manifest PATH] \
        [--config config/superset.yml]

Steps, all in one process and one Flask app context (each Superset CLI start costs ~10 s):

1. ``SUPERSET_HOME``/``SUPERSET_CONFIG_PATH`` are set; a secret key is created in
   ``DIR/secret_key`` (mode 0600) unless ``SUPERSET_SECRET_KEY`` is set.
2. ``superset db upgrade`` and ``superset init`` (permissions, built-in roles).
3. The ``admin`` user is created, or its password reset when it differs.
4. The content of ``superset/dashboards.yml`` is built by ``superset/assets.py`` (a dataset per
   table published to BI, columns and descriptions from the dbt manifest, column types from the
   warehouse when it answers), zipped into ``DIR/assets_bundle.zip`` (0600) and imported with
   overwrite, one kind at a time: databases, datasets, charts, dashboards. Uuids derive from
   names, so a second run updates the same rows.
5. The roles (Analyst, NGO, Ministry <id>, Researcher, Data engineer), the ministries' row-level
   security rules, the dashboards' roles (``DASHBOARD_RBAC``) and the logins of
   ``config/superset.yml`` are kept in sync; passwords of new logins are generated into
   ``DIR/passwords.env`` (0600) unless ``SUPERSET_PASSWORD_<LOGIN>`` is set.

``--warehouse-uri``, ``--detail-uri`` and ``--admin-password`` may instead come from
``SUPERSET_WAREHOUSE_URI``, ``SUPERSET_DETAIL_URI`` and ``SUPERSET_ADMIN_PASSWORD`` (keeps
secrets out of the process list). Without a detail URI there is no detail connection and no
keyword-in-context dashboard. Exit code 0 on success; the last line printed is ``BOOTSTRAP OK``
followed by a JSON summary.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import secrets
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# core.publications and superset/assets.py use PyYAML and the standard library only, so this
# virtualenv (which does not install the project) imports them from the checkout.
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "superset"))
import assets  # noqa: E402

from core.publications import load_publications  # noqa: E402
from core.settings import load_settings  # noqa: E402

CONFIG_PATH = REPO / "superset" / "superset_config.py"
USERS_CONFIG = REPO / "config" / "superset.yml"
BUNDLE_ROOT = "urban_integration_assets"
ADMIN_USERNAME = "admin"
ANALYST, NGO, RESEARCHER, ENGINEER, MINISTRY = (
    "Analyst",
    "NGO",
    "Researcher",
    "Data engineer",
    "Ministry",
)
# Permission prefixes that write, administer or run arbitrary SQL: never given to readers.
_NOT_READ_ONLY = (
    "can_write",
    "can_add",
    "can_edit",
    "can_delete",
    "can_save",
    "can_overwrite",
    "can_import",
    "can_copy",
    "can_invalidate",
    "can_warm_up_cache",
    "can_set_embedded",
    "can_delete_embedded",
    "can_grant_guest_token",
    "can_sqllab",
    "can_execute_sql_query",
    "can_estimate_query_cost",
    "can_activate",
    "can_tag",
    "can_bulk_create",
)
# Views of Gamma that no reader or analyst needs (user lists, RLS rules, security).
_NOT_FOR_USERS = {"RowLevelSecurity", "security", "user", "UserRegistrationsRestAPI"}
# The datasets of the quality dashboard and of the detail connection; every other dataset is
# for everyone (each role's rows restricted by row-level security where it applies).
QUALITY_DATASETS = {"gate_runs", "check_results", "alerts"}
# PostgreSQL type oids of the columns a virtual dataset can have here.
_PG_TYPES = {
    16: "BOOLEAN",
    20: "BIGINT",
    21: "SMALLINT",
    23: "INTEGER",
    25: "TEXT",
    700: "REAL",
    701: "DOUBLE PRECISION",
    1043: "VARCHAR",
    1082: "DATE",
    1114: "TIMESTAMP WITHOUT TIME ZONE",
    1184: "TIMESTAMP WITH TIME ZONE",
    1700: "NUMERIC",
}

log = logging.getLogger("superset_bootstrap")


def _step(name: str) -> float:
    print(f"[bootstrap] {name} ...", flush=True)
    return time.monotonic()


def _done(name: str, started: float) -> None:
    print(f"[bootstrap] {name} done in {time.monotonic() - started:.1f}s", flush=True)


def prepare_environment(home: Path) -> None:
    """Create the home folder and secret key; point Superset at this repo's config."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    if not os.environ.get("SUPERSET_SECRET_KEY", "").strip():
        key_file = home / "secret_key"
        if not key_file.exists():
            _write_private(key_file, secrets.token_urlsafe(48) + "\n")
    os.environ["SUPERSET_HOME"] = str(home)
    os.environ["SUPERSET_CONFIG_PATH"] = str(CONFIG_PATH)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("SCARF_ANALYTICS", "false")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def warehouse_columns(uris: dict[str, str], spec: dict[str, Any]) -> dict:
    """(schema, table) -> [(column, type)] as the warehouse has them, where it answers.

    Column types let Superset build date literals and sort numbers without a metadata fetch; a
    warehouse that is not built yet (a fresh compose deployment) just leaves them unknown until
    the next bootstrap.
    """
    from sqlalchemy import create_engine, inspect, text

    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    extra = spec.get("extra_datasets") or {}
    for name, uri in uris.items():
        try:
            engine = create_engine(uri)
            with engine.connect() as conn:
                insp = inspect(conn)
                for schema in {"published", "published_meta", "published_detail"}:
                    if not insp.has_schema(schema):
                        continue
                    for table in insp.get_table_names(schema) + insp.get_view_names(schema):
                        found.setdefault(
                            (schema, table),
                            [(c["name"], str(c["type"])) for c in insp.get_columns(table, schema)],
                        )
                for key, entry in extra.items():
                    if entry.get("sql") and entry.get("database", "warehouse") == name:
                        cur = conn.execute(text(f"SELECT * FROM ({entry['sql']}) AS q LIMIT 0"))
                        found[(entry["schema"], key)] = [
                            (d[0], _PG_TYPES.get(d[1], "TEXT")) for d in cur.cursor.description
                        ]
            engine.dispose()
        except Exception as exc:
            print(f"[bootstrap] {name}: column types not read ({exc.__class__.__name__})")
    return found


def build_bundle(
    uris: dict[str, str],
    out_path: Path,
    manifest: Path | None = None,
    k: int | None = None,
    column_types: dict | None = None,
) -> Path:
    """Zip the built assets under one root folder (the bundle holds URIs: owner-only)."""
    import yaml

    publications = {p.table: p for p in load_publications(manifest)}
    k = load_settings().min_cell_size if k is None else k
    files = assets.build_assets(publications, uris, k, column_types)
    files["metadata.yaml"] = {
        "version": "1.0.0",
        "type": "Dashboard",
        "timestamp": "2020-01-01T00:00:00+00:00",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as bundle:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{BUNDLE_ROOT}/{rel}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, yaml.safe_dump(files[rel], sort_keys=False, allow_unicode=True))
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(buf.getvalue())
    os.chmod(out_path, 0o600)
    return out_path


def _with_type(contents: dict[str, str], type_name: str) -> dict[str, str]:
    """The bundle's metadata says ``type: Dashboard``; each importer checks its own type."""
    import yaml

    out = dict(contents)
    meta = yaml.safe_load(out["metadata.yaml"])
    meta["type"] = type_name
    out["metadata.yaml"] = yaml.safe_dump(meta)
    return out


def ensure_admin(password: str) -> str:
    from superset.extensions import db
    from werkzeug.security import check_password_hash

    from superset import security_manager

    admin_role = security_manager.find_role("Admin")
    if admin_role is None:
        raise SystemExit("role Admin missing after `superset init`")
    user = security_manager.find_user(username=ADMIN_USERNAME)
    if user is None:
        created = security_manager.add_user(
            ADMIN_USERNAME, "Superset", "Admin", "admin@example.org", admin_role, password=password
        )
        if not created:
            raise SystemExit("could not create the admin user (see the log above)")
        return "created"
    changed = []
    if not check_password_hash(user.password or "", password):
        security_manager.reset_password(user.id, password)
        changed.append("password")
    if admin_role not in user.roles:
        user.roles.append(admin_role)
        changed.append("role")
    if not user.active:
        user.active = True
        changed.append("active")
    db.session.commit()
    return "updated " + ",".join(changed) if changed else "unchanged"


def import_bundle(bundle_path: Path) -> dict[str, Any]:
    from superset.commands.chart.importers.v1 import ImportChartsCommand
    from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
    from superset.commands.database.importers.v1 import ImportDatabasesCommand
    from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle
    from superset.utils.core import override_user

    from superset import security_manager

    with zipfile.ZipFile(bundle_path) as bundle:
        contents = get_contents_from_bundle(bundle)
    admin = security_manager.find_user(username=ADMIN_USERNAME)
    steps = [
        ("databases", ImportDatabasesCommand, "Database"),
        ("datasets", ImportDatasetsCommand, "SqlaTable"),
        ("charts", ImportChartsCommand, "Slice"),
        ("dashboards", ImportDashboardsCommand, "Dashboard"),
    ]
    counts: dict[str, Any] = {}
    with override_user(admin):
        for name, command, type_name in steps:
            command(_with_type(contents, type_name), overwrite=True).run()
            counts[name] = sum(1 for f in contents if f.startswith(f"{name}/"))
    return counts


# --- roles, row-level security, users ---


def load_users_config(path: Path = USERS_CONFIG) -> dict[str, Any]:
    import yaml

    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for m in config.get("ministries") or []:
        if not re.fullmatch(r"[A-Z]{2}", str(m.get("country_code", ""))):
            raise SystemExit(f"{path}: ministry {m.get('id')!r}: country_code must be 2 letters")
    return config


def _pv(permission: str, view: str):
    from superset import security_manager

    pv = security_manager.find_permission_view_menu(permission, view)
    if pv is None:
        security_manager.add_permission_view_menu(permission, view)
        pv = security_manager.find_permission_view_menu(permission, view)
    return pv


def _schema_perms(dataset) -> list[str]:
    """Schema permission names of a dataset's schema, with and without the catalog: SQL Lab
    qualifies a query's tables with the connection's default catalog."""
    from superset import security_manager

    db_name = dataset.database.database_name
    catalog = dataset.catalog or dataset.database.get_default_catalog()
    return sorted(
        {
            security_manager.get_schema_perm(db_name, None, dataset.schema),
            security_manager.get_schema_perm(db_name, catalog, dataset.schema),
        }
    )


def role_permissions(datasets: dict[str, Any]) -> dict[str, set]:
    """Role name -> wanted permission views (ministry roles share the NGO's)."""
    from superset import security_manager

    gamma = security_manager.find_role("Gamma")
    if gamma is None:
        raise SystemExit("role Gamma missing after `superset init`")
    base = {
        pv
        for pv in gamma.permissions
        if pv.permission and pv.view_menu and pv.view_menu.name not in _NOT_FOR_USERS
    }
    reader = {pv for pv in base if not pv.permission.name.startswith(_NOT_READ_ONLY)}
    sqllab = {
        pv
        for pair in security_manager.SQLLAB_ONLY_PERMISSIONS
        | security_manager.SQLLAB_EXTRA_PERMISSION_VIEWS
        if (pv := security_manager.find_permission_view_menu(*pair)) is not None
    }

    def access(keys) -> set:
        return {_pv("datasource_access", datasets[k].perm) for k in keys if k in datasets}

    def schemas(key: str) -> set:
        return (
            {_pv("schema_access", p) for p in _schema_perms(datasets[key])}
            if key in datasets
            else set()
        )

    public = {k for k, d in datasets.items() if d.database.database_name == "warehouse"}
    public -= QUALITY_DATASETS
    detail = {k for k, d in datasets.items() if d.database.database_name == "warehouse_detail"}
    analyst = base | sqllab | access(public) | schemas("mart_city_area_daily")
    return {
        NGO: reader | access(public),
        MINISTRY: reader | access(public),
        ANALYST: analyst,
        RESEARCHER: analyst | access(detail) | schemas("fct_keyword_contexts"),
        ENGINEER: analyst | access(QUALITY_DATASETS) | schemas("gate_runs"),
    }


def _sync_role(name: str, wanted: set) -> bool:
    from superset import security_manager

    role = security_manager.find_role(name) or security_manager.add_role(name)
    if set(role.permissions) == wanted:
        return False
    role.permissions = sorted(wanted, key=lambda pv: pv.id)
    return True


def rls_clauses(country: str, columns: set[str]) -> str | None:
    """The row filter that shows one country's rows of a dataset with these columns."""
    if "country_code" in columns:
        return f"country_code = '{country}'"
    if "city_code" in columns:
        # Urban Audit codes start with the Eurostat country code (DE001C, EL001C).
        return f"left(city_code, 2) = '{country}'"
    if {"scope", "code"} <= columns:
        return (
            f"(scope = 'country' AND code = '{country}') "
            f"OR (scope = 'city' AND left(code, 2) = '{country}')"
        )
    return None


def sync_rls(ministries: list[dict], datasets: dict[str, Any]) -> dict[str, int]:
    """One rule per ministry and kind of row filter; rules of removed ministries are deleted."""
    from superset.connectors.sqla.models import RowLevelSecurityFilter
    from superset.extensions import db
    from superset.utils.core import RowLevelSecurityFilterType

    from superset import security_manager

    wanted: dict[str, tuple[str, str, list]] = {}
    for m in ministries:
        role = security_manager.find_role(f"{MINISTRY} {m['id']}")
        by_clause: dict[str, list] = {}
        for _key, ds in sorted(datasets.items()):
            clause = rls_clauses(m["country_code"], {c.column_name for c in ds.columns})
            if clause:
                by_clause.setdefault(clause, []).append(ds)
        for i, (clause, tables) in enumerate(sorted(by_clause.items())):
            wanted[f"{MINISTRY} {m['id']}: {i + 1}"] = (clause, role, tables)
    existing = {
        r.name: r
        for r in db.session.query(RowLevelSecurityFilter)
        .filter(RowLevelSecurityFilter.name.like(f"{MINISTRY} %"))
        .all()
    }
    changed = 0
    for name, rule in existing.items():
        if name not in wanted:
            db.session.delete(rule)
            changed += 1
    for name, (clause, role, tables) in wanted.items():
        rule = existing.get(name) or RowLevelSecurityFilter(name=name)
        new = (
            rule.clause != clause
            or rule.filter_type != RowLevelSecurityFilterType.REGULAR.value
            or {t.id for t in rule.tables} != {t.id for t in tables}
            or [r.id for r in rule.roles] != [role.id]
            or rule.group_key != "country"
        )
        if new:
            rule.clause = clause
            rule.filter_type = RowLevelSecurityFilterType.REGULAR.value
            rule.group_key = "country"
            rule.description = f"{name}: rows of {clause.split(chr(39))[1]} only"
            rule.tables = tables
            rule.roles = [role]
            db.session.add(rule)
            changed += 1
    db.session.commit()
    return {"rules": len(wanted), "changed": changed}


def _password_for(login: str, stored: dict[str, str]) -> str:
    env = "SUPERSET_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", login.upper())
    return os.environ.get(env) or stored.get(login) or secrets.token_urlsafe(12)


def sync_users(config: dict[str, Any], home: Path) -> dict[str, str]:
    """The configured logins with exactly their roles; new passwords go to passwords.env."""
    from superset.extensions import db
    from werkzeug.security import check_password_hash

    from superset import security_manager

    path = home / "passwords.env"
    stored = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.startswith("#"):
                k, _, v = line.partition("=")
                stored[k.strip()] = v.strip()
    passwords, result = {}, {}
    for entry in config.get("users") or []:
        login = entry["login"]
        roles = [security_manager.find_role(r) for r in entry["roles"]]
        if None in roles:
            raise SystemExit(f"user {login}: unknown role among {entry['roles']}")
        password = passwords[login] = _password_for(login, stored)
        user = security_manager.find_user(username=login)
        if user is None:
            security_manager.add_user(
                login,
                entry.get("first_name", login),
                entry.get("last_name", "-"),
                entry.get("email", f"{login}@example.org"),
                roles,
                password=password,
            )
            result[login] = "created"
            continue
        changed = []
        if not check_password_hash(user.password or "", password):
            security_manager.reset_password(user.id, password)
            changed.append("password")
        if sorted(r.id for r in user.roles) != sorted(r.id for r in roles):
            user.roles = roles
            changed.append("roles")
        if not user.active:
            user.active = True
            changed.append("active")
        result[login] = "updated " + ",".join(changed) if changed else "unchanged"
    db.session.commit()
    body = "# Superset logins of config/superset.yml; generated locally, never commit.\n"
    body += "".join(f"{k}={v}\n" for k, v in passwords.items())
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        _write_private(path, body)
    return result


def sync_access(home: Path, users_config: dict[str, Any]) -> dict[str, Any]:
    """Roles, row-level security, dashboard roles and users, from the two configurations."""
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db
    from superset.models.dashboard import Dashboard

    from superset import security_manager

    spec = assets.load_spec()
    keys = set(spec["datasets"]) | set(spec.get("extra_datasets") or {})
    by_uuid = {assets.asset_uuid("dataset", k): k for k in keys}
    datasets = {
        by_uuid[str(d.uuid)]: d for d in db.session.query(SqlaTable).all() if str(d.uuid) in by_uuid
    }
    perms = role_permissions(datasets)
    ministries = users_config.get("ministries") or []
    changed = {}
    for name in (ANALYST, NGO, RESEARCHER, ENGINEER):
        changed[name] = _sync_role(name, perms[name])
    for m in ministries:
        name = f"{MINISTRY} {m['id']}"
        changed[name] = _sync_role(name, perms[MINISTRY])
    db.session.commit()
    rls = sync_rls(ministries, datasets)

    ministry_roles = [f"{MINISTRY} {m['id']}" for m in ministries]
    dashboards = {}
    for slug, audience in assets.audiences(spec).items():
        dash = db.session.query(Dashboard).filter_by(uuid=assets.asset_uuid("dashboard", slug))
        dash = dash.one_or_none()
        if dash is None:
            continue
        names = [n for a in audience for n in (ministry_roles if a == MINISTRY else [a])]
        roles = [security_manager.find_role(n) for n in names]
        if sorted(r.id for r in dash.roles) != sorted(r.id for r in roles):
            dash.roles = roles
        dashboards[slug] = {"id": dash.id, "roles": names}
    db.session.commit()
    users = sync_users(users_config, home)
    return {
        "roles_changed": changed,
        "rls": rls,
        "dashboards": dashboards,
        "users": users,
        "datasets": len(datasets),
    }


def run(
    home: Path,
    uris: dict[str, str],
    admin_password: str,
    port: int,
    manifest: Path | None = None,
    users_config: Path = USERS_CONFIG,
) -> dict[str, Any]:
    prepare_environment(home)
    summary: dict[str, Any] = {"home": str(home)}
    config = load_users_config(users_config)

    t = _step("create app")
    from superset.app import create_app

    app = create_app()
    _done("create app", t)
    with app.app_context():
        from flask_migrate import upgrade
        from superset.extensions import db

        from superset import appbuilder, security_manager

        t = _step("superset db upgrade")
        upgrade()
        _done("superset db upgrade", t)

        t = _step("superset init")
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        db.session.commit()
        _done("superset init", t)

        t = _step("admin user")
        summary["admin"] = ensure_admin(admin_password)
        _done(f"admin user ({summary['admin']})", t)

        t = _step("build and import asset bundle")
        types = warehouse_columns(uris, assets.load_spec())
        bundle = build_bundle(uris, home / "assets_bundle.zip", manifest, column_types=types)
        summary["imported"] = import_bundle(bundle)
        summary["bundle"] = str(bundle)
        _done("build and import asset bundle", t)

        t = _step("roles, row-level security, users")
        summary["access"] = sync_access(home, config)
        _done("roles, row-level security, users", t)
        summary["passwords"] = str(home / "passwords.env")
        summary["dashboard_url"] = f"http://127.0.0.1:{port}/superset/dashboard/urban-integration/"
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, type=Path, help="SUPERSET_HOME (state folder)")
    parser.add_argument(
        "--warehouse-uri",
        default=os.environ.get("SUPERSET_WAREHOUSE_URI"),
        help="SQLAlchemy URI of the warehouse as the BI login (default: $SUPERSET_WAREHOUSE_URI)",
    )
    parser.add_argument(
        "--detail-uri",
        default=os.environ.get("SUPERSET_DETAIL_URI"),
        help="SQLAlchemy URI of the warehouse as the detail login (default: $SUPERSET_DETAIL_URI)",
    )
    parser.add_argument(
        "--admin-password",
        default=os.environ.get("SUPERSET_ADMIN_PASSWORD"),
        help="password of the admin user (default: $SUPERSET_ADMIN_PASSWORD)",
    )
    parser.add_argument("--port", type=int, default=8088, help="port for the printed URL")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="dbt manifest with the models' docs (default: $MONITOR_DBT_TARGET_PATH or "
        "dbt/target, /manifest.json)",
    )
    parser.add_argument(
        "--config", type=Path, default=USERS_CONFIG, help="roles, ministries and logins"
    )
    args = parser.parse_args(argv)
    if not args.warehouse_uri:
        parser.error("--warehouse-uri (or $SUPERSET_WAREHOUSE_URI) is required")
    if not args.admin_password:
        parser.error("--admin-password (or $SUPERSET_ADMIN_PASSWORD) is required")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uris = {"warehouse": args.warehouse_uri}
    if args.detail_uri:
        uris["warehouse_detail"] = args.detail_uri
    started = time.monotonic()
    summary = run(
        args.home.resolve(), uris, args.admin_password, args.port, args.manifest, args.config
    )
    summary["seconds"] = round(time.monotonic() - started, 1)
    print("BOOTSTRAP OK " + json.dumps(summary, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
