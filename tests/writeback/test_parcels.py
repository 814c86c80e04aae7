"""One fulfilment per parcel, with that parcel's own lines and carrier, on every platform that
models it (Shopify fulfillments, Magento shipments, VTEX sale invoices; WooCommerce: an order note
per parcel), and demo stores that refuse to fulfil what is not open."""

from __future__ import annotations

import copy

import httpx
import pytest

from afterclick import warehouse
from demo.emulators.shown import order_status, takes_parcels
from writeback.adapters.base import Refused
from writeback.adapters.parcels import parcel_lines

from pushing import ledger, push


def _rows(settings, sql: str) -> list[dict]:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        rel = con.sql(sql)
        return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def _parcel(lines: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for pair in lines.split(";"):
        sku, _, n = pair.rpartition(":")
        out[sku] = out.get(sku, 0) + int(n)
    return out


def _sku_of_line(state, oid: str) -> dict[int, str]:
    """The order's line ids as the Shopify and Magento demo stores number them -> SKU."""
    row = state.order_row(oid)
    return {row["n"] * 100 + li["line_no"]: li["sku"] for li in state.view.lines([row["order_id"]])[row["order_id"]]}


def _skus(pairs, sku_of) -> dict[str, int]:
    out: dict[str, int] = {}
    for line, n in pairs:
        out[sku_of[line]] = out.get(sku_of[line], 0) + int(n)
    return out


def _shown_parcel(state, channel: str, oid: str, r: dict) -> tuple[str | None, dict[str, int]]:
    """(carrier, sku -> units) of the store's fulfilment of the parcel ``r`` (found by its number)."""
    record = state.book.orders.get(oid, {})
    if channel == "shopify":
        [f] = [
            f
            for f in record.get("fulfillments", [])
            if r["tracking_number"] in {t["number"] for t in f["trackingInfo"]}
        ]
        assert len(f["trackingInfo"]) == 1, f  # its own tracking only
        sku_of = _sku_of_line(state, oid)
        return f["trackingInfo"][0]["company"], _skus(
            ((int(i["id"].rsplit("/", 1)[1]), i["quantity"]) for i in f["lineItems"]), sku_of
        )
    if channel == "magento":
        [s] = [
            s for s in record.get("shipments", []) if r["tracking_number"] in {t["track_number"] for t in s["tracks"]}
        ]
        assert len(s["tracks"]) == 1, s
        return s["tracks"][0]["title"], _skus(
            ((i["order_item_id"], i["qty"]) for i in s["items"]), _sku_of_line(state, oid)
        )
    [inv] = [i for i in record.get("invoices", []) if i["invoiceNumber"] == r["shipment_id"]]
    assert int(inv["invoiceValue"]) > 0 and inv["trackingNumber"] == r["tracking_number"], inv
    return inv["courier"], {i["id"]: i["quantity"] for i in inv["items"]}


def test_each_parcel_is_fulfilled_on_its_own_with_its_lines_and_carrier(wb, channels):
    rows = _rows(
        wb,
        "select store_id, channel, channel_order_id, shipment_id, parcel_no, parcel_count, carrier_name, "
        "tracking_number, lines from writeback.wb_tracking",
    )
    split = {r["channel"] for r in rows if r["parcel_count"] > 1}
    assert split >= {"shopify", "magento", "vtex"}  # the world has split orders on each
    skipped = {  # orders the store takes no parcel on: VTEX canceled, Magento canceled or closed
        (r["store_id"], r["channel_order_id"])
        for r in rows
        if not takes_parcels(channels[r["store_id"]][1], r["channel"], r["channel_order_id"])
    }
    report = push(wb, channels, kinds=("tracking",), parallel_targets=4)
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    checked = 0
    for r in rows:
        state = channels[r["store_id"]][1]
        if (r["store_id"], r["channel_order_id"]) in skipped:
            continue
        if r["channel"] == "woocommerce":  # WooCommerce has no shipments: a private note per parcel
            notes = [n["note"] for n in state.book.orders[r["channel_order_id"]]["notes"]]
            assert [n for n in notes if r["tracking_number"] in n and r["carrier_name"] in n], notes
            continue
        carrier, lines = _shown_parcel(state, r["channel"], r["channel_order_id"], r)
        assert carrier == r["carrier_name"], r
        assert lines == _parcel(r["lines"]), r
        checked += r["parcel_count"] > 1
    assert checked > 0


def test_the_demo_stores_refuse_to_fulfil_what_is_not_open(wb, channels):
    """Shopify: no more of a fulfillment order line item than remains; Magento: no more of an item
    than is left to ship; nothing is applied for a refusal."""
    rows = _rows(wb, "select store_id, channel, channel_order_id from writeback.wb_tracking")
    order = {r["channel"]: r for r in rows}
    shop_url, shop = channels[order["shopify"]["store_id"]]
    oid = order["shopify"]["channel_order_id"]
    line_id = min(_sku_of_line(shop, oid))
    ordered = {
        li["line_no"]: li["quantity"]
        for li in shop.view.lines([shop.order_row(oid)["order_id"]])[shop.order_row(oid)["order_id"]]
    }
    too_many = ordered[line_id % 100] + 1
    r = httpx.post(
        f"{shop_url}/admin/api/2025-01/graphql.json",
        json={
            "query": "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) "
            "{ fulfillment { id } userErrors { field message } } }",
            "variables": {
                "f": {
                    "lineItemsByFulfillmentOrder": [
                        {
                            "fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{oid}",
                            "fulfillmentOrderLineItems": [
                                {"id": f"gid://shopify/FulfillmentOrderLineItem/{line_id}", "quantity": too_many}
                            ],
                        }
                    ]
                }
            },
        },
        headers={"X-Shopify-Access-Token": shop.credentials["token"]},
    )
    assert "quantity" in r.json()["data"]["fulfillmentCreate"]["userErrors"][0]["message"]
    magento_url, magento = channels[order["magento"]["store_id"]]
    mid = order["magento"]["channel_order_id"]
    item = min(_sku_of_line(magento, mid))
    auth = {"Authorization": f"Bearer {magento.credentials['token']}"}
    r = httpx.post(
        f"{magento_url}/rest/V1/order/{mid}/ship",
        json={"items": [{"order_item_id": item, "qty": 10_000}], "tracks": []},
        headers=auth,
    )
    assert r.status_code == 400 and "greater than the ordered quantity" in r.json()["message"]
    assert not any(state.book.writes for _, state in channels.values())


@pytest.mark.parametrize("channel", ["magento"])
def test_magento_ships_no_canceled_order(wb, channels, channel):
    store = next(sid for sid, (_, s) in channels.items() if s.channel == channel)
    url, state = channels[store]
    auth = {"Authorization": f"Bearer {state.credentials['token']}"}
    canceled = next(
        oid
        for oid in state.view.orders(store)["channel_order_id"].cast(str).to_list()
        if order_status(state, channel, oid) == "canceled"
    )
    r = httpx.post(f"{url}/rest/V1/order/{canceled}/ship", json={"tracks": []}, headers=auth)
    assert r.status_code == 400 and "does not allow a shipment" in r.json()["message"]


def test_a_parcel_none_of_whose_lines_is_open_goes_to_the_dead_letter_unsent(wb, channels):
    """The merchant fulfilled an order in Shopify by hand: its parcels have nothing left to fulfil,
    so they are refused (with their lines), not sent; the store's other parcels go through."""
    rows = _rows(wb, "select channel_order_id, shipment_id from writeback.wb_tracking where store_id = 'shopify-es'")
    oid = rows[0]["channel_order_id"]
    url, state = channels["shopify-es"]
    r = httpx.post(
        f"{url}/admin/api/2025-01/graphql.json",
        json={
            "query": "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) "
            "{ fulfillment { id } userErrors { field message } } }",
            "variables": {
                "f": {
                    "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{oid}"}],
                    "trackingInfo": {"number": "BY-HAND-1", "company": "Other"},
                }
            },
        },
        headers={"X-Shopify-Access-Token": state.credentials["token"]},
    )
    assert r.json()["data"]["fulfillmentCreate"]["userErrors"] == []
    before = len(state.book.orders[oid]["fulfillments"])
    report = push(wb, channels, kinds=("tracking",), only="shopify-es")
    mine = {r["shipment_id"] for r in rows if r["channel_order_id"] == oid}
    dead = ledger(wb, "select change_key, last_error from ops.writeback_ledger where status = 'dead'")
    assert {key.split(":", 1)[1] for key, _ in dead} == mine and report.total("dead") == len(mine)
    assert all("none of its lines" in error and "is open to fulfil on Shopify" in error for _, error in dead)
    assert len(state.book.orders[oid]["fulfillments"]) == before  # nothing sent for it
    assert report.total("pushed") == len(rows) - len(mine)


@pytest.mark.parametrize("store", ["shopify-es", "magento-es", "vtex-br"])
def test_a_parcel_without_its_lines_goes_to_the_dead_letter_and_nothing_of_its_order_is_fulfilled(wb, channels, store):
    """A parcel whose lines are not known is refused with that reason, not sent: sent without
    them, the platform would fulfil (ship, invoice) the whole order with it. The store's other
    parcels go through."""
    rows = _rows(
        wb, f"select channel, channel_order_id, shipment_id from writeback.wb_tracking where store_id = '{store}'"
    )
    state = channels[store][1]
    oid = next(r["channel_order_id"] for r in rows if takes_parcels(state, r["channel"], r["channel_order_id"]))
    mine = {r["shipment_id"] for r in rows if r["channel_order_id"] == oid}
    con = warehouse.connect(wb)
    try:
        con.execute(
            f"update writeback.wb_tracking set lines = null where store_id = '{store}' and channel_order_id = '{oid}'"
        )
    finally:
        con.close()
    before = copy.deepcopy(state.book.orders.get(oid))
    report = push(wb, channels, kinds=("tracking",), only=store)
    dead = ledger(
        wb, f"select change_key, last_error from ops.writeback_ledger where status = 'dead' and store_id = '{store}'"
    )
    assert {key.split(":", 1)[1] for key, _ in dead} == mine
    assert all("comes without its lines" in error for _, error in dead), dead
    assert state.book.orders.get(oid) == before  # nothing of the order was fulfilled
    assert report.total("dead") == len(mine) and report.total("failed") == 0
    assert report.total("pushed") == len(rows) - len(mine)


@pytest.mark.parametrize("lines", [None, "", "SKU-1", "SKU-1:two", ":3", "SKU-1:0"])
def test_lines_that_are_not_sku_quantity_pairs_are_refused_with_the_parcel_named(lines):
    payload = {"shipment_id": "SHP-9-1", "channel_order_id": "9", "lines": lines}
    with pytest.raises(Refused, match="parcel SHP-9-1 of order 9"):
        parcel_lines(payload)
    assert parcel_lines({**payload, "lines": "A:1;B:2;A:1"}) == {"A": 2, "B": 2}


def test_vtex_adds_tracking_to_an_invoice_already_there_without_it(wb, channels):
    """An invoice of the parcel's number that VTEX holds without tracking (e.g. sent by the ERP)
    gets the parcel's tracking with ``PATCH …/invoice/{invoiceNumber}``; no second invoice."""
    rows = _rows(
        wb,
        "select channel_order_id, shipment_id, tracking_number, carrier_name, lines "
        "from writeback.wb_tracking where store_id = 'vtex-br'",
    )
    url, state = channels["vtex-br"]
    r = next(r for r in rows if takes_parcels(state, "vtex", r["channel_order_id"]))
    oid = r["channel_order_id"]
    headers = {
        "X-VTEX-API-AppKey": state.credentials["app_key"],
        "X-VTEX-API-AppToken": state.credentials["app_token"],
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    answer = httpx.post(
        f"{url}/api/oms/pvt/orders/{oid}/invoice",
        json={
            "type": "Output",
            "invoiceNumber": r["shipment_id"],
            "issuanceDate": "2026-10-01T10:00:00Z",
            "invoiceValue": "1000",
            "items": [{"id": sku, "quantity": n, "price": 100} for sku, n in _parcel(r["lines"]).items()],
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    report = push(wb, channels, kinds=("tracking",), only="vtex-br")
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    [invoice] = [i for i in state.book.orders[oid]["invoices"] if i["invoiceNumber"] == r["shipment_id"]]
    assert (invoice["trackingNumber"], invoice["courier"]) == (r["tracking_number"], r["carrier_name"])
    assert invoice["invoiceValue"] == "1000"  # the invoice itself is left as it was
