"""Drill: SIGKILL the pipeline at a random point of one of its steps (landing, dbt build, write-back
or publish: seed % 4 picks the step, the seed the instant within it; in the write-back, the number
of order and price changes the stores have acknowledged, counted in their journals), then run it
again. The second run completes; raw has no duplicate and no gap; the marts equal those of an
uninterrupted run; the serving snapshot is always a whole version; no channel and no customer
receives a change twice.

The channel stores are ``afterclick emulate`` processes (a supervisor and a process per store),
keeping what they are told in ``<state>/demo/channels``; the same instant the pipeline is killed,
they are killed too (SIGKILL: no clean stop, what they hold is what they journaled), then started
again, and the next run finishes the push against them. Every change the ledger calls confirmed
must then be held by its store, once. The mail server lives in this test's process, like a real
one outside ours. Seeds: ``DRILL_KILL_SEEDS`` (CI: seed 2, a kill during the
write-back; the full drill, seeds 0-19, is run by hand, see the README). Requests are not paced
here (the pacing has its own tests).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from afterclick.channels.registry import CHANNELS
from afterclick.settings import load_settings
from demo.emulators.base import EmulatorState
from demo.emulators.server import emulator_process, store_groups
from demo.emulators.shown import order_status, saved_state, takes_parcels, tracking_numbers
from demo.emulators.tracking import DEMO_TRACKING_TOKEN, serve_tracking
from demo.generate import generate, load_truth
from demo.mailbox import messages, serve_mailbox
from demo.outside_world import label_tool_command
from tests.conftest import SMALL_WORLD, WORLD_END
from tests.ingest.emulated_stores import kill_emulators

pytestmark = pytest.mark.slow
SEEDS = [int(s) for s in os.environ.get("DRILL_KILL_SEEDS", "2").split(",") if s]
# the steps, by the line the pipeline logs when it starts each (landing starts with the process)
STEPS = [
    ("landing", None),
    ("dbt build", "dbt build: starting"),
    ("write-back", "write-back: starting"),
    ("publish", "publish: copying"),
]
DONE = "published serving snapshot"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A generated small world nobody has ingested yet (each run starts from a copy)."""
    root = tmp_path_factory.mktemp("kill-template") / "state"
    mp = pytest.MonkeyPatch()
    mp.setenv("AFTERCLICK_STATE_DIR", str(root))
    settings = load_settings()
    settings.ensure_dirs()
    generate(settings, **SMALL_WORLD)
    mp.undo()
    return root


class Outside:
    """The channel stores and the mail server one pipeline talks to: the stores in ``afterclick
    emulate`` processes on the run's state dir (``kill_stores`` kills them, ``restart_stores``
    starts them again), the mail server in this process."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.stores_file = state_dir.parent / "stores.json"
        self._mail = serve_mailbox(state_dir.parent / "mailbox")
        self.mailbox = state_dir.parent / "mailbox"

    def _start_stores(self) -> None:
        self._stores = emulator_process(
            self.stores_file, WORLD_END, timeout=300, state_dir=self.state_dir, mailbox=False
        )
        self.proc, reach = self._stores.__enter__()
        self.channel_stores = reach["channel_stores"]

    def __enter__(self):
        self.smtp = self._mail.__enter__()
        self._tracking = serve_tracking(load_truth(load_settings(state_dir=self.state_dir)))
        self.tracking_url, _ = self._tracking.__enter__()
        self._start_stores()
        return self

    def __exit__(self, *exc):
        if self._stores is not None:
            self._stores.__exit__(*exc)  # a clean stop: the stores fold what they hold into their files
        self._tracking.__exit__(*exc)
        self._mail.__exit__(*exc)

    def kill_stores(self) -> None:
        """SIGKILL the store processes (supervisor and stores: none stops cleanly)."""
        kill_emulators(self.proc)
        self._stores.__exit__(None, None, None)
        self._stores = None

    def restart_stores(self) -> None:
        """Start the stores again on what they journaled (at new addresses: ``env`` gives them)."""
        self._start_stores()

    def journaled(self) -> int:
        """The changes to their orders and prices the stores acknowledged since they were last
        stopped cleanly: the lines of their order books' journals. (The stock, pushed first, has a
        journal of its own: counting it would put most kills among the stock changes.)"""
        channels = self.state_dir / "demo" / "channels"
        return sum(path.read_bytes().count(b"\n") for path in channels.glob("*.orders.json.log"))

    def env(self, state_dir: Path) -> dict:
        stores = self.channel_stores
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCLICK_")}
        return {
            **env,
            "AFTERCLICK_STATE_DIR": str(state_dir),
            "AFTERCLICK_AS_OF": WORLD_END.isoformat(),
            "AFTERCLICK_FILE_MIN_AGE_SECONDS": "0",
            "AFTERCLICK_CHANNEL_STORES": json.dumps(stores),
            "AFTERCLICK_SMTP__HOST": self.smtp[0],
            "AFTERCLICK_SMTP__PORT": str(self.smtp[1]),
            # the rest of the demo's outside world, configured as demo/outside_world.py does
            "AFTERCLICK_ERP__URL": f"sqlite:///{state_dir / 'demo' / 'erp.sqlite'}",
            "AFTERCLICK_TRACKING_API__URL": self.tracking_url,
            "AFTERCLICK_TRACKING_API__TOKEN": DEMO_TRACKING_TOKEN,
            "AFTERCLICK_CARRIER_FILES": json.dumps(
                {"correos": {"label_command": label_tool_command(load_settings(state_dir=state_dir), "correos")}}
            ),
            # The inventory and catalogue sweeps and the fulfillment read-back observe the
            # channels, which a kill during the write-back really leaves half-pushed: an
            # interrupted pair of runs then reads other quantities, prices and shipments than one
            # clean run, rightly. Their own drills are in tests/ingest/ (test_channel_inventory,
            # test_channel_catalogue, test_channel_entities).
            "AFTERCLICK_DISABLED_SOURCES": '["channel_catalogue", "channel_inventory", "channel_fulfillments"]',
        }


def _stores_as_left(state_dir: Path) -> dict[str, EmulatorState]:
    """Each store as its processes left it in ``<state>/demo/channels`` (read once they stopped)."""
    world = load_truth(load_settings(state_dir=state_dir))
    return {sid: saved_state(world, sid, state_dir / "demo" / "channels") for sid in store_groups(1)[0]}


def _duplicates(stores: dict[str, EmulatorState], mailbox: Path) -> list[str]:
    """Every change a channel or a customer received twice."""
    found = []
    for sid, state in stores.items():
        for order_id, pushed in state.book.orders.items():
            received = _received(state.channel, pushed)
            found += [f"{sid} order {order_id}: {what} x{n}" for what, n in Counter(received).items() if n > 1]
    ids = Counter(m["Message-ID"] for m in messages(mailbox))
    return found + [f"email {mid} x{n}" for mid, n in ids.items() if n > 1]


def _received(channel: str, pushed: dict) -> list[str]:
    """What an order was sent that must arrive once: each parcel's fulfillment / shipment (named by
    its tracking), each parcel's tracking number or invoice, each status comment, each note.
    (Shopify's tags are a set: a tag cannot be held twice.)"""
    if channel == "shopify":
        return [
            f"fulfillment {sorted(t['number'] for t in f['trackingInfo'])}" for f in pushed.get("fulfillments", [])
        ] + [f"tracking {t['number']}" for f in pushed.get("fulfillments", []) for t in f["trackingInfo"]]
    if channel == "vtex":
        return [f"invoice {i['invoiceNumber']}" for i in pushed.get("invoices", [])]
    if channel == "magento":
        return (
            [f"shipment {sorted(t['track_number'] for t in s['tracks'])}" for s in pushed.get("shipments", [])]
            + [f"track {t['track_number']}" for s in pushed.get("shipments", []) for t in s["tracks"]]
            + [f"comment {c.get('status')}: {c.get('comment')}" for c in pushed.get("comments", [])]
        )
    return [f"note {n['note']}" for n in pushed.get("notes", [])]


def _confirmed(warehouse: Path) -> list[tuple[str, str, str, dict]]:
    """(kind, store, channel, payload) of every change the ledger says a channel store holds."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select kind, store_id, channel, payload from ops.writeback_ledger "
            "where status = 'confirmed' and kind in ('stock', 'prices', 'tracking', 'status') "
            "order by all"
        ).fetchall()
    return [(kind, store, channel, json.loads(payload)) for kind, store, channel, payload in rows]


def _holds(state: EmulatorState, kind: str, channel: str, p: dict) -> bool:
    """Whether the store holds the change, read from what it keeps (not through the write-back)."""
    if kind == "stock":
        return state.inventory.get(p["sku"], p["location_id"] or "") == p["quantity"]
    if kind == "prices":
        held = state.book.prices.get(p["sku"], {}).get("b2c" if p["segment"] == "b2c" else "Wholesale")
        return held is not None and abs(held - p["price"]) < 0.005
    order_id = str(p["channel_order_id"])
    if kind == "tracking":  # an order the store takes no parcel on needs nothing sent
        return p["tracking_number"] in tracking_numbers(state, channel, order_id) or not takes_parcels(
            state, channel, order_id
        )
    tagged = channel != "shopify" or f"afterclick:{p['afterclick_status']}" in state.book.orders.get(order_id, {}).get(
        "tags", []
    )
    shown = CHANNELS[channel].writeback_module().ADAPTERS["status"].channel_status(p["afterclick_status"])
    if channel == "vtex" and order_status(state, channel, order_id) == "canceled":
        return True  # VTEX marks no canceled order delivered: nothing needed sending
    return tagged and (shown is None or order_status(state, channel, order_id) == shown)  # None: the channel shows none


def _not_held(stores: dict[str, EmulatorState], warehouse: Path) -> tuple[int, list[str]]:
    """(changes the ledger calls confirmed, those of them their store does not hold)."""
    confirmed = _confirmed(warehouse)
    return len(confirmed), [
        f"{kind} {store}: {p}" for kind, store, channel, p in confirmed if not _holds(stores[store], kind, channel, p)
    ]


def _start(outside: Outside, state_dir: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "afterclick.cli", "run", "--plain"],
        env=outside.env(state_dir),
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )


class Tail:
    """What a run has logged so far, read incrementally (without the HTTP request lines)."""

    def __init__(self, log: Path):
        self.log, self.offset, self.text, self.lines = log, log.stat().st_size if log.exists() else 0, "", 0

    def __call__(self) -> str:
        with open(self.log, "rb") as fh:
            fh.seek(self.offset)
            new = fh.read()
        new = new[: new.rfind(b"\n") + 1]  # whole lines only
        self.offset += len(new)
        lines = new.decode(errors="replace").splitlines(keepends=True)
        self.lines += len(lines)
        self.text += "".join(line for line in lines if "HTTP Request" not in line)
        return self.text


def _complete_run(outside: Outside, state_dir: Path, log: Path) -> dict[str, tuple[float, int]]:
    """Run the pipeline to the end; when each step started: (seconds, log lines) from the start."""
    log.touch()
    tail, started = Tail(log), time.monotonic()
    proc = _start(outside, state_dir, log)
    starts = {"landing": (0.0, 0)}
    while proc.poll() is None:
        text = tail()
        for step, marker in STEPS[1:]:
            if step not in starts and marker in text:
                starts[step] = (time.monotonic() - started, tail.lines)
        time.sleep(0.05)
    assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
    tail()
    return {**starts, "end": (time.monotonic() - started, tail.lines)}


def _wait_for_line(proc: subprocess.Popen, tail: Tail, marker: str | None) -> None:
    while marker is not None and marker not in tail():
        assert proc.poll() is None, f"the run ended before logging {marker!r}"
        time.sleep(0.05)


def _phase(text: str) -> str:
    """The step the run was in when it was killed (the last step it said it started)."""
    if DONE in text:
        return "after publish"
    return [step for step, marker in STEPS if marker is None or marker in text][-1]


def _snapshot_is_whole(path: Path) -> bool:
    """The serving snapshot is absent or a complete version (opens, carries its version and orders)."""
    if not path.exists():
        return True
    with duckdb.connect(str(path), read_only=True) as con:
        [(version,)] = con.execute("select version from _snapshot").fetchall()
        [(orders,)] = con.execute("select count(*) from fct_orders").fetchall()
    return bool(version) and orders > 0


def _marts(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every mart, rows sorted, without load bookkeeping (columns starting with _)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            frame = con.sql(f"select * from marts.{table}").pl()
            frame = frame.select([c for c in frame.columns if not c.startswith("_")])
            out[table] = frame.sort(frame.columns, nulls_last=True)
    return out


def _raw_problems(warehouse: Path) -> list[str]:
    """Duplicate rows in any raw table (one key version twice)."""
    problems = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
            ).fetchall()
        ]
        for table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where "
                    "table_schema = 'raw' and table_name = ? and column_name not like '\\_%' "
                    "escape '\\'",
                    [table],
                ).fetchall()
            ]
            cols = ", ".join(f'"{c}"' for c in columns)
            [(rows, distinct)] = con.execute(f"select count(*), count(distinct ({cols})) from raw.{table}").fetchall()
            if rows != distinct:
                problems.append(f"raw.{table}: {rows - distinct} duplicate rows")
    return problems


def _raw_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] for t in tables}


@pytest.fixture(scope="module")
def uninterrupted(template, tmp_path_factory):
    """What one run without a kill leaves: marts, raw row counts, its duration."""
    state = tmp_path_factory.mktemp("kill-baseline") / "state"
    shutil.copytree(template, state)
    with Outside(state) as outside:
        starts = _complete_run(outside, state, state.parent / "run.log")
        journaled = outside.journaled()  # what the write-back told the stores of orders and prices, in changes
    assert journaled > 0
    assert list(starts) == ["landing", "dbt build", "write-back", "publish", "end"], starts
    warehouse = state / "warehouse.duckdb"
    stores = _stores_as_left(state)
    assert _duplicates(stores, outside.mailbox) == []
    confirmed, not_held = _not_held(stores, warehouse)
    assert confirmed > 0 and not_held == []  # (and the drill's check of what the stores hold checks out)
    names = list(starts)
    lengths = {
        step: (starts[after][0] - starts[step][0], starts[after][1] - starts[step][1])
        for step, after in zip(names, names[1:])
    }
    return {"marts": _marts(warehouse), "raw": _raw_counts(warehouse), "steps": lengths, "journaled": journaled}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_pipeline_killed_anywhere_is_completed_by_the_next_run(seed, template, uninterrupted, tmp_path):
    state = tmp_path / "state"
    shutil.copytree(template, state)
    log = tmp_path / "run.log"
    step, marker = STEPS[seed % len(STEPS)]
    seconds, lines = uninterrupted["steps"][step]
    with Outside(state) as outside:
        log.touch()
        tail = Tail(log)
        proc = _start(outside, state, log)
        _wait_for_line(proc, tail, marker)
        if step == "write-back":  # after a random one of the order and price changes the stores acknowledge
            at = random.Random(seed).randrange(1, int(uninterrupted["journaled"] * 0.9))
            where = f"after order or price change {at} of {uninterrupted['journaled']} the stores acknowledged"
            while outside.journaled() < at:
                assert proc.poll() is None, f"seed {seed}: the run ended before the kill {where}"
                time.sleep(0.01)
        elif lines > 20:  # a step that logs its requests: kill after a random one of them (speed does not matter)
            at = tail.lines + random.Random(seed).randrange(int(lines * 0.9))
            where = f"after line {at - tail.lines} of {lines} of {step}"
            while tail.lines < at:
                assert proc.poll() is None, f"seed {seed}: the run ended before the kill {where}"
                tail()
                time.sleep(0.01)
        else:  # dbt build, publish: a random instant in the first half of the step
            delay = random.Random(seed).uniform(0.0, seconds * 0.5)
            where = f"{delay:.2f}s into {step}"
            try:
                proc.wait(delay)
                raise AssertionError(f"seed {seed}: the run ended before the kill {where}")
            except subprocess.TimeoutExpired:
                pass
        proc.send_signal(signal.SIGSTOP)  # frozen first: it sees nothing of the stores' end
        outside.kill_stores()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        phase = _phase(tail())
        print(f"seed {seed}: killed the pipeline and the stores {where} (the log says: during {phase})")
        assert _snapshot_is_whole(state / "serving.duckdb"), f"broken snapshot after a kill during {phase}"

        outside.restart_stores()
        _complete_run(outside, state, log)
    warehouse = state / "warehouse.duckdb"
    stores = _stores_as_left(state)
    assert _duplicates(stores, outside.mailbox) == [], f"received twice after a kill during {phase}"
    confirmed, not_held = _not_held(stores, warehouse)
    assert not_held == [], f"the ledger confirms changes their store does not hold after a kill during {phase}"
    print(f"seed {seed}: every one of the {confirmed} changes the ledger confirms is held by its store, once")
    assert _raw_problems(warehouse) == []
    assert _raw_counts(warehouse) == uninterrupted["raw"]  # no gap, no duplicate
    marts = _marts(warehouse)
    assert set(marts) == set(uninterrupted["marts"])
    for table, frame in uninterrupted["marts"].items():
        try:
            assert_frame_equal(marts[table], frame, rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(
                f"marts.{table} differs from an uninterrupted run's after a kill during {phase}: {exc}"
            ) from None
    assert _snapshot_is_whole(state / "serving.duckdb")
