"""The single-writer lock and the atomic publish of the serving snapshot."""

import subprocess
import sys
import textwrap

import duckdb
import pytest

from afterclick import warehouse


def _hold_lock_in_subprocess(settings):
    code = textwrap.dedent(f"""
        import sys, time
        from afterclick.settings import load_settings
        from afterclick import warehouse
        s = load_settings(state_dir={str(settings.root)!r})
        with warehouse.writer(s, purpose="test holder"):
            print("locked", flush=True)
            sys.stdin.read()  # hold until the test closes our stdin
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_gets_a_clear_message_naming_the_holder(settings):
    holder = _hold_lock_in_subprocess(settings)
    try:
        with pytest.raises(warehouse.WarehouseBusy, match="test holder.*Only one writer runs at a time"):
            with warehouse.writer(settings, timeout=0.5):
                pass
    finally:
        holder.stdin.close()
        holder.wait(10)
    with warehouse.writer(settings, timeout=5):  # released: the next writer gets it
        pass


def test_a_waiting_writer_proceeds_when_the_lock_is_released(settings):
    holder = _hold_lock_in_subprocess(settings)
    holder.stdin.close()  # the holder releases as soon as it reads EOF
    with warehouse.writer(settings, timeout=30):
        con = warehouse.connect(settings)
        con.execute("create table raw.t as select 1 as x")
        con.close()
    holder.wait(10)


def _build_marts(settings, n):
    con = warehouse.connect(settings)
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace table marts.fct_orders as select range as order_key from range({n})")
    con.close()


def test_publish_swaps_the_snapshot_while_a_reader_holds_the_old_one(settings):
    _build_marts(settings, 10)
    first = warehouse.publish(settings)
    reader = warehouse.read_serving(settings)
    assert reader.sql("select count(*) from fct_orders").fetchall() == [(10,)]

    _build_marts(settings, 25)
    second = warehouse.publish(settings)  # must not be blocked by the open reader
    assert second["version"] != first["version"]
    assert reader.sql("select count(*) from fct_orders").fetchall() == [(10,)]  # old snapshot, consistent
    reader.close()
    with warehouse.read_serving(settings) as fresh:
        assert fresh.sql("select count(*) from fct_orders").fetchall() == [(25,)]
        assert fresh.sql("select version from _snapshot").fetchall() == [(second["version"],)]
        assert fresh.sql("select count(*) from ops.loads").fetchall() == [(0,)]
    assert not list(settings.root.glob(".serving.*"))


def test_the_serving_snapshot_is_read_only(settings):
    _build_marts(settings, 3)
    warehouse.publish(settings)
    with warehouse.read_serving(settings) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("delete from fct_orders")


def test_warehouse_is_not_locked_by_a_published_reader(settings):
    _build_marts(settings, 3)
    warehouse.publish(settings)
    with warehouse.read_serving(settings):
        _build_marts(settings, 4)  # the writer opens warehouse.duckdb, a different file
