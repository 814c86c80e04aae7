"""Settings: embedded defaults < settings file < ``AFTERCLICK_*`` environment variables.

Everything afterclick writes lives under one state directory (default
``.afterclick/`` in the working directory). The settings file is TOML, found at
``$AFTERCLICK_SETTINGS_FILE`` or ``./afterclick.toml``; nested sections map to the
nested models below (``[duckdb] threads = 2``), and so do environment variables
with a double underscore (``AFTERCLICK_DUCKDB__THREADS=2``).

A key that is no setting, in the file or the environment, is an error naming it (a typo would
otherwise leave the default in force without a word), and so is a value that cannot be used: both
raise SettingsError, which the command line prints as one line.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import tomllib
import zoneinfo
from datetime import datetime
from email.headerregistry import Address
from functools import cache, cached_property
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as UnparsableSetting

from afterclick.channels.export_description import ExportDescription
from afterclick.channels.export_presets import PRESETS as EXPORT_PRESETS
from afterclick.channels.registry import CHANNELS
from afterclick.channels.registry import channel as registered_channel
from afterclick.errors import SettingsError
from afterclick.settings_keys import unknown_environment, unknown_keys

SETTINGS_FILE_ENV = "AFTERCLICK_SETTINGS_FILE"
DEFAULT_SETTINGS_FILE = "afterclick.toml"

# Variables of the settings' prefix that are not settings: the settings file's path, the demo's API
# specs, and what a dbt build hands dbt's profile and models (afterclick/transform.py,
# dbt/profiles.yml; AFTERCLICK_DBT_THREADS is the setting dbt_threads itself).
NOT_SETTINGS = (
    SETTINGS_FILE_ENV,
    "AFTERCLICK_API_SPECS",
    "AFTERCLICK_WAREHOUSE_PATH",
    "AFTERCLICK_DBT_AS_OF",
    "AFTERCLICK_DBT_CLV_REFIT",
    "AFTERCLICK_DBT_NOTIFICATION_MAX_AGE_HOURS",
    "AFTERCLICK_DBT_EMAILED_MARKETPLACES",
    "AFTERCLICK_DUCKDB_TEMP_DIRECTORY",
    "AFTERCLICK_DUCKDB_MEMORY_LIMIT",
    "AFTERCLICK_DUCKDB_THREADS",
)

# The source kinds afterclick lands, in the order a run lands them (ingest/run.py's SOURCES lands
# each one); disabled_sources names some of them.
SOURCE_KINDS = (
    "erp",
    "marketplace",
    "channels",
    "channel_catalogue",
    "channel_inventory",
    "channel_fulfillments",
    "wms",
    "carrier_files",
    "tracking",
    "marketing",
)


class DuckDBSettings(BaseModel, extra="forbid"):
    """Resources DuckDB may use when building the warehouse."""

    threads: int | None = Field(None, description="Worker threads; default: all cores.")
    memory_limit: str | None = Field(None, description="For example '4GB'; default: DuckDB's own (80% of RAM).")
    temp_directory: Path | None = Field(None, description="Where DuckDB spills; default: <state_dir>/tmp.")


class ReaderSettings(BaseModel, extra="forbid"):
    """Limits of every reader of the serving snapshot (ad-hoc SQL, dashboards, status): one query
    cannot exhaust the machine that also runs the writer."""

    memory_limit: str = Field("2GB", description="Most memory one reader connection may use (e.g. '2GB', '10%').")
    threads: int = Field(2, ge=1, description="Worker threads of one reader connection.")
    query_timeout_seconds: float = Field(
        120.0, gt=0, description="An ad-hoc query running longer than this is interrupted."
    )


class DemoSettings(BaseModel, extra="forbid"):
    """Size and seed of the embedded demo world."""

    orders: int = Field(20_000, description="Orders `afterclick generate` simulates (its --orders wins).")
    days: int = Field(365, description="Days of history of the demo world.")
    seed: int = Field(42, description="Random seed: the same seed and end give the same world.")


class PrefectSettings(BaseModel, extra="forbid"):
    api_url: str | None = Field(None, description="A Prefect server to use; default: a temporary local one.")
    startup_timeout_seconds: int = Field(
        180, description="How long `afterclick run` waits for its temporary Prefect server to start."
    )
    server_port: int = Field(4200, description="Port of the local server `afterclick serve` starts.")


# A store's profile (channel_stores.<id>, marketplaces.<id>): what the models read of it (dbt/models/
# marts/shared/dim_stores.sql through the dbt var ``stores``, afterclick/dbt_channels.py).
CURRENCY = re.compile(r"[A-Z]{3}")
LOCALE = re.compile(r"[a-z]{2,3}(-([A-Z]{2}|[0-9]{3}))?")
COUNTRY = re.compile(r"[A-Z]{2}")


class StoreProfile(BaseModel, extra="forbid"):
    """What a store is, for the reports and the customers: its currency, time zone, delivery
    promise, language and name. Every field is optional; a store seen in the data but not
    configured at all gets the same defaults."""

    display_name: str | None = Field(
        None, description="The store's name in reports and customer messages; unset: its id."
    )
    currency: str | None = Field(
        None,
        description="ISO 4217 code of the store's prices (e.g. EUR, BRL); unset: the currency most of its "
        "orders state (none before its first order).",
    )
    timezone: str = Field(
        "UTC",
        description="IANA time zone of the store (e.g. America/Sao_Paulo): its local dates, daily reports "
        "and delivery promises are days in this zone.",
    )
    promised_days: int = Field(
        3, ge=0, description="Delivery promised at checkout: the order's local placed date plus this many days."
    )
    locale: str = Field(
        "en", description="Language of its customer messages: a language, or language-REGION (pt, pt-BR, es-MX)."
    )
    country: str | None = Field(
        None, description="ISO 3166 two-letter country the store ships to (the delivery reports' region)."
    )

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, code: str | None) -> str | None:
        if code is not None and not CURRENCY.fullmatch(code):
            raise ValueError(f"currency {code!r} is not an ISO 4217 code (three upper-case letters, e.g. EUR)")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        if zone not in _time_zones():
            close = difflib.get_close_matches(zone, _time_zones(), n=1)
            raise ValueError(
                f"unknown time zone {zone!r}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + "; an IANA name such as Europe/Madrid or America/Sao_Paulo"
            )
        return zone

    @field_validator("locale")
    @classmethod
    def _locale_tag(cls, tag: str) -> str:
        if not LOCALE.fullmatch(tag):
            raise ValueError(f"locale {tag!r}: a language, or language-REGION, e.g. pt, pt-BR, es-MX")
        return tag

    @field_validator("country")
    @classmethod
    def _country_code(cls, code: str | None) -> str | None:
        if code is not None and not COUNTRY.fullmatch(code):
            raise ValueError(f"country {code!r} is not an ISO 3166 code (two upper-case letters, e.g. BR)")
        return code


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# ---- a store's customer messages (channel_stores.<id>.messages, marketplaces.<id>.messages) -----------
# What a link template (rating_url, unsubscribe_url) may name: what the customer already knows, never
# their address (a link's query string reaches web servers' and trackers' logs).
LINK_PLACEHOLDERS = ("order_number", "store_id", "locale")


def one_address(value: str | None) -> str | None:
    """``value`` when it is one plain address (name@domain, ASCII, no display name), else ValueError."""
    if value is None:
        return None
    problem = "not one plain email address (name@domain, without a display name)"
    if not value.isascii() or any(not ch.isprintable() or ch.isspace() for ch in value):
        raise ValueError(problem)
    try:
        address = Address(addr_spec=value)
    except Exception:  # noqa: BLE001 - the parser raises several types (ValueError, IndexError, header defects)
        raise ValueError(problem) from None
    if not (address.username and address.domain and "." in address.domain):
        raise ValueError(problem)
    return address.addr_spec


def link_template(value: str | None) -> str | None:
    """``value`` when it is an http(s) link whose placeholders are all LINK_PLACEHOLDERS, else ValueError."""
    if value is None:
        return None
    if not value.startswith(("https://", "http://")) or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("not an http(s) link without spaces (e.g. https://shop.example/review?order={order_number})")
    try:
        names = [name for _, name, spec, conv in string.Formatter().parse(value) if name is not None or spec or conv]
    except ValueError as exc:  # an unmatched brace
        raise ValueError(f"{exc} (a literal brace is written twice: {{{{ or }}}})") from None
    unknown = [name for name in names if name not in LINK_PLACEHOLDERS]
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}}; known: " + ", ".join(f"{{{name}}}" for name in LINK_PLACEHOLDERS)
        )
    return value


class MessageSettings(BaseModel, extra="forbid"):
    """How a store's customer messages are sent (shipping confirmation, out for delivery, delivered
    with a rating request, return received)."""

    sender: str | None = Field(
        None,
        description="From address of the store's customer messages (e.g. pedidos@loja.example); its domain "
        "names the messages' Message-ID. Unset: smtp.sender.",
    )
    sender_name: str | None = Field(
        None,
        description="The name customers see as the sender and in the text; unset: the store's display_name "
        "(unset too: smtp.sender_name).",
    )
    reply_to: str | None = Field(
        None, description="Reply-To address: where customers' replies arrive; unset: the From address gets them."
    )
    rating_url: str | None = Field(
        None,
        description="Link of the rating request sent after delivery (a review site or the store's own page), "
        "with placeholders " + ", ".join(f"{{{n}}}" for n in LINK_PLACEHOLDERS) + " filled in "
        "(URL-encoded), e.g. https://shop.example/review?order={order_number}. Unset: the message asks "
        "the customer to rate by replying.",
    )
    unsubscribe_email: str | None = Field(
        None,
        description="List-Unsubscribe mailto address of the rating request (the only message that is not "
        "transactional); unset: the Reply-To address, else the From address.",
    )
    unsubscribe_url: str | None = Field(
        None,
        description="One-click unsubscribe link (RFC 8058: the mail provider POSTs "
        "'List-Unsubscribe=One-Click' to it) of the rating request, with the same placeholders as "
        "rating_url; unset: only the mailto form is offered.",
    )

    @field_validator("sender", "reply_to", "unsubscribe_email")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        return one_address(value)

    @field_validator("sender_name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(not ch.isprintable() for ch in value)):
            raise ValueError("sender_name must be one line of text")
        return value

    @field_validator("rating_url")
    @classmethod
    def _rating_link(cls, value: str | None) -> str | None:
        return link_template(value)

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsubscribe_link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("not an https link (RFC 8058 one-click unsubscribe needs https)")
        return link_template(value)


class MarketplaceMessageSettings(MessageSettings, extra="forbid"):
    """A marketplace's customer-message settings: as a channel store's, and whether its buyers are
    emailed at all."""

    email_buyers: bool = Field(
        False,
        description="Email this marketplace's buyers directly. Off by default: marketplaces' buyer-messaging "
        "rules (Amazon's, Miravia's) forbid contacting their buyers outside the marketplace's own "
        "messaging; switch it on only where the marketplace allows it.",
    )


class MarketplaceSource(StoreProfile, extra="forbid"):
    """A marketplace whose order exports are dropped in <landing>/marketplace/<store>/inbox."""

    export: ExportDescription = Field(
        description="How its order exports are read: a `preset` (" + ", ".join(EXPORT_PRESETS) + ") and/or "
        "the export described field by field (docs: Sources, Bring your own export)."
    )
    enabled: bool = Field(True, description="false: this marketplace's inbox is not read.")
    messages: MarketplaceMessageSettings = Field(
        default_factory=MarketplaceMessageSettings,
        description="Its customer messages (sender, Reply-To, rating link, unsubscribe; off unless email_buyers).",
    )

    @model_validator(mode="after")
    def _export_currency(self) -> MarketplaceSource:
        """An export without a currency column is in its own `currency`, else in the store's."""
        if "currency" in self.export.fields() or self.export.currency is not None:
            return self
        if self.currency is None:
            raise ValueError(
                "export: no currency column is mapped and no currency is set; set export.currency "
                '(e.g. currency = "BRL") or map the column (columns.currency)'
            )
        self.export = self.export.model_copy(update={"currency": self.currency})
        return self


# what a store's write-back can be switched by (channel_stores.<id>.writeback), and the modes
STORE_WRITEBACK_KINDS = ("stock", "prices", "tracking", "status", "notification")
WRITEBACK_MODES = ("on", "off", "dry_run")


class ChannelStoreSettings(StoreProfile, extra="forbid", hide_input_in_errors=True):  # input: secrets
    """A sales-channel store read through its API. Put URLs in the settings file and secrets in the
    environment, e.g. AFTERCLICK_CHANNEL_STORES='{"shopify-es": {"channel": "shopify", "base_url":
    "https://shop.myshopify.com", "credentials": {"token": "…"}}}'."""

    channel: str = Field(description=" | ".join(CHANNELS))
    base_url: str = Field(
        description="Root of the store's API, without the API path (e.g. "
        "https://shop.myshopify.com, https://account.vtexcommercestable.com.br, "
        "https://shop.example.com for Magento and WooCommerce)."
    )
    credentials: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="; ".join(f"{c.name}: {', '.join(c.auth.credentials)}" for c in CHANNELS.values()) + ".",
    )
    enabled: bool = Field(True, description="false: the store is neither read nor pushed to.")
    requests_per_second: float | None = Field(
        None,
        description="Most requests a second afterclick sends this store (0: no cap). Unset: the channel's "
        "default ("
        + ", ".join(f"{c.name} {c.requests_per_second:g}" for c in CHANNELS.values() if c.requests_per_second)
        + "; the others are paced by their own limits, e.g. Shopify's cost bucket).",
    )
    vtex_feed: bool = Field(
        False,
        description="vtex: also read the store's orders feed (GET /api/orders/feed) to catch orders changed "
        "more than 30 days after they were created; needs the feed configured for the app key "
        "(FromOrders, disableSingleFire true). Items are committed once their orders landed.",
    )
    vtex_relist_days: int = Field(
        120,
        ge=0,
        description="vtex without the feed: the first run of each UTC day also re-lists the orders "
        "created in this many days (beyond the 30 read every run) and lands those that "
        "changed; 0: never.",
    )
    writeback: dict[str, str] = Field(
        default_factory=dict,
        description="Write-back of this store by kind (" + ", ".join(STORE_WRITEBACK_KINDS) + "): "
        "'on' (the default), 'off' (nothing of that kind is pushed to the store) or 'dry_run' (what would be "
        "sent is recorded as a dry-run attempt, nothing is sent, and it is sent once the kind is 'on' again), "
        'e.g. {stock = "off", prices = "dry_run"}. notification: the store\'s customer messages.',
    )
    prices_include_tax: bool | None = Field(
        None,
        description="Whether the store's catalogue prices include tax (VAT), as the store is set up; unset: "
        "the channel's default (vtex: true; shopify, magento, woocommerce: false). The price push sends "
        "the ERP's net price plus tax_rate_pct to a store whose prices include tax.",
    )
    tax_rate_pct: float = Field(
        0.0,
        ge=0,
        le=100,
        description="The tax rate (percent, e.g. 21 for Spain's VAT) the store's prices include when "
        "prices_include_tax.",
    )

    @property
    def includes_tax(self) -> bool:
        """Whether the store's prices include tax: its own setting, else its channel's default."""
        if self.prices_include_tax is not None:
            return self.prices_include_tax
        return registered_channel(self.channel).prices_include_tax

    messages: MessageSettings = Field(
        default_factory=MessageSettings,
        description="Its customer messages (sender, Reply-To, rating link, unsubscribe).",
    )

    @field_validator("writeback")
    @classmethod
    def _writeback_modes(cls, modes: dict[str, str]) -> dict[str, str]:
        for kind, mode in modes.items():
            if kind not in STORE_WRITEBACK_KINDS:
                raise ValueError(f"unknown write-back kind {kind!r}; known: {', '.join(STORE_WRITEBACK_KINDS)}")
            if mode not in WRITEBACK_MODES:
                raise ValueError(f"write-back of {kind}: unknown mode {mode!r}; known: {', '.join(WRITEBACK_MODES)}")
        return modes

    def writeback_mode(self, kind: str) -> str:
        """'on', 'off' or 'dry_run': what the write-back of ``kind`` does with this store."""
        return self.writeback.get(kind, "on")

    @field_validator("channel")
    @classmethod
    def _registered(cls, name: str) -> str:
        registered_channel(name)  # UnknownChannel names the known ones
        return name

    @model_validator(mode="after")
    def _credentials_of_its_channel(self) -> ChannelStoreSettings:
        """The credentials are the ones its channel authenticates with: none unknown, and (unless the
        store is disabled) none missing or empty."""
        needed = registered_channel(self.channel).auth.credentials
        for name in self.credentials:
            if name not in needed:
                close = difflib.get_close_matches(name, needed, n=1)
                raise ValueError(
                    f"unknown credential {name!r} for {self.channel}"
                    + (f" (did you mean {close[0]!r}?)" if close else "")
                    + f"; {self.channel} takes {', '.join(needed)}"
                )
        missing = [
            name for name in needed if not (name in self.credentials and self.credentials[name].get_secret_value())
        ]
        if missing and self.enabled:
            raise ValueError(
                f"{self.channel} needs credentials {', '.join(needed)}; missing: {', '.join(missing)} "
                '(set them in the environment, e.g. AFTERCLICK_CHANNEL_STORES=\'{"<store>": '
                '{"credentials": {…}}}\')'
            )
        return self

    @property
    def rate(self) -> float:
        """Requests a second: the store's own, else its channel's default (the registry's)."""
        if self.requests_per_second is not None:
            return self.requests_per_second
        return registered_channel(self.channel).requests_per_second


class ErpTable(BaseModel, extra="forbid"):
    """One ERP table to land in raw.erp__<name>: read incrementally by ``incremental_column``
    (an update timestamp or a growing id; rows at or after the last value seen are re-read, and
    what is already in raw is skipped), or whole on every run when it has none."""

    table: str = Field(description="Table (or view) name in the ERP database.")
    key: list[str] = Field(description="Columns identifying one record.")
    incremental_column: str | None = Field(
        "updated_at",
        description="Column the table is read incrementally by (an update timestamp or a growing id); "
        "none: the whole table every run.",
    )


class ErpSettings(BaseModel, extra="forbid"):
    """The ERP's SQL database, read through SQLAlchemy."""

    url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL (e.g. postgresql+psycopg://user:pw@host/erp); secret: it may hold a "
        "password. Unset: no ERP is read (`afterclick demo` points it at the demo world's SQLite ERP).",
    )
    chunk_rows: int = Field(
        50_000,
        description="Rows read and landed per transaction; the table's cursor advances with each chunk's commit.",
    )
    tables: dict[str, ErpTable] = Field(
        default_factory=lambda: {
            "invoices": ErpTable(table="invoices", key=["invoice_id"]),
            "products": ErpTable(table="products", key=["sku"]),
            "price_lists": ErpTable(table="price_lists", key=["price_list", "sku"]),
            "purchase_orders": ErpTable(table="purchase_orders", key=["po_number"]),
            "customer_credit": ErpTable(table="customer_credit", key=["customer_ref"]),
        },
        description="ERP tables to land, by name: each in raw.erp__<name>.",
    )


class CarrierFileFormat(BaseModel, extra="forbid"):
    """How a carrier's label tool and status files are spelled (Correos' by default)."""

    shipments_columns: dict[str, str] = Field(
        default_factory=lambda: {
            "reference": "REFERENCIA",
            "order_key": "PEDIDO",
            "recipient": "DESTINATARIO",
            "address": "DIRECCION",
            "postcode": "CP",
            "city": "POBLACION",
            "country": "PAIS",
            "email": "EMAIL",
            "weight_kg": "PESO",
            "parcels": "BULTOS",
            "service": "PRODUCTO",
        },
        description="Our field -> column of the shipments file ('fichero de expediciones') we write.",
    )
    labels_columns: dict[str, str] = Field(
        default_factory=lambda: {"reference": "REFERENCIA", "tracking_number": "CODIGO_ENVIO", "labelled_at": "FECHA"},
        description="Our field -> column of the label tool's output (tracking number per parcel).",
    )
    status_columns: dict[str, str] = Field(
        default_factory=lambda: {
            "tracking_number": "CODIGO_ENVIO",
            "reference": "REFERENCIA",
            "occurred_at": "FECHA",
            "raw_status": "ESTADO",
            "message": "INCIDENCIA",
            "location": "OFICINA",
        },
        description="Our field -> column of the carrier's status-and-incidents file.",
    )
    separator: str = Field(";", description="Column separator of all three files.")
    encoding: str = Field("utf8", description="Text encoding of all three files (e.g. utf8, latin1).")
    date_format: str = Field("%d/%m/%Y %H:%M", description="strftime format of the dates in the files.")
    timezone: str = Field("Europe/Madrid", description="Times in the files are local to this zone.")
    shipments_file: str = Field(
        "expediciones_{stamp}.txt",
        description="Name of each shipments file written to the outbox; {stamp} is the time written.",
    )
    labels_glob: str = Field("etiquetas_*.txt", description="Names of the label tool's files in the inbox.")
    status_glob: str = Field(
        "estados_*.txt", description="Names of the carrier's status-and-incidents files in the inbox."
    )
    label_command: list[str] = Field(
        default_factory=list,
        description="A command run after each shipments file is written, as a list of arguments with {file} "
        "replaced by the file's path (e.g. a script that uploads it to the carrier and waits for the "
        "labels); the labels it leaves in the inbox land in the same run. Empty: the file waits in "
        "the outbox for the carrier's tool.",
    )


class TrackingApiSettings(BaseModel, extra="forbid"):
    """A multi-carrier tracking service polled for every parcel not followed through files."""

    url: str | None = Field(
        None, description="Base URL; unset: no tracking service is polled (`afterclick demo` serves the demo world's)."
    )
    token: SecretStr | None = Field(None, description="The service's API token (sent as the 17token header).")
    batch_size: int = Field(40, description="Tracking numbers asked per call.")
    max_age_days: int = Field(60, description="Parcels shipped longer ago are no longer polled.")


class SmtpSettings(BaseModel, extra="forbid"):
    host: str | None = Field(
        None,
        description="SMTP server for customer messages; unset = no messages are sent "
        "(`afterclick demo` serves a local demo mailbox).",
    )
    port: int = Field(25, description="Port of the SMTP server.")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS before logging in.")
    username: str | None = Field(None, description="Login name; unset: no login.")
    password: SecretStr | None = Field(None, description="Login password (put it in the environment).")
    sender: str = Field("orders@afterclick.invalid", description="From address of customer messages and alerts.")
    sender_name: str = Field("afterclick", description="Display name of the From address.")
    timeout_seconds: float = Field(30.0, description="Timeout of each SMTP operation.")
    connections: int = Field(
        4,
        ge=1,
        description="SMTP sessions customer messages are sent over side by side "
        "(lower it if the server limits connections per client).",
    )


class WritebackSettings(BaseModel, extra="forbid"):
    kinds: list[str] = Field(
        ["stock", "prices", "tracking", "status", "notification"],
        description="What `afterclick push` pushes, in this order (tracking before status: "
        "VTEX marks delivered on the invoices the tracking push created).",
    )
    disabled_targets: list[str] = Field(
        default_factory=list, description="Kill switch: store ids, channels, kinds or 'email' never pushed to."
    )
    max_attempts: int = Field(5, description="Attempts before a change goes to the dead letter.")
    backoff_seconds: float = Field(60.0, description="Wait before the first retry of a change; doubles each time.")
    parallel_targets: int = Field(
        4,
        ge=1,
        description="Targets (stores, email) pushed side by side; each keeps "
        "its kinds in order and its own rate limit.",
    )
    calls_in_flight: int = Field(
        4,
        ge=1,
        description="Changes pushed side by side to a store whose API takes one "
        "call per change (VTEX stock and prices; order tracking and "
        "status): the store's rate limit still paces every request.",
    )
    notification_max_age_hours: float = Field(
        240.0,
        gt=0,
        description="A customer message is sent for an event at most this long after it happened, however "
        "late it landed (a carrier's weekly status file): later, the news is too old to send.",
    )
    demo_mailbox: bool = Field(
        True,
        description="`afterclick demo`, with no SMTP host configured, serves a local SMTP "
        "server that keeps customer messages in <demo>/mailbox.",
    )


class ScheduleSettings(BaseModel, extra="forbid"):
    """When ``afterclick serve`` runs each flow (cron, in ``timezone``); empty string = not scheduled."""

    timezone: str = Field("Europe/Madrid", description="Time zone the cron schedules are read in.")
    channels: str = Field(
        "*/5 * * * *", description="Channel ingest (orders, customers, refunds) and marketplace exports."
    )
    tracking: str = Field("*/15 * * * *", description="Carrier tracking (the tracking API).")
    inventory: str = Field(
        "20 * * * *",
        description="What the channels show as stock, their catalogues, locations "
        "and fulfillments (a sweep of each store).",
    )
    back_office: str = Field("0 * * * *", description="ERP, WMS, carrier files, marketing spend.")
    pipeline: str = Field(
        "30 2 * * *",
        description="The whole pipeline, nightly: every source, dbt build with the CLV refit, write-back, publish.",
    )
    transform: str = Field("*/10 * * * *", description="dbt build + publish, so the snapshot stays fresh.")
    transform_select: str = Field(
        "",
        description="dbt selection the scheduled transform builds (e.g. '+rpt_stuck_orders +wb_stock'); empty: "
        "the whole project. The nightly pipeline always builds everything.",
    )
    writeback: dict[str, str] = Field(
        default_factory=lambda: {
            "stock": "*/5 * * * *",
            "tracking": "*/15 * * * *",
            "status": "*/15 * * * *",
            "notification": "*/15 * * * *",
            "prices": "0 * * * *",
            "carrier_file": "*/30 * * * *",
        },
        description="Write-back flow per kind (they push what the last build wants; the pipeline also pushes "
        "writeback.kinds after its build).",
    )


class Settings(BaseSettings):
    """All of afterclick's configuration, in one place."""

    model_config = SettingsConfigDict(
        env_prefix="AFTERCLICK_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    state_dir: Path = Field(Path(".afterclick"), description="Root of everything afterclick writes.")
    dbt_threads: int = Field(2, description="dbt's threads: models and tests built side by side.")
    dbt_unit_tests: bool = Field(
        False,
        description="Run dbt's unit tests in every build. They check the models' SQL on fixed inputs, not "
        "the data, so builds leave them to the test suite (as dbt advises for production).",
    )
    dbt_node_tasks: bool = Field(
        True,
        description="Inside Prefect flows, run dbt through prefect-dbt so every dbt node shows as its own "
        "Prefect task; false: one task for the whole build (about 3x quicker on a small machine).",
    )
    dbt_docs: bool = Field(
        True,
        description="After every successful dbt build, generate dbt's documentation of the models (lineage, "
        "columns) into <state_dir>/dbt/docs, served by `afterclick docs` (1-2.5 s a build "
        "on a small demo world).",
    )
    lock_timeout_seconds: float = Field(
        600.0, description="How long a second writer waits for the warehouse lock before failing."
    )
    publish_customer_addresses: bool = Field(
        False,
        description="Publish customers' emails, names and addresses into the serving snapshot as they are, "
        "for deployments whose dashboard and SQL readers may see them; false: every reader sees a "
        "stable pseudonym instead (the warehouse keeps them either way).",
    )
    publish_pseudonym_key: SecretStr | None = Field(
        None,
        description="Key of the customer pseudonyms in the serving snapshot (HMAC-SHA256); the same key "
        "gives the same pseudonyms. Unset: a random key generated once into <state_dir>/pseudonym.key.",
    )
    dashboard_login: bool = Field(
        False,
        description="Dashboards ask for a login (Streamlit's OIDC st.login; configure the provider under "
        "[auth] in .streamlit/secrets.toml).",
    )
    dashboard_address: str = Field(
        "127.0.0.1",
        description="Interface the dashboards listen on: 127.0.0.1 (this machine only) by default; "
        "0.0.0.0 exposes them on every interface (put a login or a proxy in front).",
    )
    reader: ReaderSettings = ReaderSettings()
    future_tolerance_hours: float = Field(
        24.0,
        ge=0,
        description="A landed timestamp later than now plus this is quarantined: no real system "
        "can send it (a clock or time-zone error, or a typo such as 2099).",
    )
    file_reject_bad_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A file whose share of bad rows passes this is rejected as a whole (moved "
        "to rejected/ with a summary in ops.quarantine) instead of landing its "
        "good rows.",
    )
    as_of: datetime | None = Field(
        None,
        description="Compute the marts (stuck orders, SLA clocks, closing) as of this UTC instant instead of "
        "now: for replaying a past demo world or a backfill. The demo's channel emulators "
        "show their world as of it too.",
    )
    duckdb: DuckDBSettings = DuckDBSettings()
    demo: DemoSettings = DemoSettings()
    prefect: PrefectSettings = PrefectSettings()
    schedules: ScheduleSettings = ScheduleSettings()
    marketplaces: dict[str, MarketplaceSource] = Field(
        default_factory=lambda: {
            "amazon-es": MarketplaceSource(export=ExportDescription(preset="amazon_all_orders")),
            "miravia-es": MarketplaceSource(export=ExportDescription(preset="miravia_orders")),
        },
        description="Marketplaces whose order exports are read, by store id (each with its store profile).",
    )
    retries: int = Field(3, description="Retries of a source that failed for a transient reason.")
    retry_backoff_seconds: float = Field(10.0, description="First retry delay; doubles each retry.")
    channel_stores: dict[str, ChannelStoreSettings] = Field(
        default_factory=dict,
        description="Sales-channel stores read and pushed to through their APIs, by store id "
        "(each with its store profile). None: no channel API is read.",
    )
    demo_channels: bool = Field(
        True,
        description="`afterclick demo` serves the demo world's channel stores through local API "
        "emulators (real HTTP) and configures them as channel_stores.",
    )
    demo_rate_limits: bool = Field(
        True,
        description="The demo's channel emulators enforce a channel's read limit (Shopify Plus's cost bucket: "
        "20,000 points, 1,000 a second); false: none (the benchmarks measure landing without).",
    )
    demo_emulator_processes: int = Field(
        0,
        ge=0,
        description="Processes `afterclick emulate` serves the demo channel stores from: 0, one per store "
        "(each store's API work on a core of its own, as real stores are apart); 1, all in one; "
        "n, n processes sharing the stores out.",
    )
    channel_lookback_minutes: float = Field(10.0, description="Re-read this much before the cursor (late updates).")
    channel_parallel_stores: int = Field(
        4,
        ge=1,
        description="Channel stores landed side by side (each store has its own API and rate limit; "
        "a landing is bound by round trips, so a second store uses the wait).",
    )
    http_timeout_seconds: float = Field(
        30.0, description="Timeout of every HTTP call to a channel store or the tracking API (a timeout is retried)."
    )
    disabled_sources: list[str] = Field(
        default_factory=list, description="Source kinds not to ingest: " + ", ".join(SOURCE_KINDS) + "."
    )
    file_min_age_seconds: float = Field(
        2.0, description="A dropped file is read only once untouched this long (still-growing files wait)."
    )
    erp: ErpSettings = ErpSettings()
    smtp: SmtpSettings = SmtpSettings()
    writeback: WritebackSettings = WritebackSettings()
    warehouses: list[str] = Field(
        ["wh-mad", "wh-bcn", "wh-lis", "wh-sao", "wh-mex"],
        description="WMS sites whose files are dropped in <landing>/wms/<warehouse>/inbox.",
    )
    carrier_files: dict[str, CarrierFileFormat] = Field(
        default_factory=lambda: {"correos": CarrierFileFormat()},
        description="Carriers exchanging files in <landing>/carriers/<carrier>/{inbox,outbox}; the others are "
        "followed through the tracking API.",
    )
    tracking_api: TrackingApiSettings = TrackingApiSettings()
    demo_label_tool: bool = Field(
        True,
        description="`afterclick demo` configures the demo carrier's label tool as each file carrier's label_command.",
    )
    # Credentials: only ever from the environment or the settings file, never logged.
    notify_webhook_url: SecretStr | None = Field(
        None, description="Posted a JSON message when a flow fails (a chat or paging webhook)."
    )
    notify_email: str | None = Field(
        None, description="Mailed (through smtp.host) when a flow fails: one address or several, comma-separated."
    )

    def __init__(self, **values):
        """The settings as configured; SettingsError (one line naming the setting) when a key is no
        setting or a value cannot be used."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError("settings: " + "; ".join(_problem(e) for e in exc.errors())) from None
        except UnparsableSetting as exc:  # a variable's value that is not the JSON its setting takes
            raise SettingsError(f"settings: {exc}") from None

    @field_validator("disabled_sources")
    @classmethod
    def _known_sources(cls, kinds: list[str]) -> list[str]:
        for kind in kinds:
            if kind not in SOURCE_KINDS:
                close = difflib.get_close_matches(kind, SOURCE_KINDS, n=1)
                raise ValueError(
                    f"unknown source kind {kind!r}"
                    + (f" (did you mean {close[0]!r}?)" if close else "")
                    + f"; known: {', '.join(SOURCE_KINDS)}"
                )
        return kinds

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(SETTINGS_FILE_ENV, DEFAULT_SETTINGS_FILE))
        try:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{toml_file}: not a valid TOML file: {exc}") from None
        if unknown := unknown_keys(toml.toml_data, settings_cls):
            raise SettingsError(f"{toml_file}: " + "; ".join(unknown))
        if unknown := unknown_environment(os.environ, settings_cls, ignored=NOT_SETTINGS):
            raise SettingsError("environment: " + "; ".join(unknown))
        return init_settings, env_settings, toml

    # -- paths: every file afterclick writes hangs off state_dir -------------------------
    @cached_property
    def root(self) -> Path:
        return self.state_dir.expanduser().resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def serving_path(self) -> Path:
        return self.root / "serving.duckdb"

    @property
    def lock_path(self) -> Path:
        return self.root / "warehouse.lock"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def landing_dir(self) -> Path:
        """Where file sources are dropped (inboxes), archived and rejected."""
        return self.root / "landing"

    @property
    def demo_dir(self) -> Path:
        """The generated demo world: its systems' data and its ground truth."""
        return self.root / "demo"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def dbt_target_dir(self) -> Path:
        return self.root / "dbt" / "target"

    @property
    def temp_dir(self) -> Path:
        return self.duckdb.temp_directory or self.root / "tmp"

    def ensure_dirs(self) -> None:
        for path in (self.root, self.landing_dir, self.logs_dir, self.temp_dir, self.prefect_home):
            path.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides) -> Settings:
    """Read the settings afresh (environment and settings file as they are now)."""
    return Settings(**overrides)


def _problem(error) -> str:
    """One validation error as ``where: what`` (never the value: it may be a secret)."""
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown setting {where!r}"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"
