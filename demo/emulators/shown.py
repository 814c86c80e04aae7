"""What a channel emulator shows of one order now: the world's own state with what was pushed
on top (the same view its order endpoints answer). Tests and the demo check write-back with it."""

from __future__ import annotations

from pathlib import Path

from demo.emulators.base import EmulatorState

MAGENTO_STATE = {
    "pending": ("new", "pending"),
    "paid": ("processing", "processing"),
    "fulfilled": ("complete", "complete"),
    "canceled": ("canceled", "canceled"),
    "refunded": ("closed", "closed"),
}
VTEX_STATUS = {
    "pending": "payment-pending",
    "paid": "handling",
    "fulfilled": "invoiced",
    "canceled": "canceled",
    "refunded": "canceled",
}
WOO_STATUS = {
    "pending": "pending",
    "paid": "processing",
    "fulfilled": "completed",
    "canceled": "cancelled",
    "refunded": "refunded",
}


def order_status(state: EmulatorState, channel: str, order_id: str) -> str | None:
    """The order's status in the channel's vocabulary (Shopify: CANCELLED / CLOSED / FULFILLED /
    UNFULFILLED; VTEX: delivered once every invoice is, else its OMS status); None: no such order."""
    row = state.order_row(order_id)
    if row is None:
        return None
    pushed = state.book.orders.get(str(order_id), {})
    if channel == "shopify":
        if pushed.get("cancelledAt") or row["canceled_as_of"] is not None:
            return "CANCELLED"
        return "CLOSED" if pushed.get("closed") else "FULFILLED" if pushed.get("fulfillments") else "UNFULFILLED"
    if channel == "vtex":
        invoices = pushed.get("invoices", [])
        if pushed.get("status"):
            return pushed["status"]
        if invoices and all(i["courierStatus"].get("finished") for i in invoices):
            return "delivered"
        return "invoiced" if invoices else VTEX_STATUS[row["state"]]
    if channel == "magento":
        return pushed.get("status", MAGENTO_STATE[row["state"]][1])
    return pushed.get("status", WOO_STATUS[row["state"]])


# the statuses of an order that takes no parcel (VTEX invoices no canceled order, Magento ships no
# canceled or closed one): the write-back sends nothing for its parcels
NO_PARCEL = {"vtex": ("canceled",), "magento": ("canceled", "closed")}


def takes_parcels(state: EmulatorState, channel: str, order_id: str) -> bool:
    """Whether the store takes parcels (fulfilments, shipments, invoices) on the order now."""
    return order_status(state, channel, order_id) not in NO_PARCEL.get(channel, ())


def tracking_numbers(state: EmulatorState, channel: str, order_id: str) -> set[str]:
    """The tracking numbers the channel shows on the order (Woo: those its notes mention)."""
    pushed = state.book.orders.get(str(order_id), {})
    if channel == "shopify":
        return {t["number"] for f in pushed.get("fulfillments", []) for t in f["trackingInfo"]}
    if channel == "vtex":
        return {i["trackingNumber"] for i in pushed.get("invoices", []) if i.get("trackingNumber")}
    if channel == "magento":
        return {t["track_number"] for s in pushed.get("shipments", []) for t in s["tracks"]}
    return {word for n in pushed.get("notes", []) for word in n["note"].split()}


def saved_state(world, store_id: str, folder: Path) -> EmulatorState:
    """A store's emulator as its last run left it in ``folder`` (read without serving it)."""
    return EmulatorState(
        store_id,
        world,
        world.end,
        {},
        inventory_path=folder / f"{store_id}.json",
        book_path=folder / f"{store_id}.orders.json",
    )
