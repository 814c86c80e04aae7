"""The adapters without a batch form push several changes side by side (``one_at_a_time`` with
``in_flight``): bounded, one group's changes in their order, outcomes in the batch's order, and
each change's errors its own."""

from __future__ import annotations

import threading

from afterclick.errors import TransientSourceError
from writeback.adapters.base import NotYet, one_at_a_time
from writeback.ledger import Change, Outcome


def _changes() -> list[Change]:
    # orders A and B have three parcels each (pushed in this order), C..F one each
    orders = ["A", "B", "C", "A", "D", "B", "E", "A", "F", "B"]
    return [
        Change("tracking", "shop", "magento", f"{o}-{i}", {"channel_order_id": o, "n": i}) for i, o in enumerate(orders)
    ]


def test_changes_go_side_by_side_up_to_the_limit_one_orders_changes_in_turn():
    changes = _changes()
    meet = threading.Barrier(4, timeout=30)  # passes only if four changes are in flight together
    lock, active, peak, order_seen = threading.Lock(), [0], [0], {}
    busy, overlapped = set(), []  # orders with a change in flight; changes that started beside their order's

    def push_one(c: Change) -> list[Outcome]:
        order = c.payload["channel_order_id"]
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            order_seen.setdefault(order, []).append(c.payload["n"])
            if order in busy:
                overlapped.append(c.key)
            busy.add(order)
        try:
            if c.key in ("A-0", "B-1", "C-2", "D-4"):  # the first change of four orders
                meet.wait()
            return [Outcome(c, True, 200)]
        finally:
            with lock:
                active[0] -= 1
                busy.discard(order)

    outcomes = one_at_a_time(changes, push_one, in_flight=4, group_by=lambda c: c.payload["channel_order_id"])
    assert [o.change.key for o in outcomes] == [c.key for c in changes]
    assert all(o.ok for o in outcomes)
    assert peak[0] == 4  # four at once, never more
    assert not overlapped  # one order's changes in turn…
    assert order_seen["A"] == [0, 3, 7] and order_seen["B"] == [1, 5, 9]  # …in the batch's order


def test_each_changes_failure_is_its_own_outcome_while_the_others_go_on():
    changes = _changes()

    def push_one(c: Change) -> list[Outcome]:
        if c.key == "C-2":
            raise TransientSourceError("shop: timed out")
        if c.key == "E-6":
            raise NotYet("order E has no invoice yet")
        return [Outcome(c, True, 200)]

    outcomes = one_at_a_time(changes, push_one, in_flight=3, group_by=lambda c: c.payload["channel_order_id"])
    assert [o.change.key for o in outcomes] == [c.key for c in changes]
    failed = {o.change.key: o for o in outcomes if not o.ok}
    assert set(failed) == {"C-2", "E-6"}
    assert not failed["C-2"].permanent and "timed out" in failed["C-2"].error
    assert not failed["E-6"].permanent and "no invoice" in failed["E-6"].error
