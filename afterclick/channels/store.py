"""A configured channel store: what the ingest and write-back layers are handed to talk to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from afterclick.channels.http import ChannelClient
from afterclick.channels.registry import channel as registered
from afterclick.settings import Settings


@dataclass
class ChannelStore:
    store_id: str
    channel: str  # a registered channel (afterclick/channels/registry.py)
    base_url: str
    credentials: dict[str, SecretStr] = field(default_factory=dict)
    requests_per_second: float = 0.0  # pacing of every request to the store (0: none)
    reader_options: dict = field(default_factory=dict)  # keyword options of its readers (VTEX: feed, relist_days)

    def client(self, timeout: float = 30.0) -> ChannelClient:
        secret = {k: v.get_secret_value() for k, v in self.credentials.items()}
        return ChannelClient(
            self.store_id,
            self.base_url,
            **registered(self.channel).auth.client_options(secret),
            timeout=timeout,
            requests_per_second=self.requests_per_second,
        )

    def __repr__(self) -> str:  # never show credentials
        return f"ChannelStore({self.store_id!r}, {self.channel!r}, {self.base_url!r})"


def configured_stores(settings: Settings, store: str | None = None) -> list[ChannelStore]:
    """The enabled channel stores of settings (``channel_stores``), or just ``store`` (which must be one
    of them: ValueError naming the known ones)."""
    stores = [
        ChannelStore(
            store_id,
            cfg.channel,
            cfg.base_url,
            cfg.credentials,
            cfg.rate,
            {name: getattr(cfg, f"{cfg.channel}_{name}") for name in registered(cfg.channel).reader_settings},
        )
        for store_id, cfg in settings.channel_stores.items()
        if cfg.enabled
    ]
    return only(stores, store, "channel")


def only(stores: list, store: str | None, kind: str) -> list:
    """The stores (anything with a ``store_id``), or just ``store``, which must be one of them
    (ValueError naming the known ones)."""
    if store is None:
        return stores
    chosen = [s for s in stores if s.store_id == store]
    if not chosen:
        known = ", ".join(s.store_id for s in stores) or "none"
        raise ValueError(f"no {kind} store {store!r} is configured (known: {known})")
    return chosen
