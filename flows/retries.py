"""Which failures are worth retrying: transient ones (network, rate limits, 5xx, a busy lock), never bad data."""

from __future__ import annotations

from prefect.tasks import exponential_backoff

from afterclick.channels.http import HTTPStatusError, TransportError
from afterclick.errors import SourcesFailed, TransientSourceError
from afterclick.settings import Settings
from afterclick.warehouse import WarehouseBusy

TRANSIENT = (TransientSourceError, WarehouseBusy, TransportError, TimeoutError, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, SourcesFailed):
        return exc.transient
    if isinstance(exc, HTTPStatusError):  # a refusal (the client retried 429 and 5xx itself)
        return False
    return isinstance(exc, TRANSIENT)


def retry_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the task failed for a transient reason."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the state's exception is what we classify
        return is_transient(exc)
    return False


def task_retry_options(settings: Settings) -> dict:
    """Retries with exponential backoff (``settings.retry_backoff_seconds`` × 2^n, jittered)."""
    return {
        "retries": settings.retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=settings.retry_backoff_seconds),
        "retry_jitter_factor": 0.5,
        "retry_condition_fn": retry_transient,
    }
