"""``afterclick push``: the write-back with its targets resolved from settings.

Channel stores come from ``channel_stores`` in settings and customer messages go to ``smtp.host``
(none: no messages are sent).
Call under the writer lock (the pipeline and the CLI do).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from afterclick import warehouse
from afterclick.channels.registry import Channel, modules
from afterclick.channels.store import ChannelStore, configured_stores
from afterclick.settings import Settings, SmtpSettings
from writeback import engine
from writeback.adapters.base import CALLS_IN_FLIGHT
from writeback.adapters.email import EmailNotifications, StoreMessages, store_messages
from writeback.ledger import Change


def channel_adapters() -> dict[str, dict[str, type]]:
    """kind -> channel -> adapter class: each registered channel's write-back plugin
    (``writeback/adapters/<name>/``, its ``ADAPTERS``: kind -> class, the kinds it takes)."""
    adapters: dict[str, dict[str, type]] = {}
    for name, plugin in modules(Channel.writeback_module).items():
        for kind, adapter in plugin.ADAPTERS.items():
            adapters.setdefault(kind, {})[name] = adapter
    return adapters


ADAPTERS = channel_adapters()

# what `afterclick push` and the write-back flow push (the carrier shipments file is written by
# writeback/carrier_files.py, kind carrier_file)
KINDS = (*ADAPTERS, "notification")


def targets(settings: Settings) -> tuple[dict[str, ChannelStore], SmtpSettings | None]:
    """The channel stores and the SMTP server of settings (no ``smtp.host``: no customer messages)."""
    return ({s.store_id: s for s in configured_stores(settings)}, settings.smtp if settings.smtp.host else None)


def store_modes(settings: Settings) -> dict[tuple[str, str], str]:
    """(kind, store id) -> ``off`` / ``dry_run``: each store's write-back switches
    (``channel_stores.<id>.writeback``; a kind not named is on)."""
    return {
        (kind, store_id): mode
        for store_id, cfg in settings.channel_stores.items()
        for kind, mode in cfg.writeback.items()
        if mode != "on"
    }


def adapter_factory(
    stores: dict[str, ChannelStore],
    smtp: SmtpSettings | None,
    timeout: float,
    calls_in_flight: int = CALLS_IN_FLIGHT,
    messages: dict[str, StoreMessages] | None = None,
):
    """``make(kind, target, channel)``: the adapter that pushes ``kind`` to ``target`` (None: no way
    to reach it). ``calls_in_flight``: changes the adapters without a batch form push side by side;
    ``messages``: each store's customer-message settings (``store_messages``)."""
    caches: dict[str, dict] = {}  # target -> what its adapters share for this push (``shares_target_cache``)

    def make(kind: str, target: str, channel: str):
        if kind == "notification":
            return EmailNotifications(smtp, messages) if smtp is not None else None
        store = stores.get(target)
        adapter = ADAPTERS.get(kind, {}).get(store.channel) if store is not None else None
        if adapter is None:
            return None
        made = (
            adapter(store, timeout, cache=caches.setdefault(target, {}))
            if getattr(adapter, "shares_target_cache", False)
            else adapter(store, timeout)
        )
        if hasattr(made, "in_flight"):
            made.in_flight = calls_in_flight
        return made

    return make


def push(
    settings: Settings,
    kinds: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    after_call: Callable[[list[Change]], None] | None = None,
    only: str | None = None,
) -> engine.PushReport:
    """Push the ``kinds`` (default: settings) to every target, or ``only`` one store (or ``email``)."""
    kinds = kinds or settings.writeback.kinds
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown write-back kind {', '.join(unknown)}; known: {', '.join(KINDS)}")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    stores, smtp = targets(settings)
    con = warehouse.connect(settings)
    try:
        return engine.push(
            con,
            adapter_factory(
                stores,
                smtp,
                settings.http_timeout_seconds,
                settings.writeback.calls_in_flight,
                store_messages(settings),
            ),
            kinds,
            now,
            disabled=set(settings.writeback.disabled_targets),
            dry_run=dry_run,
            max_attempts=settings.writeback.max_attempts,
            backoff_seconds=settings.writeback.backoff_seconds,
            after_call=after_call,
            only=only,
            parallel_targets=settings.writeback.parallel_targets,
            modes=store_modes(settings),
        )
    finally:
        con.close()


def send_carrier_files(settings: Settings) -> list:
    """The outbound half of the carrier file exchange (kind ``carrier_file``): for every carrier that
    works by file, one shipments file with its newly packed parcels (the answers are ingest's)."""
    from writeback.carrier_files import write_shipments_file

    con = warehouse.connect(settings)
    try:
        return [
            write_shipments_file(con, settings.landing_dir, carrier, fmt)
            for carrier, fmt in settings.carrier_files.items()
        ]
    finally:
        con.close()


def report_lines(report: engine.PushReport) -> list[str]:
    lines = []
    for t in report.targets:
        if t.skipped:
            lines.append(f"{t.kind:<13} {t.target:<12} skipped: {t.skipped}")
            continue
        verb = "would push" if report.dry_run or t.dry_run else "pushed"
        lines.append(
            f"{t.kind:<13} {t.target:<12} {verb} {t.pushed} of {t.desired} desired"
            + (f", {t.failed} to retry" if t.failed else "")
            + (f", {t.dead} dead" if t.dead else "")
            + (f", {t.recovered} confirmed by reading back" if t.recovered else "")
            + (f", {t.unknown} left unknown" if t.unknown else "")
        )
    return lines
