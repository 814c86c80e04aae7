"""The warehouse writer slot: one Prefect global concurrency slot (limit 1) plus the file lock.

The Prefect slot makes waiting writers visible in Prefect; the file lock (afterclick.warehouse)
also keeps out writers that do not go through Prefect (``afterclick run --plain``, ``publish``).
A flow that cannot get the slot at once logs that it waits, and for whom.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from prefect import get_client
from prefect.concurrency.asyncio import AcquireConcurrencySlotTimeoutError
from prefect.concurrency.sync import concurrency

from afterclick import warehouse
from afterclick.settings import Settings

WRITER_LIMIT = "afterclick-warehouse-writer"
log = logging.getLogger("afterclick.writer")  # reaches Prefect's run logs via PREFECT_LOGGING_EXTRA_LOGGERS


WAIT_NOTICE_SECONDS = 1.0  # an acquisition taking longer than this is waiting for another writer


def ensure_writer_limit() -> None:
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(WRITER_LIMIT, 1)


@contextmanager
def writer_slot(settings: Settings, purpose: str) -> Iterator[None]:
    """Hold the writer slot and the file lock for the body; wait (and say so) when busy."""
    # One acquisition with the full timeout; a timer says "waits" while it waits. (A short probe
    # acquire is no good: timed out client-side it can still be granted on the server, leaving a
    # leased slot nobody holds until the lease expires, minutes later.)
    ensure_writer_limit()
    waited = threading.Event()

    def say_waiting() -> None:
        waited.set()
        log.info(
            "the warehouse writer slot is not free yet; %s waits for the writer slot (up to %.0fs)",
            purpose,
            settings.lock_timeout_seconds,
        )

    notice = threading.Timer(WAIT_NOTICE_SECONDS, contextvars.copy_context().run, args=(say_waiting,))
    slot = ExitStack()
    notice.start()
    try:
        slot.enter_context(
            concurrency(WRITER_LIMIT, occupy=1, timeout_seconds=settings.lock_timeout_seconds, strict=True)
        )
    except AcquireConcurrencySlotTimeoutError as exc:
        raise warehouse.WarehouseBusy(
            f"{purpose}: the writer slot stayed taken for {settings.lock_timeout_seconds:.0f}s"
        ) from exc
    finally:
        notice.cancel()
    if waited.is_set():
        log.info("%s got the writer slot", purpose)
    with slot, warehouse.writer(settings, purpose=purpose):
        yield
