"""MOTChallenge CSV (MOT16/17/20 ground truth, detections and tracker results)
with the sequence's ``seqinfo.ini``.

A row is ``frame, id, bb_left, bb_top, bb_width, bb_height, ...``:

- 9 fields (ground truth): ``..., consider, class, visibility``;
- 10 fields (``det.txt``, results): ``..., conf, x, y, z``;
- 7 fields: ``..., conf``; 6 fields: the box only.

Mapping:

- frame: 1-based ``frame`` -> index ``frame - 1``; t = index / fps.
- box: ``bb_left, bb_top, bb_width, bb_height`` in pixels -> relative corners.
- identity: ``id`` is the track; ``-1`` (detections) means untracked.
- label: ground truth's ``class`` through :data:`CLASSES` (the MOT16 classes,
  named so that an ontology's synonyms can map them: 1 ``pedestrian``,
  3 ``car``...); ``options["classes"]`` overrides or adds ids
  (``{"1": "person", "3": "vehicle"}``). Rows without a class get
  ``options["label"]``, default ``pedestrian`` (what MOTChallenge tracks).
- confidence: ``conf`` when it lies in 0..1; detectors such as DPM write
  unbounded scores, which are left out (with a warning), as is ground truth's
  ``consider`` flag.

The sequence facts come from ``seqinfo.ini`` (``frameRate``, ``seqLength``,
``imWidth``, ``imHeight``, ``name``), given as the text of ``options["seqinfo"]``
(the ingest API fills it from a multipart part named ``seqinfo``). Without it,
the options ``fps``, ``width`` and ``height`` are required; given with it,
they win over it.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.formats import sniff
from indexer.formats.json_walk import FormatError, frame_rate
from indexer.formats.pixels import option_size, pixel, relative_box
from indexer.records import Analytics, FrameRecord, ObjectRecord, Record, VideoMeta

FORMAT = "motchallenge"
NAME = "MOTChallenge"
DEFAULT_LABEL = "pedestrian"
CLASSES = {
    1: "pedestrian",
    2: "person_on_vehicle",
    3: "car",
    4: "bicycle",
    5: "motorbike",
    6: "non_motorized_vehicle",
    7: "static_person",
    8: "distractor",
    9: "occluder",
    10: "occluder_on_the_ground",
    11: "occluder_full",
    12: "reflection",
    13: "crowd",
}
GROUND_TRUTH_FIELDS = 9


@dataclass
class Sequence:
    """The facts of seqinfo.ini that the reader uses."""

    fps: float
    width: int
    height: int
    length: int | None = None
    name: str | None = None


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read a MOTChallenge CSV (see the module docstring for the mapping and options)."""
    options = options or {}
    file_path = Path(path)
    sequence = sequence_of(options)
    classes = _classes(options)
    label = str(options.get("label") or DEFAULT_LABEL)
    meta = VideoMeta(
        fps=sequence.fps,
        width=sequence.width,
        height=sequence.height,
        frame_count=sequence.length,
        duration_s=sequence.length / sequence.fps if sequence.length else None,
        filename=sequence.name,
    )
    unbounded = sum(dropped for _record, dropped in _rows(file_path, sequence, classes, label))
    warnings = [f"{unbounded} detection score(s) outside 0..1 left out as confidence"] if unbounded else []
    return Analytics(
        format=FORMAT, meta=meta, warnings=warnings, records=lambda: _records(file_path, sequence, classes, label)
    )


def check_options(path: str | Path, options: dict) -> None:
    """Refuse before ingest what is sure to fail: no sequence facts, a bad class map."""
    sequence_of(options)
    _classes(options)


def sequence_of(options: dict) -> Sequence:
    """The sequence facts from ``options["seqinfo"]`` and the fps/width/height options."""
    info = _seqinfo(options.get("seqinfo"))
    size = option_size(options)
    fps = options.get("fps", info.get("framerate"))
    width = size[0] if size else info.get("imwidth")
    height = size[1] if size else info.get("imheight")
    if fps is None or width is None or height is None:
        raise FormatError(
            "MOTChallenge needs the sequence's frame rate and frame size: send its seqinfo.ini "
            "(a multipart part 'seqinfo', or its text as options.seqinfo) or the options fps, width and height",
            path="options",
        )
    fps_path = "options.fps" if "fps" in options else "options.seqinfo.frameRate"
    numbers = {"frameRate/fps": frame_rate(pixel(fps, fps_path, "frameRate/fps"), fps_path)}
    for name, value in (("imWidth/width", width), ("imHeight/height", height)):
        number = pixel(value, "options", name)
        if number <= 0:
            raise FormatError(f"{name} must be positive, got {value!r}", path="options")
        numbers[name] = number
    length = info.get("seqlength")
    return Sequence(
        fps=numbers["frameRate/fps"],
        width=int(numbers["imWidth/width"]),
        height=int(numbers["imHeight/height"]),
        length=int(pixel(length, "options.seqinfo", "seqLength")) if length is not None else None,
        name=info.get("name"),
    )


def _seqinfo(text: object) -> dict[str, str]:
    """The [Sequence] section of seqinfo.ini, keys lower-cased."""
    if text in (None, ""):
        return {}
    if not isinstance(text, str):
        raise FormatError("options.seqinfo must be the text of seqinfo.ini", path="options.seqinfo")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise FormatError(
            f"seqinfo.ini is not an INI file: {error.message.splitlines()[0]}", path="options.seqinfo"
        ) from None
    if not parser.has_section("Sequence"):
        raise FormatError("seqinfo.ini has no [Sequence] section", path="options.seqinfo")
    return {key.lower(): value.strip() for key, value in parser.items("Sequence")}


def _classes(options: dict) -> dict[int, str]:
    extra = options.get("classes") or {}
    if not isinstance(extra, dict):
        raise FormatError("options.classes must map class ids to labels", path="options.classes")
    classes = dict(CLASSES)
    for key, label in extra.items():
        if not str(key).strip().lstrip("-").isdigit() or not isinstance(label, str) or not label:
            raise FormatError(
                f"options.classes maps class ids to labels, got {key!r}: {label!r}", path="options.classes"
            )
        classes[int(key)] = label
    return classes


def _rows(
    file_path: Path, sequence: Sequence, classes: dict[int, str], label: str
) -> Iterator[tuple[ObjectRecord, int]]:
    """(detection, 1 when its score was left out) per row."""
    for line, fields in sniff.csv_rows(file_path):
        if line == 1 and fields[0].strip().lower() == "frame":
            continue  # a header some tools add
        yield _row(fields, f"line {line}", sequence, classes, label)


def _records(file_path: Path, sequence: Sequence, classes: dict[int, str], label: str) -> Iterator[Record]:
    previous = None
    for record, _dropped in _rows(file_path, sequence, classes, label):
        if record.index != previous:
            yield FrameRecord(index=record.index, t=record.t, path=record.path)
            previous = record.index
        yield record


def _row(
    fields: list[str], path: str, sequence: Sequence, classes: dict[int, str], label: str
) -> tuple[ObjectRecord, int]:
    if len(fields) < 6:
        raise FormatError(
            f"a row needs at least 6 fields (frame, id, bb_left, bb_top, bb_width, bb_height), got {len(fields)}",
            path=path,
        )
    frame = _whole(fields[0], path, "frame")
    if frame < 1:
        raise FormatError(f"frame numbers are 1-based, got {frame}", path=path)
    ident = _whole(fields[1], path, "id")
    left, top, width, height = (
        pixel(value, path, name)
        for value, name in zip(fields[2:6], ("bb_left", "bb_top", "bb_width", "bb_height"), strict=True)
    )
    confidence, dropped = None, 0
    if len(fields) == GROUND_TRUTH_FIELDS:
        class_id = _whole(fields[7], path, "class")
        if class_id not in classes:
            raise FormatError(f"unknown class {class_id}: name it with options.classes", path=path)
        label = classes[class_id]
    elif len(fields) >= 7:
        score = pixel(fields[6], path, "conf")
        confidence, dropped = (score, 0) if 0 <= score <= 1 else (None, 1)
    index = frame - 1
    record = ObjectRecord(
        index=index,
        t=index / sequence.fps,
        label=label,
        track=None if ident == -1 else str(ident),
        confidence=confidence,
        path=path,
        box=relative_box(left, top, left + width, top + height, (sequence.width, sequence.height), NAME),
    )
    return record, dropped


def _whole(text: str, path: str, what: str) -> int:
    value = pixel(text, path, what)
    if not value.is_integer():
        raise FormatError(f"{what} must be a whole number, got {text!r}", path=path)
    return int(value)
