"""The tracking API poller against the 17TRACK-style emulator: exact, incremental, polite, stops when final,
never leaks its token. The shipped parcels are put in ``raw.wms__fulfilment_events`` by the test itself."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
import polars as pl
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from afterclick import warehouse
from afterclick.errors import ChannelRefused
from demo.emulators.server import serve_app
from demo.emulators.tracking import DEMO_TRACKING_TOKEN, serve_tracking
from demo.generate import load_truth
from demo.world import simulate
from ingest.carriers.tracking_api import RAW_TABLES, WMS_EVENTS, poll_tracking
from ingest.landing import ensure_raw_table

TOKEN = SecretStr(DEMO_TRACKING_TOKEN)
FILE_CARRIERS = ("correos",)
WMS = "raw.wms__fulfilment_events"


@pytest.fixture
def world(settings, small_world):
    return load_truth(settings)


@pytest.fixture
def con(settings):
    c = warehouse.connect(settings)
    yield c
    c.close()


def _ship(con, world, until: datetime, after: datetime | None = None) -> int:
    """What the WMS confirmed as shipped in (after, until]: one 'shipped' row per parcel."""
    ensure_raw_table(con, WMS, WMS_EVENTS)
    at = pl.col("shipped_at")
    rows = world.shipments.filter(at.is_not_null() & (at <= until) & (at > (after or datetime.min))).select(
        order_key="order_id",
        shipment_id="shipment_id",
        warehouse_id="warehouse_id",
        stage=pl.lit("shipped"),
        occurred_at="shipped_at",
        carrier="carrier",
        tracking_number="tracking_number",
        source_file=pl.lit("fulfilment_test.csv"),
    )
    con.register("_shipped", rows.to_arrow())
    con.execute(f"insert into {WMS} by name select * from _shipped")
    con.unregister("_shipped")
    return rows.height


def _truth(world, clock: datetime | None = None) -> list[tuple]:
    """The world's tracking events, up to ``clock``, of the parcels shipped by then and followed through the
    API, at the service's precision (whole seconds)."""
    clock = clock or world.end
    shipped = world.shipments.filter(pl.col("shipped_at") <= clock)["tracking_number"]
    ev = world.tracking_events.filter(
        ~pl.col("carrier").is_in(FILE_CARRIERS)
        & (pl.col("occurred_at") <= clock)
        & pl.col("tracking_number").is_in(shipped.implode())
    )
    rows = ev.select("tracking_number", "occurred_at", "raw_status").iter_rows()
    return [(n, t.replace(microsecond=0), s) for n, t, s in rows]


def _landed(con) -> list[tuple]:
    return con.sql("select tracking_number, occurred_at, raw_status from raw.tracking_api__events").fetchall()


def _latest(con, statuses: tuple[str, ...]) -> set[str]:
    return {
        n
        for (n,) in con.execute(
            "select tracking_number from raw.tracking_api__trackings where list_contains(?, latest_status)",
            [list(statuses)],
        ).fetchall()
    }


def test_polling_at_the_end_lands_exactly_the_worlds_events_in_batches_of_at_most_40(world, con):
    _ship(con, world, world.end)
    with serve_tracking(world) as (url, state):
        landed = poll_tracking(con, url, TOKEN, now=world.end)
    got, truth = _landed(con), _truth(world)
    assert len(got) == len(truth) > 1000 and set(got) == set(truth)
    assert state.batch_sizes and max(state.batch_sizes) <= 40 and sum(state.batch_sizes) == len(state.numbers_asked)
    assert len(state.numbers_asked) == len(set(state.numbers_asked))  # nobody asked twice in one poll
    correos = set(world.shipments.filter(pl.col("carrier") == "correos")["tracking_number"])
    assert correos and not correos & set(state.numbers_asked)  # followed through files, never polled
    assert sum(x.rows_quarantined for x in landed) == 0  # "no information yet" is not bad data


def test_a_second_poll_lands_nothing_and_skips_final_and_expired_parcels(world, con):
    _ship(con, world, world.end)
    with serve_tracking(world) as (url, state):
        poll_tracking(con, url, TOKEN, now=world.end, max_age_days=60)
        final, expired = _latest(con, ("Delivered", "Returned")), _latest(con, ("Expired",))
        assert final and expired and not final & expired
        old = set(world.shipments.filter(pl.col("shipped_at") < world.end - timedelta(days=60))["tracking_number"])
        assert expired <= old  # only parcels shipped more than 60 days ago expire, and only if not final
        state.numbers_asked.clear()
        again = poll_tracking(con, url, TOKEN, now=world.end, max_age_days=60)
    assert sum(x.rows_landed for x in again) == 0
    assert state.numbers_asked  # the parcels still in transit are asked again…
    assert not (final | expired) & set(state.numbers_asked)  # …the delivered, returned and expired ones are not
    assert len(_landed(con)) == len(_truth(world))


def test_polling_as_the_clock_moves_adds_only_the_new_events(world, con):
    early = world.end - timedelta(days=10)
    _ship(con, world, early)
    with serve_tracking(world, clock=early) as (url, state):
        poll_tracking(con, url, TOKEN, now=early)
        first = _landed(con)
        assert len(first) == len(_truth(world, early)) and set(first) == set(_truth(world, early))
        _ship(con, world, world.end, after=early)
        state.advance(world.end)
        poll_tracking(con, url, TOKEN, now=world.end)
    got = _landed(con)
    assert 0 < len(first) < len(got)
    assert len(got) == len(set(got)) == len(_truth(world)) and set(got) == set(_truth(world))


def test_rate_limit_and_faults_are_retried_until_everything_lands(world, con, caplog):
    _ship(con, world, world.end)
    caplog.set_level(logging.WARNING, logger="afterclick.ingest.http")
    with serve_tracking(world, requests_per_second=5) as (url, state):
        state.faults[:] = ["429", "500"]
        poll_tracking(con, url, TOKEN, now=world.end)
    assert set(_landed(con)) == set(_truth(world)) and len(_landed(con)) == len(_truth(world))
    assert len(state.requests) > len(state.batch_sizes) + 2  # the faults and the rate limit were met…
    assert "retrying" in caplog.text  # …and retried by the shared client


def test_the_token_never_reaches_logs_or_tables(world, con, caplog):
    _ship(con, world, world.end)
    caplog.set_level(logging.DEBUG)
    with serve_tracking(world) as (url, state):
        state.faults[:] = ["429", "500", "malformed"]
        poll_tracking(con, url, TOKEN, now=world.end)
        with pytest.raises(ChannelRefused, match="credentials") as refused:
            poll_tracking(con, url, SecretStr("a-wrong-token"), now=world.end)
    assert "a-wrong-token" not in str(refused.value)
    tables = con.sql(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('raw', 'ops') and table_catalog = current_database()"
    ).fetchall()
    dumped = "\n".join(str(row) for (t,) in tables for row in con.sql(f"select * from {t}").fetchall())
    assert "tracking_api" in dumped and DEMO_TRACKING_TOKEN not in dumped
    assert caplog.records and DEMO_TRACKING_TOKEN not in caplog.text
    assert all(DEMO_TRACKING_TOKEN not in str(r.args) for r in caplog.records)


def test_an_unusable_event_is_quarantined_and_the_rest_lands(settings, con):
    good = {
        "time_utc": "2026-10-01T10:00:00Z",
        "description": "En reparto",
        "location": "Madrid",
        "stage": "OutForDelivery",
        "sub_status": None,
        "raw_status": "EN_REPARTO",
    }
    bad = [
        {**good, "time_utc": None},
        {k: v for k, v in good.items() if k != "time_utc"},
        {**good, "time_utc": "yesterday"},
    ]

    async def gettrackinfo(request):
        return JSONResponse(
            {
                "code": 0,
                "data": {
                    "accepted": [
                        {
                            "number": "TN1",
                            "carrier": "seur",
                            "track_info": {
                                "latest_status": {"status": "OutForDelivery", "sub_status": None},
                                "tracking": {"providers": [{"provider": {"name": "seur"}, "events": [good, *bad]}]},
                            },
                        }
                    ],
                    "rejected": [
                        {
                            "number": "TN2",
                            "error": {"code": -18019909, "message": "No tracking information at this time."},
                        }
                    ],
                },
            }
        )

    ensure_raw_table(con, WMS, WMS_EVENTS)
    con.execute(
        f"insert into {WMS} (order_key, shipment_id, stage, occurred_at, carrier, tracking_number) values "
        "('O1', 'S1', 'shipped', '2026-10-01 08:00', 'seur', 'TN1'), "
        "('O2', 'S2', 'shipped', '2026-10-01 08:00', 'seur', 'TN2')"
    )
    with serve_app(Starlette(routes=[Route("/track/v2.2/gettrackinfo", gettrackinfo, methods=["POST"])])) as url:
        landed = poll_tracking(con, url, TOKEN, now=datetime(2026, 10, 2))
    assert _landed(con) == [("TN1", datetime(2026, 10, 1, 10), "EN_REPARTO")]
    assert sum(x.rows_quarantined for x in landed) == 3
    reasons = con.sql("select record_key, reason from ops.quarantine where source = 'tracking_api'").fetchall()
    assert len(reasons) == 3 and all(k == "TN1" and "TN1" in r and "unusable" in r for k, r in reasons)


def test_the_emulator_refuses_big_batches_and_bad_tokens_and_rejects_unknown_numbers():
    world = simulate(orders=60, days=20, seed=5, end=datetime(2026, 11, 1))
    number = world.tracking_events["tracking_number"][0]
    with serve_tracking(world) as (url, state), httpx.Client(base_url=url) as http:
        ask = lambda body, token=DEMO_TRACKING_TOKEN: http.post(  # noqa: E731 - a one-line request helper
            "/track/v2.2/gettrackinfo",
            json=body,
            headers={"17token": token},
        )
        assert ask([{"number": "X"}], token="nope").status_code == 401
        assert ask([{"number": str(i)} for i in range(41)]).status_code == 400
        data = ask([{"number": number}, {"number": "UNKNOWN"}]).json()["data"]
    assert [r["number"] for r in data["rejected"]] == ["UNKNOWN"]
    assert data["rejected"][0]["error"]["code"] == -18019909
    events = data["accepted"][0]["track_info"]["tracking"]["providers"][0]["events"]
    assert events and [e["time_utc"] for e in events] == sorted((e["time_utc"] for e in events), reverse=True)
    assert data["accepted"][0]["track_info"]["latest_status"]["status"] == events[0]["stage"]
    assert state.numbers_asked == [number, "UNKNOWN"]


def test_raw_tables_declare_their_columns():
    assert RAW_TABLES == {
        "raw.tracking_api__events": {
            "tracking_number": "varchar",
            "carrier": "varchar",
            "occurred_at": "timestamp",
            "raw_status": "varchar",
            "stage": "varchar",
            "sub_status": "varchar",
            "message": "varchar",
            "location": "varchar",
        },
        "raw.tracking_api__trackings": {
            "tracking_number": "varchar",
            "carrier": "varchar",
            "latest_status": "varchar",
            "latest_sub_status": "varchar",
            "polled_at": "timestamp",
        },
    }
