"""The tracking API poller against the 17TRACK-style emulator: complete, polite, stops when final."""

from __future__ import annotations

import logging
from datetime import timedelta

import polars as pl
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.demo.emulators.tracking import DEMO_TRACKING_TOKEN, serve_tracking
from afterclick.demo.generate import load_truth
from ingest.carriers.tracking_api import poll_tracking
from ingest.run import ingest_wms

TOKEN = SecretStr(DEMO_TRACKING_TOKEN)


def _api_truth(world) -> set[tuple]:
    ev = world.tracking_events.filter(pl.col("carrier") != "correos")
    return {(n, t.replace(microsecond=0), s) for n, t, s in ev.select("tracking_number", "occurred_at", "raw_status").iter_rows()}


def _landed(con) -> list[tuple]:
    return con.sql("select tracking_number, occurred_at, raw_status from raw.tracking_api__events").fetchall()


def test_polling_lands_every_event_once_in_batches_and_stops_at_final_statuses(settings, small_world):
    world = load_truth(settings)
    ingest_wms(settings)
    with serve_tracking(world) as (url, state), warehouse.connect(settings) as con:
        poll_tracking(con, url, TOKEN, now=world.end)
        got = _landed(con)
        assert len(got) == len(set(got)) and set(got) == _api_truth(world)
        bodies = [n for n in state.requests]
        assert len(bodies) == -(-len(set(state.numbers_asked)) // 40)  # full batches of 40, nothing asked twice
        final = {n for (n,) in con.sql("select tracking_number from raw.tracking_api__trackings "
                                       "where latest_status in ('Delivered', 'Returned')").fetchall()}
        assert final
        state.numbers_asked.clear()
        assert sum(x.rows_landed for x in poll_tracking(con, url, TOKEN, now=world.end)
                   if x.table.endswith("events")) == 0
        assert state.numbers_asked and not final & set(state.numbers_asked)


def test_polling_as_the_clock_moves_adds_only_the_new_events(settings, small_world):
    world = load_truth(settings)
    ingest_wms(settings)
    with serve_tracking(world, clock=world.end - timedelta(days=10)) as (url, state), \
            warehouse.connect(settings) as con:
        poll_tracking(con, url, TOKEN, now=state.clock)
        early = len(_landed(con))
        state.advance(world.end)
        poll_tracking(con, url, TOKEN, now=world.end)
        got = _landed(con)
    assert 0 < early < len(got) and len(got) == len(set(got)) and set(got) == _api_truth(world)


def test_rate_limits_and_faults_are_retried_and_the_token_never_leaks(settings, small_world, caplog):
    world = load_truth(settings)
    ingest_wms(settings)
    caplog.set_level(logging.DEBUG)
    with serve_tracking(world, requests_per_second=20) as (url, state), warehouse.connect(settings) as con:
        state.faults[:] = ["429", "500", "200", "timeout"]
        poll_tracking(con, url, TOKEN, now=world.end, timeout=1.0)
        assert set(_landed(con)) == _api_truth(world)
        dumped = "\n".join(str(r) for t in ("raw.tracking_api__events", "raw.tracking_api__trackings", "ops.loads",
                                             "ops.quarantine") for r in con.sql(f"select * from {t}").fetchall())
    assert DEMO_TRACKING_TOKEN not in dumped
    assert DEMO_TRACKING_TOKEN not in caplog.text
    assert "retrying" in caplog.text  # the faults were met and retried


def test_a_wrong_token_is_refused_with_a_clear_error(settings, small_world):
    world = load_truth(settings)
    ingest_wms(settings)
    with serve_tracking(world) as (url, _), warehouse.connect(settings) as con:
        try:
            poll_tracking(con, url, SecretStr("wrong"), now=world.end)
        except PermissionError as exc:
            assert "credentials" in str(exc) and "wrong" not in str(exc)
        else:
            raise AssertionError("a refused token must fail the poll")
