"""An empty payload never silently empties a video: a payload with no frames, or no
detections, that would replace a video that has some fails its job, naming the video and
what it holds, and the video keeps everything, unless the request says allow_empty=true.
(docs/guide/ingest.md#empty-payloads)"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from indexer.models import Video
from tests.indexer.writes import SUPERVISION, SUPERVISION_OPTIONS, ingest, job, search_counts, street_schema

pytestmark = pytest.mark.django_db

REFUSAL = ("video 'gate' has 3 frames and 4 detections; this payload has none: send allow_empty=true to replace "
           "them anyway (nothing was indexed)")
NO_DETECTIONS = REFUSAL.replace("has none", "has no detections")
SUPERVISION_HEADER = SUPERVISION.splitlines(keepends=True)[0]
CVAT_UNKNOWN_ONLY = (b'<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
                     b'<widget id="1"><part/></widget><gadget name="x"/></annotations>\n')
CVAT_OPTIONS = {"fps": 30, "width": 1280, "height": 720}


def eta_body(**fields) -> dict:
    return {"data": {"video": "gate", "schema": "street", "analytics": {"frames": {}}, **fields}, "format": "json"}


def multipart(name: str, content: bytes, options: dict, **fields) -> dict:
    return {"data": {"video": "gate", "schema": "street", "mode": "filter", "file": SimpleUploadedFile(name, content),
                     "options": json.dumps(options), **fields}, "format": "multipart"}


# (case, the request's keyword arguments, with allow_empty=true added by the test)
EMPTY = {
    "eta without frames": lambda **extra: eta_body(**extra),
    "cvat of unknown elements only": lambda **extra: multipart("a.xml", CVAT_UNKNOWN_ONLY, CVAT_OPTIONS,
                                                               format="cvat", **extra),
    "supervision csv of a header only": lambda **extra: multipart("a.csv", SUPERVISION_HEADER, SUPERVISION_OPTIONS,
                                                                  **extra),
}


@pytest.fixture
def gate(admin_client, worker_client, analyst_client, django_capture_on_commit_callbacks) -> int:
    street_schema(admin_client)
    posted = job(worker_client, ingest(worker_client, django_capture_on_commit_callbacks, "gate"))
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
    return posted["video"]


def post(client, capture, request: dict) -> dict:
    with capture(execute=True):
        response = client.post("/api/v1/ingest/", **request)
    return job(client, response)


@pytest.mark.parametrize("case", EMPTY)
def test_an_empty_payload_is_refused_over_a_populated_video(gate, worker_client, analyst_client, admin_client,
                                                            django_capture_on_commit_callbacks, case):
    refused = post(worker_client, django_capture_on_commit_callbacks, EMPTY[case]())

    assert (refused["status"], refused["error"], refused["allow_empty"]) == ("failed", REFUSAL, False)
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
    assert Video.objects.get(pk=gate).counts == {"frames": 3, "objects": 4, "tracks": 1, "events": 0}
    assert len(admin_client.get(f"/api/v1/videos/{gate}/versions/").json()) == 1


@pytest.mark.parametrize("case", EMPTY)
def test_allow_empty_replaces_a_populated_video(gate, worker_client, analyst_client, django_capture_on_commit_callbacks,
                                                case):
    allow = True if case == "eta without frames" else "true"  # a JSON boolean, or a multipart field

    replaced = post(worker_client, django_capture_on_commit_callbacks, EMPTY[case](allow_empty=allow))

    assert (replaced["status"], replaced["allow_empty"]) == ("succeeded", True)
    assert replaced["counts"]["frames"] == replaced["counts"]["objects"] == 0
    assert search_counts(analyst_client, "gate") == {"frames": 0, "objects": 0}


def test_an_empty_payload_for_a_new_video_is_taken(admin_client, worker_client, django_capture_on_commit_callbacks):
    street_schema(admin_client)

    created = post(worker_client, django_capture_on_commit_callbacks, eta_body(video="new"))

    assert created["status"] == "succeeded"
    assert created["counts"] == {"frames": 0, "objects": 0, "tracks": 0, "events": 0}


def test_frames_without_detections_are_refused_over_a_video_with_detections(gate, worker_client, analyst_client,
                                                                             django_capture_on_commit_callbacks):
    frames_only = eta_body(analytics={"frames": {"1": {"frame_number": 1}, "2": {"frame_number": 2}}})

    refused = post(worker_client, django_capture_on_commit_callbacks, frames_only)

    assert refused["error"] == NO_DETECTIONS
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}


def test_a_payload_whose_detections_filter_mode_drops_is_refused(gate, worker_client, analyst_client,
                                                                 django_capture_on_commit_callbacks):
    """What counts is what would be indexed: here the frames, without one detection."""
    zebras = SUPERVISION.replace(b",car,", b",zebra,").replace(b",person,", b",zebra,")

    refused = post(worker_client, django_capture_on_commit_callbacks,
                   multipart("z.csv", zebras, SUPERVISION_OPTIONS))

    assert (refused["status"], refused["error"]) == ("failed", NO_DETECTIONS)
    assert search_counts(analyst_client, "gate") == {"frames": 3, "objects": 4}
