"""The project's errors, sorted by what to do about them.

- ``TransientSourceError``: the source was unreachable or refused for now (network, timeout,
  429, 5xx) even after the connector's own retries: try the whole source again later.
- ``BadSourceData``: the source answered with data we cannot use as a whole (a malformed page
  that stays malformed): retrying will not help; report it. (Single bad records never raise:
  they are quarantined.)
"""


class TransientSourceError(RuntimeError):
    pass


class BadSourceData(ValueError):
    """``payload``: an excerpt of what the source sent (kept in ops.quarantine with the reason)."""

    def __init__(self, message: str, payload: str = ""):
        super().__init__(message)
        self.payload = payload


class SourcesFailed(RuntimeError):
    """Some stores (or instances) of a source kind failed while the others landed. Transient when
    every failure was transient (then retrying the kind is worth it)."""

    def __init__(self, failures: dict[str, BaseException]):
        self.failures = failures
        super().__init__("; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures.items()))

    @property
    def transient(self) -> bool:
        return all(isinstance(exc, TransientSourceError) for exc in self.failures.values())


class AfterclickError(Exception):
    """An error a user meets, with a message that says what to do; the CLI prints it without a traceback."""


class UnknownChannel(AfterclickError, ValueError):
    """A channel name that no line of the channel registry (afterclick/channels/registry.py) declares."""


class ChannelRefused(AfterclickError):
    """A channel store refused our credentials (HTTP 401 or 403): retrying will not help; fix the
    store's credentials (or the API user's permissions) in settings."""


class CarrierHandOffFailed(AfterclickError):
    """A carrier's ``label_command`` failed on a shipments file (the file stays in the outbox)."""


class SettingsError(AfterclickError, ValueError):
    """The settings (the settings file or an ``AFTERCLICK_*`` environment variable) name a key that
    is no setting, or give a value that cannot be used; the message names the setting."""


class ChannelQueryError(AfterclickError, ValueError):
    """A channel store refused a query it answered (Shopify GraphQL ``errors``): the message names
    the store, the operation and the store's own messages."""

    def __init__(self, store_id: str, operation: str, messages: list[str]):
        self.store_id, self.operation, self.messages = store_id, operation, messages
        super().__init__(f"{store_id}: {operation} was refused: {'; '.join(messages) or 'no message'}")
