"""``afterclick push``: the write-back with its targets resolved from settings.

Channel stores come from ``channel_stores`` in settings; on the embedded default (none configured
and a demo world generated), from the demo world's channel emulators, which keep what they are
sent in ``<demo>/channels/``. Customer messages go to ``smtp.host``; on the demo world, with none
configured, to a local SMTP server delivering into ``<demo>/mailbox`` (a Maildir).
Call under the writer lock (the pipeline and the CLI do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

from afterclick import warehouse
from afterclick.settings import Settings, SmtpSettings
from ingest.channels.connector import ChannelStore
from ingest.run import channel_stores, demo_world_exists
from writeback import engine
from writeback.adapters.base import CALLS_IN_FLIGHT
from writeback.adapters.email import EmailNotifications
from writeback.adapters.rest_orders import (MagentoStatus, MagentoTracking, VtexStatus, VtexTracking,
                                            WooCommerceStatus, WooCommerceTracking)
from writeback.adapters.rest_prices import MagentoPrices, VtexPrices, WooCommercePrices
from writeback.adapters.rest_stock import MagentoStock, VtexSkus, VtexStock, WooCommerceStock
from writeback.adapters.shopify import ShopifyStock
from writeback.adapters.shopify_orders import ShopifyPrices, ShopifyStatus, ShopifyTracking
from writeback.ledger import Change

# kind -> channel -> adapter class
ADAPTERS = {
    "stock": {"shopify": ShopifyStock, "vtex": VtexStock, "magento": MagentoStock, "woocommerce": WooCommerceStock},
    "prices": {"shopify": ShopifyPrices, "vtex": VtexPrices, "magento": MagentoPrices, "woocommerce": WooCommercePrices},
    "tracking": {"shopify": ShopifyTracking, "vtex": VtexTracking, "magento": MagentoTracking,
                 "woocommerce": WooCommerceTracking},
    "status": {"shopify": ShopifyStatus, "vtex": VtexStatus, "magento": MagentoStatus, "woocommerce": WooCommerceStatus},
}

# what `afterclick push` and the write-back flow push (the carrier shipments file is written by
# writeback/carrier_files.py, kind carrier_file)
KINDS = (*ADAPTERS, "notification")


@contextmanager
def targets(settings: Settings) -> Iterator[tuple[dict[str, ChannelStore], SmtpSettings | None]]:
    """The channel stores and the SMTP server write-back talks to, here and now."""
    demo = demo_world_exists(settings)
    with ExitStack() as stack:
        stores = {s.store_id: s for s in stack.enter_context(channel_stores(settings, keep_demo_state=True))}
        smtp = settings.smtp if settings.smtp.host else None
        if smtp is None and settings.writeback.demo_mailbox and demo:
            from afterclick.demo.mailbox import serve_mailbox
            host, port = stack.enter_context(serve_mailbox(settings.demo_dir / "mailbox"))
            smtp = settings.smtp.model_copy(update={"host": host, "port": port})
        yield stores, smtp


def adapter_factory(stores: dict[str, ChannelStore], smtp: SmtpSettings | None, timeout: float,
                    calls_in_flight: int = CALLS_IN_FLIGHT):
    """``make(kind, target, channel)``: the adapter that pushes ``kind`` to ``target`` (None: no way
    to reach it). ``calls_in_flight``: changes the adapters without a batch form push side by side."""
    vtex_sku_ids: dict[str, dict] = {}  # store -> SKU -> VTEX SKU id, for this push's adapters

    def make(kind: str, target: str, channel: str):
        if kind == "notification":
            return EmailNotifications(smtp) if smtp is not None else None
        store = stores.get(target)
        adapter = ADAPTERS.get(kind, {}).get(store.channel) if store is not None else None
        if adapter is None:
            return None
        made = (adapter(store, timeout, sku_ids=vtex_sku_ids.setdefault(target, {})) if issubclass(adapter, VtexSkus)
                else adapter(store, timeout))
        if hasattr(made, "in_flight"):
            made.in_flight = calls_in_flight
        return made
    return make


def push(settings: Settings, kinds: list[str] | None = None, dry_run: bool = False, now: datetime | None = None,
         after_call: Callable[[list[Change]], None] | None = None, only: str | None = None) -> engine.PushReport:
    """Push the ``kinds`` (default: settings) to every target, or ``only`` one store (or ``email``)."""
    kinds = kinds or settings.writeback.kinds
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown write-back kind {', '.join(unknown)}; known: {', '.join(KINDS)}")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    with targets(settings) as (stores, smtp):
        con = warehouse.connect(settings)
        try:
            return engine.push(con, adapter_factory(stores, smtp, settings.http_timeout_seconds,
                                                    settings.writeback.calls_in_flight), kinds, now,
                               disabled=set(settings.writeback.disabled_targets), dry_run=dry_run,
                               max_attempts=settings.writeback.max_attempts,
                               backoff_seconds=settings.writeback.backoff_seconds, after_call=after_call,
                               only=only, parallel_targets=settings.writeback.parallel_targets)
        finally:
            con.close()


def send_carrier_files(settings: Settings) -> list:
    """The outbound half of the carrier file exchange (kind ``carrier_file``): for every carrier that
    works by file, one shipments file with its newly packed parcels (the answers are ingest's)."""
    from ingest.files.wms import RAW_TABLES
    from ingest.landing import ensure_raw_table
    from writeback.carrier_files import write_shipments_file

    con = warehouse.connect(settings)
    try:
        ensure_raw_table(con, "raw.wms__fulfilment_events", RAW_TABLES["raw.wms__fulfilment_events"])
        return [write_shipments_file(con, settings.landing_dir, carrier, fmt)
                for carrier, fmt in settings.carrier_files.items()]
    finally:
        con.close()


def report_lines(report: engine.PushReport) -> list[str]:
    lines = []
    for t in report.targets:
        if t.skipped:
            lines.append(f"{t.kind:<13} {t.target:<12} skipped: {t.skipped}")
            continue
        verb = "would push" if report.dry_run else "pushed"
        lines.append(f"{t.kind:<13} {t.target:<12} {verb} {t.pushed} of {t.desired} desired"
                     + (f", {t.failed} to retry" if t.failed else "") + (f", {t.dead} dead" if t.dead else "")
                     + (f", {t.recovered} confirmed by reading back" if t.recovered else "")
                     + (f", {t.unknown} left unknown" if t.unknown else ""))
    return lines
