"""Real answers of every endpoint conform to the OpenAPI document.

``CALLS`` lists, for every operation of the document, requests that succeed and the
main ways they fail, each with the status it must get. Each answer's status and media
type must be documented, and its JSON must conform to the documented schema (strictly:
no property the document does not name). ``test_every_operation_is_called`` fails for
an operation of the document that ``CALLS`` does not exercise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.analytics.corpus import ONTOLOGY, analytics, create_schema, index_video, street, vehicle
from tests.conftest import _client_for
from tests.openapi import answer_schema, operations, path_of, problems

SQUARE = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a", "n": 1}, '
          b'"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]}')
UNKNOWN_ID = 999_999


def eta_frame(number: int, *objects: dict) -> dict:
    return {"frame_number": number, "objects": {"objects": list(objects)}}


def eta_object(label: str, track: int, **attrs: str) -> dict:
    return {"label": label, "index": track, "confidence": 0.9,
            "bounding_box": {"top_left": {"x": 0.1, "y": 0.2}, "bottom_right": {"x": 0.3, "y": 0.5}},
            "attrs": {"attrs": [{"type": "eta.core.data.CategoricalAttribute", "name": name, "value": value}
                                for name, value in attrs.items()]}}


ETA = {"metadata": {"frame_rate": 10.0, "total_frame_count": 3},
       "frames": {"1": eta_frame(1, eta_object("vehicle", 1, type="sedan", color="black"),
                                 eta_object("unicorn", 2)),
                  "2": eta_frame(2, eta_object("vehicle", 1, type="sedan", color="black"))}}


class World:
    """What the calls need, each piece made when a call first asks for it."""

    def __init__(self, capture_on_commit):
        self.capture_on_commit = capture_on_commit

    @cached_property
    def schema(self):
        return create_schema()

    @cached_property
    def street(self):
        """An indexed video with media, under the schema."""
        from django.utils import timezone

        from indexer.models import Video
        from tests.indexer.media_samples import media_video

        video = media_video("street")
        index_video(video.pk, "street", street())
        Video.objects.filter(pk=video.pk).update(schema=self.schema, indexed_at=timezone.now())
        return video

    @cached_property
    def bare(self):
        """A video of the worker's, without media or analytics."""
        from indexer.models import Video

        wes = client("worker").user
        return Video.objects.create(name="bare", created_by=wes, owner=wes)

    @cached_property
    def posted(self):
        """The video the worker's job indexed: it has a version."""
        from indexer.models import Video

        self.job  # noqa: B018
        return Video.objects.get(name="posted")

    @cached_property
    def busy(self):
        """A video whose ingest job is running."""
        from indexer.models import IngestJob, Video

        video = Video.objects.create(name="busy")
        IngestJob.objects.create(video_name="busy", schema=self.schema, format="eta", mode="strict",
                                 payload_path="/nonexistent", status=IngestJob.RUNNING)
        return video

    @cached_property
    def embedded(self):
        """A video whose two tracks have embeddings."""
        from indexer.models import Video

        video = Video.objects.create(name="embedded", schema=self.schema)
        first, second = vehicle(0, "sedan", "black", track="1"), vehicle(1, "suv", "white", track="2")
        first.embedding, second.embedding = (1.0, 0.0), (0.6, 0.8)
        index_video(video.pk, "embedded", analytics(first, second))
        return video

    @cached_property
    def spare_media(self) -> str:
        from indexer.media import media_dir
        from tests.indexer.media_samples import write_video

        write_video(media_dir() / "spare.webm")
        return "spare.webm"

    @cached_property
    def layer(self):
        from analytics.regions import region_layer_create

        self.schema  # noqa: B018  (statistics need a schema)
        return region_layer_create(name="squares", upload=SimpleUploadedFile("a.geojson", SQUARE), author=None)

    @cached_property
    def zone(self):
        from indexer.zones import zone_create

        return zone_create(camera="north", name="crosswalk", polygon=ZONE_POLYGON, user=None)

    @cached_property
    def saved(self) -> int:
        """A saved search of the analyst's."""
        self.schema  # noqa: B018
        answer = client("analyst").post("/api/v1/searches/", {"name": "black", "q": "vehicle(color=black)"},
                                        format="json")
        assert answer.status_code == 201, answer.content
        return answer.json()["id"]

    @cached_property
    def watched(self) -> int:
        """The analyst's saved search, watched, and an alert of the street video."""
        from analytics.models import Alert

        answer = client("analyst").post(f"/api/v1/searches/{self.saved}/watch/", {"min_duration_s": 1},
                                        format="json")
        assert answer.status_code == 201, answer.content
        return Alert.objects.create(watch_id=answer.json()["id"], video=self.street, start_s=0, end_s=1,
                                    first_frame=0).pk

    @cached_property
    def analysis(self) -> str:
        """An analysis of the street video's media, run to its end."""
        with self.capture_on_commit(execute=True):
            answer = client("analyst").post("/api/v1/analyses/", {"video": self.street.pk, "params": {"batch": 4}},
                                            format="json")
        assert answer.status_code == 202, answer.content
        return answer.json()["id"]

    @cached_property
    def upload(self) -> str:
        """An analyst's resumable upload of 20 bytes, none sent yet."""
        from indexer.uploads import upload_create

        return str(upload_create(filename="u.webm", length=20, user=client("analyst").user).pk)

    @cached_property
    def zipped(self) -> bytes:
        """A zip of one small video, cam-9.webm."""
        import io
        import zipfile

        from tests.indexer.media_samples import write_video

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("cam-9.webm", write_video(self.import_root / "v.webm", frames=3).read_bytes())
        return buffer.getvalue()

    @cached_property
    def import_root(self):
        """A folder inside SCOOP_IMPORT_ROOTS with one small video, cam-8.webm."""
        from django.conf import settings

        from indexer.media import media_dir
        from tests.indexer.media_samples import write_video

        root = media_dir().parent / "imports"
        (root / "drop").mkdir(parents=True)
        write_video(root / "drop" / "cam-8.webm", frames=3)
        settings.SCOOP_IMPORT_ROOTS = [str(root)]
        return root

    @cached_property
    def imported(self) -> str:
        from indexer.imports import import_folder

        return str(import_folder(folder=self.import_root / "drop", pattern=IMPORT_PATTERN, defaults={},
                                 pipeline=None, user=client("admin").user).pk)

    @cached_property
    def queued_analysis(self) -> str:
        from indexer.models import Analysis

        return str(Analysis.objects.create(video=self.street, pipeline="reference").pk)

    @cached_property
    def job(self) -> str:
        """A succeeded ingest job of the worker, with a violation (filter mode)."""
        self.schema  # noqa: B018
        with self.capture_on_commit(execute=True):
            queued = client("worker").post("/api/v1/ingest/", {"video": "posted", "analytics": ETA, "schema": "road",
                                                               "mode": "filter"}, format="json")
        assert queued.status_code == 202, queued.content
        return queued.json()["id"]

    @cached_property
    def failed_job(self) -> str:
        """A failed ingest job of the worker (strict mode: the payload's unicorn is not in the schema)."""
        self.schema  # noqa: B018
        with self.capture_on_commit(execute=True):
            queued = client("worker").post("/api/v1/ingest/", {"video": "refused", "analytics": ETA, "schema": "road",
                                                               "mode": "strict"}, format="json")
        assert queued.status_code == 202, queued.content
        return queued.json()["id"]

    @cached_property
    def queued_job(self) -> str:
        """An ingest job of the worker that stays queued (its task is never run here)."""
        self.schema  # noqa: B018
        queued = client("worker").post("/api/v1/ingest/", {"video": "waiting", "analytics": ETA, "schema": "road"},
                                       format="json")
        assert queued.status_code == 202, queued.content
        return queued.json()["id"]

    @cached_property
    def archived_job(self) -> str:
        answer = client("admin").post(f"/api/v1/jobs/ingest/{self.job}/archive/")
        assert answer.status_code == 200, answer.content
        return self.job

    @cached_property
    def model_bytes(self) -> bytes:
        """A TorchScript detector that finds one pedestrian in every image (docs/api/pipelines.md)."""
        import io

        import torch

        class OnePedestrian(torch.nn.Module):
            def forward(self, images: torch.Tensor) -> torch.Tensor:
                row = torch.tensor([[10.0, 10.0, 40.0, 100.0, 0.9, 0.0]])
                return row.unsqueeze(0).expand(images.shape[0], -1, -1).clone()

        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(OnePedestrian()), buffer)
        return buffer.getvalue()

    @cached_property
    def pipeline(self) -> str:
        self.schema  # noqa: B018
        answer = client("admin").post("/api/v1/pipelines/", pipeline_form("one-pedestrian", self.model_bytes)["data"])
        assert answer.status_code == 201, answer.content
        return "one-pedestrian"

    @cached_property
    def export_job(self) -> str:
        """A succeeded label export (CVAT) of the posted video, the analyst's."""
        self.job  # noqa: B018
        with self.capture_on_commit(execute=True):
            answer = client("analyst").post("/api/v1/exports/", {"format": "cvat"}, format="json")
        assert answer.status_code == 202, answer.content
        return answer.json()["id"]

    @cached_property
    def queued_export(self) -> str:
        from analytics.models import ExportJob

        return str(ExportJob.objects.create(format="eta", params={}).pk)

    @cached_property
    def campaign(self):
        """A review campaign over the street's two vehicle tracks."""
        from analytics.review.services import campaign_create

        self.street  # noqa: B018
        return campaign_create(name="vehicles", schema=self.schema, unit="tracks", question="A vehicle?",
                               q="vehicle", author=None)

    @cached_property
    def batch(self):
        """The reviewer's batch of both items of the campaign."""
        from analytics.review.services import batch_lease

        return batch_lease(campaign=self.campaign, reviewer=client("reviewer").user, size=2)

    @cached_property
    def live(self) -> int:
        self.schema  # noqa: B018
        started = client("worker").post("/api/v1/videos/", {"name": "cam-live", "live": True, "fps": 10,
                                                            "schema": "road"}, format="json")
        assert started.status_code == 201, started.content
        return started.json()["id"]


def client(role: str):
    username = {"worker": "wes", "analyst": "ann", "admin": "ada", "reviewer": "rita"}.get(role, "")
    return _client_for(None, username, None if role == "anonymous" else role)


PIPELINE_CONFIG = {"classes": ["pedestrian"], "label_map": {"pedestrian": "person"}, "input_size": [160, 120],
                   "thresholds": {"score": 0.5, "nms_iou": 0.5}, "schema": "road"}


def pipeline_form(name: str, model: bytes) -> dict[str, Any]:
    return {"data": {"name": name, "model": SimpleUploadedFile("model.pt", model),
                     "config": json.dumps(PIPELINE_CONFIG)}}


def ingest_job(piece: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"kind": "ingest", "job_id": getattr(world, piece)}


def ndjson(*lines: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@dataclass
class Call:
    """One request: ``needs`` names the world's pieces to make first, ``ids`` fill the path
    template and ``request`` gives the client's keyword arguments (data, format,
    content_type), both from the world."""

    role: str
    status: int
    needs: tuple[str, ...] = ()
    ids: Callable[[World], dict[str, Any]] = lambda world: {}
    request: Callable[[World], dict[str, Any]] = lambda world: {}
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def json_body(body: Any) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"data": body, "format": "json"}


def form(**fields: Any) -> Callable[[World], dict[str, Any]]:
    """A multipart body; file values are (name, bytes)."""
    def request(world: World) -> dict[str, Any]:
        return {"data": {name: SimpleUploadedFile(*value) if isinstance(value, tuple) else value
                         for name, value in fields.items()}}
    return request


def raw(body: bytes, content_type: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"data": body, "content_type": content_type}


def video(name: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"video_id": world.live if name == "live" else getattr(world, name).pk}


def unknown(name: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {name: UNKNOWN_ID}


def upload(world: World) -> dict[str, Any]:
    return {"upload_id": world.upload}


def layer(world: World) -> dict[str, Any]:
    return {"layer_id": world.layer.pk}


def zone(world: World) -> dict[str, Any]:
    return {"zone_id": world.zone.pk}


ZONE_POLYGON = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0]]


def saved(world: World) -> dict[str, Any]:
    return {"saved_id": world.saved}


def campaign(world: World) -> dict[str, Any]:
    return {"campaign_id": world.campaign.pk}


def item(world: World) -> dict[str, Any]:
    return {"item_id": world.campaign.items.first().pk}


def votes(answer: str) -> Callable[[World], dict[str, Any]]:
    """An answer to every item of the reviewer's batch."""
    return lambda world: {"data": {"batch": world.batch.pk, "votes": [
        {"item": entry.item_id, "answer": answer} for entry in world.batch.entries.all()]}, "format": "json"}


ROAD = ONTOLOGY.to_document()
# A second version of the road ontology without the colour white, which the indexed street holds.
ROAD_WITHOUT_WHITE = json.loads(json.dumps(ROAD).replace(', "white"', ""))
BROKEN_SCHEMA = {"objects": {"schema": {"car": {"label": "car", "attrs": {"schema": {"color": {
    "name": "colour", "type": "Colour"}}}}}}}
NDJSON = "application/x-ndjson"
CHUNK = ndjson(eta_frame(1, eta_object("vehicle", 1, color="black")), eta_frame(2, eta_object("unicorn", 2)))
ETA_TEXT = json.dumps(ETA).encode()
CHUNK_TYPE = "application/offset+octet-stream"
NO_UPLOAD = {"upload_id": "00000000-0000-0000-0000-000000000000"}
IMPORT_PATTERN = r"(?P<camera>[a-z]+-\d)\.webm"


def zip_import(pattern: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"data": {"file": SimpleUploadedFile("v.zip", world.zipped), "pattern": pattern}}


def folder_import(pattern: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"data": {"path": str(world.import_root / "drop"), "pattern": pattern}, "format": "json"}

CALLS: dict[tuple[str, str], list[Call]] = {
    ("GET", "/api/v1/schemas/"): [Call("analyst", 200, needs=("schema",)), Call("anonymous", 401)],
    ("POST", "/api/v1/schemas/"): [
        Call("admin", 201, needs=("street",), request=json_body({"name": "road", "schema": ROAD_WITHOUT_WHITE})),
        Call("admin", 201, request=json_body({"name": "other", "schema": ROAD})),
        Call("admin", 400, request=json_body({"name": "bad", "schema": BROKEN_SCHEMA})),
        Call("admin", 400, request=json_body({"name": "123", "schema": ROAD})),
        Call("analyst", 403, request=json_body({"name": "road", "schema": ROAD})),
    ],
    ("GET", "/api/v1/schemas/default/"): [
        Call("worker", 404), Call("worker", 200, needs=("schema",)),
    ],
    ("PUT", "/api/v1/schemas/default/"): [
        Call("admin", 200, needs=("schema",), request=json_body({"name": "road"})),
        Call("admin", 400, needs=("schema",), request=json_body({"name": "raod"})),
        Call("admin", 400, request=json_body({"name": "road:1"})),
        Call("analyst", 403, request=json_body({"name": "road"})),
    ],
    ("GET", "/api/v1/schemas/{schema_id}/"): [
        Call("worker", 200, ids=lambda world: {"schema_id": world.schema.pk}),
        Call("worker", 404, ids=unknown("schema_id")),
    ],
    ("GET", "/api/v1/ingest/"): [
        Call("worker", 200, needs=("job",)), Call("admin", 200, needs=("job",)),
        Call("worker", 404, query="?page=9"), Call("analyst", 403),
    ],
    ("POST", "/api/v1/ingest/"): [
        Call("worker", 202, needs=("schema",), request=json_body({"video": "json", "analytics": ETA})),
        Call("worker", 202, needs=("schema",), request=form(video="upload", file=("a.json", ETA_TEXT))),
        Call("worker", 400, needs=("schema",), request=json_body({"video": "v", "analytics": ETA, "format": "mp4"})),
        Call("worker", 400, needs=("schema",), request=json_body({"video": "v"})),
        Call("worker", 202, needs=("schema",), request=json_body({"video": "e", "analytics": {"frames": {}},
                                                                  "allow_empty": True})),
        Call("worker", 403, needs=("street",), request=json_body({"video": "street", "analytics": ETA})),
        Call("worker", 415, request=raw(b"video=v", "text/plain")),
        Call("analyst", 403, request=json_body({"video": "v", "analytics": ETA})),
    ],
    ("GET", "/api/v1/ingest/{job_id}/"): [
        Call("worker", 200, ids=lambda world: {"job_id": world.job}),
        Call("worker", 404, ids=lambda world: {"job_id": "00000000-0000-0000-0000-000000000000"}),
    ],
    ("POST", "/api/v1/uploads/"): [
        Call("analyst", 201, headers={"HTTP_UPLOAD_LENGTH": "20", "HTTP_UPLOAD_METADATA": "filename dS53ZWJt"}),
        Call("analyst", 400, headers={"HTTP_UPLOAD_LENGTH": "twenty"}),
        Call("analyst", 413, headers={"HTTP_UPLOAD_LENGTH": str(10**15)}),
        Call("analyst", 409, needs=("bare",), headers={"HTTP_UPLOAD_LENGTH": "20",
                                                        "HTTP_UPLOAD_METADATA": "name YmFyZQ=="}),
        Call("reviewer", 403, headers={"HTTP_UPLOAD_LENGTH": "20"}), Call("anonymous", 401),
    ],
    ("GET", "/api/v1/uploads/"): [Call("analyst", 200, needs=("upload",)), Call("reviewer", 403)],
    ("GET", "/api/v1/uploads/{upload_id}/"): [
        Call("analyst", 200, ids=upload), Call("worker", 403, ids=upload),
        Call("analyst", 404, ids=lambda world: NO_UPLOAD),
    ],
    ("PATCH", "/api/v1/uploads/{upload_id}/"): [
        Call("analyst", 204, ids=upload, request=raw(b"0123456789", CHUNK_TYPE), headers={"HTTP_UPLOAD_OFFSET": "0"}),
        Call("analyst", 409, ids=upload, request=raw(b"0123456789", CHUNK_TYPE), headers={"HTTP_UPLOAD_OFFSET": "0"}),
        Call("analyst", 413, ids=upload, request=raw(b"0" * 11, CHUNK_TYPE), headers={"HTTP_UPLOAD_OFFSET": "10"}),
        Call("analyst", 460, ids=upload, request=raw(b"0123456789", CHUNK_TYPE),
             headers={"HTTP_UPLOAD_OFFSET": "10", "HTTP_UPLOAD_CHECKSUM": "md5 AAAAAAAAAAAAAAAAAAAAAA=="}),
        Call("analyst", 415, ids=upload, request=raw(b"0123456789", "text/plain"),
             headers={"HTTP_UPLOAD_OFFSET": "10"}),
        Call("analyst", 200, ids=upload, request=raw(b"0123456789", CHUNK_TYPE), headers={"HTTP_UPLOAD_OFFSET": "10"}),
        Call("worker", 403, ids=upload, request=raw(b"0", CHUNK_TYPE), headers={"HTTP_UPLOAD_OFFSET": "20"}),
    ],
    ("DELETE", "/api/v1/uploads/{upload_id}/"): [
        Call("worker", 403, ids=upload), Call("analyst", 204, ids=upload), Call("analyst", 404, ids=upload),
    ],
    ("POST", "/api/v1/imports/"): [
        Call("admin", 201, request=folder_import(IMPORT_PATTERN)),
        Call("analyst", 201, request=zip_import(IMPORT_PATTERN)),
        Call("analyst", 400, request=zip_import("(?P<camera>")),
        Call("analyst", 403, request=folder_import(IMPORT_PATTERN)),
        Call("worker", 403, request=zip_import(IMPORT_PATTERN)),
    ],
    ("GET", "/api/v1/imports/"): [Call("admin", 200, needs=("imported",)), Call("worker", 403)],
    ("GET", "/api/v1/imports/{import_id}/"): [
        Call("admin", 200, ids=lambda world: {"import_id": world.imported}),
        Call("analyst", 404, ids=lambda world: {"import_id": world.imported}),
    ],
    ("GET", "/api/v1/videos/"): [
        Call("analyst", 200, needs=("street", "bare")), Call("analyst", 404, query="?page=9"), Call("worker", 403),
    ],
    ("POST", "/api/v1/videos/"): [
        Call("worker", 201, request=json_body({"name": "new"})),
        Call("worker", 200, needs=("bare",), request=json_body({"name": "bare"})),
        Call("worker", 201, needs=("schema",), request=json_body({"name": "cam", "live": True, "fps": 5,
                                                                  "schema": "road"})),
        Call("worker", 400, request=json_body({"name": "x", "live": True})),
    ],
    ("GET", "/api/v1/videos/{video_id}/"): [
        Call("analyst", 200, ids=video("street")), Call("analyst", 200, ids=video("live")),
        Call("analyst", 404, ids=unknown("video_id")),
    ],
    ("PATCH", "/api/v1/videos/{video_id}/"): [
        Call("worker", 200, ids=video("live"), request=json_body({"live": False})),
        Call("worker", 400, ids=video("live"), request=json_body({"live": "maybe"})),
        Call("worker", 403, ids=video("street"), request=json_body({"live": False})),
        Call("worker", 403, ids=video("live"), request=json_body({"owner": "wes"})),
        Call("worker", 404, ids=unknown("video_id"), request=json_body({"live": True})),
        Call("admin", 200, ids=video("street"), needs=("bare",), request=json_body({"owner": "wes"})),
        Call("admin", 400, ids=video("street"), request=json_body({"owner": "nobody"})),
        Call("admin", 400, ids=video("street"), request=json_body({})),
    ],
    ("DELETE", "/api/v1/videos/{video_id}/"): [
        Call("admin", 200, ids=video("bare")), Call("admin", 409, ids=video("busy")),
        Call("admin", 404, ids=unknown("video_id")),
    ],
    ("GET", "/api/v1/videos/{video_id}/versions/"): [
        Call("admin", 200, ids=video("posted")), Call("admin", 404, ids=unknown("video_id")),
        Call("worker", 403, ids=video("posted")),
    ],
    ("POST", "/api/v1/videos/{video_id}/versions/{number}/restore/"): [
        Call("admin", 202, ids=lambda world: {"video_id": world.posted.pk, "number": 1}),
        Call("admin", 404, ids=lambda world: {"video_id": world.posted.pk, "number": 99}),
        Call("worker", 403, ids=lambda world: {"video_id": world.posted.pk, "number": 1}),
    ],
    ("GET", "/api/v1/audit/"): [
        Call("admin", 200, needs=("job",)), Call("admin", 200, needs=("schema",), query="?action=schema.upload"),
        Call("admin", 400, query="?action=video.rename"), Call("analyst", 403),
    ],
    ("POST", "/api/v1/videos/{video_id}/stream/"): [
        Call("worker", 200, ids=video("live"), request=raw(CHUNK, NDJSON), query="?mode=filter"),
        Call("worker", 400, ids=video("live"), request=raw(CHUNK, NDJSON)),
        Call("worker", 400, ids=video("live"), request=raw(b"{not json\n", NDJSON)),
        Call("admin", 409, ids=video("street"), request=raw(CHUNK, NDJSON)),
        Call("worker", 403, ids=video("street"), request=raw(CHUNK, NDJSON)),
        Call("worker", 415, ids=video("live"), request=raw(b"a,b", "text/csv")),
    ],
    ("GET", "/api/v1/videos/{video_id}/media/"): [
        Call("analyst", 200, ids=video("street")), Call("analyst", 404, ids=unknown("video_id")),
    ],
    ("POST", "/api/v1/videos/{video_id}/media/"): [
        Call("worker", 202, ids=video("bare"), request=lambda world: {"data": {"path": world.spare_media},
                                                                      "format": "json"}),
        Call("worker", 200, ids=video("bare"), request=json_body({"url": "https://example.org/v.mp4"})),
        Call("worker", 400, ids=video("bare"), request=json_body({})),
        Call("worker", 403, ids=video("street"), request=json_body({"url": "https://example.org/v.mp4"})),
    ],
    ("GET", "/api/v1/videos/{video_id}/labels/"): [
        Call("analyst", 200, ids=video("street")),
        Call("analyst", 200, ids=video("street"), query="?q=vehicle&end_s=1"),
        Call("analyst", 400, ids=video("street"), query="?q=vehicle(colour=black)"),
        Call("analyst", 404, ids=unknown("video_id")),
    ],
    ("GET", "/api/v1/videos/{video_id}/clip.mp4"): [
        Call("analyst", 200, ids=video("street"), query="?start_s=0&end_s=1&overlay=1"),
        Call("analyst", 400, ids=video("street"), query="?start_s=2&end_s=1"),
    ],
    ("GET", "/api/v1/search/"): [
        Call("analyst", 200, needs=("street",), query='?q=vehicle&facets=["label"]&page_size=1'),
        Call("analyst", 400, needs=("schema",), query="?filters={bad"),
    ],
    ("POST", "/api/v1/search/"): [
        Call("analyst", 200, needs=("street", "live"), request=json_body({
            "q": "vehicle", "filters": {"object:vehicle.color": ["black"]}})),
        Call("analyst", 400, needs=("schema",), request=json_body({"q": "vehicle(colour=black)"})),
        Call("analyst", 400, needs=("schema",), request=json_body({"query": {"object": {"lable": "x"}}})),
        Call("worker", 403, request=json_body({"q": "vehicle"})),
    ],
    ("POST", "/api/v1/similar/"): [
        Call("analyst", 200, request=lambda world: {"data": {"video": world.embedded.pk, "track": "1", "k": 5},
                                                    "format": "json"}),
        Call("analyst", 400, request=lambda world: {"data": {"video": world.embedded.pk}, "format": "json"}),
    ],
    ("POST", "/api/v1/stats/occurrence/"): [
        Call("analyst", 200, needs=("street",), request=json_body({"facets": ["label"], "figure": True})),
        Call("analyst", 200, needs=("street",), request=json_body({"unit": "seconds"})),
        Call("analyst", 400, needs=("schema",), request=json_body({"unit": "parsecs"})),
    ],
    ("POST", "/api/v1/stats/cooccurrence/"): [
        Call("analyst", 200, needs=("street",), request=json_body({"a": "label", "b": "object:vehicle.color",
                                                                    "figure": True})),
        Call("analyst", 200, needs=("street",), request=json_body({"top": 5})),
        Call("analyst", 400, needs=("schema",), request=json_body({"a": "label"})),
    ],
    ("POST", "/api/v1/stats/geo/"): [
        Call("analyst", 200, needs=("street",), request=json_body({"bbox": [-10, -10, 10, 10], "zoom": 3})),
        Call("analyst", 200, needs=("street",), request=json_body({"bbox": [-10, -10, 10, 10], "zoom": 3,
                                                                    "format": "points", "target": "objects"})),
        Call("analyst", 400, needs=("schema",), request=json_body({"bbox": [0, 0, 1], "zoom": 3})),
    ],
    ("POST", "/api/v1/stats/regions/"): [
        Call("analyst", 200, needs=("street",), request=lambda world: {"data": {"layer": world.layer.pk},
                                                                       "format": "json"}),
        Call("analyst", 400, needs=("schema",), request=json_body({"layer": UNKNOWN_ID})),
    ],
    ("POST", "/api/v1/stats/timeline/"): [
        Call("analyst", 200, needs=("street",), request=json_body({"figure": True})),
        Call("analyst", 400, needs=("schema",), request=json_body({"bins": 0})),
    ],
    ("GET", "/api/v1/jobs/"): [
        Call("admin", 200, needs=("job", "queued_job")), Call("worker", 200, needs=("job",)),
        Call("admin", 200, needs=("failed_job",), query="?q=status:failed"),
        Call("admin", 400, query="?q=colour:red"), Call("reviewer", 403),
    ],
    ("GET", "/api/v1/jobs/{kind}/{job_id}/"): [
        Call("admin", 200, ids=ingest_job("job")), Call("worker", 200, ids=ingest_job("job")),
        Call("admin", 404, ids=lambda world: {"kind": "ingest", "job_id": "00000000-0000-0000-0000-000000000000"}),
    ],
    ("DELETE", "/api/v1/jobs/{kind}/{job_id}/"): [
        Call("worker", 403, ids=ingest_job("job")), Call("admin", 409, ids=ingest_job("queued_job")),
        Call("admin", 204, ids=ingest_job("job")),
    ],
    ("POST", "/api/v1/jobs/{kind}/{job_id}/retry/"): [
        Call("admin", 202, ids=ingest_job("failed_job")), Call("admin", 409, ids=ingest_job("job")),
    ],
    ("POST", "/api/v1/jobs/{kind}/{job_id}/cancel/"): [
        Call("admin", 409, ids=ingest_job("job")), Call("admin", 200, ids=ingest_job("queued_job")),
    ],
    ("POST", "/api/v1/jobs/{kind}/{job_id}/archive/"): [
        Call("admin", 409, ids=ingest_job("queued_job")), Call("admin", 200, ids=ingest_job("job")),
    ],
    ("DELETE", "/api/v1/jobs/{kind}/{job_id}/archive/"): [
        Call("admin", 409, ids=ingest_job("job")), Call("admin", 200, ids=ingest_job("archived_job")),
    ],
    ("PUT", "/api/v1/jobs/{kind}/{job_id}/expiry/"): [
        Call("admin", 200, ids=ingest_job("job"), request=json_body({"ttl_days": 30})),
        Call("admin", 409, ids=ingest_job("queued_job"), request=json_body({"ttl_days": 30})),
    ],
    ("GET", "/api/v1/pipelines/"): [Call("analyst", 200, needs=("pipeline",)), Call("worker", 403)],
    ("POST", "/api/v1/pipelines/"): [
        Call("admin", 201, needs=("schema",), request=lambda world: pipeline_form("fixed", world.model_bytes)),
        Call("admin", 400, needs=("schema",), request=lambda world: pipeline_form("broken", b"not a model")),
        Call("analyst", 403, request=lambda world: pipeline_form("fixed", b"")),
    ],
    ("GET", "/api/v1/pipelines/{name}/"): [
        Call("analyst", 200, ids=lambda world: {"name": world.pipeline}),
        Call("analyst", 404, ids=lambda world: {"name": "nothing"}),
    ],
    ("DELETE", "/api/v1/pipelines/{name}/"): [
        Call("analyst", 403, ids=lambda world: {"name": world.pipeline}),
        Call("admin", 204, ids=lambda world: {"name": world.pipeline}),
    ],
    ("GET", "/api/v1/analyses/"): [Call("analyst", 200, needs=("queued_analysis",))],
    ("POST", "/api/v1/analyses/"): [
        Call("analyst", 202, request=lambda world: {"data": {"video": world.street.pk}, "format": "json"}),
        Call("analyst", 400, request=lambda world: {"data": {"video": world.street.pk, "pipeline": "x"},
                                                    "format": "json"}),
        Call("analyst", 409, request=lambda world: {"data": {"video": world.bare.pk}, "format": "json"}),
        Call("worker", 403, request=json_body({"video": 1})),
    ],
    ("GET", "/api/v1/analyses/{analysis_id}/"): [
        Call("analyst", 200, ids=lambda world: {"analysis_id": world.analysis}),
        Call("analyst", 202, ids=lambda world: {"analysis_id": world.queued_analysis}),
        Call("analyst", 404, ids=lambda world: {"analysis_id": "00000000-0000-0000-0000-000000000000"}),
    ],
    ("GET", "/api/v1/analyses/{analysis_id}/payload.json"): [
        Call("analyst", 200, ids=lambda world: {"analysis_id": world.analysis}),
        Call("analyst", 404, ids=lambda world: {"analysis_id": world.queued_analysis}),
    ],
    ("GET", "/api/v1/analyses/{analysis_id}/log.txt"): [
        Call("analyst", 200, ids=lambda world: {"analysis_id": world.analysis}),
    ],
    ("GET", "/api/v1/searches/"): [Call("analyst", 200, needs=("saved",))],
    ("POST", "/api/v1/searches/"): [
        Call("analyst", 201, needs=("schema",), request=json_body({"name": "suv", "q": "vehicle(type=suv)",
                                                                    "view": "unit=tracks"})),
        Call("analyst", 400, needs=("schema",), request=json_body({"name": "suv", "q": "vehicle("})),
        Call("worker", 403, request=json_body({"name": "suv"})),
    ],
    ("GET", "/api/v1/searches/{saved_id}/"): [
        Call("analyst", 200, ids=saved), Call("admin", 404, ids=saved), Call("analyst", 404, ids=unknown("saved_id")),
    ],
    ("PUT", "/api/v1/searches/{saved_id}/"): [
        Call("analyst", 200, ids=saved, request=json_body({"name": "dark", "shared": True})),
        Call("analyst", 400, ids=saved, request=json_body({"filters": {"nope": ["x"]}})),
        Call("admin", 403, ids=saved),
    ],
    ("POST", "/api/v1/searches/{saved_id}/watch/"): [
        Call("analyst", 201, ids=saved, request=json_body({"min_duration_s": 2, "cooldown_s": 60, "channels": {
            "in_app": True, "webhook": "https://93.184.215.14/hook", "email": "ann@example.org"}})),
        Call("analyst", 200, ids=saved, request=json_body({"active": False})),
        Call("analyst", 400, ids=saved, request=json_body({"min_duration_s": -1})),
        Call("admin", 404, ids=saved),
    ],
    ("DELETE", "/api/v1/searches/{saved_id}/watch/"): [
        Call("analyst", 204, needs=("watched",), ids=saved), Call("analyst", 404, ids=saved),
    ],
    ("GET", "/api/v1/alerts/"): [
        Call("analyst", 200, needs=("watched",), query="?state=unacknowledged"),
        Call("analyst", 400, query="?state=read"),
    ],
    ("POST", "/api/v1/alerts/{alert_id}/ack/"): [
        Call("analyst", 200, ids=lambda world: {"alert_id": world.watched}),
        Call("admin", 404, ids=lambda world: {"alert_id": world.watched}),
    ],
    ("DELETE", "/api/v1/searches/{saved_id}/"): [Call("analyst", 204, ids=saved), Call("analyst", 404, ids=saved)],
    ("GET", "/api/v1/regions/"): [Call("analyst", 200, needs=("layer",))],
    ("POST", "/api/v1/regions/"): [
        Call("admin", 201, request=form(name="b", file=("b.geojson", SQUARE))),
        Call("admin", 400, request=form(name="b", file=("b.txt", b"x"))),
        Call("analyst", 403, request=form(name="b")),
    ],
    ("GET", "/api/v1/regions/{layer_id}/"): [
        Call("analyst", 200, ids=layer), Call("analyst", 404, ids=unknown("layer_id")),
    ],
    ("DELETE", "/api/v1/regions/{layer_id}/"): [Call("admin", 204, ids=layer), Call("analyst", 403, ids=layer)],
    ("GET", "/api/v1/zones/"): [Call("analyst", 200, needs=("zone",)), Call("anonymous", 401)],
    ("POST", "/api/v1/zones/"): [
        Call("admin", 201, request=json_body({"camera": "north", "name": "gate", "polygon": ZONE_POLYGON})),
        Call("admin", 400, request=json_body({"camera": "north", "name": "bad", "polygon": [[0, 0], [2, 0], [1, 1]]})),
        Call("admin", 409, needs=("zone",), request=json_body({"camera": "north", "name": "crosswalk",
                                                               "polygon": ZONE_POLYGON})),
        Call("analyst", 403, request=json_body({"camera": "north", "name": "gate", "polygon": ZONE_POLYGON})),
    ],
    ("GET", "/api/v1/zones/{zone_id}/"): [Call("analyst", 200, ids=zone), Call("analyst", 404, ids=unknown("zone_id"))],
    ("PATCH", "/api/v1/zones/{zone_id}/"): [
        Call("admin", 200, ids=zone, request=json_body({"anchor": "center"})),
        Call("admin", 400, ids=zone, request=json_body({"name": "two words"})),
        Call("analyst", 403, ids=zone, request=json_body({"anchor": "center"})),
    ],
    ("DELETE", "/api/v1/zones/{zone_id}/"): [Call("analyst", 403, ids=zone), Call("admin", 204, ids=zone)],
    ("GET", "/api/v1/export/detections.geojson"): [
        Call("analyst", 200, needs=("street",), query="?q=vehicle"),
        Call("analyst", 400, needs=("schema",), query="?q=vehicle(colour=black)"),
    ],
    ("GET", "/api/v1/export/detections.csv"): [
        Call("analyst", 200, needs=("street",), query="?q=vehicle"),
        Call("analyst", 400, needs=("schema",), query="?q=vehicle("),
    ],
    ("GET", "/api/v1/export/labels"): [
        Call("analyst", 200, needs=("job",), query="?format=eta"),
        Call("analyst", 200, needs=("job",), query="?format=mot"),
        Call("analyst", 200, needs=("job",), query="?format=coco&q=vehicle"),
        Call("analyst", 200, needs=("job",), query="?format=camio&layout=csv"),
        Call("analyst", 400, needs=("schema",), query="?format=shapefile"),
        Call("worker", 403, query="?format=eta"),
    ],
    ("POST", "/api/v1/exports/"): [
        Call("analyst", 202, needs=("job",), request=json_body({"format": "eta"})),
        Call("analyst", 400, needs=("schema",), request=json_body({"format": "eta", "q": "vehicle("})),
        Call("analyst", 400, needs=("schema",), request=json_body({"format": "eta", "scope": "clips"})),
    ],
    ("GET", "/api/v1/exports/{job_id}/"): [
        Call("analyst", 200, ids=lambda world: {"job_id": world.export_job}),
        Call("analyst", 404, ids=lambda world: {"job_id": "00000000-0000-0000-0000-000000000000"}),
    ],
    ("GET", "/api/v1/exports/{job_id}/file"): [
        Call("analyst", 200, ids=lambda world: {"job_id": world.export_job}),
        Call("admin", 409, ids=lambda world: {"job_id": world.queued_export}),
    ],
    ("POST", "/api/v1/review/campaigns/"): [
        Call("admin", 201, needs=("street",), request=json_body({"name": "v", "q": "vehicle", "unit": "tracks",
                                                                 "question": "A vehicle?"})),
        Call("admin", 400, needs=("schema",), request=json_body({"name": "v", "unit": "events", "question": "?"})),
        Call("reviewer", 403, request=json_body({"name": "v", "unit": "tracks", "question": "?"})),
    ],
    ("GET", "/api/v1/review/campaigns/{campaign_id}/"): [
        Call("admin", 200, ids=campaign), Call("admin", 404, ids=unknown("campaign_id")),
    ],
    ("GET", "/api/v1/review/campaigns/{campaign_id}/batch/"): [
        Call("reviewer", 200, ids=campaign, query="?size=1"), Call("reviewer", 400, ids=campaign, query="?size=0"),
        Call("reviewer", 404, ids=unknown("campaign_id")), Call("worker", 403, ids=campaign),
    ],
    ("POST", "/api/v1/review/campaigns/{campaign_id}/votes/"): [
        Call("reviewer", 400, ids=campaign, request=votes("maybe")),
        Call("reviewer", 201, ids=campaign, request=votes("yes")),
        Call("reviewer", 409, ids=campaign, request=votes("yes")),
        Call("reviewer", 404, ids=campaign, request=json_body({"batch": UNKNOWN_ID, "votes": [
            {"item": 1, "answer": "yes"}]})),
    ],
    ("GET", "/api/v1/review/campaigns/{campaign_id}/stats/"): [
        Call("admin", 200, ids=campaign), Call("reviewer", 403, ids=campaign),
    ],
    ("GET", "/api/v1/review/campaigns/{campaign_id}/export/"): [
        Call("admin", 200, ids=campaign, query="?format=csv"), Call("admin", 200, ids=campaign, query="?format=eta"),
        Call("admin", 400, ids=campaign, query="?format=xml"),
    ],
    ("GET", "/api/v1/review/items/{item_id}/boxes/"): [
        Call("admin", 200, ids=item), Call("reviewer", 403, ids=item), Call("admin", 404, ids=unknown("item_id")),
    ],
    ("PUT", "/api/v1/review/items/{item_id}/gold/"): [
        Call("admin", 200, ids=item, request=json_body({"answer": "no", "correction": {"label": "person"}})),
        Call("admin", 400, ids=item, request=json_body({"answer": "unsure"})),
        Call("admin", 404, ids=unknown("item_id"), request=json_body({"answer": "yes"})),
    ],
    ("PUT", "/api/v1/review/items/{item_id}/decision/"): [
        Call("admin", 200, ids=item, request=json_body({"state": "rejected"})),
        Call("admin", 400, ids=item, request=json_body({"state": "corrected"})),
    ],
    ("GET", "/media/videos/{video_id}/stream"): [
        Call("analyst", 200, ids=video("street")),
        Call("analyst", 206, ids=video("street"), headers={"HTTP_RANGE": "bytes=0-9"}),
        Call("analyst", 416, ids=video("street"), headers={"HTTP_RANGE": "bytes=99999999-"}),
        Call("analyst", 404, ids=video("bare")),
        Call("reviewer", 200, ids=video("street")),
    ],
    ("GET", "/media/videos/{video_id}/thumbnail.jpg"): [
        Call("analyst", 200, ids=video("street"), query="?t=1&w=64"),
        Call("analyst", 400, ids=video("street"), query="?w=5"),
        Call("analyst", 404, ids=video("bare")),
    ],
    ("GET", "/media/videos/{video_id}/sprite.jpg"): [
        Call("analyst", 200, ids=video("street")), Call("anonymous", 401, ids=video("street")),
    ],
}


def test_every_operation_is_called():
    assert set(CALLS) == operations()


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _check(method: str, template: str, call: Call, world: World) -> None:
    for piece in call.needs:
        getattr(world, piece)
    kwargs = call.request(world)
    path = path_of(template, **call.ids(world)) + call.query
    response = getattr(client(call.role), method.lower())(path, **kwargs, **call.headers)
    body = _body(response)
    where = f"{method} {path} as {call.role}"
    assert response.status_code == call.status, f"{where}: {response.status_code} {body[:300]!r}"
    if call.status == 204:
        assert body == b""
        return
    content_type = response["Content-Type"]
    schema = answer_schema(method, template, response.status_code, content_type)
    if content_type.startswith(("application/json", "application/geo+json")):
        assert problems(json.loads(body), schema) == [], where
    else:
        assert body, f"{where}: an empty {content_type} answer"


@pytest.mark.parametrize(("method", "template"), sorted(CALLS), ids=[f"{m} {t}" for m, t in sorted(CALLS)])
def test_answers_conform_to_the_document(db, django_capture_on_commit_callbacks, method, template):
    world = World(django_capture_on_commit_callbacks)
    for call in CALLS[(method, template)]:
        _check(method, template, call, world)
