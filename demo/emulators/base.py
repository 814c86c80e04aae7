"""What every channel emulator shares: credentials, a rate limit, scripted faults, a movable clock."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from demo.catalog import STORE_BY_ID
from demo.emulators import spec
from demo.emulators.inventory import ChannelInventory
from demo.emulators.order_book import OrderBook
from demo.emulators.orders_view import OrdersView
from demo.emulators.responses import JSONResponse
from demo.world import World


@dataclass
class EmulatorState:
    """One store's emulator: its data, credentials, limits and the faults a test scripts."""

    store_id: str
    world: World
    clock: datetime
    credentials: dict[str, str]
    requests_per_second: float = 0.0  # 0 = unlimited
    # Popped one per request: "500", "429", "timeout" (6 s before answering), "malformed" (a
    # truncated JSON body), "partial" (half a page, then the connection drops), "disconnect" (the
    # headers, then the connection drops), "advance:<hours>" (the store's data moves on by that
    # much, then the request is served), or "200" (no fault).
    faults: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # paths served, for tests
    throttled: int = 0  # requests refused for coming faster than requests_per_second
    cost_spent: int = 0  # Shopify: query cost points the store charged (benchmarks: the floor at a bucket's rate)
    inventory_path: Path | None = None  # where the stock the channel shows is kept (None: in memory)
    unknown_skus: set[str] = field(default_factory=set)  # SKUs missing from this channel's catalogue
    book_path: Path | None = None  # where what was pushed about orders and prices is kept
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_free: float = 0.0

    @property
    def view(self) -> OrdersView:
        view: OrdersView | None = getattr(self, "_view", None)
        if view is None or view.clock != self.clock:
            view = self._view = OrdersView(self.world, self.clock)
        return view

    @property
    def inventory(self) -> ChannelInventory:
        if getattr(self, "_inventory", None) is None:
            self._inventory = ChannelInventory(self.world, self.inventory_path, self.unknown_skus)
        return self._inventory

    @property
    def book(self) -> OrderBook:
        if getattr(self, "_book", None) is None:
            self._book = OrderBook(self.book_path)
        return self._book

    def keep(self) -> None:
        """Fold what the store was told into its files (when its emulator stops): the order book
        and the stock, each only if this run opened it. Nothing is lost without it: every change
        is journaled as it is made (a killed store replays its journal when it starts again)."""
        if getattr(self, "_book", None) is not None:
            self._book.compact()
        if getattr(self, "_inventory", None) is not None:
            self._inventory.compact()

    def order_row(self, channel_order_id: str) -> dict | None:
        """The store's order by the channel's own id, as of the clock (None: no such order)."""
        return self.view.order(self.store_id, str(channel_order_id))

    @property
    def channel(self) -> str:
        """The store's channel ('' for an emulator that is not a store's, such as the tracking API)."""
        store = STORE_BY_ID.get(self.store_id)
        return store.channel if store else ""

    def product_names(self) -> dict[str, str]:
        """SKU -> product name, as the channel's catalogue titles it."""
        if getattr(self, "_names", None) is None:
            self._names = dict(self.world.products.select("sku", "name").iter_rows())
        return self._names

    def store_country(self) -> str:
        return STORE_BY_ID[self.store_id].country

    def advance(self, to: datetime) -> None:
        self.clock = to

    def _throttled(self) -> float:
        """Seconds to wait before another request is allowed (0 = go)."""
        if not self.requests_per_second:
            return 0.0
        with self._lock:
            now = time.monotonic()
            if now < self._next_free:
                return self._next_free - now
            self._next_free = now + 1.0 / self.requests_per_second
            return 0.0

    async def gate(self, request: Request, authorized: bool) -> Response | None:
        """Auth, the query parameters (by the channel's published spec), faults and rate limit, in
        the order a real API applies them; None = serve."""
        self.requests.append(request.url.path)
        if not authorized:
            return JSONResponse({"code": "unauthorized", "message": "Invalid credentials."}, status_code=401)
        if errors := spec.query_errors(self.channel, request.method, request.url.path, request.query_params):
            return JSONResponse({"code": "invalid_parameters", "message": "; ".join(errors)}, status_code=400)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "500":
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        if fault == "429":
            return JSONResponse({"message": "Too Many Requests"}, status_code=429, headers={"Retry-After": "0.05"})
        if fault == "timeout":
            await asyncio.sleep(6.0)
        if fault == "malformed":
            return Response('{"orders": [{"id": 1, "trunc', media_type="application/json")
        if fault in ("partial", "disconnect"):  # the declared length never arrives: the client sees the drop
            body = b'{"orders": [{"id": 1, "name": "#1001"}, {"id": 2, ' if fault == "partial" else b""
            return Response(body, media_type="application/json", headers={"content-length": "65536"})
        if fault and fault.startswith("advance:"):
            self.advance(self.clock + timedelta(hours=float(fault.split(":", 1)[1])))
        wait = self._throttled()
        if wait:
            self.throttled += 1
            return JSONResponse(
                {"message": "Too Many Requests"}, status_code=429, headers={"Retry-After": f"{wait:.3f}"}
            )
        return None


def rows_after(frame, column: str, value, *, inclusive: bool = False, key: str | None = None, key_after=None):
    """The rows of ``frame`` (sorted by ``column``, then ``key``) whose ``column`` is after ``value``
    (``inclusive``: or equal), or equal to it with ``key`` after ``key_after``: a binary search and a
    zero-copy slice. Filtering the whole frame for every page made paging through a store quadratic
    (the 1M-line emulators spent a fifth of their time there)."""
    times = frame[column].to_numpy()  # zero-copy; numpy's search is ~100x cheaper than polars' per call
    at = np.datetime64(value).astype(times.dtype)
    start = int(np.searchsorted(times, at, side="left" if inclusive else "right"))
    if key is not None:
        tied = int(np.searchsorted(times, at, side="left"))
        start = tied + bisect.bisect_right(frame[key].slice(tied, start - tied).to_list(), key_after)
    return frame.slice(start)


def magento_page(items, query, default_size: int = 20):
    """(the page of ``items`` asked for, page size, page asked) by Magento's ``searchCriteria[pageSize]``
    and ``[currentPage]``; ``items`` is a list or a polars frame. Like Magento, a page past the last
    answers the last page again. ``default_size`` 0: without a page size, every item."""
    size = int(query.get("searchCriteria[pageSize]") or default_size)
    asked = int(query.get("searchCriteria[currentPage]") or 1)
    if not size:
        return items, size, asked
    page = min(max(1, asked), max(1, -(-len(items) // size)))
    return items[(page - 1) * size : page * size], size, asked
