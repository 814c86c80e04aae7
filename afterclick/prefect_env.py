"""Prefect's environment, set before Prefect is imported: home inside the state dir, no analytics."""

from __future__ import annotations

import os

from afterclick.settings import Settings


def configure_prefect(settings: Settings) -> None:
    settings.ensure_dirs()
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(settings.prefect.startup_timeout_seconds)
    )
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "afterclick")  # our step logs reach Prefect
    if settings.prefect.api_url:
        os.environ.setdefault("PREFECT_API_URL", settings.prefect.api_url)
