"""The write-back engine: diff the desired state (dbt's ``wb_*`` models) against the ledger and
push only what changed, exactly once.

Per target (a channel store, or ``email``) and batch: the changes are recorded ``pending`` and
committed, the adapter is called, the outcomes are settled (confirmed / retry / dead) and every
attempt is recorded. A run that finds ``pending`` rows (a crash between call and confirmation)
first reads the target back: what the target already holds is confirmed without pushing again;
what it does not hold is pushed; a target that cannot be read back (email) leaves them
``unknown`` rather than risk a duplicate. Such a target is therefore pushed change by change (the
adapter's ``start``), each change's progress journaled as it goes (``ops.writeback_in_flight``,
see writeback/ledger.py), so a crash leaves in doubt only the changes in flight, not the batch.
One failing target never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Set
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeGuard

import duckdb

from writeback import ledger
from writeback.adapters.base import Adapter, OneByOneAdapter
from writeback.ledger import Change, Outcome

log = logging.getLogger("afterclick.writeback")

# kind -> (desired-state model, its payload columns)
DESIRED = {
    "stock": ("wb_stock", ("sku", "location_id", "quantity")),
    "prices": ("wb_prices", ("sku", "segment", "price_list", "currency", "price")),
    "tracking": (
        "wb_tracking",
        (
            "channel_order_id",
            "shipment_id",
            "parcel_no",
            "parcel_count",
            "carrier",
            "carrier_name",
            "tracking_number",
            "tracking_url",
            "shipped_at",
            "lines",
        ),
    ),
    "status": ("wb_order_status", ("channel_order_id", "afterclick_status", "delivered_at")),
    "notification": (
        "wb_notifications",
        (
            "kind",
            "order_key",
            "shipment_id",
            "store_id",
            "customer_email",
            "order_number",
            "locale",
            "store_name",
            "carrier_name",
            "tracking_number",
            "tracking_url",
        ),
    ),
}
EMAIL_TARGET = "email"


@dataclass
class TargetReport:
    kind: str
    target: str
    desired: int = 0
    pushed: int = 0
    failed: int = 0
    dead: int = 0
    recovered: int = 0  # pending after a crash, found already applied
    unknown: int = 0  # pending after a crash, not resendable
    skipped: str | None = None  # why the target was not pushed to
    dry_run: bool = False  # only recorded what would be sent (the run's or the store's dry run)
    seconds: float = 0.0


@dataclass
class PushReport:
    dry_run: bool
    targets: list[TargetReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(t, name) for t in self.targets)


def desired(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, list[Change]]:
    """target -> the changes the warehouse wants there now."""
    model, columns = DESIRED[kind]
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'writeback' and table_name = ?", [model]
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        f"select writeback_key, store_id, channel, {', '.join(columns)} from writeback.{model} order by writeback_key"
    ).fetchall()
    out: dict[str, list[Change]] = {}
    for key, store_id, channel, *values in rows:
        # money is DECIMAL in the warehouse; payloads carry JSON numbers (cents are exact in a float's repr)
        payload = {c: float(v) if isinstance(v, Decimal) else v for c, v in zip(columns, values)}
        target = EMAIL_TARGET if kind == "notification" else store_id
        out.setdefault(target, []).append(
            Change(kind, target, EMAIL_TARGET if kind == "notification" else channel, key, payload)
        )
    return out


IN_DOUBT = "interrupted between sending and confirming; not sent again to avoid a duplicate"


def _recover(con, adapter: Adapter, pending: list[Change], now: datetime, report: TargetReport) -> list[Change]:
    """Resolve what a crash left pending; returns the changes that still need pushing."""
    if _one_by_one(adapter):
        return _recover_from_journal(con, adapter, pending, now, report)
    held = adapter.read_back(pending)
    if held is None:
        ledger.resolve(con, pending, "unknown", now, IN_DOUBT)
        report.unknown += len(pending)
        return []
    applied = [c for c in pending if held.get(c.key) == c.payload]
    ledger.resolve(con, applied, "confirmed", now)
    report.recovered += len(applied)
    return [c for c in pending if held.get(c.key) != c.payload]


def _recover_from_journal(
    con, adapter: Adapter, pending: list[Change], now: datetime, report: TargetReport
) -> list[Change]:
    """A target that cannot be read back, pushed change by change: its journal tells what the crash
    interrupted. Answered and accepted: confirmed; answered with a failure, or never started: pushed
    again; being sent (or pending without a journal): unknown, not sent again."""
    got = ledger.in_flight(con, adapter.kind, adapter.store_id)
    accepted = [c for c in pending if got.get(c.key) == "confirmed"]
    in_doubt = [c for c in pending if got.get(c.key) in (None, "sending")]
    ledger.resolve_from_journal(con, adapter.kind, adapter.store_id, accepted, in_doubt, now, IN_DOUBT)
    report.recovered += len(accepted)
    report.unknown += len(in_doubt)
    return [c for c in pending if got.get(c.key) in ("queued", "failed")]


def _one_by_one(adapter: Adapter) -> TypeGuard[OneByOneAdapter]:
    """A target that cannot be read back is pushed change by change (the adapter's ``start``)."""
    return getattr(adapter, "start", None) is not None


def push_target(
    con,
    adapter: Adapter,
    changes: list[Change],
    now: datetime,
    *,
    dry_run: bool = False,
    max_attempts: int = 5,
    backoff_seconds: float = 60.0,
    after_call: Callable[[list[Change]], None] | None = None,
    ensure_ledger: bool = True,
) -> TargetReport:
    """Push one target's changes. ``after_call`` runs between the call and the confirmation
    (the reliability drills inject a crash there), with each batch (change by change: with each
    group of changes answered)."""
    if ensure_ledger:  # push() has (its targets run side by side, and DDL from two of them would conflict)
        ledger.ensure(con)
    started = time.perf_counter()
    report = TargetReport(adapter.kind, adapter.store_id, desired=len(changes), dry_run=dry_run)
    todo, pending = ledger.plan(con, adapter.kind, adapter.store_id, changes, now)
    if pending and not dry_run:
        todo += _recover(con, adapter, pending, now, report)
    if dry_run:
        ledger.settle(con, [Outcome(c, True) for c in todo + pending], now, max_attempts, backoff_seconds, dry_run=True)
        report.pushed = len(todo) + len(pending)
        return report
    if todo and (prepare := getattr(adapter, "prepare", None)) is not None:
        prepare(todo)  # e.g. resolve the run's SKUs at once, the cheapest way for their number
    one_by_one = _one_by_one(adapter)
    for start in range(0, len(todo), adapter.batch_size):
        batch = todo[start : start + adapter.batch_size]
        ledger.mark_pending(con, batch, now, journal=one_by_one)
        if _one_by_one(adapter):  # the test one_by_one holds; called here, it narrows adapter's type
            outcomes = _push_each(con, adapter, batch, now, after_call)
        else:
            outcomes = adapter.push(batch)
            if after_call is not None:
                after_call(batch)
        ledger.settle(con, outcomes, now, max_attempts, backoff_seconds, journal=one_by_one)
        _count(report, adapter, outcomes, max_attempts)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _push_each(
    con,
    adapter: OneByOneAdapter,
    batch: list[Change],
    now: datetime,
    after_call: Callable[[list[Change]], None] | None,
) -> list[Outcome]:
    """A batch for a target that cannot be read back (email), change by change, at most
    ``adapter.window`` in flight: each is journaled ``sending`` before it is started and its answer
    as soon as it comes, so a crash leaves only the changes in flight in doubt, not the batch. Each
    round journals every answer that came in while the previous round was committing and the
    changes that take their places, in one commit (a commit per change would pace the sending)."""
    waiting, outcomes = deque(batch), list[Outcome]()
    running: set[Future[Outcome]] = set()
    while waiting or running:
        done: set = set()
        if running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
        answered = [f.result() for f in done]
        if answered and after_call is not None:
            after_call([o.change for o in answered])
        starting = [waiting.popleft() for _ in range(min(len(waiting), adapter.window - len(running)))]
        ledger.journal_round(con, answered, starting, now)
        running |= {adapter.start(c) for c in starting}
        outcomes += answered
    return outcomes


def _count(report: TargetReport, adapter: Adapter, outcomes: list[Outcome], max_attempts: int) -> None:
    for o in outcomes:
        if o.ok:
            report.pushed += 1
        elif o.permanent or o.change.attempts + 1 >= max_attempts:
            report.dead += 1
            log.warning("%s %s %s: gave up: %s", adapter.kind, adapter.store_id, o.change.key, o.error)
        else:
            report.failed += 1


def push(
    con,
    adapters: Callable[[str, str, str], Adapter | None],
    kinds: list[str],
    now: datetime,
    *,
    disabled: Set[str] = frozenset(),
    dry_run: bool = False,
    max_attempts: int = 5,
    backoff_seconds: float = 60.0,
    after_call: Callable[[list[Change]], None] | None = None,
    only: str | None = None,
    parallel_targets: int = 1,
    modes: Mapping[tuple[str, str], str] | None = None,
) -> PushReport:
    """Every kind and target: ``adapters(kind, target, channel)`` gives the adapter (None: no way to
    reach that target here). ``disabled``: the kill switch (store ids, channels, kinds); ``only``:
    just this target (a store id, or ``email``). ``parallel_targets``: targets pushed side by side
    (each store has its own API and rate limit; a target's kinds keep their order), each on its
    own cursor of ``con``. ``modes``: (kind, store id) -> ``off`` / ``dry_run`` (default ``on``),
    each store's switch per kind (a customer message goes by the store of its order)."""
    ledger.ensure(con)
    work: dict[str, list[tuple[int, str, list[Change], str]]] = {}  # target -> (position, kind, changes, mode)
    position = 0
    for kind in kinds:
        for target, changes in desired(con, kind).items():
            if only is None or target == only:
                for mode, part in by_mode(kind, changes, modes or {}).items():
                    work.setdefault(target, []).append((position, kind, part, mode))
                    position += 1

    side_by_side = parallel_targets > 1 and len(work) > 1

    def push_all(target: str) -> list[tuple[int, TargetReport]]:
        cursor = con.cursor() if side_by_side else con
        try:
            return [
                (
                    at,
                    _push_kind(
                        cursor,
                        adapters,
                        kind,
                        target,
                        changes,
                        now,
                        disabled,
                        dry_run,
                        max_attempts,
                        backoff_seconds,
                        after_call,
                        mode,
                    ),
                )
                for at, kind, changes, mode in work[target]
            ]
        finally:
            if side_by_side:
                cursor.close()

    if side_by_side:
        with ThreadPoolExecutor(max_workers=min(parallel_targets, len(work))) as pool:
            # the targets with the most changes start first: with more targets than workers, a big one
            # left for last would run alone at the end (at 1M lines: 20k messages after the stores)
            biggest_first = sorted(work, key=lambda t: -sum(len(changes) for _, _, changes, _ in work[t]))
            futures = [pool.submit(push_all, target) for target in biggest_first]
            done = [f.result() for f in futures]  # re-raises what killed a target (after the others finish)
    else:
        done = [push_all(target) for target in work]
    return PushReport(dry_run, [r for _, r in sorted((x for d in done for x in d), key=lambda x: x[0])])


def _store_of(change: Change) -> str:
    """The store a change belongs to: its target, or for a customer message the store of its order."""
    return change.payload.get("store_id") or change.store_id if change.kind == "notification" else change.store_id


def by_mode(kind: str, changes: list[Change], modes: Mapping[tuple[str, str], str]) -> dict[str, list[Change]]:
    """A target's changes of ``kind`` by the write-back mode of their store (on / off / dry_run),
    in their order."""
    out: dict[str, list[Change]] = {}
    for c in changes:
        out.setdefault(modes.get((kind, _store_of(c)), "on"), []).append(c)
    return out


def _push_kind(
    con,
    adapters,
    kind: str,
    target: str,
    changes: list[Change],
    now: datetime,
    disabled: Set[str],
    dry_run: bool,
    max_attempts: int,
    backoff_seconds: float,
    after_call,
    mode: str = "on",
) -> TargetReport:
    channel = changes[0].channel
    if disabled & {target, channel, kind}:
        return TargetReport(kind, target, len(changes), skipped="disabled in settings")
    if mode == "off":
        stores = sorted({_store_of(c) for c in changes})
        return TargetReport(kind, target, len(changes), skipped=f"switched off for {', '.join(stores)} in settings")
    adapter = adapters(kind, target, channel)
    if adapter is None:
        return TargetReport(kind, target, len(changes), skipped="no connection configured")
    if mode == "dry_run":
        log.info("%s %s: dry run in settings: what would change is recorded, nothing is sent", kind, target)
    try:
        return push_target(
            con,
            adapter,
            changes,
            now,
            dry_run=dry_run or mode == "dry_run",
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            after_call=after_call,
            ensure_ledger=False,
        )
    except Exception as exc:  # noqa: BLE001 - one unreachable target must not stop the others
        log.error("%s %s: %s: %s", kind, target, type(exc).__name__, exc)
        return TargetReport(kind, target, len(changes), skipped=f"{type(exc).__name__}: {exc}")
    finally:
        adapter.close()
