"""What the channel connector tests share: a warehouse connection and the store to read an emulator
with; the store processes of ``afterclick emulate``, and killing them."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.channels.store import ChannelStore
from demo.catalog import STORE_BY_ID


@pytest.fixture
def con(settings):
    c = warehouse.connect(settings)
    yield c
    c.close()


def api_store(store_id: str, url: str, state, **override) -> ChannelStore:
    """The demo store ``store_id`` served at ``url``, with the emulator's credentials (or ``override``s)."""
    creds = {k: SecretStr(v) for k, v in {**state.credentials, **override}.items()}
    return ChannelStore(store_id, STORE_BY_ID[store_id].channel, url, creds)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (still there, or not yet waited for; none once it is gone)."""
    try:
        return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    except FileNotFoundError:
        return []


def descendants(pid: int) -> list[int]:
    """Every process under ``pid``: its children, theirs, and so on."""
    out = []
    for child in children(pid):
        out += [child, *descendants(child)]
    return out


def kill_emulators(proc: subprocess.Popen) -> None:
    """SIGKILL an ``afterclick emulate`` process and every process under it (its store processes,
    its mailbox), as a crash or the OOM killer would: none gets to stop cleanly and write down what
    it holds. Each is stopped (SIGSTOP) first, so that none sees another go (a store that outlives
    its supervisor, or a supervisor that outlives a store, stops the rest cleanly). Returns once
    all are gone."""
    os.kill(proc.pid, signal.SIGSTOP)
    tree = descendants(proc.pid)
    for pid in tree:  # a child started meanwhile is caught by the next pass
        _signal(pid, signal.SIGSTOP)
    tree += [pid for pid in descendants(proc.pid) if pid not in tree]
    for pid in [proc.pid, *tree]:
        _signal(pid, signal.SIGKILL)
    proc.wait(30)
    deadline = time.monotonic() + 30
    while not all(gone(pid) for pid in tree):
        assert time.monotonic() < deadline, "a killed emulator process is still there"
        time.sleep(0.02)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # it had ended by itself
        pass


def gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped counts as ended)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" in status.read_text()
    except FileNotFoundError:
        return True
