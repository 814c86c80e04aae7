"""Every request a demo push sends (stock, prices, tracking, status to every store), captured where
it leaves the HTTP client and checked against the channels' published specs by this package's own
reading of them: REST bodies against their schemas, required headers, documented date forms and
amounts; Shopify documents against the Admin schema (no deprecated field) and their variables
against the declared input types. A second push sends nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from demo.catalog import STORE_BY_ID
from spec_check import graphql_check, openapi
from spec_check.capture import Capture

from pushing import push

KINDS = ("stock", "prices", "tracking", "status")


def _checked(channel: str, request) -> list[str]:
    return graphql_check.check(request) if channel == "shopify" else openapi.check(channel, request)


def _is_write(channel: str, request) -> bool:
    if channel == "shopify":
        return graphql_check.is_mutation(request)
    return request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.path.endswith("-information")


@pytest.mark.slow
def test_every_request_of_a_push_follows_the_published_specs_and_a_second_push_sends_nothing(wb, channels, monkeypatch):
    if not openapi.available():
        pytest.skip("../shared/api-specs is not here")
    channel_of = {url.split("//", 1)[1].rstrip("/"): STORE_BY_ID[sid].channel for sid, (url, _) in channels.items()}
    capture = Capture().install(monkeypatch)
    report = push(wb, channels, kinds=KINDS, parallel_targets=4)
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    sent = [(channel_of[r.host], r) for r in capture.requests if r.host in channel_of]
    writes = Counter(channel for channel, r in sent if _is_write(channel, r))
    assert set(writes) == {"shopify", "vtex", "magento", "woocommerce"}, writes  # every channel was written to
    problems = [f"{channel}: {p}" for channel, r in sent for p in _checked(channel, r)]
    assert not problems, "\n".join(problems[:30]) + f"\n({len(problems)} in all, of {len(sent)} requests)"

    capture.requests.clear()
    again = push(wb, channels, kinds=KINDS, parallel_targets=4)
    assert again.total("pushed") == 0
    resent = [(channel_of[r.host], r) for r in capture.requests if r.host in channel_of]
    assert not [f"{r.method} {r.path}" for channel, r in resent if _is_write(channel, r)]


def test_the_checks_catch_what_the_platforms_refuse():
    """The checker itself: each defect a platform would refuse is found (so a clean push means
    something)."""
    from spec_check.capture import Request

    if not openapi.available():
        pytest.skip("../shared/api-specs is not here")
    json_headers = {"accept": "application/json", "content-type": "application/json"}
    zero_invoice = Request(
        "h",
        "POST",
        "/api/oms/pvt/orders/1-01/invoice",
        (),
        json_headers,
        {
            "type": "Output",
            "invoiceNumber": "S1",
            "issuanceDate": "2026-10-01T10:00:00Z",
            "invoiceValue": "0",
            "items": [],
        },
    )
    assert any("greater than 0" in p for p in openapi.check("vtex", zero_invoice))
    delivered = Request(
        "h",
        "PUT",
        "/api/oms/pvt/orders/1-01/invoice/S1/tracking",
        (),
        {},
        {"isDelivered": True, "deliveredDate": "2026-10-01T10:00:00Z", "events": []},
    )
    found = openapi.check("vtex", delivered)
    assert any("yyyy-mm-dd hh:mm" in p for p in found) and any("header Accept" in p for p in found)
    stock = {"quantity": 5, "unlimitedQuantity": False, "leadTime": "00:00:00"}
    lead_time = Request("h", "PUT", "/api/logistics/pvt/inventory/skus/1/warehouses/wh1", (), json_headers, stock)
    assert any("dd.hh:mm:ss" in p for p in openapi.check("vtex", lead_time))
    assert not openapi.check("vtex", replace(lead_time, body={**stock, "leadTime": "00.00:00:00"}))
    ship = Request("h", "POST", "/rest/V1/order/5/ship", (), {}, {"items": [{"order_item_id": 1}]})
    assert any("qty" in p for p in openapi.check("magento", ship))
    cancel = Request(
        "h",
        "POST",
        graphql_check.SHOPIFY_PATH,
        (),
        {},
        {
            "query": "mutation($id: ID!) { orderCancel(orderId: $id, reason: OTHER, refund: false, restock: true) "
            "{ job { id } userErrors { message } } }",
            "variables": {"id": "gid://shopify/Order/1"},
        },
    )
    assert any("deprecated" in p for p in graphql_check.check(cancel))
    bad_variables = Request(
        "h",
        "POST",
        graphql_check.SHOPIFY_PATH,
        (),
        {},
        {
            "query": "mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }",
            "variables": {"id": "gid://shopify/Order/1", "tags": None},
        },
    )
    assert graphql_check.check(bad_variables)


def test_a_shopify_cancel_follows_the_published_schema(wb, channels, monkeypatch):
    """Orders afterclick cancels on Shopify (``orderCancel``): the document selects no deprecated
    field (``userErrors`` of ``OrderCancelPayload``), and the orders are cancelled."""
    if not openapi.available():
        pytest.skip("../shared/api-specs is not here")
    from afterclick import warehouse
    from demo.emulators.shown import order_status

    url, state = channels["shopify-es"]
    with warehouse.connect_read_only(wb.warehouse_path) as con:
        ids = [
            oid
            for (oid,) in con.sql(
                "select channel_order_id from writeback.wb_order_status where store_id = 'shopify-es' order by 1"
            ).fetchall()
        ]
    canceled = [oid for oid in ids if order_status(state, "shopify", oid) == "UNFULFILLED"][:3]
    assert canceled  # open orders with news
    con = warehouse.connect(wb)
    try:
        con.execute(
            "update writeback.wb_order_status set afterclick_status = 'canceled' where store_id = 'shopify-es' "
            f"and channel_order_id in ({', '.join(repr(o) for o in canceled)})"
        )
    finally:
        con.close()
    capture = Capture().install(monkeypatch)
    report = push(wb, channels, kinds=("status",), only="shopify-es")
    assert report.total("dead") == 0 and report.total("failed") == 0, [t for t in report.targets if t.failed or t.dead]
    host = url.split("//", 1)[1].rstrip("/")
    sent = [r for r in capture.requests if r.host == host]
    assert [r for r in sent if isinstance(r.body, dict) and "orderCancel(" in r.body.get("query", "")]
    problems = [p for r in sent for p in graphql_check.check(r)]
    assert not problems, problems
    assert {order_status(state, "shopify", oid) for oid in canceled} == {"CANCELLED"}
