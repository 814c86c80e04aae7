"""The demo world's outside world, configured into the platform the way a merchant's systems are.

The platform knows nothing of the demo: it reads the stores, the ERP, the tracking service and the
SMTP server that settings name. ``serve_outside_world`` serves the demo world's systems on
loopback (the channel stores' API emulators, the tracking service, the customers' mailbox, the
carrier's label tool) and gives the ``AFTERCLICK_*`` environment that points settings at them:

- ``channel_stores``: every API store of the world, with the demo credentials (``demo_channels``)
  and its profile (currency, time zone, promise, locale, name, country: demo/catalog.py);
- ``marketplaces``: the configured marketplaces, each demo marketplace store with its profile
  under what the settings already say of it;
- ``erp.url``: the world's SQLite ERP;
- ``tracking_api.url`` / ``token``: the 17TRACK-style tracking emulator;
- ``smtp.host`` / ``port``: a local SMTP server keeping the messages in ``<demo>/mailbox``
  (``writeback.demo_mailbox``, when no SMTP host is configured);
- ``messages`` of every store: its brand's sender, Reply-To, rating page and unsubscribe targets
  (demo/mailbox.py);
- ``carrier_files.<carrier>.label_command``: the carrier's label tool, answering each shipments
  file with its labels (``demo_label_tool``).

``afterclick demo`` runs the pipeline inside it; tests use it the same way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from afterclick.settings import Settings
from demo.catalog import STORE_BY_ID
from demo.emulators.server import demo_clock, demo_shopify_bucket, demo_store_settings, serve_channels
from demo.emulators.tracking import DEMO_TRACKING_TOKEN, serve_tracking
from demo.generate import load_truth
from demo.mailbox import serve_mailbox, with_demo_messages


def world_exists(settings: Settings) -> bool:
    """A demo world has been generated in this state dir (``afterclick generate``)."""
    return (settings.demo_dir / "world.json").exists()


def label_tool_command(settings: Settings, carrier: str) -> list[str]:
    """The demo label tool as a carrier's ``label_command``: it answers the shipments file ``{file}``
    with a labels file in the carrier's inbox (the times of the world's end)."""
    return [sys.executable, "-m", "demo.label_tool", "--state-dir", str(settings.root), "--carrier", carrier, "{file}"]


def demo_marketplaces(settings: Settings) -> dict[str, dict]:
    """``marketplaces`` with the demo world's marketplace stores described by their profiles
    (demo/catalog.py); what the settings set of a marketplace stays as set."""
    return {
        store_id: {
            **(STORE_BY_ID[store_id].profile() if store_id in STORE_BY_ID else {}),
            **source.model_dump(mode="json", exclude_unset=True),
        }
        for store_id, source in settings.marketplaces.items()
    }


@contextmanager
def serve_outside_world(
    settings: Settings, shopify_bucket: tuple[float, float] | None = None
) -> Iterator[dict[str, str]]:
    """Serve the demo world's systems until the block ends; yields the environment (``AFTERCLICK_*``
    variables) that configures the platform to use them. ``shopify_bucket``: Shopify's cost bucket
    (default: settings ``demo_rate_limits``)."""
    if not world_exists(settings):
        raise FileNotFoundError(f"no demo world in {settings.demo_dir}: run `afterclick generate` first")
    world = load_truth(settings)
    env: dict[str, str] = {"AFTERCLICK_ERP__URL": f"sqlite:///{settings.demo_dir / 'erp.sqlite'}"}
    with ExitStack() as stack:
        if settings.demo_channels:
            endpoints = stack.enter_context(
                serve_channels(
                    world,
                    clock=demo_clock(settings.as_of, world.end),
                    shopify_bucket=shopify_bucket or demo_shopify_bucket(settings.demo_rate_limits),
                    inventory_dir=settings.demo_dir / "channels",
                )
            )
            env["AFTERCLICK_CHANNEL_STORES"] = json.dumps(with_demo_messages(demo_store_settings(endpoints)))
        env["AFTERCLICK_MARKETPLACES"] = json.dumps(with_demo_messages(demo_marketplaces(settings)))
        url, _ = stack.enter_context(serve_tracking(world))
        env["AFTERCLICK_TRACKING_API__URL"], env["AFTERCLICK_TRACKING_API__TOKEN"] = url, DEMO_TRACKING_TOKEN
        if settings.writeback.demo_mailbox and not settings.smtp.host:
            host, port = stack.enter_context(serve_mailbox(settings.demo_dir / "mailbox"))
            env["AFTERCLICK_SMTP__HOST"], env["AFTERCLICK_SMTP__PORT"] = host, str(port)
        if settings.demo_label_tool and settings.carrier_files:
            env["AFTERCLICK_CARRIER_FILES"] = json.dumps(
                {
                    carrier: {**fmt.model_dump(mode="json"), "label_command": label_tool_command(settings, carrier)}
                    for carrier, fmt in settings.carrier_files.items()
                }
            )
        yield env
