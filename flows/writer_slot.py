"""The warehouse writer slot: one Prefect global concurrency slot (limit 1) plus the file lock.

The Prefect slot makes waiting writers visible in Prefect; the file lock (afterclick.warehouse)
also keeps out writers that do not go through Prefect (``afterclick run --plain``, ``publish``).
A flow that cannot get the slot at once logs that it waits, and for whom.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from prefect import get_client
from prefect.concurrency.asyncio import AcquireConcurrencySlotTimeoutError
from prefect.concurrency.sync import concurrency

from afterclick import warehouse
from afterclick.settings import Settings

WRITER_LIMIT = "afterclick-warehouse-writer"
log = logging.getLogger("afterclick.writer")  # reaches Prefect's run logs via PREFECT_LOGGING_EXTRA_LOGGERS


def ensure_writer_limit() -> None:
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(WRITER_LIMIT, 1)


@contextmanager
def writer_slot(settings: Settings, purpose: str) -> Iterator[None]:
    """Hold the writer slot and the file lock for the body; wait (and say so) when busy."""
    ensure_writer_limit()
    slot = ExitStack()
    try:
        slot.enter_context(concurrency(WRITER_LIMIT, occupy=1, timeout_seconds=0.5, strict=True))
    except AcquireConcurrencySlotTimeoutError:
        log.info("another flow is writing the warehouse; %s waits for the writer slot (up to %.0fs)",
                    purpose, settings.lock_timeout_seconds)
        slot.enter_context(concurrency(WRITER_LIMIT, occupy=1, timeout_seconds=settings.lock_timeout_seconds,
                                       strict=True))
        log.info("%s got the writer slot", purpose)
    with slot, warehouse.writer(settings, purpose=purpose):
        yield
