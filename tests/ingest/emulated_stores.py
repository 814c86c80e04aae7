"""What the channel connector tests share: a warehouse connection and the store to read an emulator with."""

import pytest
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.demo.catalog import STORE_BY_ID
from ingest.channels.connector import ChannelStore


@pytest.fixture
def con(settings):
    c = warehouse.connect(settings)
    yield c
    c.close()


def api_store(store_id: str, url: str, state, **override) -> ChannelStore:
    """The demo store ``store_id`` served at ``url``, with the emulator's credentials (or ``override``s)."""
    creds = {k: SecretStr(v) for k, v in {**state.credentials, **override}.items()}
    return ChannelStore(store_id, STORE_BY_ID[store_id].channel, url, creds)
