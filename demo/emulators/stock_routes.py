"""The stock and catalogue endpoints of the REST channel emulators (VTEX logistics, Magento
catalogue and MSI, WooCommerce products), each validating request bodies against the channel's published specification and
answering errors in the channel's own shape.

- VTEX: ``GET /api/logistics/pvt/configuration/warehouses``, ``GET /api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{refId}`` (SKU id by our SKU),
  ``GET /api/logistics/pvt/inventory/skus/{skuId}`` (balance per warehouse: ``totalQuantity`` as
  set, ``reservedQuantity`` what the store's open orders hold until invoiced or canceled),
  ``PUT /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}`` (``leadTime`` in the
  documented ``dd.hh:mm:ss`` form or refused). The store sells total minus reserved (``sellable``).
- Magento: ``GET /rest/V1/products`` and ``GET /rest/V1/inventory/sources`` (the catalogue and the
  MSI sources), ``GET /rest/V1/inventory/source-items`` (searchCriteria sku ``in``, or every item by
  ``pageSize`` / ``currentPage``; a page past the last answers the last page again, as Magento does),
  ``POST /rest/V1/inventory/source-items`` (all items applied or, on any unknown SKU, none),
  ``GET /rest/V1/inventory/get-product-salable-quantity/{sku}/{stockId}`` (the source quantity
  minus MSI's reservations of the store's open orders, until shipped or canceled).
- WooCommerce: ``GET /wp-json/wc/v3/products`` (page / per_page / include, ``X-WP-Total*``),
  ``POST /wp-json/wc/v3/products/batch`` (``update``: at most 100, per-item errors; stock and
  ``regular_price``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from demo.emulators import spec
from demo.emulators.base import EmulatorState, magento_page
from demo.emulators.inventory import open_reservations, sku_number
from demo.emulators.responses import JSONResponse

VTEX_WAREHOUSES = {"vtex-br": "1_1"}
MAGENTO_SOURCES = {"magento-es": "default"}
WOO_LOCATION = ""  # WooCommerce keeps one stock quantity per product
WOO_ID_OFFSET = 1000
MAGENTO_STOCK_ID = 1  # the default stock, which the store's source belongs to
VTEX_LEAD_TIME = re.compile(r"\d+\.\d{2}:\d{2}:\d{2}")  # dd.hh:mm:ss, as the logistics API documents it


def reserved(state: EmulatorState) -> dict[str, int]:
    """SKU -> units the store's own open orders reserve now (``open_reservations``): for VTEX,
    what its sale invoices cover is released too. Computed once per clock and order book."""
    key = (state.clock, state.book.writes)
    cached = getattr(state, "_reserved", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    invoiced: dict[str, dict[str, int]] = {}
    canceled = set()
    for oid, record in list(state.book.orders.items()):  # canceled through the store's API
        if record.get("status") == "canceled" or record.get("state") == "canceled":
            row = state.order_row(oid)
            if row is not None:
                canceled.add(row["order_id"])
    if state.channel == "vtex":
        for oid, record in list(state.book.orders.items()):
            sales = [i for i in record.get("invoices", []) if i.get("type", "Output") == "Output"]
            row = state.order_row(oid) if sales else None
            if row is None:
                continue
            whole = any(not i.get("items") for i in sales)  # an invoice without items covers the order
            lines = state.view.lines([row["order_id"]]).get(row["order_id"], [])
            covered = invoiced.setdefault(row["order_id"], {})
            if whole:
                for line in lines:
                    covered[line["sku"]] = covered.get(line["sku"], 0) + line["quantity"]
            else:
                for i in sales:
                    for item in i["items"]:
                        covered[item["id"]] = covered.get(item["id"], 0) + int(item["quantity"])
    out = open_reservations(state.world, state.store_id, state.clock, invoiced, canceled)
    state._reserved = (key, out)  # type: ignore[attr-defined]
    return out


def sellable(state: EmulatorState, sku: str, location: str) -> int | None:
    """What the store would sell of ``sku`` at ``location`` now (None: no quantity there): VTEX
    and Magento MSI sell the quantity they were sent minus their own open orders' reservations;
    Shopify's ``available`` leaves its committed units out already; WooCommerce's stock quantity
    is reduced by each order as it is placed (afterclick's set replaces it)."""
    quantity = state.inventory.get(sku, location)
    if quantity is None:
        return None
    if state.channel in ("vtex", "magento"):
        return max(0, quantity - reserved(state).get(sku, 0))
    return quantity


async def _json(request: Request):
    try:
        return await request.json()
    except json.JSONDecodeError:
        return None


def vtex_routes(state: EmulatorState, authorized) -> list[Route]:
    async def warehouses(request: Request):
        """``GET /api/logistics/pvt/configuration/warehouses``: the store's warehouses."""
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        wh = VTEX_WAREHOUSES.get(state.store_id)
        return JSONResponse(
            []
            if wh is None
            else [
                {
                    "id": wh,
                    "name": f"{state.store_id} warehouse {wh}",
                    "warehouseDocks": [{"dockId": "1", "name": "Main dock", "time": "00:00:00", "cost": 0.0}],
                }
            ]
        )

    def sku_of(sku_id: str) -> str | None:
        return state.inventory.by_number(sku_id)

    async def sku_by_ref(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        ref = request.path_params["ref_id"]
        if not state.inventory.knows(ref):
            return JSONResponse({"Message": "SKU not found"}, status_code=404)
        return JSONResponse(str(sku_number(ref)))

    async def inventory(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        sku = sku_of(request.path_params["sku_id"])
        if sku is None:
            return JSONResponse({"error": {"code": "1", "message": "SKU not found"}}, status_code=404)
        balance = [
            {
                "warehouseId": wh,
                "warehouseName": wh,
                "totalQuantity": q,
                "reservedQuantity": reserved(state).get(sku, 0),
                "hasUnlimitedQuantity": False,
            }
            for wh, q in state.inventory.quantities.get(sku, {}).items()
        ]
        return JSONResponse({"skuId": request.path_params["sku_id"], "balance": balance})

    async def put_inventory(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        body = await _json(request)
        path = request.url.path
        if body is None or (errors := spec.body_errors("vtex-logistics", "put", path, body)):
            return JSONResponse(
                {"error": {"code": "1", "message": "; ".join(errors) if body is not None else "Invalid JSON"}},
                status_code=400,
            )
        if not VTEX_LEAD_TIME.fullmatch(str(body["leadTime"])):
            return JSONResponse(
                {"error": {"code": "1", "message": "leadTime must be dd.hh:mm:ss (days.hours:minutes:seconds)"}},
                status_code=400,
            )
        sku, warehouse = sku_of(request.path_params["sku_id"]), request.path_params["warehouse_id"]
        if sku is None or warehouse != VTEX_WAREHOUSES.get(state.store_id):
            return JSONResponse({"error": {"code": "1", "message": "SKU or warehouse not found"}}, status_code=404)
        state.inventory.set([(sku, warehouse, body["quantity"] or 0)])
        return JSONResponse(True)

    return [
        Route("/api/logistics/pvt/configuration/warehouses", warehouses),
        Route("/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{ref_id}", sku_by_ref),
        Route("/api/logistics/pvt/inventory/skus/{sku_id}", inventory),
        Route("/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{warehouse_id}", put_inventory, methods=["PUT"]),
    ]


def magento_routes(state: EmulatorState, authorized) -> list[Route]:
    source = MAGENTO_SOURCES.get(state.store_id, "default")

    async def products(request: Request):
        """``GET /V1/products``: the catalogue by ``pageSize`` / ``currentPage`` (the last page
        again past the end), each with its base price (what the price push set, if anything)."""
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        skus = state.inventory.skus
        chunk, size, page = magento_page(skus, request.query_params)
        items = [
            {
                "id": sku_number(s),
                "sku": s,
                "name": state.product_names()[s],
                "attribute_set_id": 4,
                "price": state.book.prices.get(s, {}).get("b2c"),
                "status": 1,
                "visibility": 4,
                "type_id": "simple",
            }
            for s in chunk
        ]
        return JSONResponse(
            {"items": items, "search_criteria": {"page_size": size, "current_page": page}, "total_count": len(skus)}
        )

    async def sources(request: Request):
        """``GET /V1/inventory/sources``: the store's MSI sources."""
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        items = [
            {
                "source_code": source,
                "name": f"{state.store_id} {source} source",
                "enabled": True,
                "country_id": state.store_country(),
                "use_default_carrier_config": True,
            }
        ]
        return JSONResponse({"items": items, "search_criteria": {}, "total_count": len(items)})

    async def source_items(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        if request.method == "GET":
            q = request.query_params
            wanted = q.get("searchCriteria[filter_groups][0][filters][0][value]")
            skus = sorted(set(wanted.split(","))) if wanted else state.inventory.skus
            items = [
                {"sku": s, "source_code": src, "quantity": qty, "status": int(qty > 0)}
                for s in skus
                if state.inventory.knows(s)
                for src, qty in sorted(state.inventory.quantities.get(s, {}).items())
            ]
            page_items, _, _ = magento_page(items, q, default_size=0)
            return JSONResponse({"items": page_items, "search_criteria": {}, "total_count": len(items)})
        body = await _json(request)
        if body is None or (errors := spec.body_errors("magento", "post", "/V1/inventory/source-items", body)):
            return JSONResponse({"message": "; ".join(errors) if body is not None else "Invalid JSON"}, status_code=400)
        unknown = [i["sku"] for i in body["sourceItems"] if not state.inventory.knows(i.get("sku", ""))]
        if unknown:
            return JSONResponse(
                {
                    "message": 'Could not save Source Item: the product with SKU "%1" does not exist.',
                    "parameters": [unknown[0]],
                },
                status_code=400,
            )
        wrong = [i["source_code"] for i in body["sourceItems"] if i.get("source_code") != source]
        if wrong:
            return JSONResponse(
                {"message": 'Could not save Source Item: source "%1" does not exist.', "parameters": [wrong[0]]},
                status_code=400,
            )
        state.inventory.set([(i["sku"], i["source_code"], i["quantity"]) for i in body["sourceItems"]])
        return JSONResponse([])

    async def salable_quantity(request: Request):
        """``GET /V1/inventory/get-product-salable-quantity/{sku}/{stockId}``: what MSI sells."""
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        sku = request.path_params["sku"]
        if not state.inventory.knows(sku) or request.path_params["stock_id"] != str(MAGENTO_STOCK_ID):
            return JSONResponse({"message": "The requested sku or stock doesn't exist."}, status_code=404)
        return JSONResponse(sellable(state, sku, source) or 0)

    return [
        Route("/rest/V1/inventory/get-product-salable-quantity/{sku}/{stock_id}", salable_quantity),
        Route("/rest/V1/inventory/source-items", source_items, methods=["GET", "POST"]),
        Route("/rest/V1/products", products),
        Route("/rest/V1/inventory/sources", sources),
    ]


def woocommerce_routes(state: EmulatorState, authorized) -> list[Route]:
    def product(sku: str) -> dict:
        quantity = state.inventory.get(sku, WOO_LOCATION)
        price = state.book.prices.get(sku, {}).get("b2c")
        sale = state.book.prices.get(sku, {}).get("sale")  # 0: cleared
        return {
            "id": WOO_ID_OFFSET + sku_number(sku),
            "sku": sku,
            "name": state.product_names()[sku],
            "type": "simple",
            "status": "publish",
            "manage_stock": quantity is not None,
            "regular_price": "" if price is None else f"{price:.2f}",
            "sale_price": f"{sale:.2f}" if sale else "",
            "stock_quantity": quantity,
            "stock_status": "instock" if (quantity or 0) > 0 else "outofstock",
        }

    def by_id(product_id) -> str | None:
        """The SKU of a product id (None: no such product in this catalogue)."""
        try:
            return state.inventory.by_number(str(int(product_id) - WOO_ID_OFFSET))
        except (TypeError, ValueError):
            return None

    async def products(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        q = request.query_params
        per_page, page = min(int(q.get("per_page", 10)), 100), int(q.get("page", 1))
        if include := q.get("include"):  # looked up by id, not by a scan of the catalogue
            skus = sorted({s for i in include.split(",") if i and (s := by_id(i)) is not None}, key=sku_number)
        else:
            skus = state.inventory.skus
        chunk = skus[(page - 1) * per_page : page * per_page]
        total_pages = max(1, -(-len(skus) // per_page))
        return JSONResponse(
            [product(s) for s in chunk], headers={"X-WP-Total": str(len(skus)), "X-WP-TotalPages": str(total_pages)}
        )

    async def batch(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        body = await _json(request)
        updates = (body or {}).get("update") or []
        if body is None or not isinstance(updates, list) or len(updates) > 100:
            return JSONResponse(
                {
                    "code": "rest_request_entity_too_large" if len(updates) > 100 else "rest_invalid_json",
                    "message": "Unable to accept more than 100 items for this request."
                    if len(updates) > 100
                    else "Invalid JSON body.",
                    "data": {"status": 413 if len(updates) > 100 else 400},
                },
                status_code=413 if len(updates) > 100 else 400,
            )
        out: list[str | dict[str, Any]] = []  # an updated product's SKU, or the item's error
        applied = []
        for item in updates:
            errors = spec.body_errors("woocommerce", "put", "/products/1", {k: v for k, v in item.items() if k != "id"})
            sku = by_id(item.get("id"))
            if errors:
                out.append(
                    {
                        "id": item.get("id"),
                        "error": {"code": "rest_invalid_param", "message": "; ".join(errors), "data": {"status": 400}},
                    }
                )
            elif sku is None:
                out.append(
                    {
                        "id": item.get("id"),
                        "error": {
                            "code": "woocommerce_rest_product_invalid_id",
                            "message": "Invalid ID.",
                            "data": {"status": 400},
                        },
                    }
                )
            else:
                if "stock_quantity" in item:
                    applied.append((sku, WOO_LOCATION, item.get("stock_quantity") or 0))
                if "regular_price" in item:
                    state.book.set_price(sku, "b2c", float(item["regular_price"]))
                if "sale_price" in item:  # "" clears it (kept as 0)
                    state.book.set_price(sku, "sale", float(item["sale_price"] or 0))
                out.append(sku)
        state.inventory.set(applied)
        return JSONResponse({"update": [product(o) if isinstance(o, str) else o for o in out]})

    return [Route("/wp-json/wc/v3/products", products), Route("/wp-json/wc/v3/products/batch", batch, methods=["POST"])]
