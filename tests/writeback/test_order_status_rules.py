"""Order status as each platform means it: a partial refund is not a refund; Magento's state moves
only through its documents (no status-history comment closes a complete order); Shopify shows one
afterclick status tag at a time; the demo stores refuse what the platforms refuse (VTEX: an invoice
on a canceled order, a zero-value invoice, an undocumented delivered date, missing headers)."""

from __future__ import annotations

import httpx

from afterclick import warehouse
from demo.emulators.shown import order_status

from pushing import push


def _rows(settings, sql: str) -> list[dict]:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        rel = con.sql(sql)
        return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


PARTIAL = """
    select s.store_id, s.channel, s.channel_order_id, s.afterclick_status
    from writeback.wb_order_status as s
    inner join marts.fct_orders as o on s.order_key = o.order_key
    where o.refunded_amount > 0 and o.refunded_amount < o.total_amount
"""


def test_a_partial_refund_is_not_pushed_as_refunded(wb, channels):
    partial = _rows(wb, PARTIAL)
    assert partial  # the world has orders with a line returned and refunded
    assert not [r for r in partial if r["afterclick_status"] == "refunded"]
    full = _rows(
        wb,
        "select s.afterclick_status from writeback.wb_order_status as s inner join marts.fct_orders as o "
        "on s.order_key = o.order_key where o.refunded_amount >= o.total_amount and s.afterclick_status <> 'canceled'",
    )
    assert {r["afterclick_status"] for r in full} == {"refunded"}
    report = push(wb, channels, kinds=("tracking", "status"), parallel_targets=4)
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    for r in partial:
        shown = order_status(channels[r["store_id"]][1], r["channel"], r["channel_order_id"])
        assert shown not in ("refunded", "closed") or r["channel"] != "woocommerce", r
        if r["channel"] == "shopify":
            assert shown != "CLOSED" or r["afterclick_status"] == "delivered", r


def test_magento_orders_move_only_through_their_documents(wb, channels):
    report = push(wb, channels, kinds=("tracking", "status"), only="magento-es")
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    _, state = channels["magento-es"]
    for oid, record in state.book.orders.items():
        assert not [c for c in record.get("comments", []) if c.get("status")], oid  # no comment moves a status
        if record.get("status") == "complete":
            shipped = sum(i["qty"] for s in record["shipments"] for i in s["items"])
            row = state.order_row(oid)
            assert shipped == sum(li["quantity"] for li in state.view.lines([row["order_id"]])[row["order_id"]]), oid
    # the store refuses a comment that would close a complete order (as Magento's state machine does)
    url, _ = channels["magento-es"]
    complete = next(oid for oid, record in state.book.orders.items() if record.get("state") == "complete")
    r = httpx.post(
        f"{url}/rest/V1/orders/{complete}/comments",
        json={
            "statusHistory": {
                "comment": "closing",
                "is_customer_notified": 0,
                "is_visible_on_front": 0,
                "parent_id": int(complete),
                "status": "closed",
            }
        },
        headers={"Authorization": f"Bearer {state.credentials['token']}"},
    )
    assert r.status_code == 400 and r.json()["parameters"] == ["closed", "complete"]


def test_shopify_shows_one_afterclick_status_tag(wb, channels):
    _, state = channels["shopify-es"]
    push(wb, channels, kinds=("tracking", "status"), only="shopify-es")
    tagged = {oid: r["tags"] for oid, r in state.book.orders.items() if r.get("tags")}
    assert tagged
    # the status of some orders moves on (shipped -> delivered): the old tag goes
    moved = [oid for oid, tags in tagged.items() if "afterclick:shipped" in tags][:5]
    assert moved
    con = warehouse.connect(wb)
    try:
        con.execute(
            "update writeback.wb_order_status set afterclick_status = 'delivered' "
            f"where store_id = 'shopify-es' and channel_order_id in ({', '.join(repr(o) for o in moved)})"
        )
    finally:
        con.close()
    report = push(wb, channels, kinds=("status",), only="shopify-es")
    assert report.total("pushed") == len(moved) and report.total("dead") == 0
    for oid in moved:
        assert [t for t in state.book.orders[oid]["tags"] if t.startswith("afterclick:")] == ["afterclick:delivered"]


def test_vtex_refuses_what_the_platform_refuses(wb, channels):
    url, state = channels["vtex-br"]
    headers = {
        "X-VTEX-API-AppKey": state.credentials["app_key"],
        "X-VTEX-API-AppToken": state.credentials["app_token"],
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    orders = state.view.orders("vtex-br")["channel_order_id"].to_list()
    canceled = next(o for o in orders if order_status(state, "vtex", o) == "canceled")
    open_order = next(o for o in orders if order_status(state, "vtex", o) == "handling")
    row = state.order_row(open_order)
    sku = state.view.lines([row["order_id"]])[row["order_id"]][0]["sku"]
    invoice = {
        "type": "Output",
        "invoiceNumber": "T-1",
        "issuanceDate": "2026-10-01T10:00:00Z",
        "invoiceValue": "1000",
        "items": [{"id": sku, "quantity": 1, "price": 1000}],
    }
    r = httpx.post(f"{url}/api/oms/pvt/orders/{canceled}/invoice", json=invoice, headers=headers)
    assert r.status_code == 403 and "canceled" in r.json()["error"]["message"]
    r = httpx.post(
        f"{url}/api/oms/pvt/orders/{open_order}/invoice", json={**invoice, "invoiceValue": "0"}, headers=headers
    )
    assert r.status_code == 400 and "greater than 0" in r.json()["error"]["message"]
    r = httpx.post(
        f"{url}/api/oms/pvt/orders/{open_order}/invoice",
        json={**invoice, "issuanceDate": "2026-10-01"},
        headers=headers,
    )
    assert r.status_code == 400 and "date and a time" in r.json()["error"]["message"]
    no_accept = {k: v for k, v in headers.items() if k != "Accept"} | {"Accept": ""}
    r = httpx.get(f"{url}/api/oms/pvt/orders/{open_order}", headers=no_accept)
    assert r.status_code == 400 and "accept" in r.json()["error"]["message"]
    assert not state.book.writes
    r = httpx.post(f"{url}/api/oms/pvt/orders/{open_order}/invoice", json=invoice, headers=headers)
    assert r.status_code == 200
    r = httpx.put(
        f"{url}/api/oms/pvt/orders/{open_order}/invoice/T-1/tracking",
        json={"isDelivered": True, "deliveredDate": "2026-10-03T12:00:00Z", "events": []},
        headers=headers,
    )
    assert r.status_code == 400 and "yyyy-mm-dd hh:mm" in r.json()["error"]["message"]
    r = httpx.put(
        f"{url}/api/oms/pvt/orders/{open_order}/invoice/T-1/tracking",
        json={"isDelivered": True, "deliveredDate": "2026-10-03 12:00", "events": []},
        headers=headers,
    )
    assert r.status_code == 200 and order_status(state, "vtex", open_order) == "delivered"
