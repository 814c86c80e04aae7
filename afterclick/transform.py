"""Run the dbt project in-process against the warehouse and record the build in ``ops.builds``.

dbt reads the warehouse path and resources from environment variables that this module
sets from afterclick's settings (see ``dbt/profiles.yml``). The profile sets
``keep_open: true`` (one database handle for the run, not one per node) and this module closes
that handle when dbt returns, so the DuckDB file is free again. Call it while holding the writer lock.

After a successful build, dbt's documentation of the project (``dbt docs generate``: lineage,
columns, and the catalog of what the warehouse holds) is generated while the build still holds the
warehouse, and copied to ``<state>/dbt/docs``: ``afterclick docs`` serves that folder, so no reader
ever opens the warehouse for it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from afterclick import warehouse
from afterclick.dbt_channels import channel_vars, store_vars
from afterclick.settings import Settings


def _dbt_project_dir() -> Path:
    """The dbt project: ``afterclick/dbt_project`` in an installed wheel, else ``dbt/`` beside the
    package in the repository (never a ``dbt`` folder found in site-packages: that is dbt itself)."""
    package = Path(__file__).resolve().parent
    installed = package / "dbt_project"
    return installed if (installed / "dbt_project.yml").is_file() else package.parent / "dbt"


DBT_PROJECT_DIR = _dbt_project_dir()
# what `dbt docs generate` writes that its index.html reads; copied in this order, the page last
DOCS_FILES = ("manifest.json", "catalog.json", "index.html")

log = logging.getLogger(__name__)


class BuildFailed(RuntimeError):
    """dbt reported errors or failing tests."""


@dataclass
class BuildResult:
    build_id: str
    command: str
    status: str
    seconds: float
    models_built: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    unit_tests_passed: int = 0
    errors: list[str] = field(default_factory=list)
    node_timings: dict[str, float] = field(default_factory=dict)
    docs_seconds: float | None = None  # dbt docs generated after the build (None: not generated)


@contextmanager
def _dbt_environment(settings: Settings, clv_refit: bool = False):
    """What dbt reads from the environment. The build's as-of instant and the CLV refit flag are
    environment variables, not dbt vars: a changed var makes dbt parse the whole project again
    (~6 s), a changed environment variable only the files that read it (partial parsing). Named
    apart from the settings' own AFTERCLICK_AS_OF: settings loaded meanwhile must not see them."""
    env = {
        "AFTERCLICK_WAREHOUSE_PATH": str(settings.warehouse_path),
        "AFTERCLICK_DBT_AS_OF": settings.as_of.isoformat(sep=" ") if settings.as_of is not None else "",
        "AFTERCLICK_DBT_CLV_REFIT": "true" if clv_refit else "",
        # customer messages (wb_notifications): how old an event may be, which marketplaces' buyers are emailed
        "AFTERCLICK_DBT_NOTIFICATION_MAX_AGE_HOURS": str(settings.writeback.notification_max_age_hours),
        "AFTERCLICK_DBT_EMAILED_MARKETPLACES": ",".join(
            sorted(store_id for store_id, m in settings.marketplaces.items() if m.messages.email_buyers)
        ),
        "AFTERCLICK_DBT_THREADS": str(settings.dbt_threads),
        **{f"AFTERCLICK_DUCKDB_{k.upper()}": v for k, v in warehouse.duckdb_config(settings).items()},
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _runner(settings: Settings, node_tasks: bool):
    """dbt's own in-process runner, or (inside a Prefect flow) prefect-dbt's, which shows every
    dbt node as a Prefect task."""
    if not node_tasks:
        from dbt.cli.main import dbtRunner  # imported here: dbt's import costs ~2 s

        return dbtRunner()
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    return PrefectDbtRunner(
        settings=PrefectDbtSettings(
            project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=settings.dbt_target_dir
        ),
        raise_on_failure=False,
        disable_assets=True,
    )


def _close_dbt_database() -> None:
    """Close the database dbt-duckdb keeps open across nodes (the profile's keep_open).

    dbt-duckdb has no public call for this: its connection manager's class-level environment is
    taken and closed here (dbt-duckdb is pinned below 1.12; tests/core/test_transform.py fails if
    the file stays held)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


def docs_dir(settings: Settings) -> Path:
    """Where the last build's dbt documentation is kept for readers (``afterclick docs``)."""
    return settings.root / "dbt" / "docs"


def _dbt_paths(settings: Settings, log_folder: str = "dbt") -> list[str]:
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.dbt_target_dir),
        "--log-path",
        str(settings.logs_dir / log_folder),
        "--quiet",
    ]


def _dbt_vars(settings: Settings, dbt_vars: dict | None) -> list[str]:
    """``--vars``: the channels the models read (afterclick/dbt_channels.py) and the configured
    stores' profiles (afterclick/dbt_channels.py too), which every dbt run needs, and the caller's own vars."""
    return [
        "--vars",
        json.dumps({**channel_vars(DBT_PROJECT_DIR), **store_vars(settings), **(dbt_vars or {})}),
    ]


def _generate_docs(settings: Settings, vars_args: list[str]) -> float | None:
    """``dbt docs generate`` on the build that just ran (its manifest, no second compile; the catalog
    read through the database handle the build still holds), then each file copied into
    ``docs_dir`` under a temporary name and renamed over the old one. A failure is logged and
    leaves the previous documentation in place: it never fails the build. ``vars_args``: the
    build's own (other vars would make dbt parse the project again)."""
    from dbt.cli.main import dbtRunner

    t0 = time.perf_counter()
    try:
        # logged apart: <logs>/dbt/dbt.log keeps the builds' own story
        outcome = dbtRunner().invoke(
            ["docs", "generate", "--no-compile", *_dbt_paths(settings, "dbt-docs"), *vars_args]
        )
        if not outcome.success:
            raise RuntimeError(outcome.exception or "dbt docs generate reported a failure")
        target = docs_dir(settings)
        target.mkdir(parents=True, exist_ok=True)
        for name in DOCS_FILES:
            part = target / f".{name}.part"
            shutil.copyfile(settings.dbt_target_dir / name, part)
            os.replace(part, target / name)
    except Exception as exc:  # noqa: BLE001 - the documentation is a by-product: the build stands
        log.warning("dbt docs not generated (the last ones stay in %s): %s", docs_dir(settings), exc)
        return None
    return round(time.perf_counter() - t0, 2)


FAILING_ROWS_SHOWN = 3  # rows of a failing data test named in its error (the keys it found)


def _failing_rows(con, sql: str) -> str:
    """``; found: (key_value=..., rows_with_it=2) ...``: the first rows a failing data test returns,
    e.g. the keys a primary_key test found twice. A value that looks like an email address is
    masked (customer addresses never reach logs); a query that cannot run adds nothing."""
    try:
        cursor = con.execute(f"select * from ({sql}) as failing limit {FAILING_ROWS_SHOWN}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except Exception:  # noqa: BLE001 - naming the rows is a courtesy: the failure stands as dbt said
        return ""
    shown = (
        "(" + ", ".join(f"{n}={'<email>' if '@' in str(v) else v}" for n, v in zip(names, row)) + ")" for row in rows
    )
    return ("; found: " + " ".join(shown))[:400] if rows else ""


def run_dbt(
    settings: Settings,
    command: str = "build",
    select: str | None = None,
    extra_args: list[str] | None = None,
    dbt_vars: dict | None = None,
    node_tasks: bool = False,
    clv_refit: bool = False,
) -> BuildResult:
    """Run ``dbt <command>`` in-process; never raises for failing nodes (see ``status``).
    ``node_tasks``: inside a Prefect flow, show each dbt node as a Prefect task. ``clv_refit``: fit
    the CLV models afresh (see int_clv_fit). ``dbt_vars`` changes make dbt parse everything again."""

    settings.ensure_dirs()
    args = [command, *_dbt_paths(settings)]
    if select:
        args += ["--select", select]
    if command == "build" and not settings.dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    vars_args = _dbt_vars(settings, dbt_vars)
    args += vars_args
    args += extra_args or []
    started_at = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    docs_seconds = None
    with _dbt_environment(settings, clv_refit):
        try:
            outcome = _runner(settings, node_tasks).invoke(args)
            seconds = round(time.perf_counter() - t0, 2)
            if command == "build" and outcome.success and settings.dbt_docs:
                docs_seconds = _generate_docs(settings, vars_args)
        finally:
            _close_dbt_database()
    result = BuildResult(
        build_id=uuid.uuid4().hex[:16],
        command=" ".join([command] + (["-s", select] if select else [])),
        status="success" if outcome.success else "failed",
        seconds=seconds,
        docs_seconds=docs_seconds,
    )
    if outcome.exception is not None:
        result.errors.append(f"dbt could not run: {outcome.exception}")
    failing: list[tuple[int, str]] = []  # (error index, the failing test's SQL)
    for node in getattr(outcome.result, "results", None) or []:
        kind = node.node.resource_type
        status = str(node.status)
        result.node_timings[node.node.name] = round(node.execution_time or 0.0, 3)
        if kind in ("model", "seed", "snapshot") and status == "success":
            result.models_built += 1
        elif kind == "test" and status == "pass":
            result.tests_passed += 1
        elif kind == "unit_test" and status == "pass":
            result.unit_tests_passed += 1
        elif status in ("fail", "error", "warn") and not (kind == "test" and status == "warn"):
            if kind in ("test", "unit_test"):
                result.tests_failed += 1
            result.errors.append(f"{kind} {node.node.name}: {status}: {(node.message or '').strip()[:500]}")
            if kind == "test" and status == "fail" and getattr(node.node, "compiled_code", None):
                failing.append((len(result.errors) - 1, node.node.compiled_code))
    con = warehouse.connect(settings)
    try:
        for index, sql in failing:  # name what the failing test found: its first rows (the keys)
            result.errors[index] += _failing_rows(con, sql)
        con.execute(
            "insert into ops.builds values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                result.build_id,
                result.command,
                result.status,
                started_at,
                datetime.now(UTC).replace(tzinfo=None),
                result.models_built,
                result.tests_passed,
                result.tests_failed,
                json.dumps(result.errors),
            ],
        )
    finally:
        con.close()
    return result
