"""VTEX OMS: ``GET /api/oms/pvt/orders`` (list, f_creationDate window, page/per_page, 30 pages at most)
and ``GET /api/oms/pvt/orders/{orderId}`` (the order's details, with what was pushed to it: status
and ``packageAttachment``); stock, invoice, tracking, cancel and price endpoints in
``stock_routes`` and ``order_routes``."""

from __future__ import annotations

import re
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from demo.emulators.base import EmulatorState
from demo.emulators.order_routes import vtex_missing_headers, vtex_order_routes, vtex_packages
from demo.emulators.orders_view import iso, refund
from demo.emulators.responses import JSONResponse
from demo.emulators.shown import VTEX_STATUS
from demo.emulators.stock_routes import vtex_routes

# The emulator's own made-up secrets (what `afterclick demo` configures for this store); a real
# store's come from the environment.
CREDENTIALS = {"app_key": "vtexappkey-demo", "app_token": "demo-app-token"}

_WINDOW = re.compile(r"creationDate:\[(.+) TO (.+)\]")


def _cents(x: float) -> int:
    return int(round(x * 100))


def _payment_data(r: dict) -> dict:
    """``paymentData``: one transaction with the order's payment once it is authorized."""
    if r["as_of_paid_at"] is None:
        return {"transactions": []}
    return {
        "transactions": [
            {
                "transactionId": f"TX{r['n']:010d}",
                "isActive": r["canceled_as_of"] is None,
                "payments": [
                    {
                        "id": f"PY{r['n']:010d}",
                        "paymentSystemName": r["payment_method"],
                        "group": r["payment_method"],
                        "value": _cents(r["total"]),
                    }
                ],
            }
        ]
    }


def _return_invoices(r: dict) -> list[dict]:
    """A return's refund shows in VTEX as an ``Input`` invoice (goods coming back) in
    ``packageAttachment``; a paid order that is canceled has its payment given back with no invoice."""
    back = refund(r)
    if back is None or r["return_id"] is None:
        return []
    items = [{"itemIndex": back["line_no"] - 1, "quantity": back["quantity"]}] if back["line_no"] else []
    return [
        {
            "type": "Input",
            "invoiceNumber": f"DEV-{r['n']}",
            "invoiceValue": _cents(back["amount"]),
            "issuanceDate": iso(back["at"]),
            "invoiceKey": None,
            "items": items,
            "courier": None,
            "trackingNumber": None,
            "restitutions": {"Refund": {"value": _cents(back["amount"]), "items": items, "reason": back["reason"]}},
        }
    ]


def app(state: EmulatorState) -> Starlette:
    def authorized(request: Request) -> bool:
        return (
            request.headers.get("x-vtex-api-appkey") == state.credentials["app_key"]
            and request.headers.get("x-vtex-api-apptoken") == state.credentials["app_token"]
        )

    async def list_orders(request: Request):
        if (refused := vtex_missing_headers(request) or await state.gate(request, authorized(request))) is not None:
            return refused
        q = request.query_params
        per_page, page = min(int(q.get("per_page", 15)), 100), int(q.get("page", 1))
        if page > 30:
            return JSONResponse({"error": {"code": "1", "message": "Max page exceeded (30)"}}, status_code=400)
        frame = state.view.by_created(state.store_id)
        if m := _WINDOW.match(q.get("f_creationDate", "")):
            lo, hi = (datetime.fromisoformat(x.rstrip("Z")) for x in m.groups())
            start = frame["placed_at"].search_sorted(lo, "left")  # sorted by creation: the window is a slice
            frame = frame.slice(start, frame["placed_at"].search_sorted(hi, "right") - start)
        chunk = frame.slice((page - 1) * per_page, per_page)
        rows = [
            {
                "orderId": r["channel_order_id"],
                "creationDate": iso(r["placed_at"]),
                "lastChange": iso(r["as_of_updated_at"]),
                "status": VTEX_STATUS[r["state"]],
                "totalValue": _cents(r["total"]),
            }
            for r in chunk.iter_rows(named=True)
        ]
        pages = max(1, -(-frame.height // per_page))
        return JSONResponse(
            {"list": rows, "paging": {"total": frame.height, "pages": pages, "currentPage": page, "perPage": per_page}}
        )

    async def get_order(request: Request):
        if (refused := vtex_missing_headers(request) or await state.gate(request, authorized(request))) is not None:
            return refused
        order_id = request.path_params["order_id"]
        r = state.view.order(state.store_id, order_id)
        if r is None:
            return JSONResponse({"error": {"code": "OMS003", "message": "Order not found"}}, status_code=404)
        lines = state.view.lines([r["order_id"]]).get(r["order_id"], [])
        pushed = state.book.orders.get(order_id, {})
        status = pushed.get("status") or (
            "invoiced" if pushed.get("invoices") else VTEX_STATUS[r["state"]]
        )  # OMS status
        return JSONResponse(
            {
                "orderId": order_id,
                "sequence": str(r["n"]),
                "status": status,
                "creationDate": iso(r["placed_at"]),
                "lastChange": iso(r["as_of_updated_at"]),
                "authorizedDate": iso(r["as_of_paid_at"]),
                "value": _cents(r["total"]),
                "totals": [
                    {"id": "Items", "value": _cents(r["gross"])},
                    {"id": "Discounts", "value": -_cents(r["discount"])},
                    {"id": "Shipping", "value": _cents(r["shipping"])},
                    {"id": "Tax", "value": _cents(r["tax"])},
                ],
                "storePreferencesData": {"currencyCode": r["currency"]},
                "clientProfileData": {
                    "email": r["email"],
                    "userProfileId": None if r["is_guest"] else r["customer_id"],
                },
                "items": [
                    {
                        "id": li["sku"],
                        "refId": li["sku"],
                        "quantity": li["quantity"],
                        "price": _cents(li["unit_price"]),
                        "sellingPrice": _cents(li["unit_price"]),
                    }
                    for li in lines
                ],
                "cancellationData": {"CancellationDate": iso(r["canceled_as_of"])} if r["canceled_as_of"] else None,
                "paymentData": _payment_data(r),
                "packageAttachment": {"packages": vtex_packages(state, order_id)["packages"] + _return_invoices(r)},
            }
        )

    return Starlette(
        routes=[
            Route("/api/oms/pvt/orders", list_orders),
            Route("/api/oms/pvt/orders/{order_id}", get_order),
            *vtex_routes(state, authorized),
            *vtex_order_routes(state, authorized),
        ]
    )
