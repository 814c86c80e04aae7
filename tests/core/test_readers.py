"""Readers of the serving snapshot are readers only: ad-hoc SQL (`afterclick sql`) and the dashboards'
queries cannot read or write files, attach the warehouse, install or load extensions, or change
their settings, and an ad-hoc query runs within the reader limits (memory, threads, time).

The attacks go through the real CLI and the dashboards' real query function on a real published
snapshot; what is asserted is the guarantee (refused, clearly; no file created or changed; the
writer can still publish), not one DuckDB setting."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import EXIT_REFUSED, EXIT_TIMED_OUT, app

from snapshots import files_under, published  # noqa: F401 - published is a fixture

runner = CliRunner()

# (attack, what the refusal names). {outside}: a CSV outside the state dir; {parquet}: a Parquet file
# outside it; {out}: a folder outside it; {warehouse}: the warehouse file.
ATTACKS = [
    ("select * from read_csv('{outside}')", "outside the serving snapshot"),
    ("select content from read_text('{outside}')", "outside the serving snapshot"),
    ("select * from read_parquet('{parquet}')", "outside the serving snapshot"),
    ("select * from '{warehouse}'", "outside the serving snapshot"),
    ("copy (select 42 as answer) to '{out}/new.csv'", "COPY"),
    ("copy fct_orders to '{warehouse}' (format csv)", "COPY"),
    ("attach '{warehouse}' as wh", "ATTACH"),
    ("install httpfs", "INSTALL"),
    ("load httpfs", "LOAD"),
    ("set threads = 64", "SET"),
    ("reset memory_limit", "RESET"),
    ("export database '{out}/export'", "EXPORT"),
    ("pragma memory_limit = '64GB'", "PRAGMA"),
    ("create secret leak (type s3, key_id 'k', secret 's')", "CREATE"),
    ("create persistent secret kept (type s3, key_id 'k', secret 's')", "CREATE"),
    ("select count(*) from fct_orders; copy fct_orders to '{out}/hidden.csv'", "COPY"),
    ("explain analyze copy fct_orders to '{out}/explained.csv'", "COPY"),
]


@pytest.fixture
def world_outside(published, tmp_path):
    """The published snapshot plus files outside the state dir a reader must not reach."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secrets.csv").write_text("user,password\nroot,hunter2\n")
    duckdb.sql(f"copy (select 1 as a) to '{outside / 'secrets.parquet'}' (format parquet)")
    paths = {
        "outside": outside / "secrets.csv",
        "parquet": outside / "secrets.parquet",
        "out": outside,
        "warehouse": published.warehouse_path,
    }
    return published, paths


def _attack(sql: str, paths: dict) -> str:
    return sql.format(**{k: str(v) for k, v in paths.items()})


def _assert_nothing_changed_and_publish_works(settings, tmp_path, before: dict) -> None:
    assert files_under(tmp_path) == before  # no file created, none changed (the warehouse least of all)
    published_again = runner.invoke(app, ["publish"])
    assert published_again.exit_code == 0, published_again.output  # nothing attached or locked the warehouse
    readable = runner.invoke(app, ["sql", "select count(*) as n from fct_orders", "-f", "csv"])
    assert readable.output.splitlines() == ["n", "3"], (readable.exit_code, readable.output, readable.exception)


@pytest.mark.parametrize(("attack", "named"), ATTACKS, ids=[a for a, _ in ATTACKS])
def test_ad_hoc_sql_refuses_every_way_out_of_the_snapshot(world_outside, tmp_path, attack, named):
    settings, paths = world_outside
    before = files_under(tmp_path)
    result = runner.invoke(app, ["sql", _attack(attack, paths)])
    assert result.exit_code == EXIT_REFUSED, result.output
    assert named in result.output and "read-only" in result.output
    assert "hunter2" not in result.output
    _assert_nothing_changed_and_publish_works(settings, tmp_path, before)


@pytest.mark.parametrize(("attack", "named"), ATTACKS, ids=[a for a, _ in ATTACKS])
def test_the_dashboards_queries_refuse_the_same(world_outside, tmp_path, attack, named):
    from dashboards import data

    settings, paths = world_outside
    before = files_under(tmp_path)
    with pytest.raises(warehouse.ReadOnlyRefused) as refused:
        data.query(_attack(attack, paths))
    assert named in str(refused.value) and "read-only" in str(refused.value)
    _assert_nothing_changed_and_publish_works(settings, tmp_path, before)


def test_marts_and_ops_stay_readable(published):
    def sql(query: str) -> list[dict]:
        result = runner.invoke(app, ["sql", query, "-f", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert sql("select count(*) as n from fct_orders") == [{"n": 3}]
    assert sql("from ops.runs select run_id, status") == [{"run_id": "run-ok-1", "status": "success"}]
    assert {"column_name": "channel"} in [{"column_name": r["column_name"]} for r in sql("describe fct_orders")]
    assert {"name": "fct_orders"} in sql("show tables")
    assert [r["column_name"] for r in sql("summarize fct_orders")] == ["n", "channel"]
    assert "explain_key" in sql("explain select * from fct_orders")[0]
    from dashboards import data

    assert data.query("select count(*) as n from ops.loads where source = ?", ("marketplace",))["n"][0] == 1


def test_reader_limits_are_the_configured_ones_and_cannot_be_raised(published, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_READER__THREADS", "1")
    monkeypatch.setenv("AFTERCLICK_READER__MEMORY_LIMIT", "256MiB")
    result = runner.invoke(
        app,
        [
            "sql",
            "select current_setting('threads') as threads, current_setting('memory_limit') as memory",
            "-f",
            "json",
        ],
    )
    assert json.loads(result.output) == [{"threads": 1, "memory": "256.0 MiB"}]
    refused = runner.invoke(app, ["sql", "set threads = 8"])
    assert refused.exit_code == EXIT_REFUSED and "SET" in refused.output
    # and below the statement check, the connection's settings are locked
    from afterclick.settings import load_settings

    with warehouse.read_serving(load_settings()) as con:
        for change in (
            "set threads = 8",
            "set memory_limit = '64GB'",
            "reset threads",
            "set enable_external_access = true",
        ):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(change)
        assert con.sql("select current_setting('threads')").fetchall() == [(1,)]


def test_a_slow_ad_hoc_query_is_stopped_after_the_time_limit(published, monkeypatch):
    monkeypatch.setenv("AFTERCLICK_READER__QUERY_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("AFTERCLICK_READER__THREADS", "1")
    result = runner.invoke(app, ["sql", "select sum(a.range * b.range) as s from range(100000) a, range(100000) b"])
    assert result.exit_code == EXIT_TIMED_OUT, result.output
    assert "stopped after 0.5 s" in result.output
    assert "AFTERCLICK_READER__QUERY_TIMEOUT_SECONDS" in result.output
    quick = runner.invoke(app, ["sql", "select count(*) as n from fct_orders", "-f", "csv"])
    assert quick.exit_code == 0 and quick.output.splitlines() == ["n", "3"]
