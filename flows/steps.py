"""The pipeline's steps as plain functions; ``flows/pipeline.py`` runs them as Prefect tasks.

``run_pipeline`` holds the writer lock, runs ingest → transform → write-back → publish through a
``call(name, fn, *args)`` hook (a plain call, or a Prefect task), and records the run in
``ops.runs`` whether it succeeds, fails or lands only some sources (``partial``); a run that never
got the writer is recorded in the run journal (see afterclick/runs.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from afterclick import runs, warehouse
from afterclick.settings import Settings
from afterclick.transform import BuildFailed, run_dbt
from ingest.errors import SourcesFailed
from ingest.landing import figures_since
from ingest.run import enabled_sources, ensure_raw_tables, ingest_source

log = logging.getLogger("afterclick.pipeline")
StepCaller = Callable[..., Any]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _landed_since(settings: Settings, since: datetime) -> dict:
    """The figures of what landed since ``since``, read back from ops.loads / ops.quarantine (so a
    source that failed half-way still shows what it landed and what it quarantined)."""
    con = warehouse.connect(settings)
    try:
        return figures_since(con, since)
    finally:
        con.close()


def _failures(kind: str, exc: BaseException) -> dict[str, str]:
    """One line per failed part: per store when some stores of the kind landed and others did not."""
    if isinstance(exc, SourcesFailed):
        return {f"{kind} {name}": f"{type(e).__name__}: {e}" for name, e in exc.failures.items()}
    return {kind: f"{type(exc).__name__}: {exc}"}


def ingest_source_step(settings: Settings, kind: str, since: datetime | None = None, store: str | None = None) -> dict:
    """Land one source kind (or one of its stores); raises when the source fails (the caller
    decides about retries)."""
    started = _utcnow()
    ingest_source(settings, kind, since=since, store=store)
    figures = _landed_since(settings, started)
    log.info("%s%s: landed %d rows (%d quarantined)", kind, f" {store}" if store else "", figures["rows_landed"],
             figures["rows_quarantined"])
    return figures


def ingest_step(settings: Settings, call: StepCaller) -> dict:
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
    figures = _landed_since(settings, started)
    for q in figures["quarantined"]:
        log.warning("quarantined %d record(s) of %s %s%s: %s", q["records"], q["source"], q["entity"],
                    f" ({q['store']})" if q["store"] else "", q["reasons"][0])
    return {**figures, "errors": errors}


def transform_step(settings: Settings, select: str | None = None, node_tasks: bool = False,
                   refit_clv: bool = False, full_refresh: bool = False) -> dict:
    """``dbt build``; ``refit_clv``: fit the CLV models afresh (the pipeline's builds; a scheduled
    transform scores customers with the last fit, see int_clv_fit); ``full_refresh``: rebuild the
    incremental models from scratch."""
    ensure_raw_tables(settings)
    log.info("dbt build: starting%s%s", f" ({select})" if select else "", " from scratch" if full_refresh else "")
    result = run_dbt(settings, "build", select=select, node_tasks=node_tasks,
                     clv_refit=refit_clv,
                     extra_args=["--full-refresh"] if full_refresh else None)
    log.info("dbt build: %s, %d models, %d tests passed, %d failed in %.1fs", result.status,
             result.models_built, result.tests_passed, result.tests_failed, result.seconds)
    if result.status != "success":
        raise BuildFailed("dbt build failed: " + "; ".join(result.errors[:5]))
    return {"models_built": result.models_built, "tests_passed": result.tests_passed,
            "tests_failed": result.tests_failed, "seconds": result.seconds}


def publish_step(settings: Settings) -> dict:
    log.info("publish: copying the marts into a new serving snapshot")
    meta = warehouse.publish(settings)
    log.info("published serving snapshot %s in %.2fs", meta["path"], meta["seconds"])
    return {"version": meta["version"], "seconds": meta["seconds"], "tables": len(meta["tables"])}


def writeback_step(settings: Settings, kinds: list[str] | None = None, only: str | None = None) -> dict:
    """Push what changed to the channels and customers (see writeback/), and write the carrier
    shipments files when ``carrier_file`` is among ``kinds``. Per-change failures are retried or
    dead-lettered by the engine, never raised. The figures are kept per kind and target."""
    from writeback.run import push, report_lines, send_carrier_files
    kinds = list(kinds or settings.writeback.kinds)
    log.info("write-back: starting (%s)", ", ".join(kinds))
    summary: dict = {"pushed": 0, "failed": 0, "dead": 0, "skipped_targets": [], "targets": []}
    if "carrier_file" in kinds:
        kinds.remove("carrier_file")
        for sent in send_carrier_files(settings):
            summary["targets"].append({"kind": "carrier_file", "target": sent.carrier, "pushed": sent.parcels,
                                       "failed": 0, "dead": 0})
            summary["pushed"] += sent.parcels
            log.info("write-back: carrier_file  %s: %d parcels%s", sent.carrier, sent.parcels,
                     f" in {sent.path}" if sent.path else "")
    if kinds:
        report = push(settings, kinds=kinds, only=only)
        for line in report_lines(report):
            log.info("write-back: %s", line)
        summary["pushed"] += report.total("pushed")
        summary["failed"] += report.total("failed")
        summary["dead"] += report.total("dead")
        summary["skipped_targets"] += [t.target for t in report.targets if t.skipped]
        summary["targets"] += [{"kind": t.kind, "target": t.target, "pushed": t.pushed, "failed": t.failed,
                                "dead": t.dead, **({"skipped": t.skipped} if t.skipped else {})}
                               for t in report.targets]
    return summary


def plain_call(name: str, fn: Callable, *args):
    return fn(*args)


def run_pipeline(settings: Settings, select: str | None = None, call: StepCaller = plain_call,
                 hold: Callable[[], AbstractContextManager] | None = None, node_tasks: bool = False) -> dict:
    """Ingest → transform → publish while holding the writer (``hold``: default the file lock).
    The run is recorded whether it succeeds, fails (also when it never gets the writer) or some
    sources fail (``partial``: ``runs.failed_sources(summary)`` names them)."""
    hold = hold or (lambda: warehouse.writer(settings, purpose="pipeline"))
    with runs.run_record(settings, "pipeline", hold) as run:
        summary = run.summary
        summary["ingest"] = ingest_step(settings, call)
        summary["transform"] = call("transform", transform_step, settings, select, node_tasks, True)
        if settings.writeback.kinds:
            summary["writeback"] = call("writeback", writeback_step, settings)
        # record the run before publishing, so the snapshot carries the run that built it
        run.save()
        summary["publish"] = call("publish", publish_step, settings)
    return summary


def summary_markdown(summary: dict) -> str:
    """The run's figures as a markdown table (the Prefect artifact): a section per step it ran."""
    lines = ["| step | figure | value |", "|---|---|---|"]
    if "ingest" in summary:
        ingest = summary["ingest"]
        lines += [f"| ingest | rows landed in `{t}` | {n} |" for t, n in ingest.get("rows_by_table", {}).items()]
        lines.append(f"| ingest | rows quarantined | {ingest.get('rows_quarantined', 0)} |")
        for q in ingest.get("quarantined", []):
            where = f"{q['source']} {q['entity']}" + (f" ({q['store']})" if q["store"] else "")
            reasons = "; ".join(r.replace("|", "/") for r in q["reasons"])
            lines.append(f"| ingest | quarantined from {where} | {q['records']}: {reasons} |")
        if ingest.get("quarantined_batches", 0) > len(ingest.get("quarantined", [])):
            lines.append(f"| ingest | quarantined batches not shown | "
                         f"{ingest['quarantined_batches'] - len(ingest['quarantined'])} (see ops.quarantine) |")
        lines += [f"| ingest | error in {s} | {e.replace('|', '/')} |" for s, e in ingest.get("errors", {}).items()]
    if "transform" in summary:
        lines += [f"| transform | models built | {summary['transform'].get('models_built', '-')} |",
                  f"| transform | tests failed | {summary['transform'].get('tests_failed', '-')} |"]
    if "writeback" in summary:
        pushed = summary["writeback"]
        lines += [f"| write-back | changes pushed | {pushed.get('pushed', 0)} |",
                  f"| write-back | to retry | {pushed.get('failed', 0)} |",
                  f"| write-back | dead letters | {pushed.get('dead', 0)} |"]
        for t in pushed.get("targets", []):
            outcome = t.get("skipped") or f"{t['pushed']} pushed, {t['failed']} to retry, {t['dead']} dead"
            lines.append(f"| write-back | {t['kind']} to {t['target']} | {outcome} |")
    if "publish" in summary:
        lines.append(f"| publish | snapshot version | {summary['publish'].get('version', '-')} |")
    lines.append(f"| run | seconds | {summary.get('seconds', '-')} |")
    return "\n".join(lines)
