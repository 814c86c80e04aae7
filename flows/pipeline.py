"""The pipeline flow: ingest → transform (dbt build) → publish, each step a Prefect task.

A thin shell over ``flows/steps.py``: the steps are plain functions; this module only
makes them observable (tasks, logs, a markdown artifact with the run's figures).
"""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from afterclick.settings import load_settings
from flows.steps import run_pipeline, summary_markdown


def _as_task(name: str, fn, *args):
    return task(fn, name=name, cache_policy=NO_CACHE)(*args)


@flow(name="pipeline", log_prints=True)
def pipeline_flow(state_dir: str | None = None, select: str | None = None) -> dict:
    """Land every source, build the warehouse with dbt, publish the serving snapshot."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    summary = run_pipeline(settings, select, call=_as_task)
    create_markdown_artifact(markdown=summary_markdown(summary), key="pipeline-summary",
                             description="What the pipeline run landed, built and published")
    return summary
