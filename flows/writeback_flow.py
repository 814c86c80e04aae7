"""Write-back flows: one per target kind (stock, prices, tracking, status, notification,
carrier_file), optionally for one store, under the writer slot.

They push what the last build's ``wb_*`` models want and the ledger has not confirmed; they do not
build or publish (the transform flow does, and the write-back page reads the next snapshot).
"""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from afterclick import runs
from afterclick.pipeline.figures import RunSummary
from afterclick.pipeline.steps import summary_markdown, writeback_step
from afterclick.settings import load_settings
from flows.notify import notify_on_failure
from flows.writer_slot import writer_slot


@flow(name="writeback", flow_run_name="writeback-{kind}", log_prints=True, on_failure=[notify_on_failure])
def writeback_flow(kind: str, store: str | None = None, state_dir: str | None = None) -> RunSummary:
    """Push one kind of change to every target, or to ``store`` only."""
    settings = load_settings(**({"state_dir": state_dir} if state_dir else {}))
    name = f"writeback-{kind}" + (f"-{store}" if store else "")
    with runs.recorded(settings, name, RunSummary(), hold=lambda: writer_slot(settings, name)) as summary:
        summary.writeback = task(name=name, cache_policy=NO_CACHE)(writeback_step)(settings, [kind], store)
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key=name.replace("_", "-").lower(),
        description=f"What the {name} run pushed, per target",
    )
    return summary
