"""Shopify Admin GraphQL 2025-01: ``POST /admin/api/2025-01/graphql.json``, the ``orders`` connection.

Answers the orders query (variables ``first``, ``after``, ``query`` with ``updated_at:>'…'``,
sorted by UPDATED_AT) and reports the cost-based throttle in ``extensions.cost`` like Shopify:
a leaky bucket of ``bucket_size`` points refilled at ``restore_rate`` per second; a query that
costs more than is available answers ``THROTTLED``.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from datetime import datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from afterclick.demo.emulators.base import EmulatorState
from afterclick.demo.emulators.orders_view import iso, shopify_gid

_UPDATED = re.compile(r"updated_at:>'?([0-9T:\-.Z+]+)'?")
FINANCIAL = {"pending": "PENDING", "paid": "PAID", "fulfilled": "PAID", "canceled": "VOIDED", "refunded": "REFUNDED"}


class CostBucket:
    def __init__(self, size: float = 1000.0, restore_rate: float = 50.0):
        self.size, self.restore_rate, self.available, self.at = size, restore_rate, size, time.monotonic()
        self.lock = threading.Lock()

    def take(self, cost: float) -> tuple[bool, float]:
        with self.lock:
            now = time.monotonic()
            self.available = min(self.size, self.available + (now - self.at) * self.restore_rate)
            self.at = now
            if cost > self.available:
                return False, self.available
            self.available -= cost
            return True, self.available


def _money(amount: float, currency: str) -> dict:
    return {"shopMoney": {"amount": f"{amount:.2f}", "currencyCode": currency}}


def _cursor(updated: datetime, order_id: str) -> str:
    return base64.b64encode(f"{updated.isoformat()}|{order_id}".encode()).decode()


def app(state: EmulatorState, bucket: CostBucket | None = None) -> Starlette:
    bucket = bucket or CostBucket()

    async def graphql(request: Request):
        authorized = request.headers.get("x-shopify-access-token") == state.credentials["token"]
        if (refused := await state.gate(request, authorized)) is not None:
            return refused
        body = await request.json()
        variables = body.get("variables") or {}
        first = min(int(variables.get("first", 50)), 250)
        cost = 2 + first * 3  # the order, its lines and fulfillments
        ok, available = bucket.take(cost)
        throttle = {"maximumAvailable": bucket.size, "currentlyAvailable": round(available), "restoreRate": bucket.restore_rate}
        if not ok:
            return JSONResponse({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                                 "extensions": {"cost": {"requestedQueryCost": cost, "throttleStatus": throttle}}})
        frame = state.view.orders(state.store_id)
        if m := _UPDATED.search(variables.get("query") or ""):
            frame = frame.filter(pl.col("as_of_updated_at") > datetime.fromisoformat(m.group(1).rstrip("Z")))
        if after := variables.get("after"):
            ts, oid = base64.b64decode(after).decode().split("|")
            ts = datetime.fromisoformat(ts)
            frame = frame.filter((pl.col("as_of_updated_at") > ts)
                                 | ((pl.col("as_of_updated_at") == ts) & (pl.col("order_id") > oid)))
        chunk = frame.head(first)
        lines = state.view.lines(chunk["order_id"].to_list())
        edges = [{"cursor": _cursor(r["as_of_updated_at"], r["order_id"]), "node": {
            "id": shopify_gid(r["n"]), "name": f"#{1000 + r['n']}", "createdAt": iso(r["placed_at"]),
            "updatedAt": iso(r["as_of_updated_at"]), "processedAt": iso(r["as_of_paid_at"]),
            "cancelledAt": iso(r["canceled_as_of"]), "email": r["email"], "currencyCode": r["currency"],
            "displayFinancialStatus": FINANCIAL[r["state"]],
            "displayFulfillmentStatus": "FULFILLED" if r["state"] == "fulfilled" else "UNFULFILLED",
            "customer": None if r["is_guest"] else {"id": f"gid://shopify/Customer/{7_000_000_000_000 + int(r['customer_id'][1:])}",
                                                     "email": r["email"]},
            "subtotalPriceSet": _money(r["gross"] - r["discount"], r["currency"]),
            "totalDiscountsSet": _money(r["discount"], r["currency"]),
            "totalShippingPriceSet": _money(r["shipping"], r["currency"]),
            "totalTaxSet": _money(r["tax"], r["currency"]), "totalPriceSet": _money(r["total"], r["currency"]),
            "totalRefundedSet": _money(r["refunded_as_of"], r["currency"]),
            "lineItems": {"nodes": [{"id": f"gid://shopify/LineItem/{r['n'] * 100 + li['line_no']}", "sku": li["sku"],
                                     "quantity": li["quantity"],
                                     "originalUnitPriceSet": _money(li["unit_price"], r["currency"]),
                                     "totalDiscountSet": _money(li["discount"], r["currency"])}
                                    for li in lines.get(r["order_id"], [])]},
        }} for r in chunk.iter_rows(named=True)]
        has_next = frame.height > first
        return JSONResponse({
            "data": {"orders": {"edges": edges, "pageInfo": {"hasNextPage": has_next,
                                                              "endCursor": edges[-1]["cursor"] if edges else None}}},
            "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": 2 + len(edges) * 3,
                                    "throttleStatus": throttle}},
        })

    return Starlette(routes=[Route("/admin/api/2025-01/graphql.json", graphql, methods=["POST"])])
