"""What every write-back adapter does: push a batch of changes to one target, and (where the
target allows) read back what it holds now, to resolve a crash between call and confirmation."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from afterclick.channels.http import HTTPStatusError, Response
from afterclick.errors import ChannelRefused, TransientSourceError
from writeback.ledger import Change, Outcome


class Adapter(Protocol):
    kind: str
    store_id: str
    channel: str
    batch_size: int

    def push(self, changes: list[Change]) -> list[Outcome]:
        """One outcome per change; transient trouble the HTTP client could not absorb becomes a
        failed (retryable) outcome, a refusal of one change a permanent one."""

    def read_back(self, changes: list[Change]) -> dict[str, dict] | None:
        """What the target holds for these changes (key -> payload-comparable dict), or None when
        the target cannot be read (e.g. email)."""

    def close(self) -> None: ...

    # optional: ``prepare(changes)``, called once with every change a run will push, before the first batch
    # optional: ``shares_target_cache = True``: constructed with ``cache=``, a dict the target's adapters
    # share for one push (e.g. ids looked up by the stock push that the prices push needs too)
    # optional: ``in_flight``: changes pushed side by side, set from ``writeback.calls_in_flight``
    # optional, for targets that cannot be read back: see ``OneByOneAdapter``


class OneByOneAdapter(Adapter, Protocol):
    """An adapter of a target that cannot be read back (email): the engine pushes its changes one
    by one (engine._push_each), at most ``window`` in flight."""

    window: int  # changes in flight at most

    def start(self, change: Change) -> Future[Outcome]:
        """Start pushing one change; the future holds its outcome."""
        ...


class NotYet(Exception):
    """The change cannot be applied yet (it waits for another change to reach the target first):
    a failed outcome, tried again on a later run."""


class Refused(Exception):
    """The target cannot take the change as it stands (e.g. a parcel none of whose lines is still
    open there, an invoice worth nothing): a permanent refusal, not sent, with the reason."""


CALLS_IN_FLIGHT = (
    4  # changes pushed side by side by the adapters without a batch form (settings: writeback.calls_in_flight)
)


def timed_batch(changes: list[Change], call) -> list[Outcome]:
    """Run ``call()`` for a whole batch and turn its exceptions into outcomes for every change:
    HTTP 4xx = the target refused them (permanent), transient errors = retry later."""
    started = time.perf_counter()
    try:
        outcomes = call()
    except HTTPStatusError as exc:
        ms = (time.perf_counter() - started) * 1000
        return [
            Outcome(c, False, exc.response.status_code, _error_text(exc.response), permanent=True, duration_ms=ms)
            for c in changes
        ]
    except Refused as exc:
        ms = (time.perf_counter() - started) * 1000
        return [Outcome(c, False, None, str(exc), permanent=True, duration_ms=ms) for c in changes]
    except (TransientSourceError, ChannelRefused, NotYet) as exc:
        ms = (time.perf_counter() - started) * 1000
        return [Outcome(c, False, None, str(exc), duration_ms=ms) for c in changes]
    ms = (time.perf_counter() - started) * 1000 / max(len(changes), 1)
    for o in outcomes:
        o.duration_ms = ms
    return outcomes


def one_at_a_time(changes: list[Change], push_one, in_flight: int = 1, group_by=None) -> list[Outcome]:
    """For endpoints without a batch form: ``push_one(change)`` (a list of outcomes) per change,
    each timed and with its exceptions turned into outcomes like ``timed_batch``. Up to
    ``in_flight`` changes are pushed side by side: a change's calls mostly wait for the store's
    answer (on a real network, or on loopback behind the other targets' work), and the store's rate
    limit still paces every request. Changes with the same ``group_by(change)`` go one after
    another, in the batch's order (one order's parcels, one SKU's locations). Outcomes come back
    in the batch's order."""
    groups: dict = {}
    for c in changes:
        groups.setdefault(group_by(c) if group_by else id(c), []).append(c)

    def run(group: list[Change]) -> list[Outcome]:
        return [o for c in group for o in timed_batch([c], lambda c=c: push_one(c))]

    if in_flight > 1 and len(groups) > 1:
        with ThreadPoolExecutor(min(in_flight, len(groups)), thread_name_prefix="push") as pool:
            done = list(pool.map(run, groups.values()))
    else:
        done = [run(group) for group in groups.values()]
    return in_batch_order(changes, [o for outcomes in done for o in outcomes])


def in_batch_order(changes: list[Change], outcomes: list[Outcome]) -> list[Outcome]:
    """``outcomes`` (pushed side by side, finished in any order) in the order of their changes."""
    by_change: dict[int, list[Outcome]] = {}
    for o in outcomes:
        by_change.setdefault(id(o.change), []).append(o)
    return [o for c in changes for o in by_change.get(id(c), [])]


def _error_text(response: Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:500]}"


def bisect_refusals(changes: list[Change], push_all) -> list[Outcome]:
    """For endpoints that refuse a whole batch for one bad item: push the batch; when refused,
    split it until the refused items are alone (each gets the channel's error), the rest applied."""
    outcomes = timed_batch(changes, lambda: push_all(changes))
    if len(changes) == 1 or not all(o.permanent for o in outcomes):
        return outcomes
    middle = len(changes) // 2
    return bisect_refusals(changes[:middle], push_all) + bisect_refusals(changes[middle:], push_all)
