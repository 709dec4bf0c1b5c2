"""The quality gate of write-audit-publish: run every suite on the freshly built `marts` and
record each check in `quality.check_results`.

Suites are data (`expectations/suites/<suite>.json`), one per published model, named by the
model's `meta.publication.suite` in the dbt project: a table, and expectations with GX's type
and kwargs plus a severity — `critical` checks block publishing, `warning` checks are recorded
only. `"${name}"` values are filled from the warehouse at run time (the taxonomy's area ids, the
countries, the languages), so an analyst who adds an area does not have to edit a suite. A rule
that no column expectation states (a share that must equal posts / city posts) is an
`unexpected_rows_expectation`: a query for the rows that break it, with a `name` (the check
name recorded) and, optionally, the `column` it is about; `${schema}` in it is the schema
validated.

The gate binds its verdict to the data: it fingerprints the validated tables
(`quality.tables_fingerprint`) before and after the suites run and records the fingerprint with
the run. Data that changed while the suites ran fails the blocking check
`marts_unchanged_during_gate`; `publication.publish` recomputes the fingerprint and refuses a
run that validated other data.

Every session of the gate acts as `monitor_gate`, which reads the marts and is the only role that
writes `quality.*`: dbt's transformer role can read a verdict, never record one.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.db import PgParams, Role, connection
from core.publications import Publication, load_publications
from core.runs import new_run_id
from core.settings import LANGUAGES

log = logging.getLogger(__name__)

SUITES_DIR = Path(__file__).with_name("suites")


@dataclass(frozen=True)
class CheckResult:
    suite: str
    check_name: str
    target: str
    severity: str  # 'blocking' | 'warning'
    success: bool
    observed: str


@dataclass
class GateResult:
    gate_run_id: str
    checks: list[CheckResult] = field(default_factory=list)
    fingerprint: str | None = None  # of the validated tables, as `quality.tables_fingerprint`

    @property
    def passed(self) -> bool:
        return all(c.success for c in self.checks if c.severity == "blocking")

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "blocking"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warning"]

    def summary(self) -> str:
        blocking = sum(c.severity == "blocking" for c in self.checks)
        text = (
            f"{'PASSED' if self.passed else 'FAILED'}: {blocking - len(self.failures)}/{blocking} "
            f"blocking checks passed, {len(self.warnings)} warnings"
        )
        if self.failures:
            text += "; failed: " + ", ".join(f"{c.target} {c.check_name}" for c in self.failures)
        return text


def load_suites(
    publications: tuple[Publication, ...], suites_dir: Path = SUITES_DIR
) -> list[dict[str, Any]]:
    """The suite each publication declares (`meta.publication.suite`), checked to be about it."""
    suites = []
    for pub in publications:
        if pub.suite is None:
            continue
        path = suites_dir / f"{pub.suite}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{pub.path}: suite {pub.suite!r} declared, {path} missing")
        spec = json.loads(path.read_text())
        if spec.get("table") != pub.table:
            raise ValueError(f"{path}: suite is about {spec.get('table')!r}, not {pub.table!r}")
        suites.append(spec)
    return suites


def _undeclared(publications: tuple[Publication, ...], schema: str) -> list[CheckResult]:
    """A published model without a suite blocks: nothing reaches users unchecked."""
    return [
        CheckResult(
            suite="publication",
            check_name="suite_declared",
            target=f"{schema}.{pub.table}",
            severity="blocking",
            success=False,
            observed=json.dumps({"path": pub.path, "suite": None}),
        )
        for pub in publications
        if pub.suite is None
    ]


def _parameters(url: str, schema: str) -> dict[str, list[str]]:
    with connection(url, role=Role.GATE) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT area_id FROM {schema}.dim_integration_areas ORDER BY 1")
        area_ids = [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT country_code FROM {schema}.dim_countries ORDER BY 1")
        country_codes = [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT city_code FROM {schema}.dim_cities ORDER BY 1")
        city_codes = [r[0] for r in cur.fetchall()]
    return {
        "area_ids": area_ids,
        "city_codes": city_codes,
        "country_codes": country_codes,
        "languages": [*LANGUAGES, "und"],
    }


def _resolve(kwargs: dict[str, Any], params: dict[str, list[str]], schema: str) -> dict[str, Any]:
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
            resolved[key] = params[value[2:-1]]
        elif key == "unexpected_rows_query":
            resolved[key] = value.replace("${schema}", schema)
        else:
            resolved[key] = value
    return resolved


def fingerprint(url: str, tables: list[str], schema: str = "marts") -> str:
    """The content fingerprint of `schema`.`tables` (publish computes the same)."""
    with connection(url, role=Role.GATE) as conn, conn.cursor() as cur:
        cur.execute("SELECT quality.tables_fingerprint(%s, %s)", (schema, sorted(tables)))
        return cur.fetchone()[0]


def _observed(result: dict[str, Any]) -> str:
    keys = ("observed_value", "unexpected_count", "unexpected_percent", "partial_unexpected_list")
    return json.dumps({k: result[k] for k in keys if k in result}, default=str)[:2000]


def validate(
    url: str,
    *,
    schema: str = "marts",
    suites_dir: Path = SUITES_DIR,
    publications: tuple[Publication, ...] | None = None,
) -> GateResult:
    """Run the suite of every published model (the manifest's, or `publications`) against
    `schema`; record and return the results (does not publish)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    publications = load_publications() if publications is None else publications
    gate = GateResult(gate_run_id=new_run_id(), checks=_undeclared(publications, schema))
    tables = [p.table for p in publications]
    before = fingerprint(url, tables, schema)
    params = _parameters(url, schema)
    context = gx.get_context(mode="ephemeral")
    # add_sql, not add_postgres: the latter rejects Unix-socket URLs (no host in the netloc).
    # Every session of GX's engine acts as the gate role from its start (libpq `options`).
    datasource = context.data_sources.add_sql(
        "warehouse",
        connection_string=PgParams.from_url(url).url(driver="psycopg2"),
        kwargs={"connect_args": {"options": f"-c role={Role.GATE.value}"}},
    )
    for spec in load_suites(publications, suites_dir):
        asset = datasource.add_table_asset(
            name=spec["name"], table_name=spec["table"], schema_name=schema
        )
        batch = asset.add_batch_definition_whole_table("whole_table")
        # One GX suite per severity: GX does not promise to return results in the order of the
        # expectations, so a severity is never paired with a result by position.
        by_severity: dict[str, list] = {"blocking": [], "warning": []}
        for e in spec["expectations"]:
            meta = {k: e[k] for k in ("name", "column") if k in e}
            config = ExpectationConfiguration(
                type=e["type"], kwargs=_resolve(e["kwargs"], params, schema), meta=meta
            )
            severity = "blocking" if e.get("severity", "critical") == "critical" else "warning"
            by_severity[severity].append(config.to_domain_obj())
        for severity, expectations in by_severity.items():
            if not expectations:
                continue
            name = f"{spec['name']}__{severity}"
            suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
            outcome = definition.run()
            for result in outcome.results:
                config = result.expectation_config
                meta = config.meta or {}
                pair = [config.kwargs[k] for k in ("column_A", "column_B") if k in config.kwargs]
                column = (
                    config.kwargs.get("column")
                    or config.kwargs.get("column_list")
                    or pair
                    or meta.get("column")
                    or ""
                )
                gate.checks.append(
                    CheckResult(
                        suite=spec["name"],
                        check_name=meta.get("name", config.type),
                        target=f"{schema}.{spec['table']}" + (f".{column}" if column else ""),
                        severity=severity,
                        success=bool(result.success),
                        observed=_observed(result.result or {}),
                    )
                )
    gate.checks.extend(volume_checks(url, schema))
    after = fingerprint(url, tables, schema)
    gate.checks.append(
        CheckResult(
            suite="publication",
            check_name="marts_unchanged_during_gate",
            target=schema,
            severity="blocking",
            success=before == after,
            observed=json.dumps({"before": before, "after": after}),
        )
    )
    gate.fingerprint = after
    _record(url, gate)
    log.info("quality gate %s %s", gate.gate_run_id, gate.summary())
    return gate


# Volume anomaly: posts of the latest day against the average of the `VOLUME_TRAILING_DAYS`
# days before it (days without posts count as 0). Outside [1/BLOCK, BLOCK] x the average blocks
# publishing (a feed that stopped, or a loop that landed everything twice); outside
# [1/WARN, WARN] is recorded as a warning. Needs `VOLUME_MIN_HISTORY` days of history.
VOLUME_TRAILING_DAYS = 7
VOLUME_MIN_HISTORY = 3
VOLUME_BLOCK = 10.0
VOLUME_WARN = 3.0


def volume_checks(url: str, schema: str = "marts") -> list[CheckResult]:
    query = f"""
        WITH days AS (SELECT day, count(*) AS posts FROM {schema}.fct_posts GROUP BY day),
        last AS (SELECT max(day) AS day FROM days),
        cal AS (
            SELECT cast(d AS date) AS day
            FROM last, generate_series(last.day - {VOLUME_TRAILING_DAYS}, last.day - 1,
                                       interval '1 day') AS d
        ),
        trail AS (
            SELECT avg(coalesce(days.posts, 0)) AS avg_posts,
                   count(days.day) AS history_days
            FROM cal LEFT JOIN days USING (day)
        )
        SELECT last.day, (SELECT posts FROM days WHERE days.day = last.day),
               trail.avg_posts, trail.history_days
        FROM last, trail
    """
    with connection(url, role=Role.GATE) as conn, conn.cursor() as cur:
        cur.execute(query)
        day, posts, avg_posts, history = cur.fetchone()
    observed = json.dumps(
        {"day": str(day), "posts": posts, "trailing_avg": float(avg_posts or 0),
         "history_days": history}
    )  # fmt: skip
    if day is None or history < VOLUME_MIN_HISTORY or not avg_posts:
        ok_block = ok_warn = True
    else:
        ratio = posts / float(avg_posts)
        ok_block = 1 / VOLUME_BLOCK <= ratio <= VOLUME_BLOCK
        ok_warn = 1 / VOLUME_WARN <= ratio <= VOLUME_WARN
    target = f"{schema}.fct_posts.day"
    return [
        CheckResult("volume", "volume_vs_trailing_average", target, "blocking", ok_block, observed),
        CheckResult("volume", "volume_vs_trailing_average_warn", target, "warning", ok_warn,
                    observed),
    ]  # fmt: skip


def _record(url: str, gate: GateResult) -> None:
    with connection(url, role=Role.GATE) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO quality.gate_runs (gate_run_id, finished_at, passed, summary, fingerprint) "
            "VALUES (%s, now(), %s, %s, %s)",
            (gate.gate_run_id, gate.passed, gate.summary(), gate.fingerprint),
        )
        cur.executemany(
            "INSERT INTO quality.check_results (gate_run_id, suite, check_name, target, severity, "
            "success, observed) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (gate.gate_run_id, c.suite, c.check_name, c.target, c.severity, c.success,
                 c.observed)
                for c in gate.checks
            ],
        )  # fmt: skip
