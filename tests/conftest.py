"""Shared fixtures: isolated state dirs, a small demo world, one Prefect test server per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

# Prefect reads its settings at import: point it at a private home before anything imports it.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="afterclick-prefect-"))
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# One Prefect task per dbt build in the flow tests (prefect-dbt's task per node triples a build's time
# here); tests/flows/test_orchestration.py turns it on to check that the nodes show as tasks.
os.environ.setdefault("AFTERCLICK_DBT_NODE_TASKS", "false")

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
    from demo.generate import generate

    return generate(settings, **SMALL_WORLD)


def refresh(settings: Settings) -> Settings:
    """``settings`` read again from the environment as it is now, in place (tests hold the object)."""
    fresh = load_settings()
    for name in type(settings).model_fields:
        setattr(settings, name, getattr(fresh, name))
    return settings


@contextmanager
def outside_world_env(settings: Settings, mp: pytest.MonkeyPatch, **options) -> Iterator[Settings]:
    """The demo world's outside world served (demo/outside_world.py) and configured through the
    environment, as ``afterclick demo`` does; ``settings`` refreshed in place."""
    from demo.outside_world import serve_outside_world

    with serve_outside_world(settings, **options) as env:
        for name, value in env.items():
            mp.setenv(name, value)
        try:
            yield refresh(settings)
        finally:
            for name in env:
                mp.delenv(name, raising=False)
            refresh(settings)


@pytest.fixture
def demo_world(small_world, settings, monkeypatch):
    """The small demo world with its outside world (stores, ERP, tracking, mailbox, label tool)
    served and configured into ``settings`` and the environment for the test."""
    with outside_world_env(settings, monkeypatch):
        yield small_world


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server for the whole session (it takes ~25 s to start here)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield


# ---- one demo world landed and built by dbt, shared by the tests of the marts (tests/dbt) --------
# The first build runs without the newest warehouse and carrier files and with the channels as of
# HELD_BACK_DAYS before the world's end; the second (incremental) with the rest: the tests read the
# final state.
HELD_BACK_DAYS = 21  # the newest warehouse and carrier files arrive only for the second (incremental) build


def _hold_back(settings) -> list[tuple]:
    cut = (WORLD_END - timedelta(days=HELD_BACK_DAYS)).strftime("%Y%m%d")
    # the carrier's files of the first days after the cut land before the warehouse's confirmations
    # of the same parcels (their tracking events reach an order only with the later build)
    carrier_cut = (WORLD_END - timedelta(days=HELD_BACK_DAYS - 7)).strftime("%Y%m%d")
    held = []
    for inbox in [*settings.landing_dir.glob("wms/*/inbox"), settings.landing_dir / "carriers" / "correos" / "inbox"]:
        for path in inbox.iterdir():
            if path.stem.rsplit("_", 1)[-1] >= (
                carrier_cut if "carriers" in inbox.parts else cut
            ) and not path.name.startswith("stock_snapshot"):
                aside = settings.root / "held" / inbox.parent.name / path.name
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, aside)
                held.append((aside, path))
    return held


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    from afterclick.pipeline.steps import ingest_step, plain_call
    from afterclick.transform import run_dbt
    from demo.generate import generate
    from ingest.run import ensure_raw_tables

    mp = pytest.MonkeyPatch()
    mp.setenv("AFTERCLICK_STATE_DIR", str(tmp_path_factory.mktemp("cycle") / "state"))
    mp.setenv("AFTERCLICK_FILE_MIN_AGE_SECONDS", "0")
    mp.setenv("AFTERCLICK_AS_OF", (WORLD_END - timedelta(days=HELD_BACK_DAYS)).isoformat())
    settings = load_settings()  # the channels' last weeks come later too
    settings.ensure_dirs()
    generate(settings, **SMALL_WORLD)
    held = _hold_back(settings)
    assert held
    ensure_raw_tables(settings)
    with outside_world_env(settings, mp):  # the builds too: the stores' profiles are its settings
        assert not ingest_step(settings, plain_call).errors
        first = run_dbt(settings, "build")
    for aside, path in held:
        shutil.move(aside, path)
    mp.setenv("AFTERCLICK_AS_OF", WORLD_END.isoformat())
    refresh(settings)
    with outside_world_env(settings, mp):
        late = ingest_step(settings, plain_call)
        second = run_dbt(settings, "build")
    assert not late.errors
    assert late.rows_by_table.get("raw.wms__fulfilment_events", 0) > 0
    assert late.rows_by_table.get("raw.shopify__orders", 0) > 0
    mp.undo()  # later tests read their own state dirs; use built_env to talk to this one by env
    yield settings, first, second


@pytest.fixture
def built_env(built, monkeypatch):
    """The built world, with the environment (state dir, as-of) pointing at it for this test."""
    settings = built[0]
    monkeypatch.setenv("AFTERCLICK_STATE_DIR", str(settings.root))
    monkeypatch.setenv("AFTERCLICK_AS_OF", WORLD_END.isoformat())
    return built


@pytest.fixture
def wb(built, tmp_path, monkeypatch):
    """For write-back tests: a private copy of the built warehouse and demo world (the ledger
    starts empty), with the demo's outside world served and configured (its stores, mailbox)."""
    source = built[0]
    monkeypatch.setenv("AFTERCLICK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AFTERCLICK_AS_OF", WORLD_END.isoformat())
    settings = load_settings()
    settings.ensure_dirs()
    shutil.copy(source.warehouse_path, settings.warehouse_path)
    shutil.copytree(source.demo_dir / "truth", settings.demo_dir / "truth")
    shutil.copy(source.demo_dir / "world.json", settings.demo_dir / "world.json")
    with outside_world_env(
        settings, monkeypatch
    ):  # the stores and mailbox it pushes to, as `afterclick demo` serves them
        yield settings


@pytest.fixture
def channels(wb, request):
    """The demo world's channel emulators on loopback: store id -> (base URL, emulator state).
    Shopify's cost bucket is an enterprise-sized one (20,000 points, 1,000 a second), so tests
    about what is pushed do not wait on it; tests marked ``shopify_standard_bucket`` get Shopify's
    standard one (1,000 points, 50 a second) and so go through its throttle."""
    from demo.emulators.server import serve_channels
    from demo.generate import load_truth

    standard = request.node.get_closest_marker("shopify_standard_bucket") is not None
    with serve_channels(
        load_truth(wb), shopify_bucket=(1000.0, 50.0) if standard else (20_000.0, 1_000.0)
    ) as endpoints:
        yield endpoints
