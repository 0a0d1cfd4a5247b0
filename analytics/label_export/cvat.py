"""CVAT for video 1.1 XML, one file per video, in the layout :mod:`indexer.formats.cvat` reads.

- ``meta/task``: the video's name, its frame count, ``original_size`` (the video's frame
  size; a video without one is written over a nominal :data:`NOMINAL_SIZE` frame) and the
  labels with their attributes: a track attribute is declared ``mutable`` False, the others
  True, ``input_type`` from the values (checkbox, number, else text).
- a ``<track>`` per track (``id`` = the track id), its boxes in frame order, one per
  detection, each ``keyframe="1"``; an untracked detection is a track of its own with an
  empty ``id`` (read back as untracked). A track's attributes sit on its first box.
- CVAT keeps no frame rate, frame attributes, events, confidences, locations or dates:
  those are not in the file (import with the ``fps`` option).

Boxes are sorted by track on disk (:class:`~analytics.label_export.spill.Spill`).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.sax.saxutils import escape, quoteattr

from analytics.label_export.source import VideoLabels
from analytics.label_export.spill import Spill
from indexer.ontology import REVIEW
from indexer.records import AttrValue

EXTENSION = "xml"
CONTENT_TYPE = "application/xml"
NOMINAL_SIZE = (1000, 1000)
_BOXES_PER_CHUNK = 2000


def _input_type(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "checkbox"
    return "number" if isinstance(value, int | float) else "text"


def _text(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def write(video: VideoLabels) -> Iterator[str]:
    """The video's CVAT XML: the meta, then one track after another."""
    width, height = (video.meta.width, video.meta.height) if video.meta.width and video.meta.height else NOMINAL_SIZE
    by_track = Spill()
    declared: dict[str, dict[str, tuple[str, bool]]] = {}  # label -> attribute -> (input type, mutable)
    alone = 0
    try:
        last = -1
        for frame in video.frames():
            last = frame.index
            for obj in frame.objects:
                attrs = {name: value for name, value in obj.attrs.items() if name != REVIEW}
                spec = declared.setdefault(obj.label, {})
                for name, value in attrs.items():
                    spec.setdefault(name, (_input_type(value), True))
                if obj.track is None:
                    alone += 1
                    key: tuple = (1, str(alone))
                else:
                    key = (0, obj.track)
                by_track.add((*key, obj.index, obj.label, obj.box, attrs))
        for track in video.tracks.values():
            for name, value in track.attrs.items():
                if name != REVIEW and track.label:
                    declared.setdefault(track.label, {})[name] = (_input_type(value), False)
        yield _meta(video, declared, width, height, last)
        chunk: list[str] = []
        current: tuple | None = None
        for untracked, ident, index, label, box, attrs in by_track:
            if (untracked, ident) != current:
                if current is not None:
                    chunk.append("  </track>\n")
                current = (untracked, ident)
                shown = "" if untracked else ident
                chunk.append(f"  <track id={quoteattr(shown)} label={quoteattr(label)} source=\"manual\">\n")
                track = video.tracks.get(ident) if not untracked else None
                attrs = {**attrs, **({} if track is None else track.attrs)}
            chunk.append(_box(index, box, attrs, width, height))
            if len(chunk) >= _BOXES_PER_CHUNK:
                yield "".join(chunk)
                chunk = []
        if current is not None:
            chunk.append("  </track>\n")
        chunk.append("</annotations>\n")
        yield "".join(chunk)
    finally:
        by_track.close()


def _meta(video: VideoLabels, declared: dict[str, dict[str, tuple[str, bool]]], width: int, height: int,
          last: int) -> str:
    labels = []
    for label in sorted(declared):
        attributes = "".join(
            f"<attribute><name>{escape(name)}</name><mutable>{'True' if mutable else 'False'}</mutable>"
            f"<input_type>{kind}</input_type><default_value></default_value><values></values></attribute>"
            for name, (kind, mutable) in declared.get(label, {}).items() if name != REVIEW)
        labels.append(f"<label><name>{escape(label)}</name><attributes>{attributes}</attributes></label>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
        f"  <meta><task><name>{escape(video.meta.filename or video.name)}</name><size>{last + 1}</size>"
        f"<mode>interpolation</mode><start_frame>0</start_frame><stop_frame>{max(last, 0)}</stop_frame>"
        f"<labels>{''.join(labels)}</labels>"
        f"<original_size><width>{width}</width><height>{height}</height></original_size></task></meta>\n")


def _box(index: int, box: tuple | None, attrs: dict[str, AttrValue], width: int, height: int) -> str:
    x1, y1, x2, y2 = box if box is not None else (0.0, 0.0, 0.0, 0.0)
    attributes = "".join(f"<attribute name={quoteattr(name)}>{escape(_text(value))}</attribute>"
                         for name, value in attrs.items())
    return (f'    <box frame="{index}" outside="0" occluded="0" keyframe="1" xtl="{x1 * width!r}" '
            f'ytl="{y1 * height!r}" xbr="{x2 * width!r}" ybr="{y2 * height!r}" z_order="0">{attributes}</box>\n')
