"""A tiny road ontology and corpus for the statistics endpoints, small enough that
every expected number is worked out by hand in the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from indexer.ontology import BOOLEAN, CATEGORICAL, AttrSpec, LabelSpec, Ontology
from indexer.records import Analytics, FrameRecord, ObjectRecord, VideoMeta, Waypoint

FPS = 10.0
RECORDED = datetime(2024, 5, 1, 12, tzinfo=UTC)

ONTOLOGY = Ontology(
    frame_attrs={"scene": AttrSpec("scene", CATEGORICAL, ["city", "highway"])},
    objects={
        "vehicle": LabelSpec("vehicle", {
            "type": AttrSpec("type", CATEGORICAL, ["sedan", "suv", "truck"]),
            "color": AttrSpec("color", CATEGORICAL, ["black", "white"]),
            "parked": AttrSpec("parked", BOOLEAN),
        }),
        "person": LabelSpec("person", {}),
    },
    events={"brake": LabelSpec("brake", {})},
)


def vehicle(index: int, type: str, color: str, track: str | None = None, **attrs: Any) -> ObjectRecord:
    return ObjectRecord(index, index / FPS, "vehicle", track=track, confidence=0.9, box=(0.1, 0.2, 0.3, 0.4),
                        attrs={"type": type, "color": color, **attrs})


def person(index: int) -> ObjectRecord:
    return ObjectRecord(index, index / FPS, "person", confidence=0.5)


def analytics(*records, gps: list[Waypoint] | None = None, recorded_at: datetime | None = RECORDED) -> Analytics:
    meta = VideoMeta(fps=FPS, gps=gps or [], recorded_at=recorded_at)
    return Analytics.from_list(format="test", meta=meta, records=records)


def street() -> Analytics:
    """Five frames in two clips (gap 1 s): 0, 0.1, 0.2 s and 5.0, 5.1 s.

    frame 0: sedan black            (scene city)
    frame 1: sedan black, suv white
    frame 2: suv white
    frame 50: sedan white           (scene highway)
    frame 51: person
    """
    return analytics(
        FrameRecord(0, 0.0, {"scene": "city"}),
        vehicle(0, "sedan", "black", track="1"),
        vehicle(1, "sedan", "black", track="1"),
        vehicle(1, "suv", "white", track="2"),
        vehicle(2, "suv", "white", track="2"),
        FrameRecord(50, 5.0, {"scene": "highway"}),
        vehicle(50, "sedan", "white", parked=True),
        person(51),
        gps=[Waypoint(0.0, 0.5, 0.5), Waypoint(0.2, 0.5, 1.5), Waypoint(5.0, 1.0, 2.5), Waypoint(5.1, 5.0, 5.0)],
    )


def index_video(video_id: int, name: str, video: Analytics) -> None:
    from indexer.search import get_search_backend

    get_search_backend().index_video(video_id=video_id, name=name, analytics=video)


def create_schema():
    from indexer.services import schema_create

    return schema_create(name="road", document=ONTOLOGY.to_document(), author=None)
