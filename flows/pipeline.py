"""The pipeline flow: ingest (a task per source) → transform (dbt build) → publish.

A thin shell over ``afterclick/pipeline/steps.py``: the steps are plain functions; this module makes them
observable (tasks with retries on transient errors, logs, a markdown artifact) and holds the
warehouse writer slot for the run.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from afterclick.pipeline.figures import RunSummary
from afterclick.pipeline.steps import run_pipeline, summary_markdown
from afterclick.settings import load_settings
from flows.notify import notify_on_failure, notify_partial
from flows.retries import task_retry_options
from flows.writer_slot import writer_slot


def step_as_task(settings):
    """Run each step as a Prefect task; ingest tasks retry on transient errors."""

    def call(name: str, fn, *args):
        options = task_retry_options(settings) if name.startswith("ingest") else {}
        return task(fn, name=name, cache_policy=NO_CACHE, **options)(*args)

    return call


@flow(name="pipeline", log_prints=True, on_failure=[notify_on_failure])
def pipeline_flow(state_dir: str | None = None, select: str | None = None) -> RunSummary:
    """Land every source, build the warehouse with dbt, publish the serving snapshot."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    summary = run_pipeline(
        settings,
        select,
        call=step_as_task(settings),
        hold=lambda: writer_slot(settings, "pipeline"),
        node_tasks=settings.dbt_node_tasks,
    )
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key="pipeline-summary",
        description="What the pipeline run landed, built and published",
    )
    if failed := summary.failed_sources():  # the run is recorded as partial; the caller decides the exit
        get_run_logger().error(
            "pipeline run partial: %d source(s) failed (%s); the others landed and the snapshot was published",
            len(failed),
            ", ".join(failed),
        )
        notify_partial(settings, "pipeline", runtime.flow_run.name or "", list(failed))
    return summary
