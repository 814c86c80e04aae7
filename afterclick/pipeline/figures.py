"""The figures of a run, step by step: what landed (``LandingFigures``), what dbt built
(``BuildFigures``), what was pushed (``PushFigures``, per ``TargetFigures``), what was published
(``PublishFigures``), and the run's ``RunSummary`` holding those of the steps it ran.

A run is recorded (ops.runs, the run journal; see afterclick/runs.py) as ``RunSummary.to_record()``:
plain JSON with one key per step that ran (``ingest``, ``transform``, ``writeback``, ``publish``)
and ``seconds``; ``RunSummary.from_record`` reads such a record back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class QuarantinedBatch:
    """A batch (a file, a page, a chunk) that quarantined records: how many, and the first reasons."""

    source: str
    store: str | None
    entity: str
    records: int
    reasons: list[str]

    @property
    def where(self) -> str:
        return f"{self.source} {self.entity}" + (f" ({self.store})" if self.store else "")


@dataclass(frozen=True)
class LandingFigures:
    """What an ingest landed: rows per raw table and in all, rows quarantined, the batches that
    quarantined records (the first ones: ``quarantined_batches`` counts them all), and the sources
    (or stores) that failed with what went wrong."""

    rows_landed: int = 0
    rows_quarantined: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)
    quarantined: list[QuarantinedBatch] = field(default_factory=list)
    quarantined_batches: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LandingFigures:
        """From the recorded shape (also ``ingest.landing.figures_since``'s, which has no ``errors``)."""
        return cls(
            rows_landed=int(record.get("rows_landed", 0)),
            rows_quarantined=int(record.get("rows_quarantined", 0)),
            rows_by_table=dict(record.get("rows_by_table") or {}),
            quarantined=[QuarantinedBatch(**q) for q in record.get("quarantined") or []],
            quarantined_batches=int(record.get("quarantined_batches", 0)),
            errors=dict(record.get("errors") or {}),
        )


@dataclass(frozen=True)
class BuildFigures:
    """What a ``dbt build`` did."""

    models_built: int
    tests_passed: int
    tests_failed: int
    seconds: float


@dataclass(frozen=True)
class PublishFigures:
    """The serving snapshot published: its version, how many tables, in how long."""

    version: str
    seconds: float
    tables: int


@dataclass(frozen=True)
class TargetFigures:
    """One kind of change pushed to one target (a channel store, ``email``, a carrier):
    ``skipped`` says why the target was not pushed to at all."""

    kind: str
    target: str
    pushed: int
    failed: int
    dead: int
    skipped: str | None = None

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        if not self.skipped:  # recorded only for a target skipped
            del record["skipped"]
        return record


@dataclass(frozen=True)
class PushFigures:
    """What a write-back pushed: changes pushed, to retry (``failed``), dead letters, in all and per
    target, and the targets skipped."""

    targets: list[TargetFigures] = field(default_factory=list)

    @property
    def pushed(self) -> int:
        return sum(t.pushed for t in self.targets)

    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.targets)

    @property
    def dead(self) -> int:
        return sum(t.dead for t in self.targets)

    @property
    def skipped_targets(self) -> list[str]:
        return [t.target for t in self.targets if t.skipped]

    def to_record(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "failed": self.failed,
            "dead": self.dead,
            "skipped_targets": self.skipped_targets,
            "targets": [t.to_record() for t in self.targets],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PushFigures:
        return cls(targets=[TargetFigures(**t) for t in record.get("targets") or []])


@dataclass
class RunSummary:
    """A run's figures: those of each step it ran (None: the step did not run), and its seconds
    (set when the run is recorded)."""

    ingest: LandingFigures | None = None
    transform: BuildFigures | None = None
    writeback: PushFigures | None = None
    publish: PublishFigures | None = None
    seconds: float | None = None

    def failed_sources(self) -> dict[str, str]:
        """The sources (or stores) the run's ingest could not land, with what went wrong."""
        return dict(self.ingest.errors) if self.ingest else {}

    def to_record(self) -> dict[str, Any]:
        """The JSON-able record of ops.runs' ``summary``: a key per step that ran, and ``seconds``."""
        record: dict[str, Any] = {}
        if self.ingest is not None:
            record["ingest"] = asdict(self.ingest)
        if self.transform is not None:
            record["transform"] = asdict(self.transform)
        if self.writeback is not None:
            record["writeback"] = self.writeback.to_record()
        if self.publish is not None:
            record["publish"] = asdict(self.publish)
        if self.seconds is not None:
            record["seconds"] = self.seconds
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunSummary:
        """A recorded summary (ops.runs' ``summary``, parsed) read back."""
        return cls(
            ingest=LandingFigures.from_record(record["ingest"]) if "ingest" in record else None,
            transform=BuildFigures(**record["transform"]) if "transform" in record else None,
            writeback=PushFigures.from_record(record["writeback"]) if "writeback" in record else None,
            publish=PublishFigures(**record["publish"]) if "publish" in record else None,
            seconds=record.get("seconds"),
        )
