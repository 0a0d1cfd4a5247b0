"""Wall-clock stamps to video time, for formats whose messages carry the time
they were made instead of a frame number (DeepStream, Camio).

t is measured from an origin: the ``origin`` option when given, else the
earliest stamp in the payload. The frame index is ``round(t * fps)`` and t is
then snapped to that frame (``index / fps``), so that every record of one
frame has the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from indexer.formats.json_walk import DEFAULT_FPS, FormatError, frame_rate


def parse_instant(value: Any, path: str, what: str) -> datetime:
    """An ISO 8601 date and time (``Z``, ``+00:00`` and ``-0700`` zones); naive means UTC."""
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"{what} must be an ISO 8601 date and time, got {value!r}", path=path)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FormatError(f"{what} {value!r} is not an ISO 8601 date and time", path=path) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def option_fps(options: dict, warnings: list[str]) -> float:
    """``options["fps"]``, else 30 with a warning saying so."""
    if options.get("fps") is None:
        warnings.append(f"no fps option: assumed {DEFAULT_FPS:g} fps to turn times into frame indices")
        return DEFAULT_FPS
    return frame_rate(options["fps"], "options.fps")


def option_origin(options: dict) -> datetime | None:
    """``options["origin"]`` as an aware datetime, or None."""
    if options.get("origin") in (None, ""):
        return None
    return parse_instant(options["origin"], "options.origin", "options.origin")


@dataclass
class Clock:
    """Places a wall-clock stamp in the video: (0-based frame index, t in seconds)."""

    origin: datetime
    fps: float

    def place(self, moment: datetime, path: str) -> tuple[int, float]:
        seconds = (moment - self.origin).total_seconds()
        if seconds < 0:
            raise FormatError(
                f"{moment.isoformat()} is {-seconds:g} s before the origin {self.origin.isoformat()}", path=path
            )
        index = round(seconds * self.fps)
        return index, index / self.fps
