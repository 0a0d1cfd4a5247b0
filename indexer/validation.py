"""Checking analytics against an ontology (docs/guide/ingest.md).

:func:`validate` reads the records once and reports every violation with the
JSON path of the offending element and a sentence that names the label,
attribute or value (with the closest known names). What it hands on is the
conforming part of the analytics, a lazy stream like its input:

- an object with an unknown label, a box outside 0..1 or inverted, a
  confidence outside 0..1 or a negative frame index is dropped;
- a track record of an unknown label is dropped;
- an event with an unknown label, a negative or inverted index range or a
  confidence outside 0..1 is dropped;
- a frame with a negative index is dropped;
- an attribute that is unknown or whose value does not conform is dropped,
  the rest of its record kept;
- an embedding that is empty, holds a non-finite number or differs in
  dimension from the payload's first good embedding is dropped, its record kept;
- labels given as synonyms become their canonical label;
- a text attribute value or a track id longer than :data:`MAX_KEYWORD_BYTES` in UTF-8 (the
  longest term Lucene indexes: Elasticsearch rejects the whole document of an "immense term") is
  dropped, with its object for a track id.

``strict`` mode means the caller rejects the payload unless ``ok``; ``filter``
means it indexes the conforming part. ``ok`` is True exactly when there is no
violation, in either mode.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from indexer.ontology import REVIEW, AttrSpec, Ontology, suggestion
from indexer.records import (
    Analytics,
    AttrValue,
    EventRecord,
    FrameRecord,
    ObjectRecord,
    Record,
    TrackRecord,
    VideoMeta,
)

MODES = ("strict", "filter")
SHOWN_CHARS = 100  # of an offending name in a message
MAX_FRAME_INDEX = 2**32 - 1  # what the engines store (unsigned 32-bit)
MAX_LISTED = 1000
MAX_KEYWORD_BYTES = 32_766  # Lucene's largest term, in UTF-8 bytes; every engine keeps the same rule

Violation = dict[str, str]
R = TypeVar("R", ObjectRecord, FrameRecord, TrackRecord, EventRecord)


@dataclass
class ValidationReport:
    """``violations`` lists the first MAX_LISTED violations (then one '... and
    N more' entry); ``violation_count`` counts them all. ``analytics`` is the
    conforming part of the input. ``dropped`` counts what was left out, by kind."""

    ok: bool
    violations: list[Violation]
    violation_count: int
    analytics: Analytics
    mode: str = "strict"
    dropped: dict[str, int] = field(default_factory=dict)


def validate(analytics: Analytics, ontology: Ontology, *, mode: str) -> ValidationReport:
    """Check every record of ``analytics`` against ``ontology``; see the module docstring."""
    if mode not in MODES:
        raise ValueError(f"unknown validation mode '{mode}'; expected strict or filter")
    checker = _Checker(ontology)
    collector = _Collector()
    meta, problems, dropped_attrs = checker.meta(analytics.meta)
    collector.extend(problems)
    dropped = {"objects": 0, "tracks": 0, "frames": 0, "events": 0, "attributes": dropped_attrs}
    for record in analytics.records():
        kept, problems = checker.record(record)
        collector.extend(problems)
        if kept is None:
            dropped[_KINDS[type(record)]] += 1
        else:
            dropped["attributes"] += len(record.attrs) - len(kept.attrs)
    conforming = Analytics(
        format=analytics.format,
        meta=meta,
        records=lambda: _conforming(analytics, checker),
        warnings=list(analytics.warnings),
    )
    return ValidationReport(
        ok=collector.count == 0,
        violations=collector.report(),
        violation_count=collector.count,
        analytics=conforming,
        mode=mode,
        dropped=dropped,
    )


_KINDS = {ObjectRecord: "objects", TrackRecord: "tracks", FrameRecord: "frames", EventRecord: "events"}


class ValidationFailed(ValueError):
    """Raised once the records of :func:`checked_records` are exhausted when they had
    violations in strict mode, so that whoever consumed them throws its work away."""


@dataclass
class RecordsCheck:
    """What :func:`checked_records` found; complete once its records are exhausted."""

    analytics: Analytics
    collector: _Collector
    mode: str

    @property
    def ok(self) -> bool:
        return self.collector.count == 0

    @property
    def violations(self) -> list[Violation]:
        return self.collector.report()

    @property
    def violation_count(self) -> int:
        return self.collector.count


def checked_records(analytics: Analytics, ontology: Ontology, *, mode: str) -> RecordsCheck:
    """Validate while the records are read, in one pass instead of :func:`validate`'s two.

    The returned ``analytics`` yields the conforming records; in strict mode,
    once its records are exhausted, it raises :class:`ValidationFailed` if
    anything did not conform. Read it once.
    """
    if mode not in MODES:
        raise ValueError(f"unknown validation mode '{mode}'; expected strict or filter")
    checker = _Checker(ontology)
    collector = _Collector()
    meta, problems, _dropped = checker.meta(analytics.meta)
    collector.extend(problems)

    def records() -> Iterator[Record]:
        for record in analytics.records():
            kept, found = checker.record(record)
            collector.extend(found)
            if kept is not None:
                yield kept
        if mode == "strict" and collector.count:
            raise ValidationFailed(f"{collector.count} violation(s) of the schema")

    conforming = Analytics(format=analytics.format, meta=meta, records=records, warnings=list(analytics.warnings))
    return RecordsCheck(analytics=conforming, collector=collector, mode=mode)


def conforming_records(analytics: Analytics, ontology: Ontology) -> Iterator[Record]:
    """The records of ``analytics`` that conform to ``ontology`` (as filter mode keeps
    them), read lazily: a caller may stop after the first few."""
    return _conforming(analytics, _Checker(ontology))


def _conforming(analytics: Analytics, checker: _Checker) -> Iterator[Record]:
    for record in analytics.records():
        kept, _problems = checker.record(record)
        if kept is not None:
            yield kept


class _Collector:
    """Counts every violation, keeps the first MAX_LISTED."""

    def __init__(self) -> None:
        self.listed: list[Violation] = []
        self.count = 0
        self.last: Violation | None = None

    def extend(self, violations: list[Violation]) -> None:
        for violation in violations:
            # A track record and its detection share a path: one problem, told once.
            if violation == self.last:
                continue
            self.last = violation
            self.count += 1
            if len(self.listed) < MAX_LISTED:
                self.listed.append(violation)

    def report(self) -> list[Violation]:
        if self.count <= MAX_LISTED:
            return list(self.listed)
        more = self.count - MAX_LISTED
        return [*self.listed, {"path": "", "message": f"... and {more} more violation{'s' if more > 1 else ''}"}]


def _violation(path: str, message: str) -> Violation:
    return {"path": path, "message": message}


class _Checker:
    """Checks one record at a time: (conforming record or None, violations)."""

    def __init__(self, ontology: Ontology):
        self.ontology = ontology
        self.object_names = list(ontology.objects) + [
            synonym for synonym, label in ontology.display.synonyms.items() if label in ontology.objects
        ]
        self.event_names = list(ontology.events) + [
            synonym for synonym, label in ontology.display.synonyms.items() if label in ontology.events
        ]
        self.embedding_dim: tuple[int, str] | None = None  # (dimension, path) of the first good embedding
        self.track_specs: dict[str, list[AttrSpec]] = {}
        for spec in ontology.objects.values():
            for name, attr in spec.attrs.items():
                self.track_specs.setdefault(name, []).append(attr)

    def meta(self, meta: VideoMeta) -> tuple[VideoMeta, list[Violation], int]:
        attrs, paths, problems = _check_attrs(meta.attrs, meta.attr_paths, self.ontology.video_attrs, "video", "attrs")
        return replace(meta, attrs=attrs, attr_paths=paths), problems, len(meta.attrs) - len(attrs)

    def record(self, record: Record) -> tuple[Record | None, list[Violation]]:
        if isinstance(record, ObjectRecord | TrackRecord) and record.embedding is not None:
            return self._embedded(record)
        if isinstance(record, ObjectRecord):
            return self._object(record)
        if isinstance(record, FrameRecord):
            return self._frame(record)
        if isinstance(record, TrackRecord):
            return self._track(record)
        return self._event(record)

    def _embedded(self, record: ObjectRecord | TrackRecord) -> tuple[Record | None, list[Violation]]:
        """The record checked without its embedding, then the embedding (kept only when good)."""
        kept, problems = self.record(replace(record, embedding=None))
        path = f"{record.path}.embedding"
        embedding = record.embedding
        bad = [position for position, value in enumerate(embedding) if not math.isfinite(value)]
        if not embedding:
            problems.append(_violation(path, "embedding is empty"))
        elif bad:
            problems.append(_violation(f"{path}[{bad[0]}]", f"embedding value {embedding[bad[0]]} is not finite"))
        elif self.embedding_dim is not None and len(embedding) != self.embedding_dim[0]:
            dim, first = self.embedding_dim
            problems.append(_violation(path, f"embedding has {len(embedding)} values but the payload's embeddings "
                                             f"have {dim} (the first at {first})"))
        else:
            self.embedding_dim = self.embedding_dim or (len(embedding), path)
            return (None if kept is None else replace(kept, embedding=embedding)), problems
        return kept, problems

    def _object_label(self, name: str) -> str | None:
        label = self.ontology.resolve_label(name)
        return label if label in self.ontology.objects else None

    def _object(self, record: ObjectRecord) -> tuple[ObjectRecord | None, list[Violation]]:
        label = self._object_label(record.label)
        context = f"object label '{shown(record.label) if label is None else label}'"
        problems = []
        if label is None:
            problems.append(self._unknown_object(record.label, record.path))
        problems += _check_index(record.index, record.path, context)
        problems += _check_confidence(record.confidence, record.path, context)
        problems += _check_box(record.box, record.path, context)
        problems += _check_track_id(record.track, record.path, context)
        if label is None:
            return None, problems
        attrs, paths, attr_problems = _check_attrs(
            record.attrs, record.attr_paths, self.ontology.objects[label].attrs, context, record.path
        )
        kept = None if problems else _conformed(record, label=label, attrs=attrs, attr_paths=paths)
        return kept, problems + attr_problems

    def _unknown_object(self, name: str, path: str) -> Violation:
        return _violation(path, f"unknown object label '{shown(name)}'{suggestion(name, self.object_names)}")

    def _track(self, record: TrackRecord) -> tuple[TrackRecord | None, list[Violation]]:
        too_long = _check_track_id(record.track, record.path, "track record")
        if too_long:
            return None, too_long
        if record.label is None:
            return self._unlabelled_track(record)
        label = self._object_label(record.label)
        if label is None:
            return None, [self._unknown_object(record.label, record.path)]
        attrs, paths, problems = _check_attrs(
            record.attrs, record.attr_paths, self.ontology.objects[label].attrs, f"object label '{label}'", record.path
        )
        return _conformed(record, label=label, attrs=attrs, attr_paths=paths), problems

    def _unlabelled_track(self, record: TrackRecord) -> tuple[TrackRecord, list[Violation]]:
        """A track of unknown label: each attribute must fit some object label's attribute of its name."""
        attrs: dict[str, AttrValue] = {}
        paths: dict[str, str] = {}
        problems = []
        context = f"track '{record.track}'"
        for name, value in record.attrs.items():
            path = record.attr_paths.get(name, record.path)
            specs = self.track_specs.get(name)
            if not specs:
                problems.append(_violation(path, _unknown_attribute(name, context, self.track_specs)))
                continue
            reasons = [_too_long(value, "the value of attribute '{}'", name) or spec.check(value)
                       for spec in specs]
            if all(reasons):
                problems.append(_violation(path, f"{context}: {reasons[0]}"))
                continue
            attrs[name] = value
            if name in record.attr_paths:
                paths[name] = record.attr_paths[name]
        return replace(record, attrs=attrs, attr_paths=paths), problems

    def _frame(self, record: FrameRecord) -> tuple[FrameRecord | None, list[Violation]]:
        problems = _check_index(record.index, record.path, "frame")
        attrs, paths, attr_problems = _check_attrs(
            record.attrs, record.attr_paths, self.ontology.frame_attrs, "frame", record.path
        )
        kept = None if problems else _conformed(record, attrs=attrs, attr_paths=paths)
        return kept, problems + attr_problems

    def _event(self, record: EventRecord) -> tuple[EventRecord | None, list[Violation]]:
        name = record.label
        label = name if name in self.ontology.events else self.ontology.display.synonyms.get(name, name)
        known = label in self.ontology.events
        context = f"event label '{label if known else shown(name)}'"
        problems = []
        if not known:
            problems.append(
                _violation(record.path, f"unknown event label '{shown(name)}'{suggestion(name, self.event_names)}")
            )
        problems += _check_index(record.start_index, record.path, context, "start index")
        if record.end_index < record.start_index:
            problems.append(
                _violation(
                    record.path,
                    f"{context}: end index {record.end_index} is before start index {record.start_index}",
                )
            )
        problems += _check_confidence(record.confidence, record.path, context)
        if not known:
            return None, problems
        attrs, paths, attr_problems = _check_attrs(
            record.attrs, record.attr_paths, self.ontology.events[label].attrs, context, record.path
        )
        kept = None if problems else _conformed(record, label=label, attrs=attrs, attr_paths=paths)
        return kept, problems + attr_problems


def _conformed(record: R, *, attrs: dict[str, AttrValue], attr_paths: dict[str, str], label: str | None = None) -> R:
    """``record`` with its canonical label and conforming attributes; the record
    itself when nothing changed, which is nearly always (copying every record
    cost a tenth of ingest time)."""
    if (label is None or label == record.label) and len(attrs) == len(record.attrs):
        return record
    if label is None:
        return replace(record, attrs=attrs, attr_paths=attr_paths)
    return replace(record, label=label, attrs=attrs, attr_paths=attr_paths)


def _check_attrs(
    attrs: dict[str, AttrValue], paths: dict[str, str], specs: dict[str, AttrSpec], context: str, fallback: str
) -> tuple[dict[str, AttrValue], dict[str, str], list[Violation]]:
    """(conforming attributes, their paths, violations of the others)."""
    kept: dict[str, AttrValue] = {}
    kept_paths: dict[str, str] = {}
    problems = []
    for name, value in attrs.items():
        path = paths.get(name, fallback)
        spec = specs.get(name)
        if spec is None:
            problems.append(_violation(path, _unknown_attribute(name, context, specs)))
            continue
        reason = _too_long(value, "the value of attribute '{}'", name) or spec.check(value)
        if reason is not None:
            problems.append(_violation(path, f"{context}: {reason}"))
            continue
        kept[name] = value
        if name in paths:
            kept_paths[name] = paths[name]
    return kept, kept_paths, problems


def _too_long(value: Any, what: str, *names: str) -> str | None:
    """Why a text value is longer than an index takes, or None. ``what`` names the value, with
    ``names`` quoted into its ``{}`` only for a message: nearly every value passes, and quoting
    every attribute's name cost a tenth of validation."""
    if not isinstance(value, str) or len(value) * 4 <= MAX_KEYWORD_BYTES:  # 4 bytes per character at most
        return None
    size = len(value.encode("utf-8", "surrogatepass"))
    if size <= MAX_KEYWORD_BYTES:
        return None
    what = what.format(*map(shown, names))
    return f"{what} is {size} bytes long in UTF-8; the longest an index takes is {MAX_KEYWORD_BYTES}"


def _check_track_id(track: str | None, path: str, context: str) -> list[Violation]:
    reason = _too_long(track, "track id")
    return [] if reason is None else [_violation(path, f"{context}: {reason}")]


def _unknown_attribute(name: str, context: str, known: Any) -> str:
    """'unknown frame attribute 'x'' or 'unknown attribute 'x' for object label 'car'', with suggestions."""
    where = (
        f"unknown {context} attribute '{shown(name)}'"
        if context in ("video", "frame")
        else (f"unknown attribute '{shown(name)}' for {context}")
    )
    if name == REVIEW and context not in ("video", "frame") and not context.startswith("event"):
        return f"{where}: '{REVIEW}' is human review's state, which votes set, never a payload"
    return where + suggestion(name, known)


def _check_index(index: int, path: str, context: str, what: str = "frame index") -> list[Violation]:
    if index < 0:
        return [_violation(path, f"{context}: {what} {index} is negative")]
    if index > MAX_FRAME_INDEX:
        return [_violation(path, f"{context}: {what} {index} is beyond the largest frame index {MAX_FRAME_INDEX}")]
    return []


def shown(name: str) -> str:
    """``name`` as a message quotes it: at most :data:`SHOWN_CHARS` characters, control and
    format characters (NUL, escapes, direction overrides) written as escapes, so that a hostile
    label can neither bloat a report nor disguise itself in it (nor break PostgreSQL's JSON)."""
    text = name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS]
    text = "".join(
        character if unicodedata.category(character) not in ("Cc", "Cf") else ascii(character)[1:-1]
        for character in text
    )
    return text if len(name) <= SHOWN_CHARS else f"{text}... ({len(name)} characters)"


def _check_confidence(confidence: float | None, path: str, context: str) -> list[Violation]:
    if confidence is None or (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        return []
    return [_violation(path, f"{context}: confidence {confidence:g} is outside 0..1")]


def _check_box(box: tuple[float, float, float, float] | None, path: str, context: str) -> list[Violation]:
    if box is None:
        return []
    x1, y1, x2, y2 = box
    if 0.0 <= x1 <= x2 <= 1.0 and 0.0 <= y1 <= y2 <= 1.0:
        return []  # the common case, without building messages (NaN fails the comparisons)
    problems = []
    if not all(math.isfinite(value) and 0.0 <= value <= 1.0 for value in box):
        problems.append(_violation(path, f"{context}: box {_show_box(box)} is outside 0..1"))
    if x1 > x2:
        problems.append(_violation(path, f"{context}: box {_show_box(box)} has x1 > x2"))
    if y1 > y2:
        problems.append(_violation(path, f"{context}: box {_show_box(box)} has y1 > y2"))
    return problems


def _show_box(box: tuple[Any, ...]) -> str:
    return "[" + ", ".join(f"{value:g}" for value in box) + "]"
