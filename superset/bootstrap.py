"""Bootstrap Superset for the European Monitor on Urban Integration (idempotent).

Run with the Superset virtualenv (it imports Superset)::

    .venv-superset/bin/python superset/bootstrap.py --home DIR --warehouse-uri URI \
        --admin-password PASSWORD [--port N]

Steps, all in one process and one Flask app context (each Superset CLI start costs ~10 s):

1. ``SUPERSET_HOME``/``SUPERSET_CONFIG_PATH`` are set; a secret key is created in
   ``DIR/secret_key`` (mode 0600) unless ``SUPERSET_SECRET_KEY`` is set.
2. ``superset db upgrade`` (Flask-Migrate ``upgrade``) on the metadata database.
3. ``superset init`` (``add_permissions`` + ``sync_role_definitions``).
4. The ``admin`` user is created, or its password reset when it differs.
5. ``superset/assets`` (Superset's export format) is zipped into ``DIR/assets_bundle.zip``
   under one root folder, with ``__WAREHOUSE_URI__`` replaced by ``--warehouse-uri`` and each
   dataset's descriptions (table and columns) taken from the dbt manifest (``--manifest``, the
   models' YAML docs: they are written once, in the dbt project), and
   imported with overwrite: databases, datasets, charts, then dashboards. (A dashboard import
   alone never overwrites existing charts or datasets, so each kind is imported by its own
   command.) The fixed uuids make a second run update the same rows, never duplicate them.
6. A read-only ``Analyst`` role is kept in sync: the read permissions of ``Gamma`` plus
   ``datasource_access`` on the mart dataset, and it is set as the dashboard's role
   (``DASHBOARD_RBAC``).

``--warehouse-uri`` and ``--admin-password`` may instead come from ``SUPERSET_WAREHOUSE_URI``
and ``SUPERSET_ADMIN_PASSWORD`` (keeps secrets out of the process list). ``--port`` is only
used for the URL printed at the end. Exit code 0 on success; the last line printed is
``BOOTSTRAP OK`` followed by a JSON summary.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import secrets
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# core.publications reads the dbt manifest with the standard library only, so this virtualenv
# (which does not install the project) can use it from the checkout.
sys.path.insert(0, str(REPO))
from core.publications import Publication, load_publications  # noqa: E402

ASSETS_DIR = REPO / "superset" / "assets"
CONFIG_PATH = REPO / "superset" / "superset_config.py"
URI_PLACEHOLDER = "__WAREHOUSE_URI__"
BUNDLE_ROOT = "urban_integration_assets"
ADMIN_USERNAME = "admin"
ANALYST_ROLE = "Analyst"
# Permission prefixes that write, administer or run arbitrary SQL: never given to Analyst.
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
# Views of Gamma that an analyst does not need (user lists, RLS rules, SQL Lab leftovers).
_NOT_FOR_ANALYST_VIEWS = {
    "RowLevelSecurity",
    "security",
    "user",
    "SQLLab",
    "SavedQuery",
    "UserRegistrationsRestAPI",
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
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_urlsafe(48) + "\n")
    os.environ["SUPERSET_HOME"] = str(home)
    os.environ["SUPERSET_CONFIG_PATH"] = str(CONFIG_PATH)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("SCARF_ANALYTICS", "false")


def dataset_with_docs(config: dict[str, Any], publications: dict[str, Publication]) -> dict:
    """A dataset file with its table's and columns' descriptions from the dbt docs; columns the
    model has and the file does not list are added, a listed column the model lacks is an
    error (the dataset would point at nothing)."""
    table = config.get("table_name")
    pub = publications.get(table)
    if pub is None or not pub.bi:
        raise SystemExit(f"dataset {table!r}: not a model published to BI (meta.publication.bi)")
    out = dict(config, description=pub.description)
    listed = {c["column_name"]: c for c in config.get("columns") or []}
    unknown = sorted(set(listed) - {c.name for c in pub.columns})
    if unknown:
        raise SystemExit(f"dataset {table!r}: columns not in the model {pub.path}: {unknown}")
    columns = []
    for col in pub.columns:
        entry = dict(listed.get(col.name) or _DEFAULT_COLUMN, column_name=col.name)
        entry["description"] = col.description
        entry["verbose_name"] = (
            col.meta.get("label")
            or entry.get("verbose_name")
            or col.name.replace("_", " ").capitalize()
        )
        entry.setdefault("type", col.data_type.upper() if col.data_type else None)
        columns.append(entry)
    out["columns"] = columns
    return out


_DEFAULT_COLUMN: dict[str, Any] = {
    "is_dttm": False,
    "is_active": True,
    "groupby": True,
    "filterable": True,
    "expression": None,
    "python_date_format": None,
    "advanced_data_type": None,
    "extra": None,
}


def build_bundle(
    warehouse_uri: str,
    out_path: Path,
    assets_dir: Path = ASSETS_DIR,
    manifest: Path | None = None,
) -> Path:
    """Zip the YAML assets under one root folder, substituting the warehouse URI and the
    datasets' documentation from the dbt manifest.

    Database and dataset files are parsed and re-dumped (not string-replaced), so any URI works,
    including Unix-socket URIs such as ``postgresql+psycopg2://u@/db?host=/path``.
    """
    import yaml

    publications = {p.table: p for p in load_publications(manifest)}
    files = sorted(p for p in assets_dir.rglob("*") if p.suffix in (".yaml", ".yml"))
    if not any(p.name == "metadata.yaml" for p in files):
        raise SystemExit(f"no metadata.yaml in {assets_dir}")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in files:
            rel = path.relative_to(assets_dir).as_posix()
            text = path.read_text(encoding="utf-8")
            if rel.startswith("databases/"):
                config = yaml.safe_load(text)
                if config.get("sqlalchemy_uri") == URI_PLACEHOLDER:
                    config["sqlalchemy_uri"] = warehouse_uri
                text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            elif rel.startswith("datasets/"):
                config = dataset_with_docs(yaml.safe_load(text), publications)
                text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            info = zipfile.ZipInfo(f"{BUNDLE_ROOT}/{rel}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
    # The bundle may hold a password inside the URI: owner-only.
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


def _asset_uuids(kind: str) -> list[str]:
    import yaml

    return [
        str(yaml.safe_load(p.read_text(encoding="utf-8"))["uuid"])
        for p in sorted((ASSETS_DIR / kind).rglob("*.yaml"))
    ]


def ensure_analyst_role() -> dict[str, Any]:
    """Read-only role: Gamma's read permissions + the mart datasets + dashboard roles."""
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db
    from superset.models.dashboard import Dashboard

    from superset import security_manager

    gamma = security_manager.find_role("Gamma")
    if gamma is None:
        raise SystemExit("role Gamma missing after `superset init`")
    wanted = {
        pv
        for pv in gamma.permissions
        if pv.permission
        and pv.view_menu
        and not pv.permission.name.startswith(_NOT_READ_ONLY)
        and pv.view_menu.name not in _NOT_FOR_ANALYST_VIEWS
    }
    datasets = (
        db.session.query(SqlaTable).filter(SqlaTable.uuid.in_(_asset_uuids("datasets"))).all()
    )
    for dataset in datasets:
        pv = security_manager.find_permission_view_menu("datasource_access", dataset.perm)
        if pv is None:
            security_manager.add_permission_view_menu("datasource_access", dataset.perm)
            pv = security_manager.find_permission_view_menu("datasource_access", dataset.perm)
        wanted.add(pv)

    role = security_manager.find_role(ANALYST_ROLE) or security_manager.add_role(ANALYST_ROLE)
    changed = set(role.permissions) != wanted
    if changed:
        role.permissions = sorted(wanted, key=lambda pv: pv.id)
    dashboards = (
        db.session.query(Dashboard).filter(Dashboard.uuid.in_(_asset_uuids("dashboards"))).all()
    )
    for dashboard in dashboards:
        if role not in dashboard.roles:
            dashboard.roles.append(role)
            changed = True
    db.session.commit()
    return {
        "role": ANALYST_ROLE,
        "permissions": len(wanted),
        "datasets": len(datasets),
        "dashboards": len(dashboards),
        "changed": changed,
    }


def run(
    home: Path, warehouse_uri: str, admin_password: str, port: int, manifest: Path | None = None
) -> dict[str, Any]:
    prepare_environment(home)
    summary: dict[str, Any] = {"home": str(home)}

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
        bundle = build_bundle(warehouse_uri, home / "assets_bundle.zip", manifest=manifest)
        summary["imported"] = import_bundle(bundle)
        summary["bundle"] = str(bundle)
        _done("build and import asset bundle", t)

        t = _step("analyst role")
        summary["analyst"] = ensure_analyst_role()
        _done("analyst role", t)

        from superset.models.dashboard import Dashboard

        dash = db.session.query(Dashboard).filter_by(uuid=_asset_uuids("dashboards")[0]).one()
        summary["dashboard_id"] = dash.id
        summary["dashboard_url"] = (
            f"http://127.0.0.1:{port}/superset/dashboard/{dash.slug or dash.id}/"
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, type=Path, help="SUPERSET_HOME (state folder)")
    parser.add_argument(
        "--warehouse-uri",
        default=os.environ.get("SUPERSET_WAREHOUSE_URI"),
        help="SQLAlchemy URI of the warehouse (default: $SUPERSET_WAREHOUSE_URI)",
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
    args = parser.parse_args(argv)
    if not args.warehouse_uri:
        parser.error("--warehouse-uri (or $SUPERSET_WAREHOUSE_URI) is required")
    if not args.admin_password:
        parser.error("--admin-password (or $SUPERSET_ADMIN_PASSWORD) is required")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    started = time.monotonic()
    summary = run(
        args.home.resolve(), args.warehouse_uri, args.admin_password, args.port, args.manifest
    )
    summary["seconds"] = round(time.monotonic() - started, 1)
    print("BOOTSTRAP OK " + json.dumps(summary, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
