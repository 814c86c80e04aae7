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
    pass
