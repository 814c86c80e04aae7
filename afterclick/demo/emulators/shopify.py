"""Shopify Admin GraphQL 2025-01: ``POST /admin/api/2025-01/graphql.json``.

Every operation is first validated against the published Admin schema (when ``../shared`` has
it); an invalid one is answered like Shopify, with ``errors`` and no data. Then, by its root field:
- ``orders`` (variables ``first``, ``after``, ``query`` with ``updated_at:>'…'``, by UPDATED_AT);
- ``inventoryItems`` (the catalogue: id and SKU) and ``nodes`` (inventory items with their
  ``inventoryLevel(locationId:)`` quantities), for stock write-back and its read-back;
- ``inventorySetQuantities`` (sets ``available`` at a location; an unknown item or location is
  a ``userError`` and nothing is applied, as in Shopify).
The cost-based throttle is reported in ``extensions.cost`` like Shopify: a leaky bucket of
``bucket_size`` points refilled at ``restore_rate`` per second; a query that costs more than is
available answers ``THROTTLED``.
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

from afterclick.demo.emulators import spec
from afterclick.demo.emulators.base import EmulatorState
from afterclick.demo.emulators.inventory import sku_number
from afterclick.demo.emulators.orders_view import iso, shopify_gid

_UPDATED = re.compile(r"updated_at:>'?([0-9T:\-.Z+]+)'?")
LOCATIONS = {"shopify-es": "gid://shopify/Location/1001", "shopify-mx": "gid://shopify/Location/2001"}
ITEM_PREFIX = "gid://shopify/InventoryItem/"
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
        query, variables = body.get("query") or "", body.get("variables") or {}
        if errors := spec.graphql_errors(query, variables):
            return JSONResponse({"errors": [{"message": m, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
                                            for m in errors]})
        root = _root_field(query)
        handler = {"inventoryItems": _inventory_items, "nodes": _nodes,
                   "inventorySetQuantities": _set_quantities}.get(root, _orders)
        cost = _cost(root, variables)
        ok, available = bucket.take(cost)
        throttle = {"maximumAvailable": bucket.size, "currentlyAvailable": round(available), "restoreRate": bucket.restore_rate}
        if not ok:
            return JSONResponse({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                                 "extensions": {"cost": {"requestedQueryCost": cost, "throttleStatus": throttle}}})
        data = handler(state, variables)
        return JSONResponse({"data": data, "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": cost,
                                                                   "throttleStatus": throttle}}})

    return Starlette(routes=[Route("/admin/api/2025-01/graphql.json", graphql, methods=["POST"])])


def _root_field(query: str) -> str | None:
    from graphql import OperationDefinitionNode, parse
    for op in parse(query).definitions:
        if isinstance(op, OperationDefinitionNode):
            return op.selection_set.selections[0].name.value
    return None


def _cost(root: str | None, variables: dict) -> int:
    if root == "inventorySetQuantities":
        return 10 + len(variables.get("input", {}).get("quantities", []))
    if root == "nodes":
        return 1 + 2 * len(variables.get("ids", []))
    return 2 + min(int(variables.get("first", 50)), 250) * 3


def _inventory_items(state: EmulatorState, variables: dict) -> dict:
    first = min(int(variables.get("first", 50)), 250)
    after = int(base64.b64decode(variables["after"]).decode()) if variables.get("after") else 0
    skus = state.inventory.skus
    chunk = skus[after:after + first]
    end = after + len(chunk)
    return {"inventoryItems": {"nodes": [{"id": f"{ITEM_PREFIX}{sku_number(s)}", "sku": s} for s in chunk],
                               "pageInfo": {"hasNextPage": end < len(skus),
                                            "endCursor": base64.b64encode(str(end).encode()).decode()}}}


def _item_sku(state: EmulatorState, item_id: str) -> str | None:
    if not item_id.startswith(ITEM_PREFIX):
        return None
    return state.inventory.by_number(item_id.removeprefix(ITEM_PREFIX))


def _nodes(state: EmulatorState, variables: dict) -> dict:
    location = variables.get("locationId")
    out = []
    for item_id in variables.get("ids", []):
        sku = _item_sku(state, item_id)
        if sku is None:
            out.append(None)
            continue
        quantity = state.inventory.get(sku, location)
        out.append({"id": item_id, "sku": sku, "inventoryLevel": None if quantity is None else {
            "quantities": [{"name": "available", "quantity": quantity}]}})
    return {"nodes": out}


def _set_quantities(state: EmulatorState, variables: dict) -> dict:
    spec_input = variables["input"]
    errors, items = [], []
    for i, q in enumerate(spec_input["quantities"]):
        sku = _item_sku(state, q["inventoryItemId"])
        if sku is None:
            errors.append({"field": ["input", "quantities", str(i), "inventoryItemId"],
                           "message": "The specified inventory item could not be found.", "code": "INVALID_INVENTORY_ITEM"})
        elif q["locationId"] != LOCATIONS.get(state.store_id):
            errors.append({"field": ["input", "quantities", str(i), "locationId"],
                           "message": "The specified location could not be found.", "code": "INVALID_LOCATION"})
        else:
            items.append((sku, q["locationId"], q["quantity"]))
    if errors:  # Shopify applies nothing when any quantity is refused
        return {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": errors}}
    state.inventory.set(items)
    return {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"id": f"gid://shopify/InventoryAdjustmentGroup/{state.inventory.writes}"},
                                       "userErrors": []}}


def _orders(state: EmulatorState, variables: dict) -> dict:
    first = min(int(variables.get("first", 50)), 250)
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
    return {"orders": {"edges": edges, "pageInfo": {"hasNextPage": has_next,
                                                     "endCursor": edges[-1]["cursor"] if edges else None}}}
