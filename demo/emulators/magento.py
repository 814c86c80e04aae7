"""Magento 2 REST orders, credit memos and customers: ``GET /rest/V1/orders``, ``/rest/V1/creditmemos``
and ``/rest/V1/customers/search`` with ``searchCriteria[...]`` (an ``updated_at`` gteq filter, page size, current page).

Like the real API, a ``currentPage`` past the last page answers the last page again: clients
must stop by ``total_count``.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from demo.emulators.base import EmulatorState, magento_page, rows_after
from demo.emulators.order_routes import magento_order_routes
from demo.emulators.orders_view import refund
from demo.emulators.responses import JSONResponse
from demo.emulators.shown import MAGENTO_STATE
from demo.emulators.stock_routes import magento_routes

# The emulator's own made-up secrets (what `afterclick demo` configures for this store); a real
# store's come from the environment.
CREDENTIALS = {"token": "magento-demo-token"}

STATE = MAGENTO_STATE


def _ts(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _search(frame: pl.DataFrame, q, updated: str) -> tuple[pl.DataFrame, int, int, int]:
    """(page, total_count, page size, page asked) of ``frame`` (sorted by ``updated``) by
    ``searchCriteria``: an ``updated_at`` gteq filter on the ``updated`` column; a page past the
    last answers the last."""
    prefix = "searchCriteria[filter_groups][0][filters][0]"
    if q.get(f"{prefix}[field]") == "updated_at" and q.get(f"{prefix}[condition_type]") == "gteq":
        frame = rows_after(frame, updated, datetime.fromisoformat(q[f"{prefix}[value]"]), inclusive=True)
    chunk, size, page = magento_page(frame, q)
    return chunk, frame.height, size, page


def _creditmemo(r: dict) -> dict:
    """A credit memo (Magento's refund document): the returned line, or the whole order."""
    back = refund(r)
    assert back is not None, "credit memos are listed for refunded orders only"
    items = (
        [
            {
                "entity_id": r["n"] * 100 + back["line_no"],
                "order_item_id": r["n"] * 100 + back["line_no"],
                "sku": back["sku"],
                "qty": back["quantity"],
                "row_total": back["amount"],
            }
        ]
        if back["line_no"]
        else []
    )
    return {
        "entity_id": r["n"],
        "increment_id": f"{r['n']:09d}",
        "order_id": r["n"],
        "state": 2,
        "created_at": _ts(back["at"]),
        "updated_at": _ts(back["at"]),
        "order_currency_code": r["currency"],
        "grand_total": back["amount"],
        "items": items,
        "comments": [{"comment": back["reason"], "parent_id": r["n"], "is_customer_notified": 1}],
    }


def app(state: EmulatorState) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.credentials['token']}"

    async def orders(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        frame = state.view.orders(state.store_id)
        chunk, total, size, page = _search(frame, request.query_params, "as_of_updated_at")
        lines = state.view.lines(chunk["order_id"].to_list())
        items = [
            {
                "entity_id": r["n"],
                "increment_id": f"{r['n']:09d}",
                "state": STATE[r["state"]][0],
                "status": STATE[r["state"]][1],
                "created_at": _ts(r["placed_at"]),
                "updated_at": _ts(r["as_of_updated_at"]),
                "customer_email": r["email"].capitalize() if r["n"] % 3 == 0 else r["email"],
                "customer_id": None if r["is_guest"] else int(r["customer_id"][1:]),
                "customer_is_guest": int(r["is_guest"]),
                "order_currency_code": r["currency"],
                "subtotal": r["gross"],
                "discount_amount": -r["discount"],
                "shipping_amount": r["shipping"],
                "tax_amount": r["tax"],
                "grand_total": r["total"],
                "total_refunded": r["refunded_as_of"] or None,
                "payment": {
                    "method": r["payment_method"],
                    "amount_ordered": r["total"],
                    "amount_paid": r["total"] if r["as_of_paid_at"] is not None else None,
                    "amount_refunded": r["refunded_as_of"] or None,
                    "last_trans_id": f"TX{r['n']:010d}" if r["as_of_paid_at"] is not None else None,
                },
                "items": [
                    {
                        "item_id": r["n"] * 100 + li["line_no"],
                        "sku": li["sku"],
                        "qty_ordered": li["quantity"],
                        "price": li["unit_price"],
                        "row_total": li["gross"],
                        "discount_amount": li["discount"],
                    }
                    for li in lines.get(r["order_id"], [])
                ],
            }
            for r in chunk.iter_rows(named=True)
        ]
        return JSONResponse(
            {"items": items, "search_criteria": {"page_size": size, "current_page": page}, "total_count": total}
        )

    async def creditmemos(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        frame = (
            state.view.orders(state.store_id)
            .filter(pl.col("refunded_at_as_of").is_not_null())
            .sort("refunded_at_as_of", "order_id")
        )
        chunk, total, size, page = _search(frame, request.query_params, "refunded_at_as_of")
        items = [_creditmemo(r) for r in chunk.iter_rows(named=True)]
        return JSONResponse(
            {"items": items, "search_criteria": {"page_size": size, "current_page": page}, "total_count": total}
        )

    async def customers(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        chunk, total, size, page = _search(state.view.customers(state.store_id), request.query_params, "updated_at")
        items = [
            {
                "id": c["n"],
                "group_id": 2 if c["segment"] == "b2b" else 1,
                "email": c["email"],
                "firstname": c["first_name"],
                "lastname": c["last_name"],
                "created_at": _ts(c["created_at"]),
                "updated_at": _ts(c["updated_at"]),
                "store_id": 1,
                "website_id": 1,
                "addresses": [{"country_id": c["country"], "default_billing": True}],
            }
            for c in chunk.iter_rows(named=True)
        ]
        return JSONResponse(
            {"items": items, "search_criteria": {"page_size": size, "current_page": page}, "total_count": total}
        )

    return Starlette(
        routes=[
            Route("/rest/V1/orders", orders),
            Route("/rest/V1/creditmemos", creditmemos),
            Route("/rest/V1/customers/search", customers),
            *magento_routes(state, authorized),
            *magento_order_routes(state, authorized),
        ]
    )
