"""Land every enabled source once: the ingest step of the pipeline (call under the writer lock)."""

from __future__ import annotations

from dataclasses import dataclass, field

from afterclick import warehouse
from afterclick.settings import Settings
from ingest.files.marketplace import MarketplaceStore, ingest_marketplace_store
from ingest.landing import Landed


@dataclass
class IngestReport:
    landed: list[Landed] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # "source/store" -> what went wrong

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


def ingest_marketplaces(settings: Settings) -> IngestReport:
    report = IngestReport()
    con = warehouse.connect(settings)
    try:
        for store in marketplace_stores(settings):
            report.landed += ingest_marketplace_store(con, store, settings.file_min_age_seconds)
    finally:
        con.close()
    return report


def ingest_all(settings: Settings) -> IngestReport:
    """Every enabled source; one failing source is reported and the others still land."""
    report = IngestReport()
    for name, step in (("marketplace", ingest_marketplaces),):
        try:
            part = step(settings)
        except Exception as exc:  # noqa: BLE001 - reported per source, the run goes on
            report.errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        report.landed += part.landed
        report.errors.update(part.errors)
    return report
