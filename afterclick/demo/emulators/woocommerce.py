"""WooCommerce REST wc/v3 orders: ``GET /wp-json/wc/v3/orders?modified_after=&page=&per_page=``."""

from __future__ import annotations

import base64
from datetime import datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from afterclick.demo.emulators.base import EmulatorState
from afterclick.demo.emulators.shown import WOO_STATUS
from afterclick.demo.emulators.order_routes import woocommerce_order_routes
from afterclick.demo.emulators.stock_routes import woocommerce_routes
from afterclick.demo.emulators.orders_view import iso




def _authorized(state: EmulatorState, request: Request) -> bool:
    expected = base64.b64encode(f"{state.credentials['key']}:{state.credentials['secret']}".encode()).decode()
    return request.headers.get("authorization") == f"Basic {expected}"


def app(state: EmulatorState) -> Starlette:
    async def orders(request: Request):
        if (refused := await state.gate(request, _authorized(state, request))) is not None:
            return refused
        q = request.query_params
        per_page, page = min(int(q.get("per_page", 10)), 100), int(q.get("page", 1))
        frame = state.view.orders(state.store_id)
        if after := q.get("modified_after"):
            frame = frame.filter(pl.col("as_of_updated_at") > datetime.fromisoformat(after.rstrip("Z")))
        total = frame.height
        chunk = frame.slice((page - 1) * per_page, per_page)
        lines = state.view.lines(chunk["order_id"].to_list())
        body = [{
            "id": r["n"], "number": str(r["n"]), "status": WOO_STATUS[r["state"]], "currency": r["currency"],
            "date_created_gmt": iso(r["placed_at"]), "date_modified_gmt": iso(r["as_of_updated_at"]),
            "date_paid_gmt": iso(r["as_of_paid_at"]),
            "discount_total": f"{r['discount']:.2f}", "shipping_total": f"{r['shipping']:.2f}",
            "total_tax": f"{r['tax']:.2f}", "total": f"{r['total']:.2f}",
            "customer_id": 0 if r["is_guest"] else int(r["customer_id"][1:]),
            "billing": {"email": r["email"]},
            "line_items": [{"id": r["n"] * 100 + li["line_no"], "sku": li["sku"], "quantity": li["quantity"],
                            "price": li["unit_price"], "subtotal": f"{li['gross']:.2f}",
                            "total": f"{li['gross'] - li['discount']:.2f}"} for li in lines.get(r["order_id"], [])],
            "refunds": [{"id": r["n"], "total": f"-{r['refunded_as_of']:.2f}"}] if r["refunded_as_of"] else [],
        } for r in chunk.iter_rows(named=True)]
        pages = max(1, -(-total // per_page))
        return JSONResponse(body, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})

    return Starlette(routes=[Route("/wp-json/wc/v3/orders", orders),
                             *woocommerce_routes(state, lambda request: _authorized(state, request)),
                             *woocommerce_order_routes(state, lambda request: _authorized(state, request))])
