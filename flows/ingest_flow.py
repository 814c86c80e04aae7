"""Ingest flows: one per source kind, landing all its stores (or the one asked for) under the
writer slot."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from afterclick import runs
from afterclick.pipeline.figures import RunSummary
from afterclick.pipeline.steps import ingest_source_step
from afterclick.settings import load_settings
from flows.notify import notify_on_failure
from flows.retries import task_retry_options
from flows.writer_slot import writer_slot


@flow(name="ingest", flow_run_name="ingest-{kind}", log_prints=True, on_failure=[notify_on_failure])
def ingest_flow(
    kind: str, store: str | None = None, state_dir: str | None = None, since: datetime | None = None
) -> RunSummary:
    """Land one source kind, or one ``store`` of it (``since``: re-land a window, idempotently)."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    name = f"ingest-{kind}" + (f"-{store}" if store else "")
    with runs.recorded(settings, name, RunSummary(), hold=lambda: writer_slot(settings, name)) as summary:
        summary.ingest = task(name=name, cache_policy=NO_CACHE, **task_retry_options(settings))(ingest_source_step)(
            settings, kind, since, store
        )
    return summary
