"""Customer messages over SMTP: one templated message per notification (``templates/<locale>/<kind>.txt``,
first line ``Subject: …``), sent over ``smtp.connections`` SMTP connections side by side, each kept
open across pushes. SMTP cannot be read back: a message a crash left unconfirmed is not sent again
(ledger status ``unknown``), so no customer gets it twice; the engine confirms message by message
(``start``), so a crash leaves at most the ``smtp.connections`` messages in flight unknown.

Each store's messages come from its own sender (``messages`` of its settings: From, Reply-To,
the name customers see, the rating link, the unsubscribe target) in its locale: ``pt-BR`` reads
``templates/pt-BR/``, else ``templates/pt/``, else ``templates/en/``. A message is plain text with
an HTML alternative (the same text, every value escaped; the tracking and rating links as links);
its Date carries the store's time zone, its Message-ID (derived from the change key, the same on
every attempt) the sender's domain. The rating request sent after delivery is the one message that
is not transactional: it alone carries List-Unsubscribe (and the one-click form, RFC 8058, when the
store has an https unsubscribe link). No header names afterclick's internal keys.

A customer address is checked before its message is built: it must be one plain ASCII address
(``name@domain``) without line breaks or control characters. One that is not is that message's
permanent failure (the dead letter), with a reason that never repeats the address (it would reach
the logs); so is a message that cannot be built (no template for its kind). Neither stops the
other messages."""

from __future__ import annotations

import hashlib
import html
import queue
import re
import smtplib
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from functools import cache
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from afterclick.settings import LINK_PLACEHOLDERS, ChannelStoreSettings, MarketplaceSource, Settings, SmtpSettings
from afterclick.smtp import connect
from writeback.ledger import Change, Outcome

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)
FALLBACK_LOCALE = "en"
# SMTP's line ending (RFC 5321): a message is lines of at most 1,000 characters ending CRLF, or a
# server takes the whole message for one over-long line
_SMTP_LINES = compat32.clone(linesep="\r\n")
# the messages that are not transactional: they carry List-Unsubscribe
RATING_REQUESTS = frozenset({"delivered"})


@dataclass(frozen=True)
class StoreMessages:
    """How one store's customer messages are sent (``messages`` of its settings, resolved)."""

    sender: str  # From address (and the SMTP envelope's)
    name: str  # what customers see as the sender and in the text
    timezone: str = "UTC"
    reply_to: str | None = None
    rating_url: str | None = None  # template: placeholders LINK_PLACEHOLDERS
    unsubscribe_email: str | None = None  # default: the Reply-To, else the sender
    unsubscribe_url: str | None = None  # template, https

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2]


def default_messages(smtp: SmtpSettings) -> StoreMessages:
    """A store without settings of its own: smtp's sender and sender name."""
    return StoreMessages(smtp.sender, smtp.sender_name)


def store_messages(settings: Settings) -> dict[str, StoreMessages]:
    """Every configured store's (channel stores and marketplaces) message settings, resolved."""
    out: dict[str, StoreMessages] = {}
    stores: list[tuple[str, ChannelStoreSettings | MarketplaceSource]] = [
        *settings.channel_stores.items(),
        *settings.marketplaces.items(),
    ]
    for store_id, store in stores:
        m = store.messages
        out[store_id] = StoreMessages(
            sender=m.sender or settings.smtp.sender,
            name=m.sender_name or store.display_name or settings.smtp.sender_name,
            timezone=store.timezone,
            reply_to=m.reply_to,
            rating_url=m.rating_url,
            unsubscribe_email=m.unsubscribe_email,
            unsubscribe_url=m.unsubscribe_url,
        )
    return out


def locales(locale: str | None) -> list[str]:
    """The template folders tried for ``locale``, most specific first: pt-BR -> pt-BR, pt, en."""
    language, _, region = (locale or "").replace("_", "-").partition("-")
    chain = [f"{language.lower()}-{region.upper()}"] if language and region else []
    chain += [language.lower()] if language else []
    return [*chain, FALLBACK_LOCALE] if FALLBACK_LOCALE not in chain else chain


def render(kind: str, locale: str | None, fields: dict) -> tuple[str, str]:
    """(subject, body) of a message in the customer's locale: the most specific template there is
    (pt-BR, then pt, then en)."""
    template = _ENV.get_template(_template_name(kind, locale))
    first, _, body = template.render(**fields).partition("\n")
    return first.removeprefix("Subject:").strip(), body.lstrip("\n")


@cache
def _template_name(kind: str, locale: str | None) -> str:
    """The template a message of ``kind`` in ``locale`` is rendered from (looked up once a process)."""
    for folder in locales(locale):
        if (TEMPLATES / folder / f"{kind}.txt").is_file():
            return f"{folder}/{kind}.txt"
    return f"{FALLBACK_LOCALE}/{kind}.txt"  # none: TemplateNotFound, that message's failure


def link(template: str | None, fields: Mapping) -> str | None:
    """A link template with its placeholders filled in (each value URL-encoded)."""
    if not template:
        return None
    return template.format(**{name: quote(str(fields.get(name) or ""), safe="") for name in LINK_PLACEHOLDERS})


_URL = re.compile(r"https?://[^\s<>\"']+")


def as_html(text: str, links: list[str]) -> str:
    """The text as HTML: every character escaped (customer-supplied values included), paragraphs kept,
    and the ``links`` given (the tracking and rating links; no other text) made clickable."""
    escaped = html.escape(text)
    for url in {u for u in links if u and _URL.fullmatch(u)}:
        e = html.escape(url)
        escaped = escaped.replace(e, f'<a href="{e}">{e}</a>')
    paragraphs = [p.strip("\n").replace("\n", "<br>\n") for p in escaped.split("\n\n") if p.strip()]
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(f"<p>{p}</p>" for p in paragraphs) + "\n</body></html>\n"


def message_token(key: str) -> str:
    """The Message-ID's left part: a digest of the change key (the same on every attempt)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def message_id(key: str, domain: str) -> str:
    return f"<{message_token(key)}@{domain}>"


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


def build(change: Change, store: StoreMessages, to: str | None = None, now: datetime | None = None) -> bytes:
    """The message as sent: multipart/alternative (UTF-8 text, and the same as HTML), RFC 2047
    subject when it is not ASCII. Built with the standard library's compat32 MIME classes: the
    modern ``EmailMessage`` parses every header it is given and costs three times as much (a
    millisecond a message, the long pole of a 20k push). ``to``: the customer's address as
    ``customer_address`` gave it (checked here when not given); ``now``: the Date (default: now)."""
    p = change.payload
    to = to if to is not None else customer_address(p.get("customer_email"))
    fields = {**p, "store_name": store.name}
    fields["rating_url"] = link(store.rating_url, fields)
    subject, body = render(p["kind"], p.get("locale"), fields)
    subject = _one_line(subject)  # the order number comes from the channel
    msg = MIMEMultipart("alternative")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    msg.attach(MIMEText(as_html(body, [fields.get("tracking_url") or "", fields["rating_url"] or ""]), "html", "utf-8"))
    msg["From"], msg["To"] = formataddr((_one_line(store.name), store.sender), "utf-8"), to
    if store.reply_to:
        msg["Reply-To"] = store.reply_to
    # email.message takes a Header (RFC 2047 encoded when written); typeshed types the value as str only
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
    msg["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(ZoneInfo(store.timezone)))
    msg["Message-ID"] = message_id(change.key, store.domain)
    if p["kind"] in RATING_REQUESTS:
        mailto = store.unsubscribe_email or store.reply_to or store.sender
        targets = [f"<mailto:{mailto}?subject=unsubscribe>"]
        if url := link(store.unsubscribe_url, fields):
            targets.append(f"<{url}>")
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["List-Unsubscribe"] = ", ".join(targets)
    return msg.as_bytes(policy=_SMTP_LINES)


class EmailNotifications:
    """``smtp.connections`` sessions, each kept open across pushes; messages are sent side by side,
    each on the first free session (one session waits for the server's answer to each of a
    message's four commands: at 1M lines, 20k messages were the push's long pole). ``start`` sends
    one message and gives its outcome as it is answered (the engine confirms message by message);
    ``push`` sends a list."""

    kind, channel, batch_size = "notification", "email", 100
    IDLE_CHECK_SECONDS = 1.0  # a session idle longer is checked (NOOP) before a message is sent on it

    def __init__(self, smtp: SmtpSettings, stores: Mapping[str, StoreMessages] | None = None, store_id: str = "email"):
        """``stores``: each store's message settings (``store_messages``); a store not there sends
        as ``smtp.sender``."""
        self.smtp, self.store_id = smtp, store_id
        self.stores, self._default = dict(stores or {}), default_messages(smtp)
        self.window = smtp.connections  # messages in flight at most
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
            store = self.stores.get(c.payload.get("store_id") or "", self._default)
            message = build(c, store, to)
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
            client.sendmail(store.sender, [to], message)
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
