"""Run emulators on 127.0.0.1 in background threads (tests, the demo pipeline, benchmarks)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from afterclick.channels.registry import CHANNELS
from demo.catalog import STORE_BY_ID, STORES
from demo.emulators import shopify
from demo.emulators.base import EmulatorState
from demo.world import World

# A registered channel's emulator is the module demo/emulators/<channel>.py, with its app(state) and
# its made-up CREDENTIALS: a channel added to the registry is emulated once that module exists.
EMULATORS = {
    name: importlib.import_module(f"demo.emulators.{name}")
    for name in CHANNELS
    if importlib.util.find_spec(f"demo.emulators.{name}") is not None
}
APPS: dict[str, Callable[[EmulatorState], Starlette]] = {name: module.app for name, module in EMULATORS.items()}
DEMO_CREDENTIALS: dict[str, dict[str, str]] = {name: module.CREDENTIALS for name, module in EMULATORS.items()}


def _bound_socket() -> socket.socket:
    """A socket bound to a free loopback port and kept: a port found free and bound only later by
    the server can be taken in between (seen in CI, tests on two workers: "address already in use").
    Made with the protocol named (IPPROTO_TCP): asyncio turns Nagle's algorithm off only on sockets
    that say so, and without that each answer waited ~40 ms for the client's delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_apps(apps: list) -> Iterator[list[str]]:
    """Serve each app on a port of its own, all on one event loop in one background thread: the
    stores take turns on the loop instead of contending for the GIL from a thread each (a
    thread woken by its socket waited up to the interpreter's 5 ms switch interval behind
    another store's, once per request). Yields their base URLs in order."""
    sockets = [_bound_socket() for _ in apps]
    servers = [
        uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=sock.getsockname()[1], log_level="warning", access_log=False)
        )
        for app, sock in zip(apps, sockets)
    ]

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets)))

    thread = threading.Thread(target=asyncio.run, args=(serve_all(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not all(server.started for server in servers):
        if time.monotonic() > deadline or not thread.is_alive():
            for server in servers:
                server.should_exit = True
            raise RuntimeError("emulator did not start")
        time.sleep(0.02)
    try:
        yield [f"http://127.0.0.1:{server.config.port}" for server in servers]
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(10)
        for sock in sockets:
            sock.close()


@contextmanager
def serve_app(app) -> Iterator[str]:
    with serve_apps([app]) as (url,):
        yield url


PLUS_BUCKET = (20_000.0, 1_000.0)  # Shopify Plus's cost bucket (size, restored per second): the demo's default
NO_LIMIT_BUCKET = (1e12, 1e12)  # rate limits off (benchmarks)


def demo_shopify_bucket(rate_limits: bool) -> tuple[float, float]:
    """The demo's Shopify cost bucket, with the channels' rate limits on or off (settings.demo_rate_limits)."""
    return PLUS_BUCKET if rate_limits else NO_LIMIT_BUCKET


@contextmanager
def serve_channels(
    world: World,
    clock: datetime | None = None,
    requests_per_second: float | dict[str, float] = 0.0,
    shopify_bucket: tuple[float, float] = PLUS_BUCKET,
    inventory_dir: Path | None = None,
    stores: list[str] | None = None,
) -> Iterator[dict[str, tuple[str, EmulatorState]]]:
    """Every API channel store of the demo world, each on its own port: store_id -> (base URL, state).

    ``shopify_bucket`` is the cost bucket (size, restore per second): the default is an
    enterprise-sized one so the demo is quick; tests pass Shopify's standard (1000, 50).
    ``requests_per_second``: the rate limit every store enforces (429 beyond it), or one per channel.
    ``inventory_dir``: keep the stock each channel shows in ``<dir>/<store>.json``, and what it was
    told about orders and prices in ``<dir>/<store>.orders.json``, across runs. ``stores``: only these."""
    clock = clock or world.end
    states = {
        s.store_id: EmulatorState(
            s.store_id,
            world,
            clock,
            dict(DEMO_CREDENTIALS[s.channel]),
            requests_per_second=requests_per_second.get(s.channel, 0.0)
            if isinstance(requests_per_second, dict)
            else requests_per_second,
            inventory_path=inventory_dir / f"{s.store_id}.json" if inventory_dir else None,
            book_path=inventory_dir / f"{s.store_id}.orders.json" if inventory_dir else None,
        )
        for s in STORES
        if s.channel in APPS and (stores is None or s.store_id in stores)
    }
    channel = {s.store_id: s.channel for s in STORES}
    if inventory_dir is not None:  # each store replays its journals (what it acknowledged before it died) first
        for state in states.values():
            state.book, state.inventory  # noqa: B018 - loaded for their side effect
    with ExitStack() as stack:
        for state in states.values():  # what the channels were told is folded into their files when they stop
            stack.callback(state.keep)
        urls = stack.enter_context(
            serve_apps([_app(channel[store], state, shopify_bucket) for store, state in states.items()])
        )
        yield {store: (url, state) for (store, state), url in zip(states.items(), urls)}


def _app(channel: str, state: EmulatorState, shopify_bucket: tuple[float, float]):
    if channel == "shopify":
        return shopify.app(state, shopify.CostBucket(*shopify_bucket))
    return APPS[channel](state)


def demo_clock(as_of: datetime | None, world_end: datetime) -> datetime:
    """The instant the demo channels show their world as of: ``as_of`` (settings.as_of) as naive
    UTC, at the latest the world's end."""
    if as_of is None:
        return world_end
    if as_of.tzinfo:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return min(as_of, world_end)


def demo_store_settings(endpoints: dict[str, tuple[str, EmulatorState]]) -> dict[str, dict]:
    """The served demo stores as ``channel_stores`` settings (channel, base URL, credentials, no
    client-side cap, and the store's profile: currency, time zone, promise, locale, name,
    country): what a process of its own prints for others to read the stores through."""
    channel = {s.store_id: s.channel for s in STORES}
    return {
        store: {
            **STORE_BY_ID[store].profile(),
            "channel": channel[store],
            "base_url": url,
            "credentials": dict(state.credentials),
            "requests_per_second": 0,
        }
        for store, (url, state) in endpoints.items()
    }


def _stop_requested() -> list[int]:
    """SIGTERM and SIGINT recorded in the list returned (not a threading.Event: a second signal
    arriving inside the first one's handler deadlocked Event.set() on its lock; `uv run` forwards
    Ctrl-C/SIGTERM, so two arrive at once)."""
    stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: stop.append(signum))
    return stop


def _publish(stores_file: Path, reach: dict, also: dict | None = None) -> None:
    """Write how to reach what is served: the file appears whole, or not at all (it is the signal
    that everything answers). ``also``: more settings sections to publish with it (the demo's ERP,
    tracking service, label tool), and then beside it ``<name>.env``, every section as an
    ``export AFTERCLICK_<SECTION>='<json>'`` line for a shell to source."""
    if also is not None:
        reach = {**reach, **also}
        environment = "".join(
            f"export AFTERCLICK_{section.upper()}={shlex.quote(json.dumps(value))}\n"
            for section, value in reach.items()
        )
        env_partial = stores_file.with_name(stores_file.name + ".env.partial")
        env_partial.write_text(environment)
        env_partial.replace(stores_file.with_suffix(".env"))
    partial = stores_file.with_name(stores_file.name + ".partial")
    partial.write_text(json.dumps(reach, indent=1))
    partial.replace(stores_file)


def _withdraw(stores_file: Path) -> None:
    """What ``_publish`` wrote goes: nobody reads a dead address."""
    stores_file.unlink(missing_ok=True)
    stores_file.with_suffix(".env").unlink(missing_ok=True)


def serve_until_stopped(
    world: World,
    stores_file: Path,
    clock: datetime | None,
    shopify_bucket: tuple[float, float],
    inventory_dir: Path | None,
    mailbox_dir: Path | None = None,
    stores: list[str] | None = None,
    watch_parent: bool = False,
    also: dict | None = None,
) -> None:
    """Serve the demo channel stores (``stores``: only these; and, with ``mailbox_dir``, the
    customers' mailbox) in this process until SIGTERM or SIGINT (``afterclick emulate``). Once
    everything answers, ``stores_file`` gets the settings to reach them: ``{"channel_stores": {...},
    "smtp": {"host", "port"}}``. On the way out the stores keep what they were told. The mailbox
    runs in a process of its own. ``watch_parent``: stop too when the process that started this one
    is gone (a store process of ``supervise_until_stopped`` killed with its supervisor). ``also``:
    more settings to publish with them (see ``_publish``)."""
    from demo.mailbox import mailbox_process

    stop, parent = _stop_requested(), os.getppid()
    with ExitStack() as stack:
        endpoints = stack.enter_context(
            serve_channels(
                world, clock=clock, shopify_bucket=shopify_bucket, inventory_dir=inventory_dir, stores=stores
            )
        )
        reach: dict[str, dict] = {"channel_stores": demo_store_settings(endpoints)}
        if mailbox_dir is not None:
            host, port = stack.enter_context(mailbox_process(mailbox_dir))
            reach["smtp"] = {"host": host, "port": port}
        _publish(stores_file, reach, also)
        try:
            while not stop and not (watch_parent and os.getppid() != parent):
                time.sleep(0.2)
        finally:
            _withdraw(stores_file)


def store_groups(processes: int, stores: list[str] | None = None) -> list[list[str]]:
    """The demo's API stores (``stores``: of these) shared out among ``processes`` (0: one each),
    round robin."""
    served = [s.store_id for s in STORES if s.channel in APPS and (stores is None or s.store_id in stores)]
    count = len(served) if processes == 0 else min(processes, len(served))
    return [served[i::count] for i in range(count)]


def supervise_until_stopped(
    stores_file: Path,
    groups: list[list[str]],
    mailbox_dir: Path | None,
    timeout: float = 1800.0,
    also: dict | None = None,
) -> None:
    """Serve each group of stores from an ``afterclick emulate --store …`` process of its own (the
    same environment: state dir, as-of, rate limits), and the mailbox, until SIGTERM or SIGINT; then
    stop them all (each store keeps what it was told). One process served every store before: at
    1M lines its one core was the write-back's floor (~100 s of its CPU in a ~125 s push), while
    each store answers only its own clients, as real ones do. ``stores_file`` as in
    ``serve_until_stopped``, written once every store answers; a store process that dies stops
    the rest (the file goes: nobody reads a dead address). ``also`` as in ``_publish``."""
    from demo.mailbox import mailbox_process

    stop = _stop_requested()
    with ExitStack() as stack:
        children = [
            stack.enter_context(_emulate_child(stores_file.with_name(f"{stores_file.name}.{n}"), group))
            for n, group in enumerate(groups)
        ]
        deadline = time.monotonic() + timeout
        reach: dict[str, dict] = {"channel_stores": {}}
        for proc, child_file in children:  # they load their share of the world side by side
            answered = _answered(proc, child_file, deadline, stop)
            if answered is None:
                return
            reach["channel_stores"].update(answered["channel_stores"])
        if mailbox_dir is not None:
            host, port = stack.enter_context(mailbox_process(mailbox_dir))
            reach["smtp"] = {"host": host, "port": port}
        _publish(stores_file, reach, also)
        try:
            while not stop:
                if any(proc.poll() is not None for proc, _ in children):
                    raise RuntimeError(
                        "a demo store process died while serving: "
                        + ", ".join(
                            f"{g} exit code {p.poll()}" for (p, _), g in zip(children, groups) if p.poll() is not None
                        )
                    )
                time.sleep(0.2)
        finally:
            _withdraw(stores_file)


@contextmanager
def _emulate_child(stores_file: Path, stores: list[str]) -> Iterator[tuple[subprocess.Popen, Path]]:
    """``afterclick emulate`` serving ``stores`` only, in one process, without the mailbox, in a
    session of its own (Ctrl-C reaches the supervisor, which stops it)."""
    stores_file.unlink(missing_ok=True)
    with _emulate(
        [
            "--stores-file",
            str(stores_file),
            "--processes",
            "1",
            "--no-mailbox",
            "--watch-parent",
            *(arg for s in stores for arg in ("--store", s)),
        ],
        new_session=True,
    ) as proc:
        yield proc, stores_file


@contextmanager
def _emulate(args: list[str], env: dict | None = None, new_session: bool = False) -> Iterator[subprocess.Popen]:
    """``afterclick emulate <args>`` in a child process; on the way out stopped with SIGTERM (the
    stores keep what they were told) and waited for (killed if it does not stop in 10 minutes)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "afterclick.cli", "emulate", *args],
        env=env,
        stdout=sys.stderr,
        start_new_session=new_session,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answered(proc: subprocess.Popen, stores_file: Path, deadline: float, stop: list[int] | None = None) -> dict | None:
    """What ``proc`` wrote to ``stores_file`` (written whole once everything it serves answers);
    None if a stop was requested meanwhile. Raises if it died or missed ``deadline``."""
    while not stores_file.exists():
        if stop:
            return None
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the demo emulators did not come up (exit code {proc.poll()})")
        time.sleep(0.05)
    return json.loads(stores_file.read_text())


@contextmanager
def emulator_process(
    stores_file: Path,
    as_of: datetime | None = None,
    timeout: float = 1800.0,
    state_dir: Path | None = None,
    mailbox: bool = True,
    tracking: bool = False,
) -> Iterator[tuple[subprocess.Popen, dict]]:
    """``afterclick emulate`` in a child process (on ``state_dir``, default this environment's state
    dir, showing the world as of ``as_of``; ``mailbox``: with the customers' mailbox; ``tracking``:
    with the tracking service, which holds the whole world in that process): yields (the
    process, how to reach what it serves) once everything answers; on the way out it is stopped
    with SIGTERM (the stores fold what they were told into their files) and waited for.
    ``timeout``: how long it may take to come up (loading a 10M world takes minutes)."""
    env = {
        **os.environ,
        **({"AFTERCLICK_AS_OF": as_of.isoformat()} if as_of else {}),
        **({"AFTERCLICK_STATE_DIR": str(state_dir)} if state_dir else {}),
    }
    stores_file.unlink(missing_ok=True)  # left behind by a killed emulator: its addresses are dead
    with _emulate(
        [
            "--stores-file",
            str(stores_file),
            *([] if mailbox else ["--no-mailbox"]),
            *([] if tracking else ["--no-tracking"]),
        ],
        env=env,
    ) as proc:
        answered = _answered(proc, stores_file, time.monotonic() + timeout)
        assert answered is not None  # None only when a stop was requested, and none can be here
        yield proc, answered
