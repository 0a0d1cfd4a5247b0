"""CVAT for video 1.1 XML (the "CVAT for video" export of a task or job).

::

    <annotations><version>1.1</version>
      <meta><task>... <labels><label><name>car</name><attributes><attribute>
          <name>make</name><mutable>False</mutable><input_type>select</input_type>...
        <original_size><width>1920</width><height>1080</height></original_size></task></meta>
      <track id="0" label="car">
        <box frame="0" outside="0" occluded="0" keyframe="1" xtl="10" ytl="20" xbr="110" ybr="90">
          <attribute name="make">Ford</attribute></box>
        <box frame="5" outside="1" .../></track></annotations>

Mapping:

- frame: the 0-based ``frame`` attribute is the index; t = index / fps, fps
  from ``options["fps"]`` (CVAT stores none; 30 with a warning).
- a track is a track (``id``), its ``label`` the label of each of its shapes.
  CVAT writes a shape for every frame of a track (keyframes and the
  interpolated ones in between); each shape with ``outside="0"`` is one
  detection. ``outside="1"`` means the object has left: no detection on that
  frame, until a later shape brings it back.
- boxes: ``xtl ytl xbr ybr`` in pixels over ``meta/*/original_size`` (or the
  options ``width``/``height``). ``polygon``, ``polyline`` and ``points``
  become the box around their points, ``ellipse`` the box around it, ``mask``
  its ``left top width height``; other shapes (skeleton, cuboid) are skipped.
- attributes: an attribute declared ``mutable=False`` in the meta describes
  the whole track: its first value becomes a track attribute. Others (and
  undeclared ones) are per detection. Values are typed by the declared
  ``input_type``: ``checkbox`` -> boolean, ``number`` -> numeric, else text.
- ``occluded``, ``keyframe``, ``z_order`` and ``source`` are not labels and are
  not kept.

The file is read with defusedxml's iterparse, element by element (memory is
bounded by one track's shapes), and DTDs and entities are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.formats import sniff
from indexer.formats.clock import option_fps
from indexer.formats.json_walk import FormatError
from indexer.formats.pixels import Size, option_size, pixel, relative_box
from indexer.records import Analytics, AttrValue, FrameRecord, ObjectRecord, Record, TrackRecord, VideoMeta

FORMAT = "cvat"
NAME = "CVAT"
POINT_SHAPES = {"polygon", "polyline", "points"}
SHAPES = {"box", "ellipse", "mask"} | POINT_SHAPES


@dataclass
class _AttrSpec:
    mutable: bool = True
    input_type: str = "text"


@dataclass
class _Meta:
    size: Size | None = None
    name: str | None = None
    attrs: dict[tuple[str, str], _AttrSpec] = field(default_factory=dict)  # (label, attribute)


def read(path: str | Path, *, options: dict | None = None) -> Analytics:
    """Read a CVAT for video 1.1 XML file (see the module docstring for the mapping and options)."""
    options = options or {}
    file_path = Path(path)
    cvat_meta = _read_meta(file_path)
    size = option_size(options) or cvat_meta.size
    warnings: list[str] = []
    fps = option_fps(options, warnings)
    meta = VideoMeta(
        fps=fps, width=size[0] if size else None, height=size[1] if size else None, filename=cvat_meta.name
    )
    return Analytics(
        format=FORMAT, meta=meta, warnings=warnings, records=lambda: _records(file_path, cvat_meta, size, fps)
    )


def _read_meta(file_path: Path) -> _Meta:
    """The meta section, which comes before the tracks; stops at the first track."""
    meta = _Meta()
    root = None
    for event, element in sniff.xml_elements(file_path):
        if root is None:
            root = element
            if element.tag != "annotations":
                raise FormatError(f"a CVAT file has <annotations> at its root, not <{element.tag}>")
            continue
        if event == "start" and element.tag == "image":
            raise FormatError("this is CVAT for images (it has <image> elements): export as CVAT for video 1.1")
        if event == "start" and element.tag in ("track", "tag"):
            break
        if event == "end" and element.tag == "meta":
            _fill_meta(meta, element)
            break
    return meta


def _fill_meta(meta: _Meta, element: Any) -> None:
    for task in list(element):
        width, height = task.findtext("original_size/width"), task.findtext("original_size/height")
        if width and height and meta.size is None:
            meta.size = (
                int(pixel(width, "meta.original_size", "width")),
                int(pixel(height, "meta.original_size", "height")),
            )
        meta.name = meta.name or task.findtext("name")
        for label in task.iterfind(".//labels/label"):
            label_name = label.findtext("name") or ""
            for attribute in label.iterfind("attributes/attribute"):
                meta.attrs[(label_name, attribute.findtext("name") or "")] = _AttrSpec(
                    mutable=(attribute.findtext("mutable") or "true").strip().lower() != "false",
                    input_type=(attribute.findtext("input_type") or "text").strip().lower(),
                )


def _records(file_path: Path, meta: _Meta, size: Size | None, fps: float) -> Iterator[Record]:
    root = None
    track: dict[str, str] = {}
    constant_done: set[str] = set()
    for event, element in sniff.xml_elements(file_path):
        if root is None:
            root = element
            continue
        if event == "start" and element.tag == "track":
            track = {"id": element.get("id", ""), "label": element.get("label", "")}
            if not track["label"]:
                raise FormatError("the track has no label", path=_track_path(track))
            continue
        if event != "end":
            continue
        if element.tag in SHAPES and track:
            yield from _shape_records(element, track, meta, size, fps, constant_done)
            element.clear()
        elif element.tag == "track":
            track = {}
            root.clear()  # drop the finished track's (cleared) shapes


def _track_path(track: dict[str, str]) -> str:
    return f"track[id={track.get('id', '')}]"


def _shape_records(
    element: Any, track: dict[str, str], meta: _Meta, size: Size | None, fps: float, constant_done: set[str]
) -> Iterator[Record]:
    frame_text = element.get("frame")
    path = f"{_track_path(track)}.{element.tag}[frame={frame_text}]"
    if element.get("outside", "0") == "1":
        return
    index = int(pixel(frame_text, path, "frame"))
    if index < 0:
        raise FormatError(f"frame must be >= 0, got {frame_text}", path=path)
    t = index / fps
    label, ident = track["label"], track["id"]
    per_box: dict[str, AttrValue] = {}
    constant: dict[str, AttrValue] = {}
    for attribute in element.iterfind("attribute"):
        name = attribute.get("name") or ""
        spec = meta.attrs.get((label, name), _AttrSpec())
        value = _typed(attribute.text or "", spec.input_type, f"{path}.attribute[name={name}]")
        if value is not None:
            (per_box if spec.mutable else constant)[name] = value
    if constant and ident not in constant_done:
        constant_done.add(ident)
        yield TrackRecord(
            track=ident,
            label=label,
            attrs=constant,
            path=_track_path(track),
            attr_paths={name: f"{path}.attribute[name={name}]" for name in constant},
        )
    yield FrameRecord(index=index, t=t, path=path)
    yield ObjectRecord(
        index=index,
        t=t,
        label=label,
        track=ident or None,
        box=_box(element, path, size),
        attrs=per_box,
        path=path,
        attr_paths={name: f"{path}.attribute[name={name}]" for name in per_box},
    )


def _typed(text: str, input_type: str, path: str) -> AttrValue | None:
    value = text.strip()
    if not value:
        return None
    if input_type == "checkbox":
        if value.lower() not in ("true", "false"):
            raise FormatError(f"a checkbox attribute is true or false, got {value!r}", path=path)
        return value.lower() == "true"
    if input_type == "number":
        return pixel(value, path, "a number attribute")
    return value


def _box(element: Any, path: str, size: Size | None) -> tuple[float, float, float, float]:
    tag = element.tag
    if tag == "box":
        corners = [pixel(element.get(name), path, name) for name in ("xtl", "ytl", "xbr", "ybr")]
    elif tag == "ellipse":
        cx, cy, rx, ry = (pixel(element.get(name), path, name) for name in ("cx", "cy", "rx", "ry"))
        corners = [cx - rx, cy - ry, cx + rx, cy + ry]
    elif tag == "mask":
        left, top, width, height = (pixel(element.get(name), path, name) for name in ("left", "top", "width", "height"))
        corners = [left, top, left + width, top + height]
    else:
        corners = _points_box(element.get("points") or "", path)
    return relative_box(*corners, size, NAME)


def _points_box(points: str, path: str) -> list[float]:
    """The box around ``x1,y1;x2,y2;...``."""
    xs, ys = [], []
    for pair in points.split(";"):
        if not pair.strip():
            continue
        x, _, y = pair.partition(",")
        xs.append(pixel(x, path, "points"))
        ys.append(pixel(y, path, "points"))
    if not xs:
        raise FormatError("the shape has no points", path=path)
    return [min(xs), min(ys), max(xs), max(ys)]


def check_options(path: str | Path, options: dict) -> None:
    """Refuse before ingest what is sure to fail: a CVAT file without a frame size, malformed options."""
    option_fps(options, [])
    if option_size(options) is None and _read_meta(Path(path)).size is None:
        raise FormatError(
            "the CVAT file has no meta original_size: give the frame size as the options width and height",
            path="options",
        )
