"""Stock as each platform means it, against demo stores that reserve for their own open orders the
way the platform does (VTEX until invoiced or canceled, Magento MSI until shipped or canceled;
Shopify keeps committed units out of ``available``; WooCommerce reduces its stock as orders come):
after a push, what each store would sell is afterclick's available-to-promise for it. Reservations
are released line by line as each line's parcel ships; Shopify's sets are compare-and-set."""

from __future__ import annotations

import httpx
import polars as pl
import pytest

from afterclick import warehouse
from demo.emulators.inventory import sku_number
from demo.emulators.stock_routes import reserved, sellable
from demo.generate import load_truth
from demo.ids import with_order_keys
from writeback.adapters.shopify import stock as shopify_stock
from writeback.adapters.vtex.stock import NO_LEAD_TIME

from pushing import push


def _wanted(settings) -> list[tuple[str, str, str, int, int]]:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        return con.sql("select store_id, sku, location_id, quantity, sellable from writeback.wb_stock").fetchall()


def test_each_store_sells_what_afterclick_wants_sold_after_a_push(wb, channels):
    report = push(wb, channels)
    assert report.total("dead") == 0 and report.total("failed") == 0
    wrong: dict[str, list] = {}
    for store, sku, location, quantity, wanted in _wanted(wb):
        state = channels[store][1]
        assert state.inventory.get(sku, location or "") == quantity, (store, sku)  # what was sent is held
        sells = sellable(state, sku, location or "")
        if sells != wanted:
            wrong.setdefault(store, []).append((sku, quantity, sells, wanted))
    assert wrong == {}
    # and so the stores' own APIs say: VTEX's balance (total minus reserved), Magento's salable quantity
    by_store: dict[str, list] = {}
    for store, sku, location, _, wanted in _wanted(wb):
        by_store.setdefault(store, []).append((sku, location, wanted))
    vtex_url, vtex = channels["vtex-br"]
    vtex_auth = {"X-VTEX-API-AppKey": vtex.credentials["app_key"], "X-VTEX-API-AppToken": vtex.credentials["app_token"]}
    for sku, location, wanted in by_store["vtex-br"][:20]:
        balance = httpx.get(f"{vtex_url}/api/logistics/pvt/inventory/skus/{sku_number(sku)}", headers=vtex_auth)
        (held,) = [b for b in balance.json()["balance"] if b["warehouseId"] == location]
        assert held["totalQuantity"] - held["reservedQuantity"] == wanted, sku
    magento_url, magento = channels["magento-es"]
    magento_auth = {"Authorization": f"Bearer {magento.credentials['token']}"}
    for sku, _, wanted in by_store["magento-es"][:20]:
        salable = httpx.get(
            f"{magento_url}/rest/V1/inventory/get-product-salable-quantity/{sku}/1", headers=magento_auth
        )
        assert salable.json() == wanted, sku
    # the stores that reserve for their own orders do hold some now, so the units were sent on top
    for store in ("vtex-br", "magento-es"):
        assert sum(reserved(channels[store][1]).values()) > 0, store
    assert channels["shopify-es"][1].inventory.unchecked_sets == 0  # every Shopify set compared its quantity


def test_vtex_takes_a_lead_time_only_in_its_documented_form(channels):
    url, state = channels["vtex-br"]
    headers = {"X-VTEX-API-AppKey": state.credentials["app_key"], "X-VTEX-API-AppToken": state.credentials["app_token"]}
    sku = state.inventory.skus[0]
    path = f"{url}/api/logistics/pvt/inventory/skus/{sku_number(sku)}/warehouses/1_1"
    body = {"quantity": 3, "unlimitedQuantity": False}
    refused = httpx.put(path, json={**body, "leadTime": "00:00:00"}, headers=headers)
    assert refused.status_code == 400 and "dd.hh:mm:ss" in refused.text
    assert state.inventory.get(sku, "1_1") is None  # nothing applied
    assert httpx.put(path, json={**body, "leadTime": NO_LEAD_TIME}, headers=headers).status_code == 200
    assert state.inventory.get(sku, "1_1") == 3


def test_a_sale_between_reading_and_setting_a_shopify_quantity_is_read_again_not_overwritten_blindly(
    wb, channels, monkeypatch
):
    state = channels["shopify-es"][1]
    held = shopify_stock.ShopifyStock._held
    sales: list[str] = []

    def read_then_a_sale(self, changes, items):
        now = held(self, changes, items)
        if not sales:  # right after the first read, a customer buys one unit of the first SKU
            c = changes[0]
            sold = (now[c.key] or 0) - 1
            state.inventory.set([(c.payload["sku"], c.payload["location_id"], sold)])
            sales.append(c.key)
        return now

    monkeypatch.setattr(shopify_stock.ShopifyStock, "_held", read_then_a_sale)
    report = push(wb, channels, only="shopify-es")
    assert sales and report.total("dead") == 0 and report.total("failed") == 0
    wanted = {(sku, loc): q for store, sku, loc, q, _ in _wanted(wb) if store == "shopify-es"}
    assert all(state.inventory.get(sku, loc) == q for (sku, loc), q in wanted.items())
    assert state.inventory.unchecked_sets == 0


def test_a_split_orders_lines_stay_reserved_until_their_own_parcel_ships(built_env):
    settings = built_env[0]
    world = load_truth(settings)
    as_of = settings.as_of or world.end
    split = (
        world.shipments.group_by("order_id")
        .agg(
            pl.len().alias("parcels"),
            pl.col("shipped_at").min().alias("first"),
            pl.col("shipped_at").max().alias("last"),
        )
        .filter((pl.col("parcels") > 1) & (pl.col("first") <= as_of))
    )
    lines = (
        with_order_keys(world.order_lines.join(split.select("order_id"), on="order_id"), world.orders)
        .join(world.shipments.select("order_id", "parcel_no", "shipped_at"), on=["order_id", "parcel_no"], how="left")
        .join(world.orders.select("order_id", "canceled_at", "refunded_at"), on="order_id")
        .filter(pl.col("canceled_at").is_null() & pl.col("refunded_at").is_null())
        .filter(pl.len().over("order_id", "sku") == 1)  # one line per SKU: the order and SKU name the line
    )
    assert lines.height > 0
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        held = dict(
            con.sql("select order_key || ':' || sku, released_at from intermediate.int_stock_reservations").fetchall()
        )
    waiting = shipped_later = 0
    for order_key, sku, shipped_at in lines.select("order_key", "sku", "shipped_at").iter_rows():
        released = held[f"{order_key}:{sku}"]
        if shipped_at is None or shipped_at > as_of:  # its parcel has not shipped: still reserved
            waiting += 1
            assert released is None or released > as_of, (order_key, sku)
        else:  # released as its own parcel shipped, not at the order's first
            shipped_later += 1
            assert released == shipped_at.replace(microsecond=0), (order_key, sku, released, shipped_at)  # WMS: seconds
    assert shipped_later > 0


@pytest.mark.parametrize("store", ["vtex-br", "magento-es"])
def test_a_store_that_reserves_for_its_orders_is_sent_them_on_top(wb, store):
    with warehouse.connect_read_only(wb.warehouse_path) as con:
        rows = con.sql(
            f"select quantity, sellable, channel_reserved_units from writeback.wb_stock as w "
            f"join marts.fct_channel_stock as c using (store_id, sku) where w.store_id = '{store}'"
        ).fetchall()
    assert rows and all(q == s + r for q, s, r in rows)
    assert any(r > 0 for _, _, r in rows)
