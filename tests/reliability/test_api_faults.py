"""API-fault drill: the channel emulators answer with timeouts, 429 storms, 500s, dropped
connections, half pages and malformed bodies, or change their data while we page. Nothing is
lost or doubled, retries are bounded (every fault costs exactly one more request), and a store
that stays down is skipped, named in the run summary, and completed by the next run."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.channels.store import ChannelStore
from afterclick.pipeline.steps import ingest_step, plain_call
from afterclick.settings import ChannelStoreSettings
from demo.catalog import STORE_BY_ID
from demo.emulators.server import serve_channels
from demo.world import simulate
from ingest.channels.connector import ingest_channel_store

END = datetime(2026, 11, 1)
SINCE = END - timedelta(days=60)  # the world's whole history (VTEX walks creation-date weeks from here)
API_STORES = ["shopify-es", "vtex-br", "magento-es", "woo-pt"]  # one store of each API
# One request meets five faults in a row (the client's sixth and last attempt gets through), the
# next is served, the one after meets a 429 storm as long as the retries allow.
FAULTS = ["timeout", "500", "disconnect", "partial", "malformed", "200", "429", "429", "429", "429", "429"]


@pytest.fixture(scope="module")
def world():
    return simulate(orders=3000, days=45, seed=5, end=END)  # several pages per store


def _store(store_id: str, url: str, state) -> ChannelStore:
    return ChannelStore(
        store_id, STORE_BY_ID[store_id].channel, url, {k: SecretStr(v) for k, v in state.credentials.items()}
    )


def _versions(con, store_id: str) -> list[tuple]:
    table = f"raw.{STORE_BY_ID[store_id].channel}__orders"
    return con.sql(f"select id, updated_at from {table} where _store = '{store_id}' order by all").fetchall()


def _latest_from(versions: list[tuple]) -> dict:
    """Each order's newest version (sorted by version: the last one wins)."""
    return {i: u for i, u in sorted(versions)}


def _latest(con, store_id: str) -> dict:
    return _latest_from(_versions(con, store_id))


def _fresh_read(store: ChannelStore) -> dict:
    """Every order's newest version, read once from scratch into an empty in-memory warehouse."""
    con = duckdb.connect()
    con.execute(warehouse.OPS_SCHEMA_SQL)
    ingest_channel_store(con, store, since=SINCE)
    return _latest(con, store.store_id)


@pytest.mark.parametrize("store_id", API_STORES)
def test_every_fault_costs_one_retry_and_nothing_is_lost_or_doubled(world, settings, store_id):
    with serve_channels(world) as endpoints, warehouse.connect(settings) as con:
        url, state = endpoints[store_id]
        store = _store(store_id, url, state)
        state.faults = list(FAULTS)
        state.view.orders(store_id)  # the emulator's first page is slow to build: not a fault
        ingest_channel_store(con, store, timeout=2.5, since=SINCE)  # the "timeout" fault answers after 6 s
        assert state.faults == []
        faulty_requests = len(state.requests)

        state.requests.clear()  # the same read again without faults: what a clean run asks
        assert sum(x.rows_landed for x in ingest_channel_store(con, store, since=SINCE)) == 0  # nothing doubled
        clean_requests = len(state.requests)
        versions = _versions(con, store_id)
        truth = _fresh_read(store)
    assert faulty_requests == clean_requests + len([f for f in FAULTS if f != "200"])  # bounded: one retry per fault
    assert len(versions) == len(set(versions))
    assert (
        _latest_from(versions) == truth
        and len(truth) == world.orders.filter(world.orders["store_id"] == store_id).height
    )


@pytest.mark.parametrize("store_id", API_STORES)
def test_a_channel_that_changes_while_paged_loses_no_order(world, settings, store_id):
    """Ten days of new orders and status changes happen after the first page is served: one run
    still ends with every order's newest version (offset paging would skip the orders that shift
    forward when earlier ones move to the end)."""
    with serve_channels(world, clock=END - timedelta(days=10)) as endpoints, warehouse.connect(settings) as con:
        url, state = endpoints[store_id]
        store = _store(store_id, url, state)
        state.faults = ["200", "advance:240"]
        ingest_channel_store(con, store, since=SINCE)
        assert state.clock == END
        versions = _versions(con, store_id)
        truth = _fresh_read(store)
    assert len(versions) == len(set(versions))
    assert _latest_from(versions) == truth


def test_a_store_that_stays_down_is_skipped_named_and_completed_by_the_next_run(world, settings):
    settings.disabled_sources = [
        "marketplace",
        "erp",
        "channel_catalogue",
        "channel_inventory",
        "channel_fulfillments",
        "wms",
        "carrier_files",
        "tracking",
        "marketing",
    ]
    with serve_channels(world) as endpoints:
        settings.channel_stores = {
            store: ChannelStoreSettings(
                channel=STORE_BY_ID[store].channel, base_url=url, credentials=state.credentials, requests_per_second=0
            )
            for store, (url, state) in endpoints.items()
        }
        settings.http_timeout_seconds = 2.5
        endpoints["magento-es"][1].faults = ["200", "200"] + ["500"] * 6  # down from its third page on
        endpoints["woo-pt"][1].faults = ["timeout"] * 6  # never answers in time
        first = ingest_step(settings, plain_call)
        magento_requests, woo_requests = len(endpoints["magento-es"][1].requests), len(endpoints["woo-pt"][1].requests)
        with warehouse.connect(settings) as con:
            partial = _versions(con, "magento-es")
            whole = {s: _latest(con, s) for s in endpoints if s not in ("magento-es", "woo-pt")}
        second = ingest_step(settings, plain_call)
        with warehouse.connect(settings) as con:
            after = {s: _versions(con, s) for s in endpoints}
        truth = {s: _fresh_read(_store(s, url, state)) for s, (url, state) in endpoints.items()}

    assert set(first.errors) == {"channels magento-es", "channels woo-pt"}
    assert "kept answering 500 after 6 attempts" in first.errors["channels magento-es"]
    assert "ReadTimeout" in first.errors["channels woo-pt"]
    assert (magento_requests, woo_requests) == (2 + 6, 6)  # retries are bounded, then the store is left
    assert 0 < len({i for i, _ in partial}) < len(truth["magento-es"])  # the pages before the outage landed
    assert whole == {s: truth[s] for s in whole}  # the other stores are whole
    assert second.errors == {}
    for store_id, versions in after.items():
        assert len(versions) == len(set(versions)), store_id
        assert _latest_from(versions) == truth[store_id], store_id
