"""The transform flow: ``dbt build`` (optionally a selection) under the writer slot, then publish."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from afterclick import runs
from afterclick.pipeline.figures import RunSummary
from afterclick.pipeline.steps import publish_step, transform_step
from afterclick.settings import load_settings
from flows.notify import notify_on_failure
from flows.writer_slot import writer_slot


@flow(name="transform", log_prints=True, on_failure=[notify_on_failure])
def transform_flow(select: str | None = None, state_dir: str | None = None, publish: bool = True) -> RunSummary:
    """Build the warehouse with dbt (``select``: a partial build) and publish the snapshot."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    with runs.recorded(settings, "transform", RunSummary(), hold=lambda: writer_slot(settings, "transform")) as summary:
        build = task(name="dbt-build", cache_policy=NO_CACHE)(transform_step)
        summary.transform = build(settings, select, settings.dbt_node_tasks)
    if publish:  # after the run record, so the snapshot carries it
        with writer_slot(settings, "publish"):
            summary.publish = task(name="publish", cache_policy=NO_CACHE)(publish_step)(settings)
    return summary


@flow(name="publish", log_prints=True, on_failure=[notify_on_failure])
def publish_flow(state_dir: str | None = None) -> RunSummary:
    """Publish the serving snapshot from the warehouse as it is."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    with runs.recorded(settings, "publish", RunSummary(), hold=lambda: writer_slot(settings, "publish")) as summary:
        summary.publish = task(name="publish", cache_policy=NO_CACHE)(publish_step)(settings)
    return summary
