"""A parcel's lines as the warehouse reports them (``wb_tracking.lines``: ``sku:quantity`` pairs
joined by ``;``), and how a channel's open lines are matched to them: each platform that models
fulfilments gets one per parcel, listing the units that parcel holds."""

from __future__ import annotations

from collections.abc import Iterable

from writeback.adapters.base import Refused


def parcel_lines(payload: dict) -> dict[str, int]:
    """SKU -> units in the parcel of a tracking change. A parcel whose lines are not known (none, or
    not ``sku:quantity`` pairs) is refused with the reason: sent without them, a platform would
    fulfil the whole order with its first parcel."""
    where = f"parcel {payload.get('shipment_id')} of order {payload.get('channel_order_id')}"
    text = payload.get("lines") or ""
    out: dict[str, int] = {}
    for pair in text.split(";"):
        if pair:
            sku, _, quantity = pair.rpartition(":")
            if not sku or not quantity.isdecimal():
                raise Refused(f"{where}: its lines ({text!r}) are not sku:quantity pairs; not sent")
            out[sku] = out.get(sku, 0) + int(quantity)
    if not (out := {sku: n for sku, n in out.items() if n > 0}):
        raise Refused(f"{where} comes without its lines (SKU and units); not sent, so the order is not fulfilled whole")
    return out


def allocate(
    wanted: dict[str, int], open_lines: Iterable[tuple[str, str, int]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Match the parcel's units to the channel's open lines, ``(line id, sku, open quantity)`` in the
    channel's order: (line id -> units to fulfil there, sku -> units with no open line left)."""
    left = dict(wanted)
    taken: dict[str, int] = {}
    for line_id, sku, open_quantity in open_lines:
        units = min(left.get(sku, 0), open_quantity)
        if units > 0:
            taken[line_id] = taken.get(line_id, 0) + units
            left[sku] -= units
    return taken, {sku: n for sku, n in left.items() if n > 0}
