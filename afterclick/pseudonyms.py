"""Customer pseudonyms: what the serving snapshot carries instead of a customer's address.

A pseudonym is a keyed hash: ``anon-`` and the first 24 hex digits of the HMAC-SHA256 of the
normalised value (trimmed, lower case) under the pseudonym key. The same address gives the same
pseudonym in every table and every publish made with the same key, so readers can still count
distinct customers and join tables on it; without the key nobody can tell which address it stands
for, not even by hashing a list of candidate addresses.

The key is the setting ``publish_pseudonym_key`` or, when that is unset, a random key generated
once into ``<state_dir>/pseudonym.key`` (readable by its owner only). Losing the key changes every
pseudonym of the next publish; setting the same key on two machines gives them the same pseudonyms.

``publish`` (afterclick/warehouse.py) uses:
- ``register(con, key)``: the SQL functions ``afterclick_pseudonym(text)`` (pure SQL, so a mart of
  millions of rows is hashed at DuckDB's speed) and ``afterclick_mask_text(text)`` (every email
  address inside a text replaced by its pseudonym, and in a JSON text the values of personal keys
  too) on a connection, for the connection's lifetime only (nothing about the key is stored);
- ``published_column(name, column, data_type)``: the SQL expression a column is published as.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import overload

import duckdb

from afterclick.settings import Settings

PREFIX = "anon-"
DIGITS = 24  # hex digits kept: 96 bits, no collision among any realistic number of customers
KEY_FILE = "pseudonym.key"

# Columns (and JSON keys, spelled any way: "buyer-email", "firstName") that hold a customer's
# address, name or phone, whole: published as their pseudonym. Two unkeyed hashes are published
# keyed too, since anyone holding an address could recompute them: customer_key (of the customer's
# email, int_customer_orders) and the ledger's payload_hash (of a payload whose other fields the
# snapshot shows).
PERSONAL = re.compile(
    r"(?:^|_)(?:e_?mail|email_address|first_?name|last_?name|full_?name|customer_name|buyer_name|"
    r"recipient(?:_name)?|ship_to_name|ship_to_address|address(?:_?line)?_?\d*|street(?:_?\d+)?|phone(?:_number)?)$"
    r"|^customer_key$|^payload_hash$"
)
# Email addresses inside free text (error texts, quarantined records, findings' details).
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# What a text must contain for afterclick_mask_text to change it (DuckDB checks it before calling
# Python, so the rows of a large table without an address never leave SQL): an @, or a JSON key
# that may be personal.
MAY_HOLD_ADDRESS = r"""@|"[^"]*(?i:mail|name|address|street|phone|recipient)[^"]*"\s*:"""
TEXT_TYPES = ("VARCHAR", "JSON")


def _normal_key(name: str) -> str:
    """firstName, buyer-email, Ship To Name -> first_name, buyer_email, ship_to_name."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")


def is_personal(name: str) -> bool:
    """Whether a column or JSON key of that name holds a customer's address, name or phone."""
    return PERSONAL.search(_normal_key(name)) is not None


def pseudonym_key(settings: Settings) -> bytes:
    """The key of the pseudonyms: the setting, else the state dir's key file (made on first use)."""
    if settings.publish_pseudonym_key is not None:
        key = settings.publish_pseudonym_key.get_secret_value()
        if not key.strip():
            raise ValueError("publish_pseudonym_key is empty: set a long random value, or unset it")
        return key.encode()
    path = settings.root / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it (a new key is made; every pseudonym changes) or restore it")
    return key.encode()


def _create_key_file(path: Path) -> None:
    """A new random key, readable by its owner only; written aside and linked into place, so the
    file never exists half-written and a second process never replaces a key already in use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # made meanwhile by another process: that one stands
    finally:
        aside.unlink(missing_ok=True)


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


@overload
def pseudonym(value: str, key: bytes) -> str: ...
@overload
def pseudonym(value: None, key: bytes) -> None: ...
def pseudonym(value: str | None, key: bytes) -> str | None:
    """The pseudonym of ``value`` (None stays None): the same as SQL's ``afterclick_pseudonym``."""
    if value is None:
        return None
    digest = hmac.new(key, value.strip(" ").lower().encode(), hashlib.sha256).hexdigest()  # as SQL trim()
    return PREFIX + digest[:DIGITS]


def _masked_json(value, key: bytes):
    if isinstance(value, dict):
        return {
            k: pseudonym(v, key) if isinstance(v, str) and is_personal(str(k)) else _masked_json(v, key)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked_json(v, key) for v in value]
    if isinstance(value, str):
        return mask_text(value, key)
    return value


@overload
def mask_text(text: str, key: bytes) -> str: ...
@overload
def mask_text(text: None, key: bytes) -> None: ...
def mask_text(text: str | None, key: bytes) -> str | None:
    """``text`` with every email address replaced by its pseudonym; a JSON object or array also
    with the values of its personal keys (customer_email, ship_to_address, firstName …) replaced."""
    if text is None:
        return None
    if text.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            masked = _masked_json(parsed, key)
            return text if masked == parsed else json.dumps(masked, ensure_ascii=False, sort_keys=True)
    return EMAIL.sub(lambda m: pseudonym(m.group(0), key), text)


def register(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """``afterclick_pseudonym`` and ``afterclick_mask_text`` on ``con`` (temporary: they go with it)."""
    inner, outer = _pads(key)
    con.execute(
        f"""create or replace temp macro afterclick_pseudonym(value) as
        case when value is not null then '{PREFIX}' || left(sha256(unhex('{outer.hex()}')
            || unhex(sha256(unhex('{inner.hex()}') || encode(lower(trim(cast(value as varchar))))))), {DIGITS}) end"""
    )
    con.create_function(
        "afterclick_mask_text",
        lambda text: mask_text(text, key),
        ["VARCHAR"],
        "VARCHAR",
        side_effects=False,
    )


def published_column(column: str, data_type: str) -> str:
    """The SQL a column of type ``data_type`` is published as (under its own name): a personal
    column as its pseudonym, other text with the addresses in it masked, the rest as it is."""
    quoted = f'"{column}"'
    if data_type not in TEXT_TYPES:
        return quoted
    if is_personal(column):
        expression = f"afterclick_pseudonym({quoted})"
    else:
        text = f"cast({quoted} as varchar)"
        expression = (
            f"case when regexp_matches({text}, '{MAY_HOLD_ADDRESS}') then afterclick_mask_text({text}) else {text} end"
        )
    return f"cast({expression} as {data_type}) as {quoted}"
