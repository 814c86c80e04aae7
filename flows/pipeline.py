"""The pipeline flow: ingest → transform (dbt build) → publish, under the writer lock.

A thin Prefect shell: each task calls a plain function of ingest/, afterclick.transform
or afterclick.warehouse. The run's figures land in ``ops.runs`` and in a Prefect artifact.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from afterclick import runs, warehouse
from afterclick.settings import Settings, load_settings
from afterclick.transform import BuildFailed, run_dbt
from ingest.run import ingest_all


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_task(settings: Settings) -> dict:
    report = ingest_all(settings)
    logger = get_run_logger()
    for source, error in report.errors.items():
        logger.error("ingest of %s failed: %s", source, error)
    logger.info("landed %d rows (%d quarantined) into %s", report.rows_landed, report.rows_quarantined,
                ", ".join(report.rows_by_table()) or "nothing new")
    return {"rows_by_table": report.rows_by_table(), "rows_landed": report.rows_landed,
            "rows_quarantined": report.rows_quarantined, "errors": report.errors}


@task(name="transform", cache_policy=NO_CACHE)
def transform_task(settings: Settings, select: str | None = None) -> dict:
    result = run_dbt(settings, "build", select=select)
    get_run_logger().info("dbt build: %s, %d models, %d tests passed, %d failed in %.1fs", result.status,
                          result.models_built, result.tests_passed, result.tests_failed, result.seconds)
    if result.status != "success":
        raise BuildFailed("dbt build failed: " + "; ".join(result.errors[:5]))
    return {"models_built": result.models_built, "tests_passed": result.tests_passed,
            "tests_failed": result.tests_failed, "seconds": result.seconds}


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(settings: Settings) -> dict:
    meta = warehouse.publish(settings)
    get_run_logger().info("published serving snapshot %s in %.2fs", meta["path"], meta["seconds"])
    return {"version": meta["version"], "seconds": meta["seconds"], "tables": len(meta["tables"])}


def summary_markdown(summary: dict) -> str:
    lines = ["| step | figure | value |", "|---|---|---|"]
    for table, rows in summary.get("ingest", {}).get("rows_by_table", {}).items():
        lines.append(f"| ingest | rows landed in `{table}` | {rows} |")
    ingest = summary.get("ingest", {})
    lines.append(f"| ingest | rows quarantined | {ingest.get('rows_quarantined', 0)} |")
    for source, error in ingest.get("errors", {}).items():
        lines.append(f"| ingest | error in {source} | {error} |")
    build = summary.get("transform", {})
    lines += [f"| transform | models built | {build.get('models_built', '-')} |",
              f"| transform | tests failed | {build.get('tests_failed', '-')} |",
              f"| publish | snapshot version | {summary.get('publish', {}).get('version', '-')} |",
              f"| run | seconds | {summary.get('seconds', '-')} |"]
    return "\n".join(lines)


@flow(name="pipeline", log_prints=True)
def pipeline_flow(state_dir: str | None = None, select: str | None = None) -> dict:
    """Land every source, build the warehouse with dbt, publish the serving snapshot."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    started = time.perf_counter()
    with warehouse.writer(settings, purpose="pipeline flow"):
        run_id, started_at = runs.start_run(settings, "pipeline")
        summary: dict = {}
        try:
            summary["ingest"] = ingest_task(settings)
            summary["transform"] = transform_task(settings, select)
            summary["publish"] = publish_task(settings)
        except Exception as exc:
            summary["seconds"] = round(time.perf_counter() - started, 2)
            runs.finish_run(settings, run_id, "pipeline", started_at, "failed", summary, f"{type(exc).__name__}: {exc}")
            raise
        summary["seconds"] = round(time.perf_counter() - started, 2)
        runs.finish_run(settings, run_id, "pipeline", started_at, "success", summary)
        # the run record is in ops; publish once more is not needed for figures: status reads the warehouse
    create_markdown_artifact(markdown=summary_markdown(summary), key="pipeline-summary",
                             description="What the pipeline run landed, built and published")
    return summary
