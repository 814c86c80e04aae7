"""What the conformance tests share: a warehouse connection (as tests/ingest/emulated_stores.py's)."""

import pytest

from afterclick import warehouse


@pytest.fixture
def con(settings):
    c = warehouse.connect(settings)
    yield c
    c.close()
