"""What the channels' page readers share: paging by position (keyset), reading the APIs'
timestamps, and pages that must be acknowledged once they have landed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

Page = list[dict]


class AcknowledgedPage(list):
    """A page whose source must be told once it has landed (``acknowledge()``): e.g. the items of
    an API's change feed, committed only after their records are in raw, so a crash in between
    delivers them again (at least once; landing skips the versions it already has)."""

    def __init__(self, records: list[dict], acknowledge: Callable[[], None]):
        super().__init__(records)
        self.acknowledge = acknowledge


def keyset_pages(
    fetch: Callable[[datetime, int], tuple[Page, bool]],
    updated_of: Callable[[dict], datetime | None],
    since: datetime,
    overlap: timedelta,
) -> Iterator[Page]:
    """Page by position, not by offset: each request asks for what changed after the newest
    change already read (minus ``overlap``, for equal timestamps at the page boundary; landing
    skips the versions read twice). A record that changes while we page moves behind the
    position and is read again; none is skipped, as with offset paging where every later record
    shifts one place forward. ``fetch(after, page)`` gives (records, more pages); the page number
    only grows when a whole page shares one timestamp."""
    after, page = since, 1
    while True:
        records, more = fetch(after, page)
        yield records
        if not more or not records:
            return
        newest = max((t for t in map(updated_of, records) if t is not None), default=None)
        if newest is not None and newest - overlap > after:
            after, page = newest - overlap, 1
        else:
            page += 1


def api_time(value) -> datetime | None:
    """An API timestamp as naive UTC, in any ISO 8601 spelling the APIs use: ``Z``, ``+00:00`` or
    another offset (``-03:00``), up to 7 fraction digits (.NET ticks), none, a space for the ``T``.
    One without an offset is taken as UTC (the readers ask their APIs for UTC times). None when
    absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
