"""Pixel boxes to relative ones, for formats that write boxes in pixels without
always saying how large the frame is (DeepStream, supervision, MOTChallenge, CVAT).
The frame size then comes from the ``width`` and ``height`` options."""

from __future__ import annotations

from typing import Any

from indexer.formats.json_walk import FormatError

Size = tuple[int, int]


def option_size(options: dict) -> Size | None:
    """``(options["width"], options["height"])`` as positive ints, or None when neither is given."""
    width, height = options.get("width"), options.get("height")
    if width is None and height is None:
        return None
    values = []
    for name, value in (("width", width), ("height", height)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FormatError(
                f"options.{name} must be a number of pixels, got {value!r}", path=f"options.{name}"
            ) from None
        if number <= 0 or not number.is_integer():
            raise FormatError(
                f"options.{name} must be a positive whole number of pixels, got {value!r}", path=f"options.{name}"
            )
        values.append(int(number))
    return values[0], values[1]


def missing_size(format_name: str) -> FormatError:
    """The error for pixel boxes without a frame size."""
    return FormatError(
        f"{format_name} boxes are in pixels: give the frame size as the options width and height "
        '(e.g. {"width": 1920, "height": 1080})',
        path="options",
    )


def relative_box(
    left: float, top: float, right: float, bottom: float, size: Size | None, format_name: str
) -> tuple[float, float, float, float]:
    """Corners in pixels -> relative (x1, y1, x2, y2)."""
    if size is None:
        raise missing_size(format_name)
    width, height = size
    return left / width, top / height, right / width, bottom / height


def pixel(value: Any, path: str, what: str) -> float:
    """A coordinate: a JSON number or a numeric string (CSV, XML)."""
    if isinstance(value, bool):
        raise FormatError(f"{what} must be a number, got {value!r}", path=path)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise FormatError(f"{what} must be a number, got {str(value)[:80]!r}", path=path) from None
