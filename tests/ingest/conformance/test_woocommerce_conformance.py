"""The WooCommerce readers fed what the wc/v3 OpenAPI spec (../shared/api-specs) describes:
orders, their refunds and customers built from its schemas (the spec requires no property: the
minimal object is empty), every property, and hypothesis-drawn ones; ``_gmt`` stamps in every
timestamp form (naive is WooCommerce's own: UTC), the store-local fields three hours behind."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from afterclick.channels.store import ChannelStore

from spec_payloads import WooStore, assert_conformance, example, require, specimens, stamped

KEYS = {"key": "ck_conformance", "secret": "cs_conformance"}
ORDERS = "/wp-json/wc/v3/orders"


def _store(server: WooStore, page_size: int = 5) -> ChannelStore:
    return ChannelStore(
        "woo-spec",
        "woocommerce",
        server.url,
        {k: SecretStr(v) for k, v in KEYS.items()},
        reader_options={"page_size": page_size},
    )


def _schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _local(records, gmt_field: str) -> None:
    """The store-local twin of a ``_gmt`` field, as a store three hours west of UTC writes it."""
    for record, utc in records:
        if utc is not None:
            record[gmt_field.removesuffix("_gmt")] = (utc - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")


def _order_pages(first_run) -> list[tuple[str, int]]:
    return [(q["modified_after"], int(q["page"])) for _, path, q in first_run if path == ORDERS]


def test_spec_built_orders_land_or_are_quarantined_and_the_cursor_is_the_newest_gmt_stamp(con):
    doc = require("woocommerce")
    records = specimens(_schema("shop_order"), doc, "id", "date_modified_gmt")
    assert records[0][0] == {}  # the spec requires nothing: an order without id or date
    _local(records, "date_modified_gmt")
    with WooStore([r for r, _ in records]) as server:
        first_run = assert_conformance(con, _store(server), "orders", records, "id", server)
    pages = server.served[: len(first_run)]
    assert len([page for _, page in pages if page]) >= 3
    assert {id(r) for _, page in pages for r in page} == {id(r) for r, _ in records}  # every page was read
    asked = _order_pages(first_run)
    assert asked == sorted(asked)  # the modified_after filter only moves forward


def test_spec_built_refunds_of_spec_built_orders_land_with_their_order(con):
    doc = require("woocommerce")
    refunds = specimens(_schema("shop_order_refund"), doc, "id", "date_created_gmt", first_id=500)
    _local(refunds, "date_created_gmt")
    orders = []
    for i in range(6):  # full orders, each listing its refunds in its summary
        order = example(_schema("shop_order"), doc, full=True)
        order["id"], order["date_modified_gmt"] = 100 + i, stamped(40 + i)[0]
        order["refunds"] = []
        orders.append(order)
    by_order: dict[int, list[dict]] = {}
    for n, (refund, _) in enumerate(refunds):
        order = orders[n % len(orders)]
        by_order.setdefault(order["id"], []).append(refund)
        order["refunds"].append({"id": refund.get("id"), "reason": "", "total": "-1.00"})
    with WooStore(orders, refunds=by_order) as server:
        assert_conformance(con, _store(server), "refunds", refunds, "id", server)
    tagged = dict(con.execute("select id, payload->>'order_id' from raw.woocommerce__refunds").fetchall())
    assert tagged == {str(r["id"]): str(oid) for oid, rs in by_order.items() for r in rs if "id" in r}


def test_spec_built_customers_land_or_are_quarantined_every_page_read(con):
    doc = require("woocommerce")
    records = specimens(_schema("customer"), doc, "id", "date_modified_gmt")
    _local(records, "date_modified_gmt")
    with WooStore([], customers=[r for r, _ in records]) as server:
        first_run = assert_conformance(con, _store(server), "customers", records, "id", server)
    asked = [int(q["page"]) for _, _, q in first_run]
    assert asked == list(range(1, -(-len(records) // 5) + 1))  # pages 1, 2, 3, ... in order, each once


def test_an_order_without_id_listing_refunds_does_not_stop_the_refunds_of_the_others(con):
    """The spec requires no property of an order: one without ``id`` but with a refunds summary
    (its refunds cannot be asked for) must not crash the refund reader; the others' refunds land
    and the order itself is quarantined by the orders reader."""
    doc = require("woocommerce")
    orders, by_order = [], {}
    for i in range(3):
        order = example(_schema("shop_order"), doc, full=True)
        order["id"], order["date_modified_gmt"] = 200 + i, stamped(i)[0]
        refund = {
            **example(_schema("shop_order_refund"), doc, full=True),
            "id": 700 + i,
            "date_created_gmt": stamped(i)[0],
        }
        order["refunds"] = [{"id": refund["id"], "reason": "", "total": "-1.00"}]
        by_order[order["id"]] = [refund]
        orders.append(order)
    del orders[1]["id"]  # what the spec allows
    with WooStore(orders, refunds=by_order) as server:
        from ingest.channels.connector import ingest_channel_store

        refunds = ingest_channel_store(con, _store(server), only="refunds")
        ingest_channel_store(con, _store(server), only="orders")
    assert sum(x.rows_landed for x in refunds) == 2
    assert sorted(i for (i,) in con.execute("select id from raw.woocommerce__refunds").fetchall()) == ["700", "702"]
    assert con.execute("select entity, reason from ops.quarantine").fetchall() == [
        ("orders", "orders record without id")
    ]
