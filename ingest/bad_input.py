"""The two rules of bad input that come from settings, in force while a source lands.

- A time later than *now* plus ``future_tolerance_hours`` cannot have happened: no real system
  sends it (a clock or time-zone error, a typo such as 2099). *Now* is the wall clock, or
  ``as_of`` when that is set and later (a replay of a world that ends ahead of the clock).
- A file whose share of bad rows passes ``file_reject_bad_share`` is rejected as a whole, with
  one summary row, instead of landing its few good rows beside thousands of quarantined ones.

``ingest.run`` puts the settings' rules in force for each source it lands (``rules_of``); code
that lands without it (a connector called directly) gets the settings' defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from afterclick.settings import Settings


@dataclass(frozen=True)
class BadInputRules:
    future_tolerance_hours: float = Settings.model_fields["future_tolerance_hours"].default
    as_of: datetime | None = None
    file_reject_bad_share: float = Settings.model_fields["file_reject_bad_share"].default

    def latest_credible_time(self) -> datetime:
        """The latest time (naive UTC) a record can carry."""
        now = datetime.now(UTC).replace(tzinfo=None)
        as_of = self.as_of.astimezone(UTC).replace(tzinfo=None) if self.as_of and self.as_of.tzinfo else self.as_of
        return max(now, as_of or now) + timedelta(hours=self.future_tolerance_hours)

    def rejects_file(self, bad: int, total: int) -> bool:
        """A file with ``bad`` of its ``total`` rows bad is rejected whole."""
        return total > 0 and bad / total > self.file_reject_bad_share


_rules = BadInputRules()


def rules() -> BadInputRules:
    return _rules


@contextmanager
def rules_of(settings: Settings) -> Iterator[BadInputRules]:
    """The settings' rules in force for what lands inside the block (threads included)."""
    global _rules
    before = _rules
    _rules = BadInputRules(settings.future_tolerance_hours, settings.as_of, settings.file_reject_bad_share)
    try:
        yield _rules
    finally:
        _rules = before


def as_utc_time(value) -> datetime | None:
    """A time as naive UTC: a datetime or date as it is, text as its leading ISO date and time
    (read as UTC, as landing reads it); None for anything else (a number, a name)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    if isinstance(value, str):
        text = value.strip()
        for piece, fmt in ((text[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S"), (text[:10], "%Y-%m-%d")):
            try:
                return datetime.strptime(piece, fmt)
            except ValueError:
                continue
    return None


def beyond_credible_time(value) -> bool:
    """``value`` is a time later than any record can carry (see ``BadInputRules``)."""
    at = as_utc_time(value)
    return at is not None and at > rules().latest_credible_time()


def file_rejected_summary(name: str, bad: int, total: int, reasons: list[str], shown: int = 3) -> str:
    """The one quarantine row of a file rejected for its share of bad rows."""
    first = "; ".join(r.removeprefix(f"{name} ") for r in reasons[:shown])
    return (
        f"{name} rejected: {bad:,} of {total:,} rows bad (more than {rules().file_reject_bad_share:.0%}); "
        f"first reasons: {first}"
    )
