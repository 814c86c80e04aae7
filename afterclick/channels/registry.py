"""The sales channels afterclick knows, one line each: how its API is authenticated, how fast it may
be asked by default, and where its code lives in the layers above the kernel.

A channel is a plugin: ``ingest/channels/<name>/`` reads it, ``writeback/adapters/<name>/`` writes to
it, ``dbt/models/staging/<name>/`` says what its payloads mean, and the line below ties them to its
name (docs: "Adding a channel"). The kernel only names those modules; the ingest and write-back
layers import them (``ingest_module`` / ``writeback_module``), so nothing here imports upwards.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

from afterclick.errors import UnknownChannel


@dataclass(frozen=True)
class Auth:
    """How a store's credentials become the request's authentication: ``headers`` maps a header to the
    credential it carries (``{credential}`` templates allowed, e.g. ``"Bearer {token}"``); ``basic``
    names the (user, password) credentials of HTTP Basic."""

    headers: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None

    @property
    def credentials(self) -> tuple[str, ...]:
        """The credential names a store of this channel must set."""
        names = [*(self.basic or ())]
        for template in self.headers.values():
            names += [part.split("}", 1)[0] for part in template.split("{")[1:]]
        return tuple(dict.fromkeys(names))

    def client_options(self, secret: dict[str, str]) -> dict:
        """``headers`` / ``basic_auth`` for ChannelClient from the store's (revealed) credentials."""
        return {
            "headers": {name: template.format(**secret) for name, template in self.headers.items()},
            "basic_auth": (secret[self.basic[0]], secret[self.basic[1]]) if self.basic else None,
        }


@dataclass(frozen=True)
class Channel:
    """One sales channel: its name, authentication, default pacing (requests a second; 0: none, e.g.
    Shopify, paced by its cost bucket), and the modules of its plugin in each layer."""

    name: str
    auth: Auth
    requests_per_second: float = 0.0
    ingest: str = ""  # module of ingest/channels/<name>: what the channel's API is read for
    writeback: str = ""  # module of writeback/adapters/<name>: what is pushed to it
    staging: str = ""  # dbt/models/staging/<folder> of its models (default: the name)
    reader_settings: tuple[str, ...] = ()  # store settings handed to its readers (without the channel prefix)
    # the store sells the stock quantity it is sent minus its own open orders' reservations (VTEX,
    # Magento MSI): the stock push adds those back (docs: write-back, "Stock")
    reserves_sent_stock: bool = False
    price_lists: bool = False  # customer-group (B2B) price lists: the wholesale list is pushed too
    prices_include_tax: bool = False  # a store's prices include tax unless its settings say otherwise

    def ingest_module(self) -> ModuleType:
        return importlib.import_module(self.ingest)

    def writeback_module(self) -> ModuleType:
        return importlib.import_module(self.writeback)


def _line(name: str, auth: Auth, rate: float, **more) -> Channel:
    return Channel(name, auth, rate, ingest=f"ingest.channels.{name}", writeback=f"writeback.adapters.{name}", **more)


# Request pacing below each API's documented limits (VTEX OMS/logistics allow thousands a minute per
# account, self-hosted Magento and WordPress hosts far fewer); Shopify is paced by its cost bucket.
CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (
        _line("shopify", Auth(headers={"X-Shopify-Access-Token": "{token}"}), 0.0),
        _line(
            "vtex",
            # VTEX's specs mark Content-Type (and Accept, sent by every client) required on every request, GETs too
            Auth(
                headers={
                    "X-VTEX-API-AppKey": "{app_key}",
                    "X-VTEX-API-AppToken": "{app_token}",
                    "Content-Type": "application/json",
                }
            ),
            40.0,
            reader_settings=("feed", "relist_days"),
            reserves_sent_stock=True,
            prices_include_tax=True,
        ),
        _line(
            "magento",
            Auth(headers={"Authorization": "Bearer {token}"}),
            20.0,
            reserves_sent_stock=True,
            price_lists=True,
        ),
        _line("woocommerce", Auth(basic=("key", "secret")), 10.0),
    )
}


def channel(name: str) -> Channel:
    """The registered channel ``name``; UnknownChannel (naming the known ones) otherwise."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise UnknownChannel(
            f"unknown channel {name!r}; known: {', '.join(CHANNELS)} "
            "(a new channel is registered in afterclick/channels/registry.py)"
        ) from None


def modules(kind: Callable[[Channel], ModuleType]) -> dict[str, ModuleType]:
    """Each channel's plugin module of one layer, e.g. ``modules(Channel.ingest_module)``."""
    return {name: kind(c) for name, c in CHANNELS.items()}
