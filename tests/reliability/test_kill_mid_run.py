"""Drill: SIGKILL the pipeline at a random point of one of its steps (landing, dbt build, write-back
or publish: seed % 4 picks the step, the seed the instant within it), then run it again. The
second run completes; raw has no duplicate and no gap; the marts equal those of an uninterrupted
run; the serving snapshot is always a whole version; no channel and no customer receives a change
twice.

The channels and the mail server live in this test's process, like real ones outside ours: a
killed pipeline does not take what they were told with it. Seeds: ``AFTERCLICK_DRILL_KILL_SEEDS``
(CI: seed 2, a kill during the write-back; the full drill, seeds 0-19, is run by hand, see the
README). Requests are not paced here (the pacing has its own tests).
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

from afterclick.demo.catalog import STORE_BY_ID
from afterclick.demo.generate import generate, load_truth
from afterclick.demo.mailbox import messages, serve_mailbox
from afterclick.settings import load_settings
from tests.conftest import SMALL_WORLD, WORLD_END

pytestmark = pytest.mark.slow
SEEDS = [int(s) for s in os.environ.get("AFTERCLICK_DRILL_KILL_SEEDS", "2").split(",") if s]
# the steps, by the line the pipeline logs when it starts each (landing starts with the process)
STEPS = [("landing", None), ("dbt build", "dbt build: starting"), ("write-back", "write-back: starting"),
         ("publish", "publish: copying")]
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
    """The channels and the mail server one pipeline talks to, in this process."""

    def __init__(self, state_dir: Path):
        from afterclick.demo.emulators.server import serve_channels
        self._channels = serve_channels(load_truth(load_settings(state_dir=state_dir)))
        self._mail = serve_mailbox(state_dir.parent / "mailbox")
        self.mailbox = state_dir.parent / "mailbox"

    def __enter__(self):
        self.endpoints = self._channels.__enter__()
        self.smtp = self._mail.__enter__()
        return self

    def __exit__(self, *exc):
        self._mail.__exit__(*exc)
        self._channels.__exit__(*exc)

    def env(self, state_dir: Path) -> dict:
        stores = {sid: {"channel": STORE_BY_ID[sid].channel, "base_url": url, "credentials": state.credentials,
                        "requests_per_second": 0}
                  for sid, (url, state) in self.endpoints.items()}
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCLICK_")}
        return {**env, "AFTERCLICK_STATE_DIR": str(state_dir), "AFTERCLICK_AS_OF": WORLD_END.isoformat(),
                "AFTERCLICK_FILE_MIN_AGE_SECONDS": "0", "AFTERCLICK_CHANNEL_STORES": json.dumps(stores),
                "AFTERCLICK_SMTP__HOST": self.smtp[0], "AFTERCLICK_SMTP__PORT": str(self.smtp[1]),
                # The inventory and catalogue sweeps and the fulfillment read-back observe the
                # channels, which a kill during the write-back really leaves half-pushed: an
                # interrupted pair of runs then reads other quantities, prices and shipments than one
                # clean run, rightly. Their own drills are in tests/ingest/ (test_channel_inventory,
                # test_channel_catalogue, test_channel_entities).
                "AFTERCLICK_DISABLED_SOURCES": '["channel_catalogue", "channel_inventory", "channel_fulfillments"]'}

    def duplicates(self) -> list[str]:
        """Every change a channel or a customer received twice."""
        found = []
        for sid, (_, state) in self.endpoints.items():
            channel = STORE_BY_ID[sid].channel
            for order_id, pushed in state.book.orders.items():
                received = _received(channel, pushed)
                found += [f"{sid} order {order_id}: {what} x{n}" for what, n in Counter(received).items() if n > 1]
        ids = Counter(m["Message-ID"] for m in messages(self.mailbox))
        return found + [f"email {mid} x{n}" for mid, n in ids.items() if n > 1]


def _received(channel: str, pushed: dict) -> list[str]:
    """What an order was sent that must arrive once: fulfillments / invoices / shipments by their
    tracking numbers, notes by their text."""
    if channel == "shopify":
        return [t["number"] for f in pushed.get("fulfillments", []) for t in f["trackingInfo"]]
    if channel == "vtex":
        return [i.get("trackingNumber") or i.get("invoiceNumber") for i in pushed.get("invoices", [])]
    if channel == "magento":
        return [t["track_number"] for s in pushed.get("shipments", []) for t in s["tracks"]]
    return [n["note"] for n in pushed.get("notes", [])]


def _start(outside: Outside, state_dir: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "afterclick.cli", "run", "--plain"], env=outside.env(state_dir),
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)


class Tail:
    """What a run has logged so far, read incrementally (without the HTTP request lines)."""

    def __init__(self, log: Path):
        self.log, self.offset, self.text, self.lines = log, log.stat().st_size if log.exists() else 0, "", 0

    def __call__(self) -> str:
        with open(self.log, "rb") as fh:
            fh.seek(self.offset)
            new = fh.read()
        new = new[:new.rfind(b"\n") + 1]  # whole lines only
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
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'marts' order by 1").fetchall()]
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
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'raw' order by 1").fetchall()]
        for table in tables:
            columns = [c for (c,) in con.execute("select column_name from information_schema.columns where "
                                                 "table_schema = 'raw' and table_name = ? and column_name not like '\\_%' "
                                                 "escape '\\'", [table]).fetchall()]
            cols = ", ".join(f'"{c}"' for c in columns)
            [(rows, distinct)] = con.execute(f"select count(*), count(distinct ({cols})) from raw.{table}").fetchall()
            if rows != distinct:
                problems.append(f"raw.{table}: {rows - distinct} duplicate rows")
    return problems


def _raw_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'raw' order by 1").fetchall()]
        return {t: con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] for t in tables}


@pytest.fixture(scope="module")
def uninterrupted(template, tmp_path_factory):
    """What one run without a kill leaves: marts, raw row counts, its duration."""
    state = tmp_path_factory.mktemp("kill-baseline") / "state"
    shutil.copytree(template, state)
    with Outside(state) as outside:
        starts = _complete_run(outside, state, state.parent / "run.log")
        assert outside.duplicates() == []
    assert list(starts) == ["landing", "dbt build", "write-back", "publish", "end"], starts
    warehouse = state / "warehouse.duckdb"
    names = list(starts)
    lengths = {step: (starts[after][0] - starts[step][0], starts[after][1] - starts[step][1])
               for step, after in zip(names, names[1:])}
    return {"marts": _marts(warehouse), "raw": _raw_counts(warehouse), "steps": lengths}


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
        if lines > 20:  # a step that logs its requests: kill after a random one of them (speed does not matter)
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
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        phase = _phase(tail())
        print(f"seed {seed}: killed {where} (the log says: during {phase})")
        assert _snapshot_is_whole(state / "serving.duckdb"), f"broken snapshot after a kill during {phase}"

        _complete_run(outside, state, log)
        assert outside.duplicates() == [], f"received twice after a kill during {phase}"
    warehouse = state / "warehouse.duckdb"
    assert _raw_problems(warehouse) == []
    assert _raw_counts(warehouse) == uninterrupted["raw"]  # no gap, no duplicate
    marts = _marts(warehouse)
    assert set(marts) == set(uninterrupted["marts"])
    for table, frame in uninterrupted["marts"].items():
        try:
            assert_frame_equal(marts[table], frame, rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"marts.{table} differs from an uninterrupted run's after a kill during {phase}: "
                                 f"{exc}") from None
    assert _snapshot_is_whole(state / "serving.duckdb")
