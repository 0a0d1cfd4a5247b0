"""Event spans from repeated per-frame events.

Formats that describe events frame by frame (ETA frame-level events, DeepStream
messages) repeat one event on every frame it covers, tied together by an id.
:class:`EventSpans` joins such repeats into one :class:`EventRecord` per run;
each format says, in :meth:`EventSpans.joins`, when a repeat continues the run.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator

from indexer.records import EventRecord


class EventSpans(abc.ABC):
    """Open spans per (label, id); records without an id stay one span each."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], EventRecord] = {}

    @abc.abstractmethod
    def joins(self, current: EventRecord, record: EventRecord) -> bool:
        """Whether ``record`` continues the open span ``current`` of the same label and id."""

    def add(self, record: EventRecord, ident: str | None) -> Iterator[EventRecord]:
        """Take one event; yield the spans it closes (or the record itself when it has no id)."""
        if ident is None:
            yield record
            return
        key = (record.label, ident)
        current = self.open.get(key)
        if current is not None and self.joins(current, record):
            current.end_index = max(current.end_index, record.end_index)
            return
        if current is not None:
            yield current
        self.open[key] = record

    def close(self) -> Iterator[EventRecord]:
        """The spans still open at the end of the payload."""
        yield from self.open.values()
        self.open.clear()
