"""Every run leaves a record, also one that could not write the warehouse: the record waits in the
run journal (<state>/logs/runs.pending.jsonl), `afterclick status` shows it, and the next run that
holds the writer moves it into ops.runs, once."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from afterclick import runs, warehouse
from afterclick.cli import app

from snapshots import published  # noqa: F401 - published is a fixture
from writer_holders import hold_pipeline, hold_writer_lock, let_go

runner = CliRunner()
ONE_MODEL = "stg_shopify__orders"  # a next run that builds little


def _snapshot_runs(settings) -> list[tuple]:
    with warehouse.read_serving(settings) as con:
        return con.sql("select run_id, flow, status, error from ops.runs order by started_at").fetchall()


def test_a_run_that_cannot_get_the_writer_is_recorded_and_lands_in_ops_runs_with_the_next_run(published, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_LOCK_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("AFTERCLICK_WRITEBACK__KINDS", "[]")
    holder = hold_writer_lock(published, purpose="a long backfill")
    try:
        busy = runner.invoke(app, ["run", "--plain"])
    finally:
        assert let_go(holder) == 0
    assert busy.exit_code == 1
    assert "being written by a long backfill" in busy.output and "Traceback" not in busy.output
    [pending] = runs.pending_runs(published)
    assert (pending["flow"], pending["status"]) == ("pipeline", "failed") and "WarehouseBusy" in pending["error"]

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    waiting = status.output.split("not yet in the snapshot")[1]
    assert re.search(r"pipeline\s+failed", waiting) and "WarehouseBusy" in waiting

    ok = runner.invoke(app, ["run", "--plain", "--select", ONE_MODEL])
    assert ok.exit_code == 0, ok.output
    recorded = _snapshot_runs(published)
    assert [r[0] for r in recorded].count(pending["run_id"]) == 1
    assert [r[1:3] for r in recorded if r[0] == pending["run_id"]] == [("pipeline", "failed")]
    assert [r[2] for r in recorded][-1] == "success"  # the run that moved it, in the same snapshot
    assert "not yet in the snapshot" not in runner.invoke(app, ["status"]).output


def test_a_run_whose_warehouse_cannot_be_opened_is_journaled(published):
    """Another process holds warehouse.duckdb open (a conflicting lock): finishing the run cannot
    write ops.runs, so the record goes to the journal instead of being lost."""
    intruder = hold_pipeline(published, lock=False)
    try:
        run_id, started_at = runs.start_run()
        runs.finish_run(
            published,
            run_id,
            "pipeline",
            started_at,
            "failed",
            {"seconds": 1.0},
            "IOException: Conflicting lock is held",
        )
    finally:
        assert let_go(intruder) == 0
    assert [r["run_id"] for r in runs.pending_runs(published)] == [run_id]


def test_pending_records_move_into_ops_runs_once(published):
    first, second = runs.start_run(), runs.start_run()
    for run_id, started_at in (first, second):
        runs.journal_run(
            published,
            {
                "run_id": run_id,
                "flow": "ingest-erp",
                "status": "failed",
                "started_at": started_at,
                "finished_at": started_at,
                "summary": {},
                "error": "WarehouseBusy: busy",
            },
        )
    journal = runs.journal_path(published)
    journal.write_text(journal.read_text() + '{"run_id": "torn", "flow": "ingest')  # a torn last line
    for _ in range(2):  # twice, as two runs in a row would: same run id never twice
        with warehouse.writer(published), warehouse.connect(published) as con:
            runs.move_pending(con, published)
    with warehouse.connect(published) as con:
        ids = [r[0] for r in con.sql("select run_id from ops.runs").fetchall()]
    assert sorted(ids) == sorted(["run-ok-1", first[0], second[0]])
    assert "torn" not in json.dumps(runs.pending_runs(published))
    assert "torn" in runs.rejected_path(published).read_text()  # kept aside, not lost
