"""Magento 2 REST orders: ``GET /rest/V1/orders?searchCriteria[...]`` with an ``updated_at`` gteq filter.

Like the real API, a ``currentPage`` past the last page answers the last page again: clients
must stop by ``total_count``.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from afterclick.demo.emulators.base import EmulatorState
from afterclick.demo.emulators.shown import MAGENTO_STATE
from afterclick.demo.emulators.order_routes import magento_order_routes
from afterclick.demo.emulators.stock_routes import magento_routes

STATE = MAGENTO_STATE


def _ts(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def app(state: EmulatorState) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.credentials['token']}"

    async def orders(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        q = request.query_params
        size = int(q.get("searchCriteria[pageSize]", 20))
        page = int(q.get("searchCriteria[currentPage]", 1))
        frame = state.view.orders(state.store_id)
        prefix = "searchCriteria[filter_groups][0][filters][0]"
        if q.get(f"{prefix}[field]") == "updated_at" and q.get(f"{prefix}[condition_type]") == "gteq":
            frame = frame.filter(pl.col("as_of_updated_at") >= datetime.fromisoformat(q[f"{prefix}[value]"]))
        total = frame.height
        last_page = max(1, -(-total // size))
        chunk = frame.slice((min(page, last_page) - 1) * size, size)
        lines = state.view.lines(chunk["order_id"].to_list())
        items = [{
            "entity_id": r["n"], "increment_id": f"{r['n']:09d}", "state": STATE[r["state"]][0],
            "status": STATE[r["state"]][1], "created_at": _ts(r["placed_at"]), "updated_at": _ts(r["as_of_updated_at"]),
            "customer_email": r["email"].capitalize() if r["n"] % 3 == 0 else r["email"],
            "customer_id": None if r["is_guest"] else int(r["customer_id"][1:]), "customer_is_guest": int(r["is_guest"]),
            "order_currency_code": r["currency"], "subtotal": r["gross"], "discount_amount": -r["discount"],
            "shipping_amount": r["shipping"], "tax_amount": r["tax"], "grand_total": r["total"],
            "total_refunded": r["refunded_as_of"] or None,
            "payment": {"method": r["payment_method"]},
            "items": [{"item_id": r["n"] * 100 + li["line_no"], "sku": li["sku"], "qty_ordered": li["quantity"],
                       "price": li["unit_price"], "row_total": li["gross"], "discount_amount": li["discount"]}
                      for li in lines.get(r["order_id"], [])],
        } for r in chunk.iter_rows(named=True)]
        return JSONResponse({"items": items, "search_criteria": {"page_size": size, "current_page": page},
                             "total_count": total})

    return Starlette(routes=[Route("/rest/V1/orders", orders), *magento_routes(state, authorized),
                             *magento_order_routes(state, authorized)])
