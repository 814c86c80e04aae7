"""Customer messages through faults, against a real SMTP server on loopback: a malformed address
fails alone (its own dead letter, no header injected), and a push killed in the middle of a batch
leaves in doubt only the messages that were in flight."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from afterclick import warehouse
from writeback import engine
from writeback.ledger import ensure, mark_pending

from pushing import NOW, RecordingSmtp, ledger, notification, send_notifications, want_notifications

PUSHING = str(Path(__file__).with_name("pushing.py"))


def test_a_malformed_address_fails_alone_and_injects_no_header(settings, caplog):
    bad = {
        3: "someone@example.com\r\nBcc: spy@evil.example",  # header injection
        5: "someone@example.com, spy@evil.example",  # two addresses
        8: "spy.evil.example",  # no domain
        11: "<spy@evil.example",
    }  # does not parse
    rows = [notification(i, **({"customer_email": bad[i]} if i in bad else {})) for i in range(16)]
    rows[13]["kind"] = "parcel_lost"  # a kind without a template: that message cannot be built
    want_notifications(settings, rows)
    failing = {rows[i]["writeback_key"] for i in [*bad, 13]}
    good = {r["writeback_key"]: r["customer_email"] for r in rows if r["writeback_key"] not in failing}

    caplog.set_level(logging.DEBUG)
    with RecordingSmtp() as server:
        report = send_notifications(settings, server.smtp(settings, connections=3))

    [target] = report.targets
    assert target.skipped is None and (target.pushed, target.dead, target.failed) == (len(good), len(failing), 0)
    assert Counter(m.key for m in server.accepted) == Counter(set(good))  # every other message, once
    assert sorted(to for m in server.accepted for to in m.recipients) == sorted(good.values())
    for m in server.accepted:  # nothing injected: one recipient, no Bcc, no stranger anywhere in the message
        assert m.recipients == [good[m.key]] and m.message["To"] == good[m.key] and m.message["Bcc"] is None
        assert b"evil.example" not in m.data
    statuses = dict(ledger(settings, "select change_key, status from ops.writeback_ledger"))
    assert {k for k, s in statuses.items() if s == "confirmed"} == set(good)
    dead = dict(ledger(settings, "select change_key, last_error from ops.writeback_ledger where status = 'dead'"))
    assert set(dead) == failing
    assert "line break" in dead[rows[3]["writeback_key"]]
    assert all("not one email address" in dead[rows[i]["writeback_key"]] for i in (5, 8, 11))
    assert "parcel_lost" in dead[rows[13]["writeback_key"]]
    errors = [e for (e,) in ledger(settings, "select error from ops.writeback_attempts where error is not null")]
    for error in [*dead.values(), *errors]:  # the reason names the fault, without echoing the raw header text
        assert "\r" not in error and "\n" not in error and "evil.example" not in error
    assert "evil.example" not in caplog.text and not any(a in caplog.text for a in good.values())


def test_a_push_killed_mid_batch_leaves_only_the_messages_in_flight_in_doubt(settings, tmp_path):
    """The push runs in a process of its own against a server that accepts ``k`` messages and then
    hangs with each further one in hand; once every session is hanging, the process is killed
    (SIGKILL, as in tests/reliability/test_kill_mid_run.py) and the push is run again."""
    count, k, connections = 60, 7, 3
    rows = [notification(i) for i in range(count)]
    want_notifications(settings, rows)
    log = tmp_path / "push.log"
    with RecordingSmtp(accept_first=k) as hanging:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, PUSHING, "127.0.0.1", str(hanging.smtp(settings).port), str(connections)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            while not hanging.wait_held(connections, timeout=1.0):  # every session has a message in flight
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
    first, in_flight = [m.key for m in hanging.accepted], {m.key for m in hanging.held}
    assert len(first) == k and len(in_flight) == connections

    with RecordingSmtp() as server:
        report = send_notifications(settings, server.smtp(settings, connections=connections))
    second = [m.key for m in server.accepted]

    statuses = dict(ledger(settings, "select change_key, status from ops.writeback_ledger"))
    unknown = {key for key, status in statuses.items() if status == "unknown"}
    assert report.total("unknown") == len(unknown) <= connections  # not the whole batch
    assert report.total("recovered") == k  # what the server accepted was confirmed, not sent again
    assert unknown == in_flight  # exactly the messages the server held when the push died
    assert all(statuses[key] == "confirmed" for key in first)  # settled as soon as accepted...
    assert not set(first) & set(second) and not in_flight & set(second)  # ...so not sent again
    assert max(Counter(first + second).values()) == 1  # nobody got a message twice
    assert set(first) | set(second) | unknown == {r["writeback_key"] for r in rows}  # the rest went out
    assert all(statuses[key] == "confirmed" for key in second)


def test_messages_left_pending_without_a_journal_stay_in_doubt(settings):
    """Pending messages with no journal of their batch (left by a crash of a version that sent
    whole batches unjournaled) cannot be told apart: they stay unknown, never sent twice."""
    rows = [notification(i) for i in range(5)]
    want_notifications(settings, rows)
    with warehouse.connect(settings) as con:
        ensure(con)
        mark_pending(con, engine.desired(con, "notification")["email"][:3], NOW)
    with RecordingSmtp() as server:
        report = send_notifications(settings, server.smtp(settings))
    assert (report.total("unknown"), report.total("pushed")) == (3, 2)
    assert sorted(m.key for m in server.accepted) == sorted(r["writeback_key"] for r in rows[3:])
