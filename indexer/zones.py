"""Image zones per camera (issue 21; docs/api/zones.md): admins define named polygons in
normalised image coordinates, and queries (``person IN ZONE crosswalk``) name them.

Writes check a zone fully and refuse it with a 400 naming the field (:class:`ZoneError`):
a name of letters, digits, ``_`` and ``-`` (so the text form needs no quotes), 3 to 1000
``[x, y]`` vertices each within 0..1, an anchor ``bottom_center`` or ``center``, and a name
unique per camera. :func:`zone_definitions` is what query normalization resolves names with:
every zone, by name, then camera."""

from __future__ import annotations

import math
import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from indexer.models import Video, Zone
from indexer.payloads import PayloadError

NAME = re.compile(r"[\w-]{1,100}\Z", re.ASCII)
MIN_VERTICES, MAX_VERTICES = 3, 1000
ANCHORS = (Zone.BOTTOM_CENTER, Zone.CENTER)


class ZoneError(PayloadError):
    """A zone that cannot be saved: a 400 (or 409 for a taken name) with ``detail`` and ``path``."""


def zone_polygon_check(raw: Any) -> list[list[float]]:
    """``raw`` as ``[[x, y], ...]`` floats, or a ZoneError naming the first bad vertex."""
    if not isinstance(raw, list) or not MIN_VERTICES <= len(raw) <= MAX_VERTICES:
        count = f", got {len(raw)}" if isinstance(raw, list) else ""
        raise ZoneError(f"a zone's polygon is a list of {MIN_VERTICES} to {MAX_VERTICES} [x, y] vertices{count}",
                        path="polygon")
    vertices = []
    for index, vertex in enumerate(raw):
        path = f"polygon[{index}]"
        if not isinstance(vertex, list) or len(vertex) != 2:
            raise ZoneError("a vertex is [x, y]", path=path)
        point = []
        for axis, (value, side) in enumerate(zip(vertex, ("width", "height"), strict=True)):
            number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            if number is None or not math.isfinite(number) or not 0.0 <= number <= 1.0:
                raise ZoneError(f"{'xy'[axis]} is a number in 0..1 (a fraction of the image's {side}), got {value!r}",
                                path=f"{path}[{axis}]")
            point.append(float(number))
        vertices.append(point)
    return vertices


def _checked(*, camera: Any, name: Any, polygon: Any, anchor: Any) -> dict[str, Any]:
    if not isinstance(camera, str) or not camera.strip() or len(camera) > 200:
        raise ZoneError("camera is the camera's name as videos give it (1 to 200 characters)", path="camera")
    if not isinstance(name, str) or not NAME.match(name):
        raise ZoneError("a zone's name is 1 to 100 letters, digits, '_' or '-' (queries write it bare)", path="name")
    if anchor not in ANCHORS:
        raise ZoneError(f"anchor is one of {', '.join(ANCHORS)}, got {anchor!r}", path="anchor")
    return {"camera": camera, "name": name, "polygon": zone_polygon_check(polygon), "anchor": anchor}


def _saved(zone: Zone) -> Zone:
    try:
        with transaction.atomic():
            zone.save()
    except IntegrityError:
        raise ZoneError(f"camera '{zone.camera}' already has a zone named '{zone.name}'", path="name",
                        status=409) from None
    return zone


def zone_create(*, camera: Any, name: Any, polygon: Any, anchor: Any = Zone.BOTTOM_CENTER,
                user: AbstractBaseUser | None) -> Zone:
    return _saved(Zone(**_checked(camera=camera, name=name, polygon=polygon, anchor=anchor), created_by=user))


def zone_update(*, zone: Zone, **changes: Any) -> Zone:
    """Change any of ``camera``, ``name``, ``polygon``, ``anchor``; the others stay."""
    fields = {key: changes.get(key, getattr(zone, key)) for key in ("camera", "name", "polygon", "anchor")}
    for key, value in _checked(**fields).items():
        setattr(zone, key, value)
    return _saved(zone)


def zone_delete(*, zone: Zone) -> None:
    zone.delete()


def zones_all(*, camera: str | None = None) -> QuerySet[Zone]:
    zones = Zone.objects.all()
    return zones if camera is None else zones.filter(camera=camera)


def zone_definitions() -> dict[str, dict[str, dict[str, Any]]]:
    """Every zone for query normalization: ``{name: {camera: {"polygon": [...], "anchor": ...}}}``."""
    definitions: dict[str, dict[str, dict[str, Any]]] = {}
    for camera, name, polygon, anchor in Zone.objects.values_list("camera", "name", "polygon", "anchor"):
        definitions.setdefault(name, {})[camera] = {"polygon": polygon, "anchor": anchor}
    return definitions


def zone_editor_videos(*, limit: int) -> list[dict[str, Any]]:
    """Videos whose still frame the zone editor can show (they have media), with their camera:
    ``[{"id", "name", "camera"}]``, by camera then name."""
    videos = Video.objects.filter(media_status=Video.MEDIA_READY).order_by("camera", "name")
    return [{"id": pk, "name": name, "camera": camera}
            for pk, name, camera in videos.values_list("pk", "name", "camera")[:limit]]
