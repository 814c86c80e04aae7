"""The pipeline's steps as plain functions over the ingest, write-back and kernel layers;
``flows/pipeline.py`` runs them as Prefect tasks, ``afterclick run --plain`` directly.

``run_pipeline`` holds the writer lock, runs ingest → transform → write-back → publish through a
``call(name, fn, *args)`` hook (a plain call, or a Prefect task), and records the run in
``ops.runs`` whether it succeeds, fails or lands only some sources (``partial``); a run that never
got the writer is recorded in the run journal (see afterclick/runs.py). Each step returns its
figures (afterclick/pipeline/figures.py); the run's ``RunSummary`` holds those of the steps it ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from afterclick import runs, warehouse
from afterclick.errors import SourcesFailed
from afterclick.pipeline.figures import (
    BuildFigures,
    LandingFigures,
    PublishFigures,
    PushFigures,
    RunSummary,
    TargetFigures,
)
from afterclick.settings import Settings
from afterclick.transform import BuildFailed, run_dbt
from ingest.landing import figures_since
from ingest.run import enabled_sources, ensure_raw_tables, ingest_source
from writeback.run import push, report_lines, send_carrier_files

log = logging.getLogger("afterclick.pipeline")
StepCaller = Callable[..., Any]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _landed_since(settings: Settings, since: datetime, errors: dict[str, str] | None = None) -> LandingFigures:
    """The figures of what landed since ``since``, read back from ops.loads / ops.quarantine (so a
    source that failed half-way still shows what it landed and what it quarantined)."""
    con = warehouse.connect(settings)
    try:
        return LandingFigures.from_record({**figures_since(con, since), "errors": errors or {}})
    finally:
        con.close()


def _failures(kind: str, exc: BaseException) -> dict[str, str]:
    """One line per failed part: per store when some stores of the kind landed and others did not."""
    if isinstance(exc, SourcesFailed):
        return {f"{kind} {name}": f"{type(e).__name__}: {e}" for name, e in exc.failures.items()}
    return {kind: f"{type(exc).__name__}: {exc}"}


def ingest_source_step(
    settings: Settings, kind: str, since: datetime | None = None, store: str | None = None
) -> LandingFigures:
    """Land one source kind (or one of its stores); raises when the source fails (the caller
    decides about retries)."""
    started = _utcnow()
    if kind == "carrier_files":  # the exchange: our shipments file goes out, then the carrier's answers land
        send_carrier_files(settings)
    ingest_source(settings, kind, since=since, store=store)
    figures = _landed_since(settings, started)
    log.info(
        "%s%s: landed %d rows (%d quarantined)",
        kind,
        f" {store}" if store else "",
        figures.rows_landed,
        figures.rows_quarantined,
    )
    return figures


def ingest_step(settings: Settings, call: StepCaller) -> LandingFigures:
    """Every enabled source, each its own step; a failing source (or store) is reported with what
    went wrong, the others land. The figures (rows per table, quarantined records with their
    reasons) cover everything this step landed, failed sources included."""
    started = _utcnow()
    errors: dict[str, str] = {}
    for kind in enabled_sources(settings):
        try:
            call(f"ingest-{kind}", ingest_source_step, settings, kind)
        except Exception as exc:  # noqa: BLE001 - one source down must not stop the others
            log.error("ingest of %s failed: %s: %s", kind, type(exc).__name__, exc)
            errors.update(_failures(kind, exc))
    figures = _landed_since(settings, started, errors)
    for q in figures.quarantined:
        log.warning("quarantined %d record(s) of %s: %s", q.records, q.where, q.reasons[0])
    return figures


def transform_step(
    settings: Settings,
    select: str | None = None,
    node_tasks: bool = False,
    refit_clv: bool = False,
    full_refresh: bool = False,
) -> BuildFigures:
    """``dbt build``; ``refit_clv``: fit the CLV models afresh (the pipeline's builds; a scheduled
    transform scores customers with the last fit, see int_clv_fit); ``full_refresh``: rebuild the
    incremental models from scratch."""
    ensure_raw_tables(settings)
    log.info("dbt build: starting%s%s", f" ({select})" if select else "", " from scratch" if full_refresh else "")
    result = run_dbt(
        settings,
        "build",
        select=select,
        node_tasks=node_tasks,
        clv_refit=refit_clv,
        extra_args=["--full-refresh"] if full_refresh else None,
    )
    log.info(
        "dbt build: %s, %d models, %d tests passed, %d failed in %.1fs",
        result.status,
        result.models_built,
        result.tests_passed,
        result.tests_failed,
        result.seconds,
    )
    if result.status != "success":
        raise BuildFailed("dbt build failed: " + "; ".join(result.errors[:5]))
    return BuildFigures(
        models_built=result.models_built,
        tests_passed=result.tests_passed,
        tests_failed=result.tests_failed,
        seconds=result.seconds,
    )


def publish_step(settings: Settings) -> PublishFigures:
    log.info("publish: copying the marts into a new serving snapshot")
    meta = warehouse.publish(settings)
    log.info("published serving snapshot %s in %.2fs", meta["path"], meta["seconds"])
    return PublishFigures(version=meta["version"], seconds=meta["seconds"], tables=len(meta["tables"]))


def writeback_step(settings: Settings, kinds: list[str] | None = None, only: str | None = None) -> PushFigures:
    """Push what changed to the channels and customers (see writeback/), and write the carrier
    shipments files when ``carrier_file`` is among ``kinds``. Per-change failures are retried or
    dead-lettered by the engine, never raised. The figures are kept per kind and target."""
    kinds = list(kinds or settings.writeback.kinds)
    log.info("write-back: starting (%s)", ", ".join(kinds))
    targets: list[TargetFigures] = []
    if "carrier_file" in kinds:
        kinds.remove("carrier_file")
        for sent in send_carrier_files(settings):
            targets.append(TargetFigures("carrier_file", sent.carrier, pushed=sent.parcels, failed=0, dead=0))
            log.info(
                "write-back: carrier_file  %s: %d parcels%s",
                sent.carrier,
                sent.parcels,
                f" in {sent.path}" if sent.path else "",
            )
    if kinds:
        report = push(settings, kinds=kinds, only=only)
        for line in report_lines(report):
            log.info("write-back: %s", line)
        targets += [
            TargetFigures(t.kind, t.target, pushed=t.pushed, failed=t.failed, dead=t.dead, skipped=t.skipped or None)
            for t in report.targets
        ]
    return PushFigures(targets)


def plain_call(name: str, fn: Callable, *args):
    return fn(*args)


def run_pipeline(
    settings: Settings,
    select: str | None = None,
    call: StepCaller = plain_call,
    hold: Callable[[], AbstractContextManager] | None = None,
    node_tasks: bool = False,
) -> RunSummary:
    """Ingest → transform → publish while holding the writer (``hold``: default the file lock).
    The run is recorded whether it succeeds, fails (also when it never gets the writer) or some
    sources fail (``partial``: ``summary.failed_sources()`` names them)."""
    hold = hold or (lambda: warehouse.writer(settings, purpose="pipeline"))
    with runs.run_record(settings, "pipeline", RunSummary(), hold) as run:
        summary = run.summary
        summary.ingest = ingest_step(settings, call)
        summary.transform = call("transform", transform_step, settings, select, node_tasks, True)
        if settings.writeback.kinds:
            summary.writeback = call("writeback", writeback_step, settings)
        # record the run before publishing, so the snapshot carries the run that built it
        run.save()
        summary.publish = call("publish", publish_step, settings)
    return summary


def _cell(text: str) -> str:
    return text.replace("|", "/")


def summary_markdown(summary: RunSummary) -> str:
    """The run's figures as a markdown table (the Prefect artifact): a section per step it ran."""
    lines = ["| step | figure | value |", "|---|---|---|"]
    if ingest := summary.ingest:
        lines += [f"| ingest | rows landed in `{t}` | {n} |" for t, n in ingest.rows_by_table.items()]
        lines.append(f"| ingest | rows quarantined | {ingest.rows_quarantined} |")
        for q in ingest.quarantined:
            lines.append(f"| ingest | quarantined from {q.where} | {q.records}: {'; '.join(map(_cell, q.reasons))} |")
        if ingest.quarantined_batches > len(ingest.quarantined):
            lines.append(
                f"| ingest | quarantined batches not shown | "
                f"{ingest.quarantined_batches - len(ingest.quarantined)} (see ops.quarantine) |"
            )
        lines += [f"| ingest | error in {s} | {_cell(e)} |" for s, e in ingest.errors.items()]
    if built := summary.transform:
        lines += [
            f"| transform | models built | {built.models_built} |",
            f"| transform | tests failed | {built.tests_failed} |",
        ]
    if pushed := summary.writeback:
        lines += [
            f"| write-back | changes pushed | {pushed.pushed} |",
            f"| write-back | to retry | {pushed.failed} |",
            f"| write-back | dead letters | {pushed.dead} |",
        ]
        for t in pushed.targets:
            outcome = t.skipped or f"{t.pushed} pushed, {t.failed} to retry, {t.dead} dead"
            lines.append(f"| write-back | {t.kind} to {t.target} | {outcome} |")
    if summary.publish:
        lines.append(f"| publish | snapshot version | {summary.publish.version} |")
    lines.append(f"| run | seconds | {'-' if summary.seconds is None else summary.seconds} |")
    return "\n".join(lines)
