"""MOTChallenge ground truth, per video ``<name>/gt/gt.txt`` and ``<name>/seqinfo.ini``, in the
layout :mod:`indexer.formats.motchallenge` reads.

- a row per detection: ``frame`` (1-based), ``id`` (the track; -1 untracked; a track id that
  is not a whole number below 1,000,000 gets a number of its own from 1,000,000 up),
  ``bb_left, bb_top, bb_width, bb_height`` in pixels, ``consider`` 1, ``class``,
  ``visibility`` 1;
- ``class``: the MOT16 class id of the label (:data:`indexer.formats.motchallenge.CLASSES`);
  other labels get ids from 100 up, listed in ``classes.json`` beside ``seqinfo.ini``: give
  it as the ``classes`` option on import;
- ``seqinfo.ini``: name, frameRate, seqLength (last frame + 1, or the video's frame count),
  imWidth, imHeight (a video without a frame size is written over a nominal 1000 x 1000).
- MOT keeps no attributes, confidences (ground truth), events, locations or dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from analytics.label_export.source import VideoLabels
from indexer.formats.json_walk import DEFAULT_FPS
from indexer.formats.motchallenge import CLASSES

CONTENT_TYPE = "text/plain"
NOMINAL_SIZE = (1000, 1000)
FIRST_EXTRA_CLASS = 100
FIRST_OTHER_TRACK = 1_000_000
_ROWS_PER_CHUNK = 5000


class MotVideo:
    """One video's MOT files: :meth:`gt` first (it learns the classes and the frame count)."""

    def __init__(self, video: VideoLabels) -> None:
        self.video = video
        known = {label: number for number, label in CLASSES.items()}
        self.classes = dict(known)
        self.extra: dict[str, str] = {}
        self.last = -1
        self.size = ((video.meta.width, video.meta.height) if video.meta.width and video.meta.height
                     else NOMINAL_SIZE)

    def _class(self, label: str) -> int:
        number = self.classes.get(label)
        if number is None:
            number = FIRST_EXTRA_CLASS + len(self.extra)
            self.classes[label] = number
            self.extra[str(number)] = label
        return number

    def gt(self) -> Iterator[str]:
        width, height = self.size
        numbered: dict[str, int] = {}
        following = FIRST_OTHER_TRACK
        rows: list[str] = []
        for frame in self.video.frames():
            self.last = frame.index
            for obj in frame.objects:
                if obj.track is None:
                    ident = -1
                else:
                    ident = int(obj.track) if obj.track.isdigit() and int(obj.track) < FIRST_OTHER_TRACK else (
                        numbered.get(obj.track))
                    if ident is None:
                        ident = numbered[obj.track] = following
                        following += 1
                x1, y1, x2, y2 = obj.box if obj.box is not None else (0.0, 0.0, 0.0, 0.0)
                rows.append(f"{frame.index + 1},{ident},{x1 * width!r},{y1 * height!r},{(x2 - x1) * width!r},"
                            f"{(y2 - y1) * height!r},1,{self._class(obj.label)},1\n")
            if len(rows) >= _ROWS_PER_CHUNK:
                yield "".join(rows)
                rows = []
        yield "".join(rows)

    def seqinfo(self) -> str:
        meta = self.video.meta
        length = max(self.last + 1, meta.frame_count or 0)
        return (f"[Sequence]\nname={meta.filename or self.video.name}\nimDir=img1\n"
                f"frameRate={meta.fps or DEFAULT_FPS!r}\nseqLength={length}\nimWidth={self.size[0]}\n"
                f"imHeight={self.size[1]}\nimExt=.jpg\n")

    def classes_json(self) -> str | None:
        return json.dumps(self.extra, indent=1) + "\n" if self.extra else None
