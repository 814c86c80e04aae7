"""Helpers of the write-back tests: push through the real engine and adapters to the emulators."""

from __future__ import annotations

import asyncio
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import Message

import pyarrow as pa
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.channels.store import ChannelStore
from afterclick.settings import SmtpSettings
from demo.catalog import STORE_BY_ID
from demo.mailbox import _free_port
from writeback import engine
from writeback.adapters.email import message_token
from writeback.run import adapter_factory

NOW = datetime(2026, 11, 1, 1, 0)


def stores(endpoints, requests_per_second: float = 0.0) -> dict[str, ChannelStore]:
    return {
        sid: ChannelStore(
            sid,
            STORE_BY_ID[sid].channel,
            url,
            {k: SecretStr(v) for k, v in state.credentials.items()},
            requests_per_second,
        )
        for sid, (url, state) in endpoints.items()
    }


def push(settings, endpoints, kinds=("stock",), smtp=None, requests_per_second: float = 0.0, **kw) -> engine.PushReport:
    con = warehouse.connect(settings)
    try:
        return engine.push(
            con,
            adapter_factory(stores(endpoints, requests_per_second), smtp, 10.0),
            list(kinds),
            NOW,
            backoff_seconds=0.0,
            **kw,
        )
    finally:
        con.close()


def ledger(settings, sql: str) -> list:
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        return con.sql(sql).fetchall()


# ---- customer messages ---------------------------------------------------------------------------


@dataclass
class Received:
    port: int  # the client's port: one per SMTP session
    recipients: list[str]
    data: bytes
    message: Message

    @property
    def key(self) -> str:
        """The notification key of the message: its Message-ID names a digest of the key (no header
        names the key itself), looked up among the keys the test made due (``want_notifications``)."""
        return key_of(self.message)


_KEYS: dict[str, str] = {}  # Message-ID digest -> notification key, of every notification made due


def remember_keys(keys) -> None:
    """Let ``key_of`` tell the messages of these notification keys."""
    _KEYS.update({message_token(key): key for key in keys})


def key_of(message: Message) -> str:
    """The notification key of a message sent for a key given to ``remember_keys``."""
    token = str(message["Message-ID"]).strip().removeprefix("<").partition("@")[0]
    return _KEYS[token]


class RecordingSmtp:
    """A real SMTP server on loopback (aiosmtpd) that records every message it accepts.
    ``refuse(address)``: recipients it refuses (550). ``accept_first``: it accepts that many
    messages, then holds every later one unanswered after its data (a server that hangs with the
    message in hand) until it stops."""

    def __init__(self, accept_first: int | None = None, refuse=lambda address: False):
        self.accept_first, self._refuse = accept_first, refuse
        self.accepted: list[Received] = []
        self.held: list[Received] = []
        self._changed = threading.Condition()
        self._release = threading.Event()
        self._controller = Controller(self, hostname="127.0.0.1", port=_free_port())

    def __enter__(self) -> RecordingSmtp:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._controller.stop()

    def smtp(self, settings, **update) -> SmtpSettings:
        """``settings.smtp`` pointed at this server."""
        return settings.smtp.model_copy(update={"host": "127.0.0.1", "port": self._controller.port, **update})

    def wait_held(self, count: int, timeout: float) -> bool:
        """True once ``count`` messages are held (False after ``timeout`` seconds without)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.held) >= count, timeout)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self._refuse(address):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        got = Received(
            session.peer[1],
            list(envelope.rcpt_tos),
            envelope.original_content,
            message_from_bytes(envelope.original_content),
        )
        with self._changed:
            hold = self.accept_first is not None and len(self.accepted) >= self.accept_first
            (self.held if hold else self.accepted).append(got)
            self._changed.notify_all()
        if hold:
            await asyncio.get_running_loop().run_in_executor(None, self._release.wait)
            return "451 try again later"
        return "250 Message accepted for delivery"


def notification(i: int, **payload) -> dict:
    """One row of ``writeback.wb_notifications`` (a shipping confirmation to customer ``i``)."""
    return {
        "writeback_key": f"shipping_confirmation:o{i}:s{i}",
        "store_id": "shopify-es",
        "channel": "shopify",
        "kind": "shipping_confirmation",
        "order_key": f"o{i}",
        "shipment_id": f"s{i}",
        "customer_email": f"customer{i}@example.com",
        "order_number": f"#{1000 + i}",
        "locale": "es",
        "store_name": "Tienda",
        "carrier_name": "Correos",
        "tracking_number": f"PQ{i:08d}",
        "tracking_url": f"https://track.example/PQ{i:08d}",
    } | payload


def want_notifications(settings, rows: list[dict]) -> None:
    """Make ``rows`` the customer messages the warehouse wants sent (``writeback.wb_notifications``)."""
    remember_keys(row["writeback_key"] for row in rows)
    con = warehouse.connect(settings)
    try:
        con.execute("create schema if not exists writeback")
        con.register("due", pa.Table.from_pylist(rows))
        con.execute("create or replace table writeback.wb_notifications as select * from due")
        con.unregister("due")
    finally:
        con.close()


def send_notifications(settings, smtp: SmtpSettings, messages=None) -> engine.PushReport:
    """Push the customer messages due, through the real engine and email adapter. ``messages``: the
    stores' message settings (writeback.adapters.email.store_messages); none: smtp's sender."""
    con = warehouse.connect(settings)
    try:
        return engine.push(
            con, adapter_factory({}, smtp, 10.0, messages=messages), ["notification"], NOW, backoff_seconds=0.0
        )
    finally:
        con.close()


if __name__ == "__main__":  # pushing.py HOST PORT CONNECTIONS: the push the kill drills run (and kill)
    from afterclick.settings import load_settings

    host, port, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = load_settings()
    print(
        send_notifications(
            settings,
            settings.smtp.model_copy(
                update={"host": host, "port": port, "connections": connections, "timeout_seconds": 600.0}
            ),
        ),
        flush=True,
    )
