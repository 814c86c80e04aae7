"""Run records: every pipeline or flow run leaves one row in ``ops.runs`` with its figures."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from afterclick import warehouse
from afterclick.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run() -> tuple[str, datetime]:
    """A new run id and its start time."""
    return uuid.uuid4().hex[:16], _now()


def finish_run(settings: Settings, run_id: str, flow: str, started_at: datetime, status: str,
               summary: dict, error: str | None = None) -> None:
    con = warehouse.connect(settings)
    try:
        con.execute("insert or replace into ops.runs values (?, ?, ?, ?, ?, ?, ?)",
                    [run_id, flow, status, started_at, _now(), json.dumps(summary, default=str), error])
    finally:
        con.close()


@contextmanager
def recorded(settings: Settings, flow: str) -> Iterator[dict]:
    """Record the body as one run of ``flow`` in ops.runs; the body fills the yielded summary.
    Call it while holding the writer (ops lives in the warehouse)."""
    run_id, started_at = start_run()
    t0 = time.perf_counter()
    summary: dict = {}
    try:
        yield summary
    except BaseException as exc:
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        finish_run(settings, run_id, flow, started_at, "failed", summary, f"{type(exc).__name__}: {exc}")
        raise
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    finish_run(settings, run_id, flow, started_at, "success", summary)
