"""The channels the dbt models read: the dbt var ``channels``, built from the channel registry and
the staging folders of the dbt project, and passed to every dbt run (afterclick/transform.py).

No model, seed or ``dbt_project.yml`` lists channels. A channel's staging models join the unions
by their file name: ``dbt/models/staging/<channel>/stg_<channel>__<entity>.sql`` is one branch of
the union of ``<entity>`` (``orders`` into int_orders_unioned, ``order_lines``, ``payments``,
``refunds``, ``customers``, ``fulfillments``, ``products`` into int_channel_listings,
``locations``). Every registered channel whose staging folder exists is read, whether a store of
it is configured or not: ingest creates the raw tables of every channel, so an unconfigured channel
builds empty. Nothing in settings changes the var, so a changed store configuration does not make
dbt parse the whole project again.

``python -m afterclick.dbt_channels`` prints the var for running dbt by hand::

    cd dbt && dbt parse --vars "$(python -m afterclick.dbt_channels)"
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from afterclick.channels.registry import CHANNELS

# Order sources read from files (marketplace seller exports), not through an API: unioned into the
# orders and order lines like the channels, never pushed to.
FILE_CHANNELS = ("marketplace",)

VAR = "channels"


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
    through their APIs) and ``writeback_channels`` (those pushed to)."""
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
        }
    }


if __name__ == "__main__":
    from afterclick.transform import DBT_PROJECT_DIR

    print(json.dumps(channel_vars(DBT_PROJECT_DIR)))
