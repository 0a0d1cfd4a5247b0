"""Records sorted on disk: an export writes frames in frame order (ETA, MOT, COCO) or
boxes in track order (CVAT) whatever order the video's payload holds them in, with
memory bounded by one run, not by the video.

Items are tuples of plain values (numbers, text, None, tuples, dicts of those) that sort
by their leading fields; they are kept in runs of :data:`RUN_ITEMS`, each run sorted and
written with :mod:`marshal` to a temporary file once full, and read back merged
(:func:`heapq.merge`). A spill that never fills a run never touches the disk.
"""

from __future__ import annotations

import heapq
import marshal
import tempfile
from collections.abc import Iterator
from typing import IO, Any

RUN_ITEMS = 100_000
_BLOCK = 2_000  # items per marshal record in a run file


class Spill:
    """Add items in any order, then iterate them sorted (as often as needed); ``close()`` frees the files."""

    def __init__(self, *, run_items: int | None = None) -> None:
        self._run_items = run_items or RUN_ITEMS
        self._items: list[tuple] = []
        self._files: list[IO[bytes]] = []
        self._sorted = True
        self.count = 0

    def add(self, item: tuple) -> None:
        if self._sorted and self._items and item < self._items[-1]:
            self._sorted = False
        self._items.append(item)
        self.count += 1
        if len(self._items) >= self._run_items:
            self._flush()

    def _flush(self) -> None:
        if not self._sorted:
            self._items.sort()
        run = tempfile.TemporaryFile(prefix="scoop-export-")  # noqa: SIM115 -- held until close()
        for start in range(0, len(self._items), _BLOCK):
            marshal.dump(self._items[start:start + _BLOCK], run)
        self._files.append(run)
        self._items, self._sorted = [], True

    def __iter__(self) -> Iterator[Any]:
        if not self._sorted:
            self._items.sort()
            self._sorted = True
        if not self._files:
            return iter(self._items)
        return heapq.merge(*(_read(run) for run in self._files), iter(self._items))

    def close(self) -> None:
        for run in self._files:
            run.close()
        self._files, self._items = [], []


def _read(run: IO[bytes]) -> Iterator[tuple]:
    run.seek(0)
    while True:
        try:
            block = marshal.load(run)
        except EOFError:
            return
        yield from block
