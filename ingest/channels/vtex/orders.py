"""VTEX's orders (OMS): its list has no change filter, so orders are listed by creation-date
windows (creation dates do not move) and those whose ``lastChange`` is newer than the cursor are
fetched in detail (with their payments and return invoices; VTEX has no customer list in its OMS:
the buyer's profile is in each order's ``clientProfileData``). An order changed long after it was
created is caught by VTEX's orders feed, or a daily re-list (see ``order_pages``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from afterclick.channels.http import ChannelClient, HTTPStatusError
from ingest.channels.pages import AcknowledgedPage, Page, api_time

log = logging.getLogger("afterclick.ingest")

MAX_PAGES = 30  # VTEX lists at most 30 pages of one query
DETAIL_CALLS = 4  # order details asked side by side (the client's rate limit still holds)
FEED_LOT = 10  # the most feed items VTEX hands out per request (its ``maxlot`` limit)
RELIST_DAYS = 120  # default re-list window, in days of creation (ChannelStoreSettings.vtex_relist_days)


def order_pages(
    client: ChannelClient,
    since: datetime,
    page_size: int = 100,
    until: datetime | None = None,
    creation_lookback: timedelta = timedelta(days=30),
    feed: bool = False,
    relist_days: int = RELIST_DAYS,
) -> Iterator[Page]:
    """Orders created from ``since - creation_lookback`` on; details fetched for those whose
    lastChange is after ``since`` (a list item without ``lastChange``, as VTEX's own list shows
    them, is fetched and its detail's ``lastChange`` decides). VTEX lists at most 30 pages of a
    query, so a creation-date range holding more is split in halves until each part fits (oldest
    first): nothing beyond page 30 is lost, and a first load from the epoch asks a few dozen
    questions, not one a week since 2000. A page's details are asked ``DETAIL_CALLS`` at a
    time, answers kept in list order.

    The list cannot filter by change, so an order changed long after it was created is caught by
    ``feed``: VTEX's orders feed (the store's feed must be configured), read to its end, each
    lot's orders fetched in detail and its items committed once they landed. Without the feed,
    the first run of each UTC day (its window ``since``..``until`` crosses midnight) also
    re-lists the orders created in the ``relist_days`` before (0: never)."""
    until = until or datetime.now(UTC).replace(tzinfo=None)

    def listing(start: datetime, end: datetime, page: int) -> dict:
        _, body = client.request(
            "GET",
            "/api/oms/pvt/orders",
            params={
                "f_creationDate": f"creationDate:[{start.isoformat()}Z TO {end.isoformat()}Z]",
                "page": page,
                "per_page": page_size,
                "orderBy": "creationDate,asc",
            },
        )
        return body

    first_created = since - creation_lookback
    ranges = [(first_created, until + timedelta(days=1))]
    relist_from = until - timedelta(days=relist_days)
    if not feed and relist_days > 0 and since.date() < until.date() and relist_from < first_created:
        log.info("%s: re-listing the orders created %s - %s (daily)", client.store_id, relist_from, first_created)
        ranges.append((relist_from, first_created))  # read first (ranges are popped from the end)
    with ThreadPoolExecutor(DETAIL_CALLS, thread_name_prefix=f"vtex-{client.store_id}") as pool:
        yield from _ranges(client, since, ranges, listing, pool)
        if feed:
            yield from _feed(client, pool)


def _order(client: ChannelClient, order_id: str) -> dict:
    return client.request("GET", f"/api/oms/pvt/orders/{order_id}")[1]


def _changed(client: ChannelClient, listed: list[dict], since: datetime, pool: ThreadPoolExecutor) -> Page:
    """The details of the listed orders changed after ``since``: by the list's ``lastChange`` where
    it shows one, else by the detail's (an unreadable one is kept: landing quarantines it)."""

    def maybe_changed(item: dict) -> bool:
        listed_change = api_time(item.get("lastChange"))
        return listed_change is None or listed_change > since

    details = pool.map(partial(_order, client), [o["orderId"] for o in listed if maybe_changed(o)])
    return [d for d in details if not isinstance(d, dict) or (t := api_time(d.get("lastChange"))) is None or t > since]


def _feed(client: ChannelClient, pool: ThreadPoolExecutor) -> Iterator[Page]:
    """VTEX's orders feed (``GET /api/orders/feed``), lot by lot until it is empty (or hands out
    only items already seen in this run: their visibility timeout ran out before landing): each
    lot's orders in detail, as an ``AcknowledgedPage`` that commits the lot's handles
    (``POST /api/orders/feed``) once landed."""
    seen: set[str] = set()
    while True:
        try:
            _, items = client.request("GET", "/api/orders/feed", params={"maxlot": FEED_LOT})
        except HTTPStatusError as exc:
            if exc.response.status_code == 404:
                raise ValueError(
                    f"{client.store_id}: vtex_feed is on but the store has no orders feed for this app "
                    "key (GET /api/orders/feed answered 404): configure the feed "
                    "(POST /api/orders/feed/config) or turn vtex_feed off"
                ) from None
            raise
        items = [i for i in items or [] if isinstance(i, dict)]
        fresh = [i for i in items if i.get("eventId", i.get("handle")) not in seen]
        if not fresh:
            return
        seen.update(i.get("eventId", i.get("handle")) for i in fresh)
        order_ids = list(dict.fromkeys(i["orderId"] for i in items if i.get("orderId")))
        handles = [i["handle"] for i in items if i.get("handle")]
        yield AcknowledgedPage(list(pool.map(partial(_order, client), order_ids)), partial(_commit, client, handles))


def _commit(client: ChannelClient, handles: list[str]) -> None:
    if handles:
        client.request("POST", "/api/orders/feed", json={"handles": handles})


def _ranges(client: ChannelClient, since: datetime, ranges: list, listing, pool: ThreadPoolExecutor) -> Iterator[Page]:
    while ranges:
        start, end = ranges.pop()
        body = listing(start, end, 1)
        pages = int(body["paging"]["pages"])
        if pages > MAX_PAGES and end - start > timedelta(seconds=2):
            mid = start + timedelta(seconds=(end - start).total_seconds() // 2)
            ranges += [(mid, end), (start, mid)]  # the older half is read first
            continue
        page = 1
        while True:
            yield _changed(client, body["list"], since, pool)
            pages = int(body["paging"]["pages"])  # from the newest answer: orders created meanwhile are counted
            if page >= min(pages, MAX_PAGES):
                break
            page += 1
            body = listing(start, end, page)
        if pages > MAX_PAGES:
            log.warning(
                "%s: more than %d pages of orders created within %s - %s; VTEX lists only the first %d",
                client.store_id,
                MAX_PAGES,
                start,
                end,
                MAX_PAGES,
            )
