"""Channel API connectors against the local emulators: exact, incremental, idempotent, fault-tolerant."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from afterclick.errors import BadSourceData, ChannelRefused, TransientSourceError
from demo.catalog import STORE_BY_ID
from demo.emulators.server import serve_channels
from demo.world import simulate
from ingest.channels.connector import ingest_channel_store

from emulated_stores import api_store, con  # noqa: F401 - con is a fixture

END = datetime(2026, 11, 1)
API_STORES = ["shopify-es", "shopify-mx", "vtex-br", "magento-es", "woo-pt"]


@pytest.fixture(scope="module")
def world():
    return simulate(orders=800, days=45, seed=3, end=END)


def _raw(con, store_id):
    channel = STORE_BY_ID[store_id].channel
    return con.sql(
        f"select id, updated_at from raw.{channel}__orders where _store = '{store_id}' order by id, updated_at"
    ).fetchall()


def _truth(world, store_id, clock):
    return world.orders.filter((pl.col("store_id") == store_id) & (pl.col("placed_at") <= clock)).height


@pytest.mark.parametrize("store_id", API_STORES)
def test_full_then_incremental_load_equals_the_world_and_lands_only_changes(world, con, store_id):
    first_clock = END - timedelta(days=10)
    with serve_channels(world, clock=first_clock) as endpoints:
        url, state = endpoints[store_id]
        store = api_store(store_id, url, state)
        ingest_channel_store(con, store)
        assert len({i for i, _ in _raw(con, store_id)}) == _truth(world, store_id, first_clock)
        assert sum(x.rows_landed for x in ingest_channel_store(con, store)) == 0  # same window: nothing new

        state.advance(END)  # ten more days of orders and status changes
        landed = sum(x.rows_landed for x in ingest_channel_store(con, store) if x.table.endswith("__orders"))
    rows = _raw(con, store_id)
    assert len({i for i, _ in rows}) == _truth(world, store_id, END)
    changed = (
        world.order_events.join(world.orders.filter(pl.col("store_id") == store_id), on="order_id")
        .filter((pl.col("occurred_at") > first_clock) & (pl.col("occurred_at") <= END))["order_id"]
        .n_unique()
    )
    assert landed == changed  # exactly the orders that changed after the first load, once each
    assert len(rows) == len(set(rows))


def test_a_run_killed_midway_and_rerun_equals_an_uninterrupted_run(world, settings, con):
    with serve_channels(world) as endpoints:
        url, state = endpoints["shopify-es"]
        store = api_store("shopify-es", url, state)
        state.faults = ["200"] * 2 + ["500"] * 10  # the third page keeps failing: the run dies there
        with pytest.raises(TransientSourceError):
            ingest_channel_store(con, store)
        partial = _raw(con, "shopify-es")
        assert 0 < len(partial) < _truth(world, "shopify-es", END)
        state.faults = []
        ingest_channel_store(con, store)
    assert len(_raw(con, "shopify-es")) == _truth(world, "shopify-es", END)
    assert len(set(_raw(con, "shopify-es"))) == len(_raw(con, "shopify-es"))


def test_500s_and_429_storms_are_absorbed_with_nothing_lost(world, con):
    with serve_channels(world) as endpoints:
        for store_id, faults in (("magento-es", ["500", "500", "429"]), ("vtex-br", ["429"] * 4)):
            url, state = endpoints[store_id]
            state.faults = list(faults)
            ingest_channel_store(con, api_store(store_id, url, state))
            assert state.faults == []  # every fault was met and retried
            assert len(_raw(con, store_id)) == _truth(world, store_id, END)


def test_a_page_that_stays_malformed_is_bad_data_and_the_cursor_does_not_move(world, con):
    with serve_channels(world) as endpoints:
        url, state = endpoints["woo-pt"]
        state.faults = ["malformed"] * 10
        with pytest.raises(BadSourceData, match="not valid JSON"):
            ingest_channel_store(con, api_store("woo-pt", url, state))
    assert con.sql("select count(*) from ops.cursors where store = 'woo-pt'").fetchall() == [(0,)]


def test_bad_credentials_give_a_clear_error_without_the_secret(world, con):
    with serve_channels(world) as endpoints:
        url, state = endpoints["magento-es"]
        with pytest.raises(ChannelRefused, match="magento-es.*credentials") as err:
            ingest_channel_store(con, api_store("magento-es", url, state, token="wrong-secret-123"))
    assert "wrong-secret-123" not in str(err.value) and "wrong-secret-123" not in repr(
        api_store("magento-es", url, state)
    )


def test_shopify_throttle_waits_for_the_bucket_instead_of_failing(world, con):
    with serve_channels(world, shopify_bucket=(700.0, 400.0)) as endpoints:  # two pages drain it
        url, state = endpoints["shopify-es"]
        ingest_channel_store(con, api_store("shopify-es", url, state))
    assert len(_raw(con, "shopify-es")) == _truth(world, "shopify-es", END)


def test_two_stores_of_one_channel_stay_apart(world, con):
    with serve_channels(world) as endpoints:
        for store_id in ("shopify-es", "shopify-mx"):
            url, state = endpoints[store_id]
            ingest_channel_store(con, api_store(store_id, url, state))
    per_store = dict(con.sql("select _store, count(*) from raw.shopify__orders group by 1").fetchall())
    assert per_store == {s: _truth(world, s, END) for s in ("shopify-es", "shopify-mx")}
    cursors = dict(con.sql("select store, cursor_value from ops.cursors where source = 'shopify'").fetchall())
    assert set(cursors) == {"shopify-es", "shopify-mx"}


def test_vtex_splits_a_range_longer_than_30_pages_and_a_first_load_asks_few_questions(world, con):
    """VTEX lists at most 30 pages of a query: with 2 orders a page, the store's orders need far more,
    so the reader must split its creation-date ranges; a first load from the epoch must not walk
    the years before the first order week by week."""
    from ingest.channels.vtex.orders import order_pages

    with serve_channels(world) as endpoints:
        url, state = endpoints["vtex-br"]
        expected = _truth(world, "vtex-br", END)
        assert expected > 2 * 30  # more than one query can list at 2 a page
        client = api_store("vtex-br", url, state).client()
        try:
            ids = [
                o["orderId"] for page in order_pages(client, datetime(2000, 1, 1), page_size=2, until=END) for o in page
            ]
        finally:
            client.close()
        lists = [p for p in state.requests if p == "/api/oms/pvt/orders"]
    assert len(set(ids)) == expected  # none lost beyond page 30
    # the pages of 2 plus one question per split: not ~1,400 weekly windows since 2000
    assert expected / 2 <= len(lists) < expected / 2 + 100


def test_the_emulators_refuse_query_parameters_the_published_spec_does_not_allow(world):
    """Every REST request's query parameters are checked against the channel's spec (the readers in
    this module pass the check: what they send is declared)."""
    from demo.emulators import spec

    if not spec.available("woocommerce") or not spec.available("magento"):
        pytest.skip("../shared/api-specs is not here")
    import httpx

    with serve_channels(world) as endpoints:
        woo_url, woo = endpoints["woo-pt"]
        auth = (woo.credentials["key"], woo.credentials["secret"])
        r = httpx.get(
            f"{woo_url}/wp-json/wc/v3/orders",
            params={"modified_since": "2026-10-01T00:00:00", "orderby": "updated"},
            auth=auth,
        )
        assert r.status_code == 400
        assert "unknown query parameter 'modified_since'" in r.text and "'updated' is not one of" in r.text
        assert (
            httpx.get(f"{woo_url}/wp-json/wc/v3/orders", params={"orderby": "modified"}, auth=auth).status_code == 200
        )
        magento_url, magento = endpoints["magento-es"]
        headers = {"Authorization": f"Bearer {magento.credentials['token']}"}
        r = httpx.get(f"{magento_url}/rest/V1/orders", params={"searchCriteria[pageSize]": "ten"}, headers=headers)
        assert r.status_code == 400 and "is not an integer" in r.text
        # Magento reads snake_case search criteria as their camelCase names
        ok = httpx.get(
            f"{magento_url}/rest/V1/orders",
            headers=headers,
            params={
                "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
                "searchCriteria[pageSize]": "5",
            },
        )
        assert ok.status_code == 200


@pytest.mark.parametrize("limits", [True, False], ids=["limits on", "limits off"])
def test_the_demo_stores_enforce_shopifys_read_limit_unless_settings_turn_it_off(
    settings, small_world, limits, monkeypatch
):
    from afterclick.channels.http import shopify_graphql
    from afterclick.channels.store import configured_stores
    from ingest.channels.shopify.orders import ORDERS_QUERY
    from tests.conftest import outside_world_env, refresh

    monkeypatch.setenv("AFTERCLICK_DEMO_RATE_LIMITS", str(limits).lower())
    with outside_world_env(refresh(settings), monkeypatch):
        [store] = configured_stores(settings, "shopify-es")
        client = store.client()
        shopify_graphql(client, ORDERS_QUERY, {"first": 250, "query": "updated_at:>'2000-01-01T00:00:00Z'"})
    budget = client.shopify_budget  # the throttle status the store answered with
    assert budget["maximumAvailable"] == (20_000 if limits else 1e12)
