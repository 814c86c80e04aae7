"""WooCommerce REST wc/v3 orders (``GET /wp-json/wc/v3/orders?modified_after=&page=&per_page=``, each
with its payment and ``refunds`` summary; ``/orders/{id}/refunds`` in full) and customers (``GET /wp-json/wc/v3/customers?page=&per_page=``)."""

from __future__ import annotations

import base64
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from demo.emulators.base import EmulatorState, rows_after
from demo.emulators.order_routes import woocommerce_order_routes
from demo.emulators.orders_view import iso, refund
from demo.emulators.responses import JSONResponse
from demo.emulators.shown import WOO_STATUS
from demo.emulators.stock_routes import woocommerce_routes

# The emulator's own made-up secrets (what `afterclick demo` configures for this store); a real
# store's come from the environment.
CREDENTIALS = {"key": "ck_demo", "secret": "cs_demo_secret"}

PAYMENT_TITLE = {"card": "Credit card (Stripe)", "paypal": "PayPal", "transfer": "Direct bank transfer"}


def _refunds(r: dict) -> list[dict]:
    """The order's ``refunds`` summary (id, reason, total as a negative amount), as wc/v3 lists them."""
    back = refund(r)
    return [] if back is None else [{"id": r["n"], "reason": back["reason"], "total": f"-{back['amount']:.2f}"}]


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
            frame = rows_after(frame, "as_of_updated_at", datetime.fromisoformat(after.rstrip("Z")))
        total = frame.height
        chunk = frame.slice((page - 1) * per_page, per_page)
        lines = state.view.lines(chunk["order_id"].to_list())
        body = [
            {
                "id": r["n"],
                "number": str(r["n"]),
                "status": WOO_STATUS[r["state"]],
                "currency": r["currency"],
                "date_created_gmt": iso(r["placed_at"]),
                "date_modified_gmt": iso(r["as_of_updated_at"]),
                "date_paid_gmt": iso(r["as_of_paid_at"]),
                "discount_total": f"{r['discount']:.2f}",
                "shipping_total": f"{r['shipping']:.2f}",
                "total_tax": f"{r['tax']:.2f}",
                "total": f"{r['total']:.2f}",
                "customer_id": 0 if r["is_guest"] else int(r["customer_id"][1:]),
                "billing": {"email": r["email"]},
                "line_items": [
                    {
                        "id": r["n"] * 100 + li["line_no"],
                        "sku": li["sku"],
                        "quantity": li["quantity"],
                        "price": li["unit_price"],
                        "subtotal": f"{li['gross']:.2f}",
                        "total": f"{li['gross'] - li['discount']:.2f}",
                    }
                    for li in lines.get(r["order_id"], [])
                ],
                "payment_method": r["payment_method"],
                "payment_method_title": PAYMENT_TITLE[r["payment_method"]],
                "transaction_id": f"TX{r['n']:010d}" if r["as_of_paid_at"] is not None else "",
                "refunds": _refunds(r),
            }
            for r in chunk.iter_rows(named=True)
        ]
        pages = max(1, -(-total // per_page))
        return JSONResponse(body, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})

    async def customers(request: Request):
        """``GET /customers``: registered customers by ``page`` / ``per_page`` (ordered by id; wc/v3
        has no modified-since filter for customers)."""
        if (refused := await state.gate(request, _authorized(state, request))) is not None:
            return refused
        q = request.query_params
        per_page, page = min(int(q.get("per_page", 10)), 100), int(q.get("page", 1))
        frame = state.view.customers(state.store_id).sort("n")
        chunk = frame.slice((page - 1) * per_page, per_page)
        body = [
            {
                "id": c["n"],
                "email": c["email"],
                "first_name": c["first_name"],
                "last_name": c["last_name"],
                "role": "customer",
                "username": c["email"].split("@")[0],
                "date_created_gmt": iso(c["created_at"]),
                "date_modified_gmt": iso(c["updated_at"]),
                "is_paying_customer": True,
                "billing": {"email": c["email"], "country": c["country"]},
            }
            for c in chunk.iter_rows(named=True)
        ]
        pages = max(1, -(-frame.height // per_page))
        return JSONResponse(body, headers={"X-WP-Total": str(frame.height), "X-WP-TotalPages": str(pages)})

    async def refunds(request: Request):
        """``GET /orders/{order_id}/refunds``: the order's refunds in full (date, amount, lines)."""
        if (refused := await state.gate(request, _authorized(state, request))) is not None:
            return refused
        r = state.order_row(request.path_params["order_id"])
        if r is None:
            return JSONResponse(
                {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}},
                status_code=404,
            )
        back = refund(r)
        if back is None:
            return JSONResponse([])
        lines = (
            [
                {
                    "id": r["n"] * 100 + back["line_no"],
                    "sku": back["sku"],
                    "quantity": -back["quantity"],
                    "total": f"-{back['amount']:.2f}",
                    "subtotal": f"-{back['amount']:.2f}",
                }
            ]
            if back["line_no"]
            else []
        )
        return JSONResponse(
            [
                {
                    "id": r["n"],
                    "date_created": iso(back["at"]),
                    "date_created_gmt": iso(back["at"]),
                    "amount": f"{back['amount']:.2f}",
                    "reason": back["reason"],
                    "refunded_by": 1,
                    "refunded_payment": r["payment_method"] != "transfer",
                    "line_items": lines,
                }
            ]
        )

    return Starlette(
        routes=[
            Route("/wp-json/wc/v3/orders", orders),
            Route("/wp-json/wc/v3/customers", customers),
            Route("/wp-json/wc/v3/orders/{order_id}/refunds", refunds),
            *woocommerce_routes(state, lambda request: _authorized(state, request)),
            *woocommerce_order_routes(state, lambda request: _authorized(state, request)),
        ]
    )
