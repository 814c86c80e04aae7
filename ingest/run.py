"""Land every enabled source once: the ingest step of the pipeline (call under the writer lock).

``SOURCES`` maps a source kind to the function that lands it; ``ingest_source`` runs one
kind and raises on failure (the orchestrator decides whether to retry); ``ingest_all``
runs every kind and reports a failing one without stopping the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import SecretStr

from afterclick import warehouse
from afterclick.settings import Settings
from ingest.channels.connector import RAW_COLUMNS as CHANNEL_RAW_COLUMNS
from ingest.channels.connector import ChannelStore, ingest_channel_store, raw_table
from ingest.files import marketplace
from ingest.files.marketplace import MarketplaceStore, ingest_marketplace_store
from ingest.landing import Landed, ensure_raw_table


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


def ingest_marketplaces(settings: Settings, since: datetime | None = None) -> list[Landed]:
    """Every marketplace's new exports; with ``since``, also re-land archived exports from then on."""
    landed: list[Landed] = []
    con = warehouse.connect(settings)
    try:
        for store in marketplace_stores(settings):
            landed += ingest_marketplace_store(con, store, settings.file_min_age_seconds, since=since)
    finally:
        con.close()
    return landed


def _land_channel_stores(settings: Settings, stores: list[ChannelStore]) -> list[Landed]:
    landed: list[Landed] = []
    lookback = timedelta(minutes=settings.channel_lookback_minutes)
    con = warehouse.connect(settings)
    try:
        for store in stores:
            landed += ingest_channel_store(con, store, lookback, settings.http_timeout_seconds)
    finally:
        con.close()
    return landed


def ingest_channel_apis(settings: Settings) -> list[Landed]:
    """Every configured channel store's orders; on the embedded default, the demo world's stores
    served by the local emulators."""
    stores = [ChannelStore(store_id, cfg.channel, cfg.base_url, cfg.credentials)
              for store_id, cfg in settings.channel_stores.items() if cfg.enabled]
    if stores or not settings.demo_channels or not (settings.demo_dir / "world.json").exists():
        return _land_channel_stores(settings, stores)
    from afterclick.demo.catalog import STORE_BY_ID
    from afterclick.demo.emulators.server import serve_channels
    from afterclick.demo.generate import load_truth

    with serve_channels(load_truth(settings)) as endpoints:
        demo = [ChannelStore(store_id, STORE_BY_ID[store_id].channel, url,
                             {k: SecretStr(v) for k, v in state.credentials.items()})
                for store_id, (url, state) in endpoints.items()]
        return _land_channel_stores(settings, demo)


SourceLander = Callable[..., list[Landed]]
SOURCES: dict[str, SourceLander] = {
    "channels": ingest_channel_apis,
    "marketplace": ingest_marketplaces,
}
# Which schedule (settings.schedules.<group>) lands each source kind.
SOURCE_GROUP: dict[str, str] = {
    "channels": "channels",
    "marketplace": "channels",
}


# Every raw table a connector lands, with its declared columns: created empty before the first
# build so staging can read a source that has not sent anything yet.
RAW_TABLES: dict[str, dict[str, str]] = {
    f"raw.{marketplace.SOURCE}__{marketplace.ENTITY}": marketplace.RAW_COLUMNS,
    **{raw_table(channel): CHANNEL_RAW_COLUMNS for channel in ("shopify", "vtex", "magento", "woocommerce")},
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


def ingest_source(settings: Settings, kind: str, since: datetime | None = None) -> list[Landed]:
    """Land one source kind; raises what the connector raised."""
    if kind not in SOURCES:
        raise KeyError(f"unknown source {kind!r}; known: {', '.join(SOURCES)}")
    return SOURCES[kind](settings, since=since) if since else SOURCES[kind](settings)


def ingest_all(settings: Settings) -> IngestReport:
    """Every enabled source; one failing source is reported and the others still land."""
    report = IngestReport()
    for kind in enabled_sources(settings):
        try:
            report.landed += ingest_source(settings, kind)
        except Exception as exc:  # noqa: BLE001 - reported per source, the run goes on
            report.errors[kind] = f"{type(exc).__name__}: {exc}"
    return report
