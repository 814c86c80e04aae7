"""The CLI: every command has help; sql answers in three formats and cannot write."""

import json

import pytest
from typer.testing import CliRunner

from afterclick import warehouse
from afterclick.cli import EXIT_REFUSED, app

runner = CliRunner()


@pytest.mark.parametrize("command", ["generate", "run", "build", "dashboard", "sql", "status", "publish", "demo",
                                     "emulate"])
def test_every_command_says_what_it_does(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) > 3


@pytest.fixture
def snapshot(settings):
    con = warehouse.connect(settings)
    con.execute("create schema marts; create table marts.fct_orders as "
                "select range as n, 'shopify' as channel from range(3)")
    con.close()
    warehouse.publish(settings)
    return settings


def test_sql_answers_as_csv_and_json(snapshot):
    csv = runner.invoke(app, ["sql", "select count(*) as n from fct_orders", "--format", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines() == ["n", "3"]
    out = runner.invoke(app, ["sql", "select n from fct_orders order by n", "-f", "json"])
    assert json.loads(out.output) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_sql_refuses_to_write(snapshot):
    result = runner.invoke(app, ["sql", "drop table fct_orders"])
    assert result.exit_code == EXIT_REFUSED
    assert "DROP" in result.output and "read-only" in result.output
    with warehouse.read_serving(snapshot) as con:
        assert con.sql("select count(*) from fct_orders").fetchall() == [(3,)]


def test_sql_without_a_snapshot_says_how_to_get_one(settings):
    result = runner.invoke(app, ["sql", "select 1"])
    assert result.exit_code == 2 and "afterclick run" in result.output


def test_status_reports_loads_and_builds(snapshot):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    assert "last loads per source" in result.output and "serving snapshot" in result.output


def test_build_full_refresh_migrates_a_model_whose_columns_changed(wb):
    """A warehouse built before fct_stock_levels had level_changed_on: the incremental build fails
    and says what to do; `afterclick build --full-refresh` rebuilds it and publishes."""
    with warehouse.connect(wb) as con:
        con.execute("alter table marts.fct_stock_levels drop column level_changed_on")
    failed = runner.invoke(app, ["build", "--select", "fct_stock_levels", "--no-publish"])
    assert failed.exit_code == 1 and "--full-refresh" in failed.output
    assert not wb.serving_path.exists()
    rebuilt = runner.invoke(app, ["build", "--select", "fct_stock_levels", "--full-refresh"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "from scratch" in rebuilt.output and str(wb.serving_path) in rebuilt.output
    with warehouse.connect(wb) as con:
        assert con.sql("select count(*) from marts.fct_stock_levels where level_changed_on is null").fetchall() == [(0,)]
        assert con.sql("select count(*) from marts.fct_stock_levels").fetchall()[0][0] > 0
    with warehouse.connect_read_only(wb.serving_path) as snap:
        assert "level_changed_on" in [c[0] for c in snap.sql("describe fct_stock_levels").fetchall()]
