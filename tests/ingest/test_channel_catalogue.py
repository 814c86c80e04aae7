"""The channels' catalogues (products / variants) and locations: swept whole, landed where changed."""

import json
from datetime import datetime

import pytest

from afterclick.errors import BadSourceData
from demo.catalog import STORE_BY_ID
from demo.emulators.server import serve_channels
from demo.world import simulate
from ingest.channels.catalogue import sweep_entity, sweep_store

from emulated_stores import api_store, con  # noqa: F401 - con is a fixture

END = datetime(2026, 11, 1)
SKU_FIELD = {"shopify": "sku", "magento": "sku", "woocommerce": "sku"}
LOCATION = {"shopify-es": "gid://shopify/Location/1001", "magento-es": "default", "vtex-br": "1_1"}


@pytest.fixture(scope="module")
def world():
    return simulate(orders=600, days=30, seed=8, end=END)


def _total(landed, entity):
    return sum(x.rows_landed for x in landed if x.table.endswith(f"__{entity}"))


@pytest.mark.parametrize("store_id", ["shopify-es", "magento-es", "woo-pt", "vtex-br"])
def test_a_sweep_lands_the_store_catalogue_and_locations_then_only_what_changed(world, con, store_id):
    channel = STORE_BY_ID[store_id].channel
    with serve_channels(world) as endpoints:
        url, state = endpoints[store_id]
        store = api_store(store_id, url, state)
        state.unknown_skus = {"SKU-00003"}  # a SKU the store does not list
        first = sweep_store(con, store)
        assert _total(sweep_store(con, store), "products") + _total(sweep_store(con, store), "locations") == 0
        sku = state.inventory.skus[0]
        state.inventory.set([(sku, LOCATION.get(store_id, ""), 7)])  # stock moves: not a listing change
        state.book.set_price(sku, "b2c", 12.34)  # the price push: a listing change
        again = sweep_store(con, store)
    listed = sorted(s for s in world.products["sku"].to_list() if s != "SKU-00003")
    if channel != "vtex":  # VTEX's catalogue has no list call
        rows = con.sql(
            f"select payload from raw.{channel}__products where _store = '{store_id}' "
            "qualify row_number() over (partition by id order by updated_at desc) = 1"
        ).fetchall()
        skus = sorted(json.loads(p)[SKU_FIELD[channel]] for (p,) in rows)
        assert skus == listed and _total(first, "products") == len(listed)
        assert _total(again, "products") == 1  # the repriced product, once
        latest = {json.loads(p)[SKU_FIELD[channel]]: json.loads(p) for (p,) in rows}
        price = latest[sku].get("price") or latest[sku].get("regular_price")
        assert float(price) == 12.34
    if channel != "woocommerce":  # WooCommerce keeps one stock per product: no locations
        ids = [
            json.loads(p)
            for (p,) in con.sql(f"select payload from raw.{channel}__locations where _store = '{store_id}'").fetchall()
        ]
        assert [x.get("id") or x.get("source_code") for x in ids] == [LOCATION[store_id]]
        assert _total(again, "locations") == 0


def test_a_sweep_that_stays_malformed_lands_nothing_and_is_quarantined(world, con):
    with serve_channels(world) as endpoints:
        url, state = endpoints["magento-es"]
        state.faults = ["200"] + ["malformed"] * 10  # the second page never parses
        with pytest.raises(BadSourceData):
            sweep_entity(con, api_store("magento-es", url, state), "products", page_size=20)
    assert con.sql("select count(*) from raw.magento__products").fetchall() == [(0,)]
    reasons = con.sql("select reason from ops.quarantine where entity = 'products'").fetchall()
    assert len(reasons) == 1 and "not valid JSON" in reasons[0][0]
