"""What a channel declares to be read: the contract between a channel's ingest plugin and the
generic code that lands what it reads.

A channel's ingest plugin is the package ``ingest/channels/<name>/`` named by its line in the
registry (``afterclick/channels/registry.py``, ``Channel.ingest``). Its ``__init__.py`` exposes
one name, ``READING``, a ``ChannelReading``; the generic modules find it with
``channel_reading(name)`` and never name a channel themselves:

- ``ingest/channels/connector.py`` lands each of ``READING.entities`` into
  ``raw.<channel>__<entity>`` (one row per record version), incrementally by a cursor per store;
- ``ingest/channels/catalogue.py`` sweeps each of ``READING.catalogue`` into
  ``raw.<channel>__<entity>`` (a record lands when it differs from the last version landed);
- ``ingest/channels/inventory.py`` sweeps ``READING.stock`` into ``raw.channels__inventory_levels``.

Every reader is handed a ``ChannelClient`` (``afterclick/channels/http.py``: the store's base URL,
authentication from the registry's ``Auth``, pacing, retries, errors) and asks it for what it
needs; shared paging rules are in ``afterclick/channels/paging.py`` and ``ingest/channels/pages.py``.
A reader raises ``BadSourceData`` for an answer it cannot use as a whole (KeyError, TypeError and
AttributeError out of a sweep are reported as such too); a single unusable record is handed on as
it is and quarantined by the generic code (a record without its id or update time).

The three parts:

``entities: dict[str, Entity]`` (name -> what to read; ``orders`` first, landed first)
    ``Entity.reader(client, since, *, page_size=..., **options)`` yields pages (lists of records,
    each a dict as the API sent it) of the records changed after ``since`` (naive UTC), in any
    order; reading from a little before is fine (versions already landed are skipped), skipping
    one is not: page by position (``pages.keyset_pages``), not by offset. ``options`` are the
    store's reader options: the settings the registry line names in ``reader_settings`` (and
    ``page_size``, when a store's options set it: give it a default). A page may be a
    ``pages.AcknowledgedPage``, told once it has landed. ``id_field`` and ``updated_field`` name
    the record's id and its last change (an ISO 8601 time): the landed row's ``id`` and
    ``updated_at``, and the store's cursor. ``read_back=True`` marks an entity
    read to follow what afterclick's write-back pushed (landed by the ``channel_fulfillments``
    source kind, apart from the orders).

``catalogue: dict[str, Listing]`` (name -> sweep; usually ``products`` and ``locations``; none: {})
    ``Listing.lister(client[, page_size])`` yields every record of the list (a whole sweep:
    these lists have no change filter worth trusting); ``id_field`` names the record's id;
    ``volatile`` the fields left out when comparing with the last version landed (stock
    quantities, followed by ``stock``).

``stock: Stock | None`` (None: the channel shows no stock to read)
    ``Stock.reader(client, page_size, skus, known)`` yields readings, dicts of ``sku``,
    ``location_id`` ('' when the channel keeps one stock per SKU), ``available`` (an integer)
    and ``payload`` (what the API said about it, landed as JSON). ``page_size`` is the reader's
    default page size. ``needs_skus=True``: the API cannot list stock, so ``skus`` is the ERP
    catalogue's SKUs to ask about one by one (otherwise None). ``sku_id_field``: the payload
    field holding the channel's own id of a SKU; ``known`` maps each SKU to the one its last
    landed reading carried, so the next sweep need not look it up again ({} when not declared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from afterclick.channels.registry import CHANNELS, channel

Record = dict  # one record as the API sent it
StockReading = dict  # sku, location_id, available, payload


@dataclass(frozen=True)
class Entity:
    """Records the channel lists changed since an instant (orders, customers, refunds...)."""

    reader: Callable[..., Iterable[list[Record]]]
    id_field: str
    updated_field: str
    read_back: bool = False


@dataclass(frozen=True)
class Listing:
    """A list swept whole (products, locations)."""

    lister: Callable[..., Iterable[Record]]
    id_field: str
    volatile: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stock:
    """What the channel shows as sellable per SKU and location."""

    reader: Callable[..., Iterable[StockReading]]
    page_size: int = 100
    needs_skus: bool = False
    sku_id_field: str | None = None


@dataclass(frozen=True)
class ChannelReading:
    """Everything the ingest layer reads of one channel (see the module's docstring)."""

    entities: dict[str, Entity]
    catalogue: dict[str, Listing] = field(default_factory=dict)
    stock: Stock | None = None

    def __post_init__(self):
        for name, kind, declared in [
            *((n, Entity, e) for n, e in self.entities.items()),
            *((n, Listing, c) for n, c in self.catalogue.items()),
            *([("stock", Stock, self.stock)] if self.stock is not None else []),
        ]:
            if not isinstance(declared, kind):
                raise TypeError(f"{name}: declared as {type(declared).__name__}, not as {kind.__name__}")
            if not callable(getattr(declared, "reader", getattr(declared, "lister", None))):
                raise TypeError(f"{name}: its reader is not callable")

    @property
    def stock_needs_skus(self) -> bool:
        """The stock is asked SKU by SKU: the sweep needs the ERP catalogue's SKUs."""
        return self.stock is not None and self.stock.needs_skus

    def landed(self, read_backs: bool = False) -> list[str]:
        """The entities landed with the orders (in declared order), or (``read_backs``) the read-backs."""
        return [name for name, entity in self.entities.items() if entity.read_back == read_backs]


def channel_reading(name: str) -> ChannelReading:
    """What the registered channel ``name`` declares to be read (UnknownChannel when there is none)."""
    module = channel(name).ingest_module()
    reading = getattr(module, "READING", None)
    if not isinstance(reading, ChannelReading):
        raise TypeError(f"{module.__name__} declares no READING = ChannelReading(...)")
    return reading


def channel_readings() -> dict[str, ChannelReading]:
    """Every registered channel's reading, in the registry's order."""
    return {name: channel_reading(name) for name in CHANNELS}
