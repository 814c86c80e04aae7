"""Land every enabled source once: the ingest step of the pipeline (call under the writer lock).

``SOURCES`` maps a source kind to the function that lands it; ``ingest_source`` runs one
kind and raises on failure (the orchestrator decides whether to retry); ``ingest_all``
runs every kind and reports a failing one without stopping the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.settings import Settings
from ingest import bad_input, erp
from ingest.carriers import files as carrier_files
from ingest.carriers import tracking_api
from ingest.channels.connector import RAW_COLUMNS as CHANNEL_RAW_COLUMNS
from ingest.channels import catalogue, inventory
from ingest.channels.connector import ChannelStore, ingest_channel_store, raw_tables
from ingest.channels.readers import entities
from ingest.errors import BadSourceData, SourcesFailed, TransientSourceError
from ingest.files import marketplace, spend, wms
from ingest.files.marketplace import MarketplaceStore, ingest_marketplace_store
from ingest.landing import Landed, ensure_raw_table

log = logging.getLogger("afterclick.ingest")


@dataclass
class IngestReport:
    landed: list[Landed] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # source kind -> what went wrong

    @property
    def rows_landed(self) -> int:
        return sum(x.rows_landed for x in self.landed)

    @property
    def rows_quarantined(self) -> int:
        return sum(x.rows_quarantined for x in self.landed)

    def rows_by_table(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for x in self.landed:
            out[x.table] = out.get(x.table, 0) + x.rows_landed
        return out


def marketplace_stores(settings: Settings) -> list[MarketplaceStore]:
    return [MarketplaceStore(store_id, cfg.mapping, settings.landing_dir / "marketplace" / store_id)
            for store_id, cfg in settings.marketplaces.items() if cfg.enabled]


def _only(stores: list, store: str | None, kind: str) -> list:
    """The stores, or just ``store`` (which must be one of them)."""
    if store is None:
        return stores
    chosen = [s for s in stores if s.store_id == store]
    if not chosen:
        known = ", ".join(s.store_id for s in stores) or "none"
        raise ValueError(f"no {kind} store {store!r} is configured (known: {known})")
    return chosen


def ingest_marketplaces(settings: Settings, since: datetime | None = None, store: str | None = None) -> list[Landed]:
    """Every marketplace's new exports (or one ``store``'s); with ``since``, also re-land archived
    exports from then on."""
    landed: list[Landed] = []
    stores = _only(marketplace_stores(settings), store, "marketplace")
    con = warehouse.connect(settings)
    try:
        for store in stores:
            landed += ingest_marketplace_store(con, store, settings.file_min_age_seconds, since=since)
    finally:
        con.close()
    return landed


def _land_each_store(settings: Settings, stores: list[ChannelStore],
                     land: Callable[[duckdb.DuckDBPyConnection, ChannelStore], list[Landed]]) -> list[Landed]:
    """Every store, ``settings.channel_parallel_stores`` side by side (each on its own cursor of one
    connection: DuckDB appends from concurrent transactions, and each store's rows, cursor and load
    log are its own); a store that fails does not stop the others (SourcesFailed names it)."""
    failures: dict[str, BaseException] = {}
    con = warehouse.connect(settings)

    def land_one(store: ChannelStore, cursor: duckdb.DuckDBPyConnection) -> list[Landed]:
        try:
            return land(cursor, store)
        except (TransientSourceError, BadSourceData, PermissionError) as exc:
            log.error("channel store %s skipped: %s: %s", store.store_id, type(exc).__name__, exc)
            failures[store.store_id] = exc
            return []

    try:
        workers = min(settings.channel_parallel_stores, len(stores))
        if workers <= 1:
            landed = [x for store in stores for x in land_one(store, con)]
        else:
            for table, columns in CHANNEL_TABLES.items():  # created up front: two stores creating one
                ensure_raw_table(con, table, columns)     # table at once would conflict
            cursors = [con.cursor() for _ in stores]
            try:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="land") as pool:
                    futures = [pool.submit(land_one, store, cursor) for store, cursor in zip(stores, cursors)]
                    landed = [x for f in futures for x in f.result()]  # re-raises what stopped a store
            finally:
                for cursor in cursors:
                    cursor.close()
    finally:
        con.close()
    if failures:
        raise SourcesFailed(failures)
    return landed


@contextmanager
def channel_stores(settings: Settings, store: str | None = None, keep_demo_state: bool = False
                   ) -> Iterator[list[ChannelStore]]:
    """The configured channel stores (or just ``store``); on the embedded default, the demo world's
    stores served by the local emulators (``keep_demo_state``: showing the stock, prices and
    fulfillments the write-back set)."""
    stores = [ChannelStore(store_id, cfg.channel, cfg.base_url, cfg.credentials, cfg.rate,
                           {"feed": cfg.vtex_feed, "relist_days": cfg.vtex_relist_days} if cfg.channel == "vtex" else {})
              for store_id, cfg in settings.channel_stores.items() if cfg.enabled]
    if stores or not settings.demo_channels or not demo_world_exists(settings):
        yield _only(stores, store, "channel")
        return
    from afterclick.demo.catalog import STORE_BY_ID
    from afterclick.demo.emulators.server import demo_clock, demo_shopify_bucket, serve_channels
    from afterclick.demo.generate import load_truth

    kept = {"inventory_dir": settings.demo_dir / "channels"} if keep_demo_state else {}
    world = load_truth(settings)
    with serve_channels(world, clock=demo_clock(settings.as_of, world.end),
                        shopify_bucket=demo_shopify_bucket(settings.demo_rate_limits), **kept) as endpoints:
        demo = [ChannelStore(store_id, STORE_BY_ID[store_id].channel, url,
                             {k: SecretStr(v) for k, v in state.credentials.items()})
                for store_id, (url, state) in endpoints.items()]
        yield _only(demo, store, "channel")


def ingest_channel_apis(settings: Settings, since: datetime | None = None, store: str | None = None) -> list[Landed]:
    """Every channel store's orders, customers and credit memos changed since their cursors (or since
    ``since``), or one ``store``'s."""
    lookback = timedelta(minutes=settings.channel_lookback_minutes)
    with channel_stores(settings, store, keep_demo_state=True) as stores:
        return _land_each_store(settings, stores, lambda con, s: ingest_channel_store(
            con, s, lookback, settings.http_timeout_seconds, since))


def ingest_channel_fulfillments(settings: Settings, store: str | None = None) -> list[Landed]:
    """What the channels show of the shipments the write-back created (Magento shipments with their
    tracks), changed since each store's cursor; Shopify and VTEX show theirs inside the orders."""
    lookback = timedelta(minutes=settings.channel_lookback_minutes)
    with channel_stores(settings, store, keep_demo_state=True) as stores:
        return _land_each_store(settings, stores, lambda con, s: [
            landed for entity in entities(s.channel, read_backs=True)
            for landed in ingest_channel_store(con, s, lookback, settings.http_timeout_seconds, only=entity)])


def ingest_channel_catalogue(settings: Settings, store: str | None = None) -> list[Landed]:
    """What every channel store (or one ``store``) lists (products / variants) and where it keeps
    stock (locations), where it changed since the last sweep."""
    with channel_stores(settings, store, keep_demo_state=True) as stores:
        return _land_each_store(settings, stores, lambda con, s: catalogue.sweep_store(
            con, s, settings.http_timeout_seconds))


def ingest_channel_inventory(settings: Settings, store: str | None = None) -> list[Landed]:
    """What every channel store (or one ``store``) shows as sellable per SKU and location, where it changed."""
    def land(con: duckdb.DuckDBPyConnection, s: ChannelStore) -> list[Landed]:
        skus = wms.known_skus(con) if s.channel == "vtex" else None  # VTEX is asked SKU by SKU
        return [inventory.ingest_channel_inventory(con, s, settings.http_timeout_seconds, skus)]

    with channel_stores(settings, store, keep_demo_state=True) as stores:
        return _land_each_store(settings, stores, land)


def demo_world_exists(settings: Settings) -> bool:
    """A demo world has been generated in this state dir (its stores are served when none are configured)."""
    return (settings.demo_dir / "world.json").exists()


def ingest_erp(settings: Settings) -> list[Landed]:
    """The ERP database in settings; on the embedded default, the demo world's SQLite ERP."""
    url = settings.erp.url
    if url is None:
        path = settings.demo_dir / "erp.sqlite"
        if not path.exists():
            return []
        url = SecretStr(f"sqlite:///{path}")
    con = warehouse.connect(settings)
    try:
        return erp.ingest_erp(con, url, settings.erp.tables, settings.erp.chunk_rows)
    finally:
        con.close()


def ingest_wms(settings: Settings) -> list[Landed]:
    con = warehouse.connect(settings)
    try:
        return [x for wh in settings.warehouses
                for x in wms.ingest_warehouse(con, settings.landing_dir, wh, settings.file_min_age_seconds)]
    finally:
        con.close()


def exchange_carrier_files(settings: Settings) -> list[Landed]:
    """Per file-exchange carrier: write the shipments file of newly packed parcels, (demo) let the
    label tool answer, then land the labels and status files the carrier dropped."""
    from writeback.carrier_files import write_shipments_file

    world = None
    if settings.demo_label_tool and settings.carrier_files and demo_world_exists(settings):
        from afterclick.demo.generate import load_truth
        world = load_truth(settings)  # read once, for every carrier's label tool
    landed: list[Landed] = []
    con = warehouse.connect(settings)
    try:
        ensure_raw_table(con, "raw.wms__fulfilment_events", wms.RAW_TABLES["raw.wms__fulfilment_events"])
        for carrier, fmt in settings.carrier_files.items():
            write_shipments_file(con, settings.landing_dir, carrier, fmt)
            if world is not None:
                from afterclick.demo.label_tool import run_label_tool
                run_label_tool(world, carrier_files.carrier_dir(settings.landing_dir, carrier), fmt, world.end)
            landed += carrier_files.ingest_carrier_files(con, settings.landing_dir, carrier, fmt,
                                                         settings.file_min_age_seconds)
    finally:
        con.close()
    return landed


def poll_tracking(settings: Settings) -> list[Landed]:
    """Every parcel in transit with a carrier not followed by file; on the embedded default, through
    the demo world's tracking emulator."""
    cfg = settings.tracking_api
    file_carriers = tuple(settings.carrier_files)

    def poll(url: str, token: SecretStr) -> list[Landed]:
        con = warehouse.connect(settings)
        try:
            return tracking_api.poll_tracking(con, url, token, file_carriers=file_carriers, batch_size=cfg.batch_size,
                                              max_age_days=cfg.max_age_days, timeout=settings.http_timeout_seconds,
                                              now=now)
        finally:
            con.close()

    if cfg.url:
        now = None
        return poll(cfg.url, cfg.token or SecretStr(""))
    if not demo_world_exists(settings):
        return []
    from afterclick.demo.emulators.tracking import DEMO_TRACKING_TOKEN, serve_tracking
    from afterclick.demo.generate import load_truth

    world = load_truth(settings)
    now = world.end
    with serve_tracking(world) as (url, _state):
        return poll(url, SecretStr(DEMO_TRACKING_TOKEN))


def ingest_spend(settings: Settings) -> list[Landed]:
    con = warehouse.connect(settings)
    try:
        return spend.ingest_spend(con, settings.landing_dir, settings.file_min_age_seconds)
    finally:
        con.close()


SourceLander = Callable[..., list[Landed]]
# In this order: the ERP's catalogue before the stores' (VTEX's inventory is asked about it), the
# channel stores' kinds together (the demo serves its stores once for them all), the carrier file
# exchange after the WMS (it reads the packed parcels), tracking after both (the shipped ones).
SOURCES: dict[str, SourceLander] = {
    "erp": ingest_erp,
    "marketplace": ingest_marketplaces,
    "channels": ingest_channel_apis,
    "channel_catalogue": ingest_channel_catalogue,
    "channel_inventory": ingest_channel_inventory,  # after the ERP: VTEX is asked about its catalogue
    "channel_fulfillments": ingest_channel_fulfillments,
    "wms": ingest_wms,
    "carrier_files": exchange_carrier_files,
    "tracking": poll_tracking,
    "marketing": ingest_spend,
}
# The source kinds made of stores (an ingest can land just one of them), and those that can re-land a
# window (a backfill); the others re-read what their own state says is new.
STORE_SOURCES = ("channels", "marketplace", "channel_catalogue", "channel_inventory", "channel_fulfillments")
BACKFILL_SOURCES = ("channels", "marketplace")
# Which schedule (settings.schedules.<group>) lands each source kind.
SOURCE_GROUP: dict[str, str] = {
    "channels": "channels",
    "marketplace": "channels",
    "erp": "back_office",
    "channel_catalogue": "inventory",
    "channel_inventory": "inventory",
    "channel_fulfillments": "inventory",
    "wms": "back_office",
    "carrier_files": "back_office",
    "tracking": "tracking",
    "marketing": "back_office",
}


# The raw tables the channel stores' APIs land in, with their declared columns.
CHANNEL_TABLES: dict[str, dict[str, str]] = {
    **{table: CHANNEL_RAW_COLUMNS for table in raw_tables()},
    **{table: CHANNEL_RAW_COLUMNS for table in catalogue.tables()},
    inventory.TABLE: inventory.COLUMNS,
}
# Every raw table a connector lands, with its declared columns: created empty before the first
# build so staging can read a source that has not sent anything yet.
RAW_TABLES: dict[str, dict[str, str]] = {
    f"raw.{marketplace.SOURCE}__{marketplace.ENTITY}": marketplace.RAW_COLUMNS,
    **CHANNEL_TABLES,
    **erp.RAW_TABLES, **wms.RAW_TABLES, **carrier_files.RAW_TABLES, **tracking_api.RAW_TABLES, **spend.RAW_TABLES,
}


def ensure_raw_tables(settings: Settings) -> None:
    con = warehouse.connect(settings)
    try:
        for table, columns in RAW_TABLES.items():
            ensure_raw_table(con, table, columns)
    finally:
        con.close()


def enabled_sources(settings: Settings) -> list[str]:
    return [kind for kind in SOURCES if kind not in settings.disabled_sources]


def ingest_source(settings: Settings, kind: str, since: datetime | None = None,
                  store: str | None = None) -> list[Landed]:
    """Land one source kind (``store``: one of its stores, for the kinds that have stores); raises
    what the connector raised."""
    if kind not in SOURCES:
        raise KeyError(f"unknown source {kind!r}; known: {', '.join(SOURCES)}")
    if store is not None and kind not in STORE_SOURCES:
        raise ValueError(f"source {kind!r} has no stores to choose from (those that do: {', '.join(STORE_SOURCES)})")
    if since is not None and kind not in BACKFILL_SOURCES:
        raise ValueError(f"source {kind!r} cannot re-land a window (those that can: {', '.join(BACKFILL_SOURCES)})")
    options = {**({"since": since} if since else {}), **({"store": store} if store else {})}
    with bad_input.rules_of(settings):  # the settings' limits on future times and bad files
        return SOURCES[kind](settings, **options)


def ingest_all(settings: Settings) -> IngestReport:
    """Every enabled source; one failing source is reported and the others still land."""
    report = IngestReport()
    for kind in enabled_sources(settings):
        try:
            report.landed += ingest_source(settings, kind)
        except Exception as exc:  # noqa: BLE001 - reported per source, the run goes on
            report.errors[kind] = f"{type(exc).__name__}: {exc}"
    return report
