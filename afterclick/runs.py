"""Run records: every pipeline or flow run leaves one row in ``ops.runs`` with its figures."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from afterclick import warehouse
from afterclick.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(settings: Settings, flow: str) -> tuple[str, datetime]:
    return uuid.uuid4().hex[:16], _now()


def finish_run(settings: Settings, run_id: str, flow: str, started_at: datetime, status: str,
               summary: dict, error: str | None = None) -> None:
    con = warehouse.connect(settings)
    try:
        con.execute("insert or replace into ops.runs values (?, ?, ?, ?, ?, ?, ?)",
                    [run_id, flow, status, started_at, _now(), json.dumps(summary, default=str), error])
    finally:
        con.close()
