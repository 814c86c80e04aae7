"""What can go wrong when reading a source, sorted by what to do about it.

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
