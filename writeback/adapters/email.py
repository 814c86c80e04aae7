"""Customer messages over SMTP: one templated message per notification (``templates/<locale>/<kind>.txt``,
first line ``Subject: …``; es, pt and en, falling back to en), sent over ``smtp.connections`` SMTP
connections side by side, each kept open across pushes; each message has a Message-ID derived from
its change key. SMTP cannot be read back: a message a crash left unconfirmed is not sent again
(ledger status ``unknown``), so no customer gets it twice; the engine confirms message by message
(``start``), so a crash leaves at most the ``smtp.connections`` messages in flight unknown.

A customer address is checked before its message is built: it must be one plain ASCII address
(``name@domain``) without line breaks or control characters. One that is not is that message's
permanent failure (the dead letter), with a reason that never repeats the address (it would reach
the logs); so is a message that cannot be built (no template for its kind). Neither stops the
other messages."""

from __future__ import annotations

import hashlib
import queue
import smtplib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from email.header import Header
from email.headerregistry import Address
from email.mime.text import MIMEText
from email.utils import formatdate
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from afterclick.settings import SmtpSettings
from afterclick.smtp import connect, sender
from writeback.ledger import Change, Outcome

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)


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


class BadAddress(ValueError):
    """A customer address no message can be sent to; the text says why, without the address."""


def customer_address(raw) -> str:
    """The one plain address (``name@domain``) in ``raw``, as the SMTP envelope and the To header
    get it, or BadAddress. Line breaks and other control characters are refused outright (in a
    header they would start a header of their own: "a@b.com\\r\\nBcc: …"); so is anything that does
    not parse as exactly one address (lists, display names, no domain), and non-ASCII addresses,
    which this sender does not speak (SMTPUTF8)."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadAddress("no customer email address")
    if any(not ch.isprintable() for ch in raw):
        raise BadAddress(
            "the customer email address contains a line break or control character (refused: it could add mail headers)"
        )
    if not raw.isascii():
        raise BadAddress("the customer email address has non-ASCII characters, which this sender does not support")
    try:
        address = Address(addr_spec=raw.strip())
        ok = bool(address.username and address.domain)
    except Exception:  # noqa: BLE001 - the parser raises several types (ValueError, IndexError, header defects)
        ok = False
    if not ok:
        raise BadAddress("the customer email address is not one email address (name@domain)")
    return address.addr_spec


def _one_line(text: str) -> str:
    """``text`` without line breaks or other control characters (a header value stays one header)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def build(change: Change, sender: str, to: str | None = None) -> bytes:
    """The message as sent: UTF-8 text, base64 body, RFC 2047 subject when it is not ASCII. Built with
    the standard library's compat32 MIME classes: the modern ``EmailMessage`` parses every header it
    is given and costs three times as much (a millisecond a message, the long pole of a 20k push).
    ``to``: the customer's address as ``customer_address`` gave it (checked here when not given)."""
    p = change.payload
    to = to if to is not None else customer_address(p.get("customer_email"))
    subject, body = render(p["kind"], p.get("locale") or "en", p)
    subject = _one_line(subject)  # the order number or store name come from the channel
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"], msg["To"] = sender, to
    # email.message takes a Header (RFC 2047 encoded when written); typeshed types the value as str only
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
    msg["Date"], msg["Message-ID"] = formatdate(localtime=False), message_id(change)
    msg["X-Afterclick-Notification"] = change.key
    return msg.as_bytes()


class EmailNotifications:
    """``smtp.connections`` sessions, each kept open across pushes; messages are sent side by side,
    each on the first free session (one session waits for the server's answer to each of a
    message's four commands: at 1M lines, 20k messages were the push's long pole). ``start`` sends
    one message and gives its outcome as it is answered (the engine confirms message by message);
    ``push`` sends a list."""

    kind, channel, batch_size = "notification", "email", 100
    IDLE_CHECK_SECONDS = 1.0  # a session idle longer is checked (NOOP) before a message is sent on it

    def __init__(self, smtp: SmtpSettings, store_id: str = "email"):
        self.smtp, self.store_id = smtp, store_id
        self.window = smtp.connections  # messages in flight at most
        self._from = sender(smtp)
        self._clients: list[smtplib.SMTP | None] = [None] * smtp.connections
        self._last_used = [0.0] * smtp.connections
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(smtp.connections):
            self._free.put(slot)
        self._pool = ThreadPoolExecutor(smtp.connections, "smtp")
        self._unreachable: str | None = None  # set when a connection could not be opened: this push stops trying

    def _session(self, slot: int) -> smtplib.SMTP:
        """The slot's open connection, or a new one when there is none or the server has dropped it
        (a NOOP checks a session idle for a while: no message is sent over a dead connection)."""
        client = self._clients[slot]
        if client is not None:
            if time.monotonic() - self._last_used[slot] < self.IDLE_CHECK_SECONDS:
                return client
            try:
                if client.noop()[0] == 250:
                    return client
            except (OSError, smtplib.SMTPException):
                pass
            self._close(slot)
        client = self._clients[slot] = connect(self.smtp)
        return client

    def start(self, change: Change) -> Future[Outcome]:
        """Send one message on the first free session; its outcome once the server has answered.
        Never raises: whatever goes wrong is this message's outcome."""
        return self._pool.submit(self._send_one, change)

    def push(self, changes: list[Change]) -> list[Outcome]:
        """Send every message, side by side; the outcomes in the order of ``changes``."""
        return [f.result() for f in [self.start(c) for c in changes]]

    def _send_one(self, change: Change) -> Outcome:
        started = time.perf_counter()
        slot = self._free.get()  # never waits for long: at most ``window`` messages are sent at once
        try:
            outcome = self._deliver(slot, change)
        except Exception as exc:  # noqa: BLE001 - a bug must fail this message, not stop the others
            self._close(slot)
            outcome = Outcome(change, False, None, f"not sent: {type(exc).__name__}")
        finally:
            self._free.put(slot)
        outcome.duration_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _deliver(self, slot: int, c: Change) -> Outcome:
        raw = c.payload.get("customer_email")
        try:
            to = customer_address(raw)
            message = build(c, self._from, to)
        except BadAddress as exc:
            return Outcome(c, False, None, f"not sent: {exc}", permanent=True)
        except TemplateNotFound:
            return Outcome(
                c,
                False,
                None,
                f"not sent: no message template for kind {_quoted(c.payload.get('kind'))}",
                permanent=True,
            )
        except Exception as exc:  # noqa: BLE001 - a message that cannot be built fails alone, for good
            return Outcome(
                c,
                False,
                None,
                f"not sent: the message could not be built: {type(exc).__name__}: {_scrubbed(str(exc), raw)}",
                permanent=True,
            )
        if self._unreachable is not None:
            return Outcome(c, False, None, self._unreachable)
        try:
            client = self._session(slot)
        except (OSError, smtplib.SMTPException) as exc:  # the server is not there: the rest is retried later
            self._unreachable = f"SMTP: {type(exc).__name__}: {_scrubbed(str(exc), raw)}"
            return Outcome(c, False, None, self._unreachable)
        try:
            client.sendmail(self.smtp.sender, [to], message)
            self._last_used[slot] = time.monotonic()
            return Outcome(c, True, 250)
        except smtplib.SMTPRecipientsRefused as exc:
            self._last_used[slot] = time.monotonic()
            code, text = next(iter(exc.recipients.values()))
            return Outcome(
                c, False, code, f"recipient refused: {_scrubbed(text.decode(errors='replace'), to)}", permanent=True
            )
        except smtplib.SMTPResponseException as exc:
            self._last_used[slot] = time.monotonic()
            error = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            return Outcome(c, False, exc.smtp_code, _scrubbed(error, to), permanent=500 <= exc.smtp_code < 600)
        except (OSError, smtplib.SMTPException) as exc:  # the session broke: retried later; the next reconnects
            self._close(slot)
            return Outcome(c, False, None, f"SMTP: {type(exc).__name__}: {_scrubbed(str(exc), to)}")

    def read_back(self, changes: list[Change]) -> None:
        return None

    def close(self) -> None:
        self._pool.shutdown()  # the messages in flight are answered first
        for slot in range(len(self._clients)):
            self._close(slot)

    def _close(self, slot: int) -> None:
        client, self._clients[slot] = self._clients[slot], None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


def _scrubbed(text: str, address) -> str:
    """An error text fit for the ledger and the logs: without the customer's address, on one line."""
    if isinstance(address, str) and address.strip():
        text = text.replace(address, "<customer address>").replace(address.strip(), "<customer address>")
    return _one_line(text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text)[:500]


def _quoted(value) -> str:
    return repr(_one_line(str(value))[:60])
