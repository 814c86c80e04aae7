"""Land every enabled source once: the ingest step of the pipeline (call under the writer lock).

``SOURCES`` maps a source kind to the function that lands it; ``ingest_source`` runs one
kind and raises on failure (the orchestrator decides whether to retry); ``ingest_all``
runs every kind and reports a failing one without stopping the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.channels.store import ChannelStore, configured_stores, only
from afterclick.errors import BadSourceData, ChannelRefused, SourcesFailed, TransientSourceError
from afterclick.settings import SOURCE_KINDS, Settings
from ingest import bad_input, erp
from ingest.carriers import files as carrier_files
from ingest.carriers import tracking_api
from ingest.channels import catalogue, inventory
from ingest.channels.connector import RAW_COLUMNS as CHANNEL_RAW_COLUMNS
from ingest.channels.connector import entities, ingest_channel_store, raw_tables
from ingest.channels.contract import channel_reading
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
    return [
        MarketplaceStore(store_id, cfg.export, settings.landing_dir / "marketplace" / store_id)
        for store_id, cfg in settings.marketplaces.items()
        if cfg.enabled
    ]


def ingest_marketplaces(settings: Settings, since: datetime | None = None, store: str | None = None) -> list[Landed]:
    """Every marketplace's new exports (or one ``store``'s); with ``since``, also re-land archived
    exports from then on."""
    landed: list[Landed] = []
    stores = only(marketplace_stores(settings), store, "marketplace")
    con = warehouse.connect(settings)
    try:
        for marketplace in stores:
            landed += ingest_marketplace_store(con, marketplace, settings.file_min_age_seconds, since=since)
    finally:
        con.close()
    return landed


def _land_each_store(
    settings: Settings,
    stores: list[ChannelStore],
    land: Callable[[duckdb.DuckDBPyConnection, ChannelStore], list[Landed]],
) -> list[Landed]:
    """Every store, ``settings.channel_parallel_stores`` side by side (each on its own cursor of one
    connection: DuckDB appends from concurrent transactions, and each store's rows, cursor and load
    log are its own); a store that fails does not stop the others (SourcesFailed names it)."""
    failures: dict[str, BaseException] = {}
    con = warehouse.connect(settings)

    def land_one(store: ChannelStore, cursor: duckdb.DuckDBPyConnection) -> list[Landed]:
        try:
            return land(cursor, store)
        except (TransientSourceError, BadSourceData, ChannelRefused) as exc:
            log.error("channel store %s skipped: %s: %s", store.store_id, type(exc).__name__, exc)
            failures[store.store_id] = exc
            return []

    try:
        workers = min(settings.channel_parallel_stores, len(stores))
        if workers <= 1:
            landed = [x for store in stores for x in land_one(store, con)]
        else:
            for table, columns in CHANNEL_TABLES.items():  # created up front: two stores creating one
                ensure_raw_table(con, table, columns)  # table at once would conflict
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


def ingest_channel_apis(settings: Settings, since: datetime | None = None, store: str | None = None) -> list[Landed]:
    """Every channel store's orders, customers and credit memos changed since their cursors (or since
    ``since``), or one ``store``'s."""
    lookback = timedelta(minutes=settings.channel_lookback_minutes)
    return _land_each_store(
        settings,
        configured_stores(settings, store),
        lambda con, s: ingest_channel_store(con, s, lookback, settings.http_timeout_seconds, since),
    )


def ingest_channel_fulfillments(settings: Settings, store: str | None = None) -> list[Landed]:
    """What the channels show of the shipments the write-back created (Magento shipments with their
    tracks), changed since each store's cursor; Shopify and VTEX show theirs inside the orders."""
    lookback = timedelta(minutes=settings.channel_lookback_minutes)
    return _land_each_store(
        settings,
        configured_stores(settings, store),
        lambda con, s: [
            landed
            for entity in entities(s.channel, read_backs=True)
            for landed in ingest_channel_store(con, s, lookback, settings.http_timeout_seconds, only=entity)
        ],
    )


def ingest_channel_catalogue(settings: Settings, store: str | None = None) -> list[Landed]:
    """What every channel store (or one ``store``) lists (products / variants) and where it keeps
    stock (locations), where it changed since the last sweep."""
    return _land_each_store(
        settings,
        configured_stores(settings, store),
        lambda con, s: catalogue.sweep_store(con, s, settings.http_timeout_seconds),
    )


def ingest_channel_inventory(settings: Settings, store: str | None = None) -> list[Landed]:
    """What every channel store (or one ``store``) shows as sellable per SKU and location, where it changed."""

    def land(con: duckdb.DuckDBPyConnection, s: ChannelStore) -> list[Landed]:
        skus = wms.known_skus(con) if channel_reading(s.channel).stock_needs_skus else None  # asked SKU by SKU
        return [inventory.ingest_channel_inventory(con, s, settings.http_timeout_seconds, skus)]

    return _land_each_store(settings, configured_stores(settings, store), land)


def ingest_erp(settings: Settings) -> list[Landed]:
    """The ERP database of settings (``erp.url``); none configured: nothing to land."""
    if settings.erp.url is None:
        return []
    con = warehouse.connect(settings)
    try:
        return erp.ingest_erp(con, settings.erp.url, settings.erp.tables, settings.erp.chunk_rows)
    finally:
        con.close()


def ingest_wms(settings: Settings) -> list[Landed]:
    con = warehouse.connect(settings)
    try:
        return [
            x
            for wh in settings.warehouses
            for x in wms.ingest_warehouse(con, settings.landing_dir, wh, settings.file_min_age_seconds)
        ]
    finally:
        con.close()


def ingest_carrier_files(settings: Settings) -> list[Landed]:
    """Per file-exchange carrier, the labels and status files it dropped in its inbox (the shipments
    files it answers are written by the write-back, writeback/carrier_files.py)."""
    landed: list[Landed] = []
    con = warehouse.connect(settings)
    try:
        for carrier, fmt in settings.carrier_files.items():
            landed += carrier_files.ingest_carrier_files(
                con, settings.landing_dir, carrier, fmt, settings.file_min_age_seconds
            )
    finally:
        con.close()
    return landed


def poll_tracking(settings: Settings) -> list[Landed]:
    """Every parcel in transit with a carrier not followed by file, through the tracking API of
    settings (``tracking_api.url``; none: nothing to poll). Parcels count as recent against
    ``as_of`` when it is set (a replay), against now otherwise."""
    cfg = settings.tracking_api
    if not cfg.url:
        return []
    con = warehouse.connect(settings)
    try:
        return tracking_api.poll_tracking(
            con,
            cfg.url,
            cfg.token or SecretStr(""),
            file_carriers=tuple(settings.carrier_files),
            batch_size=cfg.batch_size,
            max_age_days=cfg.max_age_days,
            timeout=settings.http_timeout_seconds,
            now=_as_of(settings),
        )
    finally:
        con.close()


def _as_of(settings: Settings) -> datetime | None:
    """``settings.as_of`` as naive UTC (None: now)."""
    as_of = settings.as_of
    if as_of is not None and as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return as_of


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
    "carrier_files": ingest_carrier_files,
    "tracking": poll_tracking,
    "marketing": ingest_spend,
}
assert tuple(SOURCES) == SOURCE_KINDS, "settings.SOURCE_KINDS lists the kinds SOURCES lands, in its order"
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
    **erp.RAW_TABLES,
    **wms.RAW_TABLES,
    **carrier_files.RAW_TABLES,
    **tracking_api.RAW_TABLES,
    **spend.RAW_TABLES,
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


def ingest_source(
    settings: Settings, kind: str, since: datetime | None = None, store: str | None = None
) -> list[Landed]:
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
