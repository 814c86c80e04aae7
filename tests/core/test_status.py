"""`afterclick status` is a reader: it answers from the serving snapshot and the writer lock's holder
file, never opens warehouse.duckdb (a running pipeline holds it read-write), and says who writes."""

from __future__ import annotations

import re

import duckdb
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import app

from snapshots import published, small_warehouse  # noqa: F401 - published is a fixture
from writer_holders import hold_pipeline, let_go, open_for_writing, write_once

runner = CliRunner()


def test_status_answers_from_the_snapshot_while_a_pipeline_writes(published):
    pipeline = hold_pipeline(published, purpose="pipeline")
    try:
        assert write_once(pipeline) == "wrote 1"
        result = runner.invoke(app, ["status"])
        assert result.exit_code == 0, result.output
        assert f"being written by pipeline (pid {pipeline.pid}" in result.output
        assert "amazon-es" in result.output  # the snapshot's load records
        assert re.search(r"pipeline\s+success", result.output)  # its run record
        assert write_once(pipeline) == "wrote 2"  # the pipeline's connection was never disturbed
    finally:
        assert let_go(pipeline) == 0
    assert "no writer is running" in runner.invoke(app, ["status"]).output


def test_a_writer_can_open_the_warehouse_while_status_reads(published, monkeypatch):
    """Each time status opens a database, another process opens warehouse.duckdb read-write (as the
    next step of a running pipeline does) while status still has it open."""
    opened, writers = [], []
    real_connect = duckdb.connect

    def connect_then_let_a_writer_in(database=":memory:", *args, **kwargs):
        con = real_connect(database, *args, **kwargs)
        opened.append(str(database))
        writers.append(open_for_writing(published))
        return con

    monkeypatch.setattr(duckdb, "connect", connect_then_let_a_writer_in)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert opened and writers == ["ok"] * len(opened)
    assert all(path == str(published.serving_path) for path in opened)  # only the snapshot


def test_status_shows_writeback_changes_in_doubt_and_quarantine_totals(settings):
    from writeback.ledger import DDL

    small_warehouse(
        settings,
        ";".join(DDL)
        + """;
        insert into ops.writeback_ledger (kind, store_id, channel, change_key, status, updated_at) values
            ('notification', 'email', 'email', 'o-1:delivered', 'unknown', '2026-10-01 10:00'),
            ('notification', 'email', 'email', 'o-2:delivered', 'unknown', '2026-10-01 11:00'),
            ('stock', 'shopify-es', 'shopify', 'SKU-1', 'unknown', '2026-10-01 12:00'),
            ('stock', 'shopify-es', 'shopify', 'SKU-2', 'confirmed', '2026-10-01 12:00');
        insert into ops.quarantine values
            ('b-1', 'marketplace', 'orders', 'amazon-es', 'A-1', '{}', 'impossible date', '2026-10-01 10:01'),
            ('b-1', 'marketplace', 'orders', 'amazon-es', 'A-2', '{}', 'unknown SKU', '2026-10-01 10:01'),
            ('b-2', 'wms', 'movements', 'wh-mad', 'M-1', '{}', 'not a number', '2026-10-02 10:01');
    """,
    )
    warehouse.publish(settings)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    doubt = result.output.split("write-back changes in doubt")[1].split("\n\n")[0]
    assert re.search(r"notification\s+email\s+2\s", doubt) and re.search(r"stock\s+shopify-es\s+1\s", doubt)
    quarantine = result.output.split("quarantine totals")[1].split("\n\n")[0]
    assert re.search(r"marketplace\s+orders\s+amazon-es\s+2\s", quarantine)
    assert re.search(r"wms\s+movements\s+wh-mad\s+1\s", quarantine)


def test_status_without_a_snapshot_says_how_to_get_one(settings):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2 and "afterclick run" in result.output
    assert not settings.warehouse_path.exists()  # status made no warehouse either
