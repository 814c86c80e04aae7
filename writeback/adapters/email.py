"""Customer messages over SMTP: one templated message per notification (``templates/<locale>/<kind>.txt``,
first line ``Subject: …``; es, pt and en, falling back to en), sent over ``smtp.connections`` SMTP
connections side by side, each kept open across batches; each message has a Message-ID derived from its change key. SMTP cannot be read back: a message a crash
left unconfirmed is not sent again (ledger status ``unknown``), so no customer gets it twice."""

from __future__ import annotations

import hashlib
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from afterclick.settings import SmtpSettings
from afterclick.smtp import connect, sender
from writeback.adapters.base import in_batch_order
from writeback.ledger import Change, Outcome

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                   keep_trailing_newline=True)


def render(kind: str, locale: str, fields: dict) -> tuple[str, str]:
    """(subject, body) of a message in the customer's locale (en when there is no template for it)."""
    try:
        template = _ENV.get_template(f"{locale}/{kind}.txt")
    except TemplateNotFound:
        template = _ENV.get_template(f"en/{kind}.txt")
    first, _, body = template.render(**fields).partition("\n")
    return first.removeprefix("Subject:").strip(), body.lstrip("\n")


def message_id(change: Change) -> str:
    return f"<{hashlib.sha256(change.key.encode()).hexdigest()[:32]}@afterclick>"


def build(change: Change, sender: str) -> bytes:
    """The message as sent: UTF-8 text, base64 body, RFC 2047 subject when it is not ASCII. Built with
    the standard library's compat32 MIME classes: the modern ``EmailMessage`` parses every header it
    is given and costs three times as much (a millisecond a message, the long pole of a 20k push)."""
    p = change.payload
    subject, body = render(p["kind"], p.get("locale") or "en", p)
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"], msg["To"] = sender, p["customer_email"]
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    msg["Date"], msg["Message-ID"] = formatdate(localtime=False), message_id(change)
    msg["X-Afterclick-Notification"] = change.key
    return msg.as_bytes()


class EmailNotifications:
    """``smtp.connections`` sessions, each kept open across batches; a batch's messages are shared
    out among them and sent side by side (one session waits for the server's answer to each of a
    message's four commands: at 1M lines, 20k messages were the push's long pole)."""

    kind, channel, batch_size = "notification", "email", 100

    def __init__(self, smtp: SmtpSettings, store_id: str = "email"):
        self.smtp, self.store_id = smtp, store_id
        self._from = sender(smtp)
        self._clients: list[smtplib.SMTP | None] = [None] * smtp.connections
        self._pool = ThreadPoolExecutor(smtp.connections, "smtp") if smtp.connections > 1 else None

    def _session(self, slot: int) -> smtplib.SMTP:
        """The slot's open connection, or a new one when there is none or the server has dropped it
        (a NOOP checks before each batch: nothing of a batch is sent over a dead connection)."""
        client = self._clients[slot]
        if client is not None:
            try:
                if client.noop()[0] == 250:
                    return client
            except (OSError, smtplib.SMTPException):
                pass
            self._close(slot)
        self._clients[slot] = connect(self.smtp)
        return self._clients[slot]

    def push(self, changes: list[Change]) -> list[Outcome]:
        started = time.perf_counter()
        shares = [(slot, changes[slot::len(self._clients)]) for slot in range(len(self._clients))]
        shares = [(slot, share) for slot, share in shares if share]
        sent = (self._pool.map(lambda s: self._send(*s), shares) if self._pool is not None and len(shares) > 1
                else map(lambda s: self._send(*s), shares))
        outcomes = in_batch_order(changes, [o for share in sent for o in share])
        ms = (time.perf_counter() - started) * 1000 / max(len(changes), 1)
        for o in outcomes:
            o.duration_ms = ms
        return outcomes

    def _send(self, slot: int, changes: list[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            client = self._session(slot)
            for c in changes:
                try:
                    client.sendmail(self.smtp.sender, [c.payload["customer_email"]], build(c, self._from))
                    outcomes.append(Outcome(c, True, 250))
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = next(iter(exc.recipients.values()))
                    outcomes.append(Outcome(c, False, code, f"recipient refused: {text.decode(errors='replace')}",
                                            permanent=True))
                except smtplib.SMTPResponseException as exc:
                    outcomes.append(Outcome(c, False, exc.smtp_code, exc.smtp_error.decode(errors="replace"),
                                            permanent=500 <= exc.smtp_code < 600))
        except (OSError, smtplib.SMTPException) as exc:  # server unreachable or hung up: retry the rest later
            self._close(slot)
            done = {id(o.change) for o in outcomes}
            outcomes += [Outcome(c, False, None, f"SMTP: {type(exc).__name__}: {exc}") for c in changes if id(c) not in done]
        return outcomes

    def read_back(self, changes: list[Change]) -> None:
        return None

    def close(self) -> None:
        for slot in range(len(self._clients)):
            self._close(slot)
        if self._pool is not None:
            self._pool.shutdown()

    def _close(self, slot: int) -> None:
        if self._clients[slot] is not None:
            client, self._clients[slot] = self._clients[slot], None
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
