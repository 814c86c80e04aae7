"""The demo world's customers' mailboxes: a real SMTP server on loopback (aiosmtpd) that keeps
every message it accepts in a Maildir, so the demo and the tests can read what customers got."""

from __future__ import annotations

import logging
import mailbox
import multiprocessing
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, box: mailbox.Maildir):
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content)
        return "250 Message accepted for delivery"


logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO

# The demo business's brands as its customers know them, per store: (name, mail domain). Each
# store's messages come from its own address and name, never the store's internal name.
DEMO_BRANDS = {
    "shopify-es": ("Tienda Demo", "tienda-demo.example"),
    "shopify-mx": ("Tienda Demo México", "mx.tienda-demo.example"),
    "vtex-br": ("Loja Demo Brasil", "loja-demo.example"),
    "magento-es": ("Tienda Demo Profesional", "pro.tienda-demo.example"),
    "woo-pt": ("Loja Demo Portugal", "pt.loja-demo.example"),
    "amazon-es": ("Tienda Demo", "tienda-demo.example"),
    "miravia-es": ("Tienda Demo", "tienda-demo.example"),
}


def demo_messages(store_id: str) -> dict:
    """The ``messages`` settings of a demo store: its brand's sender and Reply-To, its rating page
    and unsubscribe targets (marketplace buyers stay unmailed: email_buyers keeps its default)."""
    if store_id not in DEMO_BRANDS:
        return {}
    name, domain = DEMO_BRANDS[store_id]
    return {
        "sender": f"orders@{domain}",
        "sender_name": name,
        "reply_to": f"help@{domain}",
        "rating_url": f"https://{domain}/review?order={{order_number}}",
        "unsubscribe_email": f"unsubscribe@{domain}",
        "unsubscribe_url": f"https://{domain}/unsubscribe?order={{order_number}}",
    }


def with_demo_messages(stores: dict[str, dict]) -> dict[str, dict]:
    """Store settings (``channel_stores`` / ``marketplaces`` entries) with the demo's message
    settings; what an entry already sets of its messages stays as set."""
    return {
        store_id: {**entry, "messages": {**demo_messages(store_id), **(entry.get("messages") or {})}}
        for store_id, entry in stores.items()
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_mailbox(folder: Path) -> Iterator[tuple[str, int]]:
    """An SMTP server on 127.0.0.1 delivering into the Maildir ``folder``: yields (host, port)."""
    box = mailbox.Maildir(folder, create=True)
    controller = Controller(_Keep(box), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port
    finally:
        controller.stop()


def _serve_until_terminated(folder: str, conn) -> None:
    stop: list[int] = []  # a list, not an Event: a signal handler must not take a lock
    signal.signal(signal.SIGTERM, lambda signum, _: stop.append(signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    with serve_mailbox(Path(folder)) as reach:
        conn.send(reach)
        while not stop and not conn.poll():  # the pipe reads as closed once the parent is gone
            time.sleep(0.2)


@contextmanager
def mailbox_process(folder: Path, timeout: float = 120.0) -> Iterator[tuple[str, int]]:
    """``serve_mailbox`` in a process of its own (spawned: it needs nothing of the caller's), so
    its SMTP work does not queue behind the caller's for one interpreter: beside the four channel
    emulators it answered a 20k-message push at 73 messages a second, against 440 on its own."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_serve_until_terminated, args=(str(folder), theirs), name="demo-mailbox")
    proc.start()
    try:
        if not ours.poll(timeout):
            raise RuntimeError(f"the demo mailbox did not come up (exit code {proc.exitcode})")
        yield ours.recv()
    finally:
        proc.terminate()
        proc.join(60)


def messages(folder: Path) -> list[Message]:
    """Every message the mailbox holds."""
    if not folder.exists():
        return []
    return [message_from_bytes(m.as_bytes()) for m in mailbox.Maildir(folder, create=False)]
