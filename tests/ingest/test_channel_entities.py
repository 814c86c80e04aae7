"""What the channels record beside orders: customer accounts, payments, refunds and returns.

Customers are their own records (Shopify ``customers``, Magento ``customers/search``, WooCommerce
``customers``), landed incrementally like orders; refunds are their own records in Magento (credit
memos) and WooCommerce (per order); the rest comes nested in the orders. The dbt side (payments,
refunds and accounts against the world) is checked in the pipeline flow test.
"""

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from afterclick.errors import TransientSourceError
from demo.catalog import STORE_BY_ID
from demo.emulators.server import serve_channels
from demo.world import simulate
from ingest.channels.connector import ingest_channel_store

from emulated_stores import api_store, con  # noqa: F401 - con is a fixture

END = datetime(2026, 11, 1)
FIRST = END - timedelta(days=10)


@pytest.fixture(scope="module")
def world():
    return simulate(orders=800, days=45, seed=5, end=END)


def _accounts(world, store_id, clock) -> dict[str, int]:
    """Registered customers of the store as of ``clock``: email -> orders placed there."""
    placed = world.orders.filter(
        (pl.col("store_id") == store_id) & (pl.col("placed_at") <= clock) & ~pl.col("is_guest")
    )
    return dict(placed.group_by("email").len().iter_rows())


def _landed(landed, entity: str) -> int:
    return sum(x.rows_landed for x in landed if x.table.endswith(f"__{entity}"))


@pytest.mark.parametrize("store_id", ["shopify-es", "magento-es", "woo-pt"])
def test_customers_land_as_the_store_has_them_and_a_later_run_lands_only_those_who_changed(world, con, store_id):
    channel = STORE_BY_ID[store_id].channel
    with serve_channels(world, clock=FIRST) as endpoints:
        url, state = endpoints[store_id]
        store = api_store(store_id, url, state)
        ingest_channel_store(con, store)
        assert _landed(ingest_channel_store(con, store), "customers") == 0  # nothing changed: nothing landed
        state.advance(END)
        landed = _landed(ingest_channel_store(con, store), "customers")
    latest = con.sql(
        f"select payload from raw.{channel}__customers where _store = '{store_id}' "
        "qualify row_number() over (partition by id order by updated_at desc) = 1"
    ).fetchall()
    emails = sorted(json.loads(p)["email"] for (p,) in latest)
    assert emails == sorted(_accounts(world, store_id, END))
    # a customer's record changes with each order they place: those who ordered in the ten days
    ordered = world.orders.filter(
        (pl.col("store_id") == store_id)
        & ~pl.col("is_guest")
        & (pl.col("placed_at") > FIRST)
        & (pl.col("placed_at") <= END)
    )
    assert landed == ordered["customer_id"].n_unique()
    if channel == "shopify":  # Shopify counts each customer's orders itself
        counts = {json.loads(p)["email"]: int(json.loads(p)["numberOfOrders"]) for (p,) in latest}
        assert counts == _accounts(world, store_id, END)


def test_refunds_are_read_per_order_on_woocommerce_and_as_credit_memos_on_magento(world, con):
    with serve_channels(world) as endpoints:
        for store_id in ("woo-pt", "magento-es"):
            url, state = endpoints[store_id]
            ingest_channel_store(con, api_store(store_id, url, state))
    truth = world.orders.filter(pl.col("refunded_at").is_not_null() & (pl.col("refunded_amount") > 0))
    for store_id, table, amount in (
        ("woo-pt", "woocommerce__refunds", "cast(payload->>'$.amount' as double)"),
        ("magento-es", "magento__creditmemos", "cast(payload->>'$.grand_total' as double)"),
    ):
        expected = truth.filter(pl.col("store_id") == store_id)
        count, total = con.sql(
            f"select count(*), round(sum({amount}), 2) from raw.{table} where _store = '{store_id}'"
        ).fetchall()[0]
        assert count == expected.height > 0
        assert abs(total - expected["refunded_amount"].sum()) < 0.01
    # a WooCommerce refund names its order (the URL it was read from) and its date
    refund = json.loads(con.sql("select payload from raw.woocommerce__refunds limit 1").fetchall()[0][0])
    assert refund["order_id"] and refund["date_created_gmt"]


def test_shopify_orders_carry_their_transactions_refunds_and_customer_returns(world, con):
    with serve_channels(world) as endpoints:
        url, state = endpoints["shopify-es"]
        ingest_channel_store(con, api_store("shopify-es", url, state), only="orders")
    orders = [json.loads(p) for (p,) in con.sql("select payload from raw.shopify__orders").fetchall()]
    truth = world.orders.filter(pl.col("store_id") == "shopify-es")
    sales = sum(1 for o in orders for t in o["transactions"] if t["kind"] == "SALE")
    assert sales == truth.filter(pl.col("paid_at").is_not_null()).height
    refunded = sum(float(r["totalRefundedSet"]["shopMoney"]["amount"]) for o in orders for r in o["refunds"])
    assert abs(refunded - truth.filter(pl.col("refunded_at").is_not_null())["refunded_amount"].sum()) < 0.01
    returns = {
        (n["fulfillmentLineItem"]["lineItem"]["sku"], n["quantity"])
        for o in orders
        for r in o["returns"]["nodes"]
        for n in r["returnLineItems"]["nodes"]
    }
    customer_returns = world.returns.join(truth.select("order_id"), on="order_id").filter(
        pl.col("initiator") == "customer"
    )
    assert returns == set(customer_returns.select("sku", "quantity").iter_rows())
    assert customer_returns.height > 0


def test_each_entity_keeps_its_own_cursor_so_a_failure_in_one_does_not_redo_the_other(world, con):
    """Orders land; the customer read then keeps failing: the orders' cursor stands, and the rerun
    lands the customers without landing an order twice."""
    with serve_channels(world) as endpoints:
        url, state = endpoints["magento-es"]
        store = api_store("magento-es", url, state)
        ingest_channel_store(con, store, only="orders")
        state.faults = ["500"] * 20
        with pytest.raises(TransientSourceError):
            ingest_channel_store(con, store, only="customers")
        state.faults = []
        landed = ingest_channel_store(con, store)
    assert _landed(landed, "orders") == 0
    assert _landed(landed, "customers") == len(_accounts(world, "magento-es", END))
    cursors = dict(con.sql("select entity, cursor_value from ops.cursors where store = 'magento-es'").fetchall())
    assert set(cursors) == {"orders", "creditmemos", "customers"}


FULFILL = """mutation($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id } userErrors { field message } } }"""


def test_a_fulfillment_pushed_to_shopify_is_read_back_with_the_order_s_next_version(world, con):
    from afterclick.channels.http import shopify_graphql

    with serve_channels(world, clock=FIRST) as endpoints:
        url, state = endpoints["shopify-es"]
        store = api_store("shopify-es", url, state)
        ingest_channel_store(con, store, only="orders")
        # an order placed before the first read that changes again before the second
        later = (
            world.order_events.filter((pl.col("occurred_at") > FIRST) & (pl.col("occurred_at") <= END))
            .join(
                world.orders.filter(
                    (pl.col("store_id") == "shopify-es")
                    & (pl.col("placed_at") <= FIRST)
                    & pl.col("canceled_at").is_null()
                ),
                on="order_id",
            )["order_id"]
            .unique()
            .sort()
        )
        gid = con.sql(
            "select id from raw.shopify__orders where payload->>'$.name' = ?", params=[f"#{1000 + int(later[0][1:])}"]
        ).fetchall()[0][0]
        client = store.client()
        try:
            answer = shopify_graphql(
                client,
                FULFILL,
                {
                    "fulfillment": {
                        "lineItemsByFulfillmentOrder": [
                            {"fulfillmentOrderId": gid.replace("/Order/", "/FulfillmentOrder/")}
                        ],
                        "trackingInfo": {
                            "number": "PK123456789ES",
                            "company": "Correos",
                            "url": "https://example.com/t",
                        },
                    }
                },
            )
        finally:
            client.close()
        assert answer["fulfillmentCreate"]["userErrors"] == []
        state.advance(END)
        ingest_channel_store(con, store, only="orders")
    versions = [
        json.loads(p)["fulfillments"]
        for (p,) in con.sql(
            "select payload from raw.shopify__orders where id = ? order by updated_at", params=[gid]
        ).fetchall()
    ]
    assert versions[0] == []  # read before the push
    assert [t["number"] for f in versions[-1] for t in f["trackingInfo"]] == ["PK123456789ES"]


def test_magento_shipments_the_write_back_created_are_read_back_once_and_again_when_tracked(world, con):
    import httpx

    with serve_channels(world) as endpoints:
        url, state = endpoints["magento-es"]
        store = api_store("magento-es", url, state)
        headers = {"Authorization": f"Bearer {state.credentials['token']}"}
        order = world.orders.filter((pl.col("store_id") == "magento-es") & pl.col("canceled_at").is_null())["order_id"][
            0
        ]
        oid = str(int(order[1:]))
        r = httpx.post(
            f"{url}/rest/V1/order/{oid}/ship",
            headers=headers,
            json={"tracks": [{"track_number": "PK1ES", "title": "Correos", "carrier_code": "custom"}]},
        )
        assert r.status_code == 200, r.text
        assert _landed(ingest_channel_store(con, store, only="shipments"), "shipments") == 1
        assert _landed(ingest_channel_store(con, store, only="shipments"), "shipments") == 0
        state.advance(END + timedelta(hours=1))  # a second parcel's track, added an hour later
        r = httpx.post(
            f"{url}/rest/V1/shipment/track",
            headers=headers,
            json={
                "entity": {
                    "order_id": int(oid),
                    "parent_id": int(r.json()),
                    "track_number": "PK2ES",
                    "title": "Correos",
                    "carrier_code": "custom",
                    "weight": 0,
                    "qty": 0,
                    "description": "parcel 2 of 2",
                }
            },
        )
        assert r.status_code == 200, r.text
        assert _landed(ingest_channel_store(con, store, only="shipments"), "shipments") == 1
        # the orders' own read does not land read-backs
        assert {x.table for x in ingest_channel_store(con, store)} == {
            "raw.magento__orders",
            "raw.magento__creditmemos",
            "raw.magento__customers",
        }
    latest = json.loads(
        con.sql("select payload from raw.magento__shipments order by updated_at desc limit 1").fetchall()[0][0]
    )
    assert [t["track_number"] for t in latest["tracks"]] == ["PK1ES", "PK2ES"] and latest["order_id"] == int(oid)
