"""Shopify Admin GraphQL 2025-01: ``POST /admin/api/2025-01/graphql.json``.

Every operation is first validated against the published Admin schema (when ``../shared`` has
it); an invalid one is answered like Shopify, with ``errors`` and no data. Then, by its root field:
- ``orders`` (variables ``first``, ``after``, ``query`` with ``updated_at:>'…'``, by UPDATED_AT), each
  with its ``transactions``, ``refunds``, customer ``returns`` and the ``fulfillments`` pushed to it
  (a push does not move the order's ``updatedAt`` here); ``customers`` (the same paging);
- ``inventoryItems`` (the catalogue: id, SKU and ``inventoryLevels`` with the ``available``
  quantity per location, always answered in full; ``query`` reads ``sku:`` terms joined by OR, as
  does ``productVariants``'s) and ``nodes`` (inventory items with their
  ``inventoryLevel(locationId:)`` quantities), for stock write-back and its read-back;
- ``inventorySetQuantities`` (sets ``available`` at a location, each quantity compared with its
  ``compareQuantity``: a stale or missing one is refused unless ``ignoreCompareQuantity``, which is
  accepted but counted in ``inventory.unchecked_sets``; an unknown item or location is
  a ``userError`` and nothing is applied, as in Shopify);
- ``nodes`` on orders (status, tags, fulfillments with tracking, fulfillment orders with their
  line items and remaining quantities), ``fulfillmentCreate`` (of open line items only, no more
  than remains; without ``fulfillmentOrderLineItems`` every remaining one),
  ``fulfillmentTrackingInfoUpdate``, ``tagsAdd``, ``tagsRemove``, ``orderClose``, ``orderCancel``,
  ``locations``, ``productVariants`` (the catalogue) and
  ``productVariantsBulkUpdate`` (prices), kept in the store's ``OrderBook``.
Several root fields (aliased mutations) may share one request; the cost is their sum.
The cost-based throttle is reported in ``extensions.cost`` like Shopify: a leaky bucket of
``bucket_size`` points refilled at ``restore_rate`` per second; a query that costs more than is
available answers ``THROTTLED``.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from demo.emulators import spec
from demo.emulators.base import EmulatorState, rows_after
from demo.emulators.inventory import sku_number
from demo.emulators.orders_view import customer_return, iso, refund, shopify_gid
from demo.emulators.responses import JSONResponse

# The emulator's own made-up secrets (what `afterclick demo` configures for this store); a real
# store's come from the environment.
CREDENTIALS = {"token": "shpat_demo_secret"}

_UPDATED = re.compile(r"updated_at:>'?([0-9T:\-.Z+]+)'?")
LOCATIONS = {"shopify-es": "gid://shopify/Location/1001", "shopify-mx": "gid://shopify/Location/2001"}
ITEM_PREFIX = "gid://shopify/InventoryItem/"
ORDER_PREFIX = "gid://shopify/Order/"
FULFILLMENT_ORDER_PREFIX = "gid://shopify/FulfillmentOrder/"
VARIANT_PREFIX, PRODUCT_PREFIX = "gid://shopify/ProductVariant/", "gid://shopify/Product/"
CUSTOMER_ID_BASE = 7_000_000_000_000
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
            return JSONResponse(
                {"errors": [{"message": m, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for m in errors]}
            )
        fields = _root_fields(query, variables)
        cost = sum(_cost(name, args, variables) for _, name, args in fields)
        ok, available = bucket.take(cost)
        throttle = {
            "maximumAvailable": bucket.size,
            "currentlyAvailable": round(available),
            "restoreRate": bucket.restore_rate,
        }
        if not ok:
            return JSONResponse(
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": {"requestedQueryCost": cost, "throttleStatus": throttle}},
                }
            )
        state.cost_spent += cost
        data = {alias: HANDLERS.get(name, _orders)(state, args, variables) for alias, name, args in fields}
        return JSONResponse(
            {
                "data": data,
                "extensions": {
                    "cost": {"requestedQueryCost": cost, "actualQueryCost": cost, "throttleStatus": throttle}
                },
            }
        )

    return Starlette(routes=[Route("/admin/api/2025-01/graphql.json", graphql, methods=["POST"])])


def _root_fields(query: str, variables: dict) -> list[tuple[str, str, dict]]:
    """(response key, field name, arguments) of each root field: a client may alias many
    mutations into one request."""
    from graphql import FieldNode, OperationDefinitionNode
    from graphql.utilities import value_from_ast_untyped

    out = []
    for op in spec.graphql_document(query)[0].definitions:  # parsed once, by the spec check
        if isinstance(op, OperationDefinitionNode):
            for field in op.selection_set.selections:
                assert isinstance(field, FieldNode), "fragments at the root are not emulated"
                args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in field.arguments}
                out.append(((field.alias or field.name).value, field.name.value, args))
    return out


def _cost(root: str, args: dict, variables: dict) -> int:
    if root == "inventorySetQuantities":
        return 10 + len(args.get("input", {}).get("quantities", []))
    if root == "nodes":
        return 1 + 2 * len(args.get("ids", []))
    if root in MUTATIONS:
        return 10
    per_node = (
        3 if root == "orders" else 1 if root in ("inventoryItems", "customers") else 2
    )  # nested objects cost more
    return 2 + min(int(args.get("first", variables.get("first", 50))), 250) * per_node


def _by_updated(frame: pl.DataFrame, variables: dict, updated: str, key: str) -> tuple[pl.DataFrame, bool]:
    """A page of ``frame`` (sorted by ``updated``, ``key``) after the ``query``'s ``updated_at:>``
    and the ``after`` cursor, and whether more follow."""
    first = min(int(variables.get("first", 50)), 250)
    if m := _UPDATED.search(variables.get("query") or ""):
        frame = rows_after(frame, updated, datetime.fromisoformat(m.group(1).rstrip("Z")))
    if after := variables.get("after"):
        ts, last = base64.b64decode(after).decode().split("|")
        frame = rows_after(frame, updated, datetime.fromisoformat(ts), key=key, key_after=last)
    return frame.head(first), frame.height > first


_SKU_TERM = re.compile(r"""sku:(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']+))""")


def _searched(state: EmulatorState, query: str | None) -> list[str]:
    """The catalogue's SKUs a search selects (none: all of them). The emulator reads Shopify's
    search syntax only as far as the write-back uses it: ``sku:`` terms (quoted or not) joined by
    OR; anything else is refused rather than silently ignored."""
    if not query:
        return state.inventory.skus
    wanted = []
    for term in re.split(r"\s+OR\s+", query.strip()):
        if (m := _SKU_TERM.fullmatch(term)) is None:
            raise ValueError(f"the emulator reads only sku: terms joined by OR, not {term!r}")
        wanted.append(re.sub(r"\\(.)", r"\1", next(g for g in m.groups() if g is not None)))
    return [s for s in dict.fromkeys(wanted) if state.inventory.knows(s)]


def _inventory_items(state: EmulatorState, variables: dict, _variables: dict | None = None) -> dict:
    first = min(int(variables.get("first", 50)), 250)
    after = int(base64.b64decode(variables["after"]).decode()) if variables.get("after") else 0
    skus = _searched(state, variables.get("query"))
    chunk = skus[after : after + first]
    end = after + len(chunk)
    return {
        "nodes": [
            {"id": f"{ITEM_PREFIX}{sku_number(s)}", "sku": s, "inventoryLevels": _levels(state, s)} for s in chunk
        ],
        "pageInfo": {"hasNextPage": end < len(skus), "endCursor": base64.b64encode(str(end).encode()).decode()},
    }


def _levels(state: EmulatorState, sku: str) -> dict:
    """An item's ``inventoryLevels`` connection: its ``available`` quantity at each location."""
    return {
        "nodes": [
            {"location": {"id": location}, "quantities": [{"name": "available", "quantity": quantity}]}
            for location, quantity in sorted(state.inventory.quantities.get(sku, {}).items())
        ]
    }


def _item_sku(state: EmulatorState, item_id: str) -> str | None:
    if not item_id.startswith(ITEM_PREFIX):
        return None
    return state.inventory.by_number(item_id.removeprefix(ITEM_PREFIX))


def _nodes(state: EmulatorState, args: dict, variables: dict) -> list[dict | None]:
    location = variables.get("locationId")
    out: list[dict | None] = []
    for item_id in args.get("ids", []):
        if item_id.startswith(ORDER_PREFIX):
            out.append(_order_node(state, item_id))
            continue
        sku = _item_sku(state, item_id)
        if sku is None:
            out.append(None)
            continue
        quantity = None if location is None else state.inventory.get(sku, location)
        out.append(
            {
                "id": item_id,
                "sku": sku,
                "inventoryLevel": None
                if quantity is None
                else {"quantities": [{"name": "available", "quantity": quantity}]},
            }
        )
    return out


def _set_quantities(state: EmulatorState, variables: dict, _variables: dict | None = None) -> dict:
    spec_input = variables["input"]
    errors, items = [], []
    for i, q in enumerate(spec_input["quantities"]):
        sku = _item_sku(state, q["inventoryItemId"])
        if sku is None:
            errors.append(
                {
                    "field": ["input", "quantities", str(i), "inventoryItemId"],
                    "message": "The specified inventory item could not be found.",
                    "code": "INVALID_INVENTORY_ITEM",
                }
            )
        elif q["locationId"] != LOCATIONS.get(state.store_id):
            errors.append(
                {
                    "field": ["input", "quantities", str(i), "locationId"],
                    "message": "The specified location could not be found.",
                    "code": "INVALID_LOCATION",
                }
            )
        elif not spec_input.get("ignoreCompareQuantity") and "compareQuantity" not in q:
            errors.append(
                {
                    "field": ["input", "quantities", str(i), "compareQuantity"],
                    "message": "The compareQuantity argument must be given to each quantity or ignored using "
                    "ignoreCompareQuantity.",
                    "code": "COMPARE_QUANTITY_REQUIRED",
                }
            )
        elif not spec_input.get("ignoreCompareQuantity") and q["compareQuantity"] != state.inventory.get(
            sku, q["locationId"]
        ):
            errors.append(
                {
                    "field": ["input", "quantities", str(i), "compareQuantity"],
                    "message": "The compareQuantity value does not match persisted value.",
                    "code": "COMPARE_QUANTITY_STALE",
                }
            )
        else:
            items.append((sku, q["locationId"], q["quantity"]))
    if spec_input.get("ignoreCompareQuantity"):  # accepted, as Shopify does, but counted: it races with sales
        state.inventory.unchecked_sets += 1
    if errors:  # Shopify applies nothing when any quantity is refused
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    state.inventory.set(items)
    return {
        "inventoryAdjustmentGroup": {"id": f"gid://shopify/InventoryAdjustmentGroup/{state.inventory.writes}"},
        "userErrors": [],
    }


def _orders(state: EmulatorState, variables: dict, _variables: dict | None = None) -> dict:
    chunk, has_next = _by_updated(state.view.orders(state.store_id), variables, "as_of_updated_at", "order_id")
    lines = state.view.lines(chunk["order_id"].to_list())
    edges = [
        {
            "cursor": _cursor(r["as_of_updated_at"], r["order_id"]),
            "node": {
                "id": shopify_gid(r["n"]),
                "name": f"#{1000 + r['n']}",
                "createdAt": iso(r["placed_at"]),
                "updatedAt": iso(r["as_of_updated_at"]),
                "processedAt": iso(r["as_of_paid_at"]),
                "cancelledAt": iso(r["canceled_as_of"]),
                "email": r["email"],
                "currencyCode": r["currency"],
                "displayFinancialStatus": FINANCIAL[r["state"]],
                "displayFulfillmentStatus": "FULFILLED" if r["state"] == "fulfilled" else "UNFULFILLED",
                "customer": None
                if r["is_guest"]
                else {
                    "id": f"gid://shopify/Customer/{CUSTOMER_ID_BASE + int(r['customer_id'][1:])}",
                    "email": r["email"],
                },
                "subtotalPriceSet": _money(r["gross"] - r["discount"], r["currency"]),
                "totalDiscountsSet": _money(r["discount"], r["currency"]),
                "totalShippingPriceSet": _money(r["shipping"], r["currency"]),
                "totalTaxSet": _money(r["tax"], r["currency"]),
                "totalPriceSet": _money(r["total"], r["currency"]),
                "totalRefundedSet": _money(r["refunded_as_of"], r["currency"]),
                "lineItems": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/LineItem/{r['n'] * 100 + li['line_no']}",
                            "sku": li["sku"],
                            "quantity": li["quantity"],
                            "originalUnitPriceSet": _money(li["unit_price"], r["currency"]),
                            "totalDiscountSet": _money(li["discount"], r["currency"]),
                        }
                        for li in lines.get(r["order_id"], [])
                    ]
                },
                **_money_events(r),
                # what was pushed (afterclick's tracking write-back): shown from the order's next version on
                # (the emulator does not move updatedAt for a push, so a pushed order is not re-read at once)
                "fulfillments": [
                    {k: f.get(k) for k in ("id", "status", "createdAt", "trackingInfo")}
                    for f in state.book.orders.get(str(r["channel_order_id"]), {}).get("fulfillments", [])
                ],
            },
        }
        for r in chunk.iter_rows(named=True)
    ]
    return {"edges": edges, "pageInfo": {"hasNextPage": has_next, "endCursor": edges[-1]["cursor"] if edges else None}}


RETURN_REASON = {
    "wrong_size": "SIZE_TOO_SMALL",
    "damaged": "DEFECTIVE",
    "not_as_described": "NOT_AS_DESCRIBED",
    "changed_mind": "UNWANTED",
    "late_delivery": "OTHER",
}


def _money_events(r: dict) -> dict:
    """An order's ``transactions`` (the sale, and the refund), ``refunds`` and customer ``returns``."""
    n, currency, back, ret = r["n"], r["currency"], refund(r), customer_return(r)
    transactions = []
    if r["as_of_paid_at"] is not None:
        transactions.append(
            {
                "id": f"gid://shopify/OrderTransaction/{n * 10 + 1}",
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": r["payment_method"],
                "processedAt": iso(r["as_of_paid_at"]),
                "amountSet": _money(r["total"], currency),
            }
        )
    refunds = []
    if back is not None:
        transactions.append(
            {
                "id": f"gid://shopify/OrderTransaction/{n * 10 + 2}",
                "kind": "REFUND",
                "status": "SUCCESS",
                "gateway": r["payment_method"],
                "processedAt": iso(back["at"]),
                "amountSet": _money(back["amount"], currency),
            }
        )
        refunds.append(
            {
                "id": f"gid://shopify/Refund/{n}",
                "createdAt": iso(back["at"]),
                "note": back["reason"],
                "totalRefundedSet": _money(back["amount"], currency),
                "refundLineItems": {
                    "nodes": [
                        {
                            "quantity": back["quantity"],
                            "lineItem": {
                                "id": f"gid://shopify/LineItem/{n * 100 + back['line_no']}",
                                "sku": back["sku"],
                            },
                        }
                    ]
                    if back["line_no"]
                    else []
                },
            }
        )
    returns = []
    if ret is not None:
        returns.append(
            {
                "id": f"gid://shopify/Return/{n}",
                "name": f"#{1000 + n}-R1",
                "status": "CLOSED" if ret["refunded"] else "OPEN",
                "totalQuantity": ret["quantity"],
                "returnLineItems": {
                    "nodes": [
                        {
                            "quantity": ret["quantity"],
                            "returnReason": RETURN_REASON[ret["reason_code"]],
                            "returnReasonNote": ret["reason"],
                            "customerNote": ret["reason"],
                            "fulfillmentLineItem": {
                                "lineItem": {
                                    "id": f"gid://shopify/LineItem/{n * 100 + ret['line_no']}",
                                    "sku": ret["sku"],
                                }
                            },
                        }
                    ]
                },
            }
        )
    return {"transactions": transactions, "refunds": refunds, "returns": {"nodes": returns}}


def _customers(state: EmulatorState, variables: dict, _variables: dict | None = None) -> dict:
    """``customers(first, after, query: "updated_at:>'…'", sortKey: UPDATED_AT)``."""
    chunk, has_next = _by_updated(state.view.customers(state.store_id), variables, "updated_at", "customer_id")
    edges = [
        {
            "cursor": _cursor(c["updated_at"], c["customer_id"]),
            "node": {
                "id": f"gid://shopify/Customer/{CUSTOMER_ID_BASE + c['n']}",
                "email": c["email"],
                "firstName": c["first_name"],
                "lastName": c["last_name"],
                "createdAt": iso(c["created_at"]),
                "updatedAt": iso(c["updated_at"]),
                "numberOfOrders": str(c["orders_count"]),
                "locale": "es",
                "amountSpent": {"amount": f"{c['spent']:.2f}", "currencyCode": c["currency"]},
                "defaultAddress": {"countryCodeV2": c["country"]},
                "tags": [c["segment"]],
            },
        }
        for c in chunk.iter_rows(named=True)
    ]
    return {"edges": edges, "pageInfo": {"hasNextPage": has_next, "endCursor": edges[-1]["cursor"] if edges else None}}


# --- orders and prices: what afterclick pushes (kept in the store's OrderBook) ---------------


def _order_id(state: EmulatorState, gid: str) -> str | None:
    """The channel order id behind an Order (or FulfillmentOrder) gid, if the store has it."""
    for prefix in (ORDER_PREFIX, FULFILLMENT_ORDER_PREFIX):
        if gid.startswith(prefix):
            oid = gid.removeprefix(prefix)
            return oid if state.order_row(oid) is not None else None
    return None


def _order_node(state: EmulatorState, gid: str) -> dict | None:
    oid = _order_id(state, gid)
    row = None if oid is None else state.order_row(oid)
    if oid is None or row is None:
        return None
    pushed = state.book.orders.get(oid, {})
    fulfillments = pushed.get("fulfillments", [])
    items = _fulfillment_order_items(state, oid, row)
    remaining = sum(li["remainingQuantity"] for li in items)
    cancelled = pushed.get("cancelledAt", iso(row["canceled_as_of"]))
    return {
        "id": gid,
        "name": f"#{1000 + row['n']}",
        "closed": pushed.get("closed", False),
        "cancelledAt": cancelled,
        "tags": pushed.get("tags", []),
        "displayFulfillmentStatus": (
            "UNFULFILLED" if not fulfillments else "PARTIALLY_FULFILLED" if remaining else "FULFILLED"
        ),
        "fulfillments": [{k: v for k, v in f.items() if k != "lineItems"} for f in fulfillments],
        "fulfillmentOrders": {
            "nodes": [
                {
                    "id": f"{FULFILLMENT_ORDER_PREFIX}{oid}",
                    "status": "CANCELLED"
                    if cancelled
                    else "CLOSED"
                    if not remaining
                    else "IN_PROGRESS"
                    if fulfillments
                    else "OPEN",
                    "lineItems": {"nodes": items},
                }
            ]
        },
    }


def _fulfillment_order_items(state: EmulatorState, oid: str, row: dict) -> list[dict]:
    """The order's one fulfillment order's line items: each order line, less what was fulfilled."""
    done: dict[str, int] = {}
    for f in state.book.orders.get(oid, {}).get("fulfillments", []):
        for item in f.get("lineItems", []):
            done[item["id"]] = done.get(item["id"], 0) + item["quantity"]
    out = []
    for li in state.view.lines([row["order_id"]]).get(row["order_id"], []):
        item_id = f"gid://shopify/FulfillmentOrderLineItem/{row['n'] * 100 + li['line_no']}"
        out.append(
            {
                "id": item_id,
                "sku": li["sku"],
                "totalQuantity": li["quantity"],
                "remainingQuantity": li["quantity"] - done.get(item_id, 0),
            }
        )
    return out


def _user_error(field: list[str], message: str) -> list[dict]:
    return [{"field": field, "message": message}]


def _tracking(info: dict) -> list[dict]:
    numbers = info.get("numbers") or ([info["number"]] if info.get("number") else [])
    urls = info.get("urls") or ([info["url"]] if info.get("url") else [])
    return [
        {"number": n, "url": urls[i] if i < len(urls) else None, "company": info.get("company")}
        for i, n in enumerate(numbers)
    ]


def _fulfillment_create(state: EmulatorState, args: dict, _variables: dict) -> dict:
    """Like Shopify: the named fulfillment order line items (every remaining one when none are
    named), each no more than remains open; anything else is a user error and nothing is applied."""
    spec_input = args["fulfillment"]
    orders = {_order_id(state, fo["fulfillmentOrderId"]) for fo in spec_input["lineItemsByFulfillmentOrder"]}
    oid = orders.pop() if len(orders) == 1 else None
    if oid is None:
        return {"fulfillment": None, "userErrors": _user_error(["fulfillment"], "Fulfillment order does not exist.")}
    node = _order_node(state, ORDER_PREFIX + oid)
    assert node is not None
    [fulfillment_order] = node["fulfillmentOrders"]["nodes"]
    if fulfillment_order["status"] not in ("OPEN", "IN_PROGRESS"):
        status = fulfillment_order["status"].lower()
        return {
            "fulfillment": None,
            "userErrors": _user_error(["fulfillment"], f"Fulfillment order has an unfulfillable status= {status}."),
        }
    remaining = {li["id"]: li["remainingQuantity"] for li in fulfillment_order["lineItems"]["nodes"]}
    asked: dict[str, int] = {}
    for fo in spec_input["lineItemsByFulfillmentOrder"]:
        named = fo.get("fulfillmentOrderLineItems")
        for item in named if named is not None else [{"id": i, "quantity": n} for i, n in remaining.items() if n]:
            asked[item["id"]] = asked.get(item["id"], 0) + item["quantity"]
    if not asked or any(n <= 0 or n > remaining.get(i, 0) for i, n in asked.items()):
        return {
            "fulfillment": None,
            "userErrors": _user_error(
                ["fulfillment", "lineItemsByFulfillmentOrder"],
                "Invalid fulfillment order line item quantity requested.",
            ),
        }
    record = state.book.order(oid)
    fulfillment = {
        "id": f"gid://shopify/Fulfillment/{state.book.new_id()}",
        "status": "SUCCESS",
        "createdAt": iso(state.clock),
        "trackingInfo": _tracking(spec_input.get("trackingInfo") or {}),
        "lineItems": [{"id": i, "quantity": n} for i, n in asked.items()],
    }
    record.setdefault("fulfillments", []).append(fulfillment)
    state.book.changed(oid)
    return {"fulfillment": {k: v for k, v in fulfillment.items() if k != "lineItems"}, "userErrors": []}


def _tracking_update(state: EmulatorState, args: dict, _variables: dict) -> dict:
    for oid, record in state.book.orders.items():
        for fulfillment in record.get("fulfillments", []):
            if fulfillment["id"] == args["fulfillmentId"]:
                fulfillment["trackingInfo"] = _tracking(args["trackingInfoInput"])
                state.book.changed(oid)
                return {"fulfillment": fulfillment, "userErrors": []}
    return {"fulfillment": None, "userErrors": _user_error(["fulfillmentId"], "Fulfillment does not exist.")}


def _tags_add(state: EmulatorState, args: dict, _variables: dict) -> dict:
    oid = _order_id(state, args["id"]) if args["id"].startswith(ORDER_PREFIX) else None
    if oid is None:
        return {"node": None, "userErrors": _user_error(["id"], "Order does not exist")}
    record = state.book.order(oid)
    record["tags"] = sorted(set(record.get("tags", [])) | set(args["tags"]))
    state.book.changed(oid)
    return {"node": {"id": args["id"]}, "userErrors": []}


def _tags_remove(state: EmulatorState, args: dict, _variables: dict) -> dict:
    oid = _order_id(state, args["id"]) if args["id"].startswith(ORDER_PREFIX) else None
    if oid is None:
        return {"node": None, "userErrors": _user_error(["id"], "Order does not exist")}
    record = state.book.order(oid)
    record["tags"] = sorted(set(record.get("tags", [])) - set(args["tags"]))
    state.book.changed(oid)
    return {"node": {"id": args["id"]}, "userErrors": []}


def _order_close(state: EmulatorState, args: dict, _variables: dict) -> dict:
    oid = _order_id(state, args["input"]["id"]) if args["input"]["id"].startswith(ORDER_PREFIX) else None
    if oid is None:
        return {"order": None, "userErrors": _user_error(["id"], "Order does not exist")}
    state.book.order(oid)["closed"] = True
    state.book.changed(oid)
    return {"order": {"id": args["input"]["id"], "closed": True}, "userErrors": []}


def _order_cancel(state: EmulatorState, args: dict, _variables: dict) -> dict:
    oid = _order_id(state, args["orderId"]) if args["orderId"].startswith(ORDER_PREFIX) else None
    if oid is None:
        return {
            "job": None,
            "orderCancelUserErrors": _user_error(["orderId"], "Order does not exist"),
            "userErrors": [],
        }
    record = state.book.order(oid)
    if record.get("fulfillments"):
        return {
            "job": None,
            "orderCancelUserErrors": _user_error(["orderId"], "Cannot cancel a fulfilled order."),
            "userErrors": [],
        }
    record["cancelledAt"] = iso(datetime.now(UTC).replace(tzinfo=None))
    state.book.changed(oid)
    return {
        "job": {"id": f"gid://shopify/Job/{state.book.new_id()}", "done": True},
        "orderCancelUserErrors": [],
        "userErrors": [],
    }


def _variant(state: EmulatorState, sku: str) -> dict:
    n = sku_number(sku)
    price = state.book.prices.get(sku, {}).get("b2c")
    compare_at = state.book.prices.get(sku, {}).get("compare_at")  # 0: cleared
    title = state.product_names().get(sku)
    return {
        "id": f"{VARIANT_PREFIX}{n}",
        "sku": sku,
        "price": None if price is None else f"{price:.2f}",
        "compareAtPrice": f"{compare_at:.2f}" if compare_at else None,
        "title": "Default Title",
        "displayName": f"{title} - Default Title",
        "product": {"id": f"{PRODUCT_PREFIX}{n}", "title": title},
        "inventoryItem": {"id": f"{ITEM_PREFIX}{n}"},
    }


def _locations(state: EmulatorState, args: dict, _variables: dict) -> dict:
    """``locations``: the store's one fulfilment location."""
    location = LOCATIONS.get(state.store_id)
    country = state.store_country()
    nodes = (
        []
        if location is None
        else [
            {
                "id": location,
                "name": f"{state.store_id} warehouse",
                "isActive": True,
                "fulfillsOnlineOrders": True,
                "address": {"countryCode": country},
            }
        ]
    )
    return {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}


def _product_variants(state: EmulatorState, args: dict, _variables: dict) -> dict:
    first = min(int(args.get("first") or 50), 250)
    after = int(base64.b64decode(args["after"]).decode()) if args.get("after") else 0
    skus = _searched(state, args.get("query"))
    chunk = skus[after : after + first]
    end = after + len(chunk)
    return {
        "nodes": [_variant(state, s) for s in chunk],
        "pageInfo": {"hasNextPage": end < len(skus), "endCursor": base64.b64encode(str(end).encode()).decode()},
    }


def _variants_bulk_update(state: EmulatorState, args: dict, _variables: dict) -> dict:
    product = args["productId"].removeprefix(PRODUCT_PREFIX)
    errors, updates = [], []
    for i, v in enumerate(args["variants"]):
        sku = state.inventory.by_number((v.get("id") or "").removeprefix(VARIANT_PREFIX))
        if sku is None or str(sku_number(sku)) != product:
            errors += _user_error(["variants", str(i), "id"], "Product variant does not exist")
        else:
            if v.get("price") is not None:
                updates.append((sku, "b2c", float(v["price"])))
            if "compareAtPrice" in v:  # null clears it (kept as 0)
                updates.append((sku, "compare_at", float(v["compareAtPrice"] or 0)))
    if errors:  # without allowPartialUpdates Shopify applies nothing
        return {"product": None, "productVariants": None, "userErrors": errors}
    for sku, price_list, price in updates:
        state.book.set_price(sku, price_list, price)
    return {
        "product": {"id": args["productId"]},
        "productVariants": [_variant(state, s) for s in dict.fromkeys(s for s, _, _ in updates)],
        "userErrors": [],
    }


# Each root field's answer: (state, the field's arguments, the request's variables) -> its data.
HANDLERS: dict[str, Callable[[EmulatorState, dict, dict], object]] = {
    "customers": _customers,
    "locations": _locations,
    "inventoryItems": _inventory_items,
    "nodes": _nodes,
    "inventorySetQuantities": _set_quantities,
    "orders": _orders,
    "fulfillmentCreate": _fulfillment_create,
    "fulfillmentTrackingInfoUpdate": _tracking_update,
    "tagsAdd": _tags_add,
    "tagsRemove": _tags_remove,
    "orderClose": _order_close,
    "orderCancel": _order_cancel,
    "productVariants": _product_variants,
    "productVariantsBulkUpdate": _variants_bulk_update,
}
MUTATIONS = {
    "fulfillmentCreate",
    "fulfillmentTrackingInfoUpdate",
    "tagsAdd",
    "tagsRemove",
    "orderClose",
    "orderCancel",
    "productVariantsBulkUpdate",
}
