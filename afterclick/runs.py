"""Run records: every pipeline or flow run leaves one row in ``ops.runs`` with its figures.

Statuses: ``success``; ``partial`` (some sources failed: the others landed, the build ran and the
snapshot was published; ``error`` names the failed sources); ``failed``.

A run that cannot write the warehouse (it never got the writer lock, another process holds the
file, it failed before it could open it) leaves its record in the run journal,
``<state>/logs/runs.pending.jsonl``: one JSON line per record, appended under the journal's own lock.
The next run that holds the writer moves the journal's records into ``ops.runs`` (a run id never
twice; a later record of a run replaces an earlier one), and a record leaves the journal once a
published snapshot carries it. ``afterclick status`` shows the records the snapshot has not yet.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import duckdb
from filelock import FileLock

from afterclick import warehouse
from afterclick.settings import Settings

log = logging.getLogger("afterclick.runs")
# A later record of the same run (it is recorded before publishing and again after) wins.
UPSERT_RUN = """insert into ops.runs values (?, ?, ?, ?, ?, ?, ?) on conflict (run_id) do update set
    flow = excluded.flow, status = excluded.status, started_at = excluded.started_at,
    finished_at = excluded.finished_at, summary = excluded.summary, error = excluded.error
    where excluded.finished_at >= ops.runs.finished_at"""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run() -> tuple[str, datetime]:
    """A new run id and its start time."""
    return uuid.uuid4().hex[:16], _now()


class Figures(Protocol):
    """A run's figures as the run fills them in (the pipeline's ``RunSummary``): recorded as
    ``to_record()``, a JSON-able mapping, with the run's ``seconds`` set when it is recorded."""

    seconds: float | None

    def failed_sources(self) -> dict[str, str]:
        """The sources (or stores) the run could not land, with what went wrong."""
        ...

    def to_record(self) -> dict[str, Any]: ...


F = TypeVar("F", bound=Figures)


def outcome(failed: Mapping[str, str]) -> tuple[str, str | None]:
    """A run that got to its end: ``success``, or ``partial`` naming the sources that failed."""
    if not failed:
        return "success", None
    return "partial", "sources failed: " + "; ".join(f"{source}: {error}" for source, error in failed.items())


# -- the run journal ---------------------------------------------------------------------------------
def journal_path(settings: Settings) -> Path:
    return settings.logs_dir / "runs.pending.jsonl"


def rejected_path(settings: Settings) -> Path:
    """Journal lines that are not a record (torn by a crash mid-write), kept for a person to read."""
    return settings.logs_dir / "runs.pending.rejected.jsonl"


def _journal_lock(settings: Settings) -> FileLock:
    return FileLock(settings.logs_dir / "runs.pending.lock")


def journal_run(settings: Settings, record: dict) -> None:
    """Append one run record to the journal: one write of one line, under the journal's lock."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, default=str) + "\n").encode()
    with _journal_lock(settings):
        fd = os.open(journal_path(settings), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_journal(settings: Settings) -> tuple[list[dict], list[str]]:
    """The journal's records, and its lines that are not one."""
    try:
        text = journal_path(settings).read_text(errors="replace")
    except FileNotFoundError:
        return [], []
    records, torn = [], []
    for line in filter(str.strip, text.splitlines()):
        try:
            record = json.loads(line)
            if not all(record.get(key) for key in ("run_id", "flow", "status", "started_at", "finished_at")):
                raise ValueError("not a run record")
            _finished(record), datetime.fromisoformat(str(record["started_at"]))
        except (ValueError, AttributeError):
            torn.append(line)
        else:
            records.append(record)
    return records, torn


def pending_runs(settings: Settings) -> list[dict]:
    """The run records waiting in the journal (oldest first)."""
    return _read_journal(settings)[0]


def _finished(record: dict) -> datetime:
    return datetime.fromisoformat(str(record["finished_at"]))


def published_runs(settings: Settings) -> dict[str, datetime]:
    """run id -> finished_at of the runs the published snapshot carries (none without one)."""
    if not settings.serving_path.exists():
        return {}
    try:
        with warehouse.connect_reader(settings) as con:
            return dict(con.execute("select run_id, finished_at from ops.runs").fetchall())
    except duckdb.Error:
        return {}


def not_yet_published(settings: Settings, records: list[dict]) -> list[dict]:
    """The records the published snapshot does not carry (or carries an earlier record of)."""
    published = published_runs(settings)
    return [r for r in records if r["run_id"] not in published or published[r["run_id"]] < _finished(r)]


def move_pending(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Hold the writer. Put the journal's records into ops.runs (idempotent), set torn lines aside in
    ``rejected_path``, and drop from the journal what the published snapshot carries. Returns how many
    records the journal held."""
    if not journal_path(settings).exists():
        return 0
    with _journal_lock(settings):
        records, torn = _read_journal(settings)
        if records:
            con.executemany(
                UPSERT_RUN,
                [
                    [
                        r["run_id"],
                        r["flow"],
                        r["status"],
                        r["started_at"],
                        r["finished_at"],
                        json.dumps(r.get("summary") or {}, default=str),
                        r.get("error"),
                    ]
                    for r in records
                ],
            )
        if torn:
            log.warning(
                "%d line(s) of the run journal are not a run record; kept in %s", len(torn), rejected_path(settings)
            )
            with open(rejected_path(settings), "a") as kept:
                kept.write("".join(f"{line}\n" for line in torn))
        keep = not_yet_published(settings, records)
        if keep:
            tmp = journal_path(settings).with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in keep))
            os.replace(tmp, journal_path(settings))
        else:
            journal_path(settings).unlink(missing_ok=True)
    return len(records)


# -- recording a run ---------------------------------------------------------------------------------
def finish_run(
    settings: Settings,
    run_id: str,
    flow: str,
    started_at: datetime,
    status: str,
    summary: dict,
    error: str | None = None,
    holds_writer: bool = True,
) -> None:
    """Record a run: in ops.runs when it holds the writer and the warehouse opens (moving the
    journal's records in first), else in the journal. Never raises: a run's own error matters more."""
    record = {
        "run_id": run_id,
        "flow": flow,
        "status": status,
        "started_at": started_at,
        "finished_at": _now(),
        "summary": summary,
        "error": error,
    }
    if holds_writer:
        try:
            con = warehouse.connect(settings)
            try:
                try:
                    move_pending(con, settings)
                except (duckdb.Error, OSError, KeyError, ValueError) as exc:
                    log.error("could not move the run journal into ops.runs: %s: %s", type(exc).__name__, exc)
                con.execute(
                    UPSERT_RUN,
                    [run_id, flow, status, started_at, record["finished_at"], json.dumps(summary, default=str), error],
                )
            finally:
                con.close()
            return
        except (duckdb.Error, OSError) as exc:
            log.error(
                "could not record run %s in ops.runs (%s: %s); it waits in %s",
                run_id,
                type(exc).__name__,
                exc,
                journal_path(settings),
            )
    try:
        journal_run(settings, record)
    except OSError as exc:
        log.error("run %s of %s (%s) could not be recorded at all: %s", run_id, flow, status, exc)


class RunRecord(Generic[F]):
    """One run of ``flow``: its id, start and figures (``summary``, filled by the run)."""

    def __init__(self, settings: Settings, flow: str, summary: F):
        self.settings, self.flow = settings, flow
        self.run_id, self.started_at = start_run()
        self.summary = summary
        self.holds_writer = False
        self.finished = False
        self._t0 = time.perf_counter()

    def save(self, status: str | None = None, error: str | None = None) -> str:
        """Record the run as it stands (its status from its figures unless given); the status."""
        self.summary.seconds = round(time.perf_counter() - self._t0, 2)
        if status is None:
            status, error = outcome(self.summary.failed_sources())
        finish_run(
            self.settings,
            self.run_id,
            self.flow,
            self.started_at,
            status,
            self.summary.to_record(),
            error,
            holds_writer=self.holds_writer,
        )
        return status

    def fail(self, exc: BaseException) -> None:
        sources = outcome(self.summary.failed_sources())[1]
        self.save("failed", f"{type(exc).__name__}: {exc}" + (f"; {sources}" if sources else ""))


@contextmanager
def run_record(
    settings: Settings, flow: str, summary: F, hold: Callable[[], AbstractContextManager] | None = None
) -> Iterator[RunRecord[F]]:
    """Record the body as one run of ``flow``, whatever happens; the body fills ``summary`` in.
    ``hold``: the writer the body needs (a run that does not get it is recorded as failed, in the
    journal); without it, the caller holds the writer."""
    run = RunRecord(settings, flow, summary)
    try:
        with hold() if hold is not None else nullcontext():
            run.holds_writer = True
            try:
                yield run
            except BaseException as exc:
                run.fail(exc)
                run.finished = True
                raise
            run.save()
            run.finished = True
    except BaseException as exc:
        if not run.finished:  # the writer was never held
            run.holds_writer = False
            run.fail(exc)
        raise


@contextmanager
def recorded(
    settings: Settings, flow: str, summary: F, hold: Callable[[], AbstractContextManager] | None = None
) -> Iterator[F]:
    """Record the body as one run of ``flow`` in ops.runs; the body fills ``summary`` in (yielded).
    ``hold``: the writer to take for the body (see ``run_record``)."""
    with run_record(settings, flow, summary, hold) as run:
        yield run.summary
