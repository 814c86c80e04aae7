"""Shared fixtures: isolated state dirs, a small demo world, one Prefect test server per session."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

# Prefect reads its settings at import: point it at a private home before anything imports it.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="afterclick-prefect-"))
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

from afterclick.settings import Settings, load_settings  # noqa: E402

WORLD_END = datetime(2026, 11, 1)
SMALL_WORLD = {"orders": 1500, "days": 90, "seed": 11, "end": WORLD_END}


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Settings whose state dir is private to the test (also for subprocesses and Streamlit)."""
    monkeypatch.setenv("AFTERCLICK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AFTERCLICK_FILE_MIN_AGE_SECONDS", "0")
    s = load_settings()
    s.ensure_dirs()
    return s


@pytest.fixture
def small_world(settings):
    """A generated demo world (files dropped in the inboxes) and its summary."""
    from afterclick.demo.generate import generate
    return generate(settings, **SMALL_WORLD)


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server for the whole session (it takes ~25 s to start here)."""
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=240):
        yield
