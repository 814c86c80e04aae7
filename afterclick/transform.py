"""Run the dbt project in-process against the warehouse and record the build in ``ops.builds``.

dbt reads the warehouse path and resources from environment variables that this module
sets from afterclick's settings (see ``dbt/profiles.yml``). The profile sets
``keep_open: true`` (one database handle for the run, not one per node) and this module closes
that handle when dbt returns, so the DuckDB file is free again. Call it while holding the writer lock.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from afterclick import warehouse
from afterclick.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"


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
        settings=PrefectDbtSettings(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                                    target_path=settings.dbt_target_dir),
        raise_on_failure=False, disable_assets=True)


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


def run_dbt(settings: Settings, command: str = "build", select: str | None = None,
            extra_args: list[str] | None = None, dbt_vars: dict | None = None,
            node_tasks: bool = False, clv_refit: bool = False) -> BuildResult:
    """Run ``dbt <command>`` in-process; never raises for failing nodes (see ``status``).
    ``node_tasks``: inside a Prefect flow, show each dbt node as a Prefect task. ``clv_refit``: fit
    the CLV models afresh (see int_clv_fit). ``dbt_vars`` changes make dbt parse everything again."""

    settings.ensure_dirs()
    args = [command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(settings.dbt_target_dir), "--log-path", str(settings.logs_dir / "dbt"),
            "--quiet"]
    if select:
        args += ["--select", select]
    if command == "build" and not settings.dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    args += extra_args or []
    started_at = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    with _dbt_environment(settings, clv_refit):
        try:
            outcome = _runner(settings, node_tasks).invoke(args)
        finally:
            _close_dbt_database()
    result = BuildResult(build_id=uuid.uuid4().hex[:16], command=" ".join([command] + (["-s", select] if select else [])),
                         status="success" if outcome.success else "failed",
                         seconds=round(time.perf_counter() - t0, 2))
    if outcome.exception is not None:
        result.errors.append(f"dbt could not run: {outcome.exception}")
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
    con = warehouse.connect(settings)
    try:
        con.execute(
            "insert into ops.builds values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result.build_id, result.command, result.status, started_at, datetime.now(UTC).replace(tzinfo=None),
             result.models_built, result.tests_passed, result.tests_failed, json.dumps(result.errors)],
        )
    finally:
        con.close()
    return result
