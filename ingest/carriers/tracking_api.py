"""Poll a multi-carrier tracking API (17TRACK-style) for every parcel in transit.

Active parcels are those the warehouse confirmed as shipped (``raw.wms__fulfilment_events``)
with a carrier not followed through files, that have not reached a final status at the service
(Delivered, Returned, Expired). A parcel that shipped more than ``max_age_days`` ago is polled
once more and, if still not final, recorded as Expired and no longer polled (so a backfill of
old history is still tracked once). They are asked in batches of at most ``batch_size``
through the shared HTTP client (timeouts, bounded retries, Retry-After on 429).

Lands ``raw.tracking_api__events`` (one row per event; the service returns the whole history
on each poll, and events already landed are skipped by key) and ``raw.tracking_api__trackings``
(the latest status seen per number). An event that cannot be parsed is quarantined; a number
the service has no information on yet is simply asked again next time. Answers land together,
up to ``GROUP_ROWS`` events per transaction (and what was read lands before an error goes on).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
from pydantic import SecretStr

from afterclick.channels.http import ChannelClient
from afterclick.errors import BadSourceData
from ingest.files import wms
from ingest.landing import GROUP_ROWS, Batch, Landed, Rejected, ensure_raw_table, land_batch

SOURCE = "tracking_api"
PATH = "/track/v2.2/gettrackinfo"
FINAL_STATUSES = ("Delivered", "Returned", "Expired")
log = logging.getLogger("afterclick.ingest.tracking_api")

EVENT_COLUMNS = {
    "tracking_number": "varchar",
    "carrier": "varchar",
    "occurred_at": "timestamp",
    "raw_status": "varchar",
    "stage": "varchar",
    "sub_status": "varchar",
    "message": "varchar",
    "location": "varchar",
}
TRACKING_COLUMNS = {
    "tracking_number": "varchar",
    "carrier": "varchar",
    "latest_status": "varchar",
    "latest_sub_status": "varchar",
    "polled_at": "timestamp",
}
RAW_TABLES = {f"raw.{SOURCE}__events": EVENT_COLUMNS, f"raw.{SOURCE}__trackings": TRACKING_COLUMNS}
WMS_EVENTS = wms.RAW_TABLES["raw.wms__fulfilment_events"]  # where shipped parcels are read from

ACTIVE_SQL = """
with shipped as (
    select tracking_number, any_value(carrier) as carrier, min(occurred_at) as shipped_at
    from raw.wms__fulfilment_events
    where stage = 'shipped' and tracking_number is not null and not list_contains(?, carrier)
    group by tracking_number
),
final as (  -- a final status is terminal, so any final row settles the number (no tie on polled_at)
    select distinct tracking_number from raw.tracking_api__trackings where list_contains(?, latest_status)
)
select s.tracking_number, s.carrier, s.shipped_at < ? as is_old
from shipped as s anti join final as f using (tracking_number)
order by s.tracking_number
"""


def active_parcels(
    con: duckdb.DuckDBPyConnection, file_carriers: tuple[str, ...], older_than: datetime
) -> list[tuple[str, str, bool]]:
    """Parcels to poll: (tracking number, carrier, shipped before ``older_than``)."""
    params = [list(file_carriers), list(FINAL_STATUSES), older_than]
    return [tuple(r) for r in con.execute(ACTIVE_SQL, params).fetchall()]


def _parse(accepted: list[dict], polled_at: datetime) -> tuple[list[dict], list[dict], list[Rejected]]:
    events, trackings, rejected = [], [], []
    for item in accepted:
        number, info = item.get("number"), item.get("track_info") or {}
        latest = info.get("latest_status") or {}
        for provider in (info.get("tracking") or {}).get("providers") or []:
            carrier = (provider.get("provider") or {}).get("name") or item.get("carrier")
            for e in provider.get("events") or []:
                try:
                    at = datetime.fromisoformat(e["time_utc"].replace("Z", "+00:00"))
                    at = (at.astimezone(UTC) if at.tzinfo else at).replace(tzinfo=None)
                    raw = e.get("raw_status") or e.get("description")
                    if not raw:
                        raise ValueError("no status")
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    rejected.append(
                        Rejected(
                            payload={"number": number, "event": e},
                            key=number,
                            reason=f"tracking event of {number}: unusable ({type(exc).__name__}: {exc})",
                        )
                    )
                    continue
                events.append(
                    {
                        "tracking_number": number,
                        "carrier": carrier,
                        "occurred_at": at,
                        "raw_status": raw,
                        "stage": e.get("stage"),
                        "sub_status": e.get("sub_status"),
                        "message": e.get("description"),
                        "location": e.get("location"),
                    }
                )
        trackings.append(
            {
                "tracking_number": number,
                "carrier": item.get("carrier"),
                "latest_status": latest.get("status"),
                "latest_sub_status": latest.get("sub_status"),
                "polled_at": polled_at,
            }
        )
    return events, trackings, rejected


def _frame(rows: list[dict], columns: dict[str, str]) -> pl.DataFrame:
    schema = {c: pl.Datetime("us") if t == "timestamp" else pl.Utf8 for c, t in columns.items()}
    return pl.DataFrame(rows, schema=schema)


def poll_tracking(
    con: duckdb.DuckDBPyConnection,
    base_url: str,
    token: SecretStr,
    *,
    file_carriers: tuple[str, ...] = ("correos",),
    batch_size: int = 40,
    max_age_days: int = 60,
    timeout: float = 30.0,
    now: datetime | None = None,
) -> list[Landed]:
    """Poll every active parcel once; returns one Landed per table and batch."""
    for table, columns in {**RAW_TABLES, "raw.wms__fulfilment_events": WMS_EVENTS}.items():
        ensure_raw_table(con, table, columns)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    active = active_parcels(con, file_carriers, now - timedelta(days=max_age_days))
    landed: list[Landed] = []
    final: set[str] = set()
    client = ChannelClient("tracking-api", base_url, headers={"17token": token.get_secret_value()}, timeout=timeout)
    events: list[dict] = []
    trackings: list[dict] = []
    rejected: list[Rejected] = []

    def land_answers() -> None:  # the answers read so far, both tables (no cursor: a re-poll re-reads)
        landed.append(
            land_batch(
                con,
                Batch(
                    SOURCE,
                    "events",
                    "",
                    _frame(events, EVENT_COLUMNS),
                    key=("tracking_number", "occurred_at", "raw_status"),
                    rejected=list(rejected),
                ),
            )
        )
        landed.append(
            land_batch(
                con,
                Batch(
                    SOURCE,
                    "trackings",
                    "",
                    _frame(trackings, TRACKING_COLUMNS),
                    key=("tracking_number", "latest_status"),
                ),
            )
        )
        events.clear()
        trackings.clear()
        rejected.clear()

    try:
        for start in range(0, len(active), batch_size):
            chunk = active[start : start + batch_size]
            _, body = client.request("POST", PATH, json=[{"number": n, "carrier": c} for n, c, _ in chunk])
            if not isinstance(body, dict) or body.get("code") != 0:
                raise BadSourceData(f"tracking-api: unexpected answer to a batch of {len(chunk)} numbers")
            got_events, got_trackings, got_rejected = _parse((body.get("data") or {}).get("accepted") or [], now)
            final |= {t["tracking_number"] for t in got_trackings if t["latest_status"] in FINAL_STATUSES}
            events.extend(got_events)
            trackings.extend(got_trackings)
            rejected.extend(got_rejected)
            if len(events) >= GROUP_ROWS:
                land_answers()
    finally:
        client.close()
        if trackings or rejected:
            land_answers()
    expired = [(n, c) for n, c, old in active if old and n not in final]
    if expired:  # polled once more and still not final, too long after shipping: stop following them
        landed.append(
            land_batch(
                con,
                Batch(
                    SOURCE,
                    "trackings",
                    "",
                    _frame(
                        [
                            {"tracking_number": n, "carrier": c, "latest_status": "Expired", "polled_at": now}
                            for n, c in expired
                        ],
                        TRACKING_COLUMNS,
                    ),
                    key=("tracking_number", "latest_status"),
                ),
            )
        )
    log.info("tracking-api: polled %d parcels (%d expired)", len(active), len(expired))
    return landed
