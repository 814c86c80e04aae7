"""The channels and stores the dbt models read: the dbt var ``channels``, built from the channel
registry and the staging folders of the dbt project, and the vars ``stores`` and
``store_defaults``, built from the store profiles in settings; all passed to every dbt run
(afterclick/transform.py).

No model, seed or ``dbt_project.yml`` lists channels. A channel's staging models join the unions
by their file name: ``dbt/models/staging/<channel>/stg_<channel>__<entity>.sql`` is one branch of
the union of ``<entity>`` (``orders`` into int_orders_unioned, ``order_lines``, ``payments``,
``refunds``, ``customers``, ``fulfillments``, ``products`` into int_channel_listings,
``locations``). Every registered channel whose staging folder exists is read, whether a store of
it is configured or not: ingest creates the raw tables of every channel, so an unconfigured channel
builds empty. Nothing in settings changes the var, so a changed store configuration does not make
dbt parse the whole project again.

The stores: dim_stores (dbt/models/marts/shared) makes one row of each store configured in
``channel_stores.<id>`` or ``marketplaces.<id>`` (its StoreProfile: currency, time zone, promise,
locale, name, country), and one with ``store_defaults`` for a store seen in the orders but
configured nowhere. Only the profile goes into the var, never a URL or a credential; a changed
profile changes the var, so dbt parses the project again on the next run.

``python -m afterclick.dbt_channels`` prints the vars for running dbt by hand::

    cd dbt && dbt parse --vars "$(python -m afterclick.dbt_channels)"
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from afterclick.channels.registry import CHANNELS
from afterclick.settings import ChannelStoreSettings, Settings, StoreProfile

# Order sources read from files (marketplace seller exports), not through an API: unioned into the
# orders and order lines like the channels, never pushed to.
FILE_CHANNELS = ("marketplace",)

VAR = "channels"
STORES_VAR = "stores"
STORE_DEFAULTS_VAR = "store_defaults"
MARKETPLACE_CHANNEL = "marketplace"  # the channel of every marketplace export's store


def staging_folder(project_dir: Path, name: str) -> Path:
    """``dbt/models/staging/<folder>`` of a registered channel (its ``staging`` folder, default its
    name) or of a file channel."""
    registered = CHANNELS.get(name)
    return project_dir / "models" / "staging" / ((registered.staging if registered else "") or name)


def staging_models(project_dir: Path, name: str) -> dict[str, str]:
    """A channel's staging models by entity: ``{"orders": "stg_shopify__orders", ...}``."""
    folder = staging_folder(project_dir, name)
    pattern = re.compile(rf"stg_{re.escape(folder.name)}__(\w+)")
    found = (pattern.fullmatch(path.stem) for path in sorted(folder.glob("stg_*.sql")))
    return {match[1]: match[0] for match in found if match}


def channel_vars(project_dir: Path) -> dict:
    """``{"channels": {...}}`` for dbt's ``--vars``: ``staging_models`` (entity -> the staging models
    of every channel that has it, in registry order, file channels last), ``order_channels`` (every
    channel read: the values of a ``channel`` column), ``api_channels`` (the registered channels read
    through their APIs), ``writeback_channels`` (those pushed to), ``stock_reserving_channels``
    (those that sell the stock quantity they are sent minus their own open orders: the stock push
    adds those back) and ``price_list_channels`` (those with customer-group price lists)."""
    read = [name for name in (*CHANNELS, *FILE_CHANNELS) if staging_folder(project_dir, name).is_dir()]
    unions: dict[str, list[str]] = {}
    for name in read:
        for entity, model in staging_models(project_dir, name).items():
            unions.setdefault(entity, []).append(model)
    return {
        VAR: {
            "staging_models": unions,
            "order_channels": read,
            "api_channels": [name for name in read if name in CHANNELS],
            "writeback_channels": [name for name in read if name in CHANNELS and CHANNELS[name].writeback],
            "stock_reserving_channels": [
                name for name in read if name in CHANNELS and CHANNELS[name].reserves_sent_stock
            ],
            "price_list_channels": [name for name in read if name in CHANNELS and CHANNELS[name].price_lists],
        }
    }


def _store_entry(store_id: str, channel: str, profile: StoreProfile) -> dict:
    return {
        "store_id": store_id,
        "channel": channel,
        "store_name": profile.display_name or store_id,
        "currency": profile.currency,
        "timezone": profile.timezone,
        "country": profile.country,
        "promised_days": profile.promised_days,
        "locale": profile.locale,
        # channel stores: whether their prices include tax, and at what rate (wb_prices; macro store_price_rules)
        **(
            {"prices_include_tax": profile.includes_tax, "tax_rate_pct": profile.tax_rate_pct}
            if isinstance(profile, ChannelStoreSettings)
            else {}
        ),
    }


def store_defaults() -> dict:
    """What a store seen in the orders but configured nowhere gets: StoreProfile's own defaults
    (its name is its id; its currency, the one most of its orders state)."""
    fields = StoreProfile.model_fields
    return {name: fields[name].default for name in ("timezone", "promised_days", "locale")}


def store_vars(settings: Settings) -> dict:
    """``{"stores": [{store_id, channel, store_name, currency, timezone, country, promised_days,
    locale}, ...], "store_defaults": {...}}`` for dbt's ``--vars``: every configured store, enabled
    or not (a disabled store's history still needs its time zone), sorted by id; an id configured
    both as a channel store and as a marketplace takes the channel store's profile."""
    entries = {
        store_id: _store_entry(store_id, MARKETPLACE_CHANNEL, source)
        for store_id, source in settings.marketplaces.items()
    }
    entries.update({store_id: _store_entry(store_id, s.channel, s) for store_id, s in settings.channel_stores.items()})
    return {STORES_VAR: [entries[store_id] for store_id in sorted(entries)], STORE_DEFAULTS_VAR: store_defaults()}


if __name__ == "__main__":
    from afterclick.settings import load_settings
    from afterclick.transform import DBT_PROJECT_DIR

    print(json.dumps({**channel_vars(DBT_PROJECT_DIR), **store_vars(load_settings())}))
