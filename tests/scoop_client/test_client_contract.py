"""scoop_client against the OpenAPI document: every request the client can send is an
operation of the document, and the answers its methods parse, successes and errors,
conform to the documented schemas."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

import scoop_client.client
from scoop_client import ScoopBadRequest, ScoopClient, ScoopError
from tests.indexer.media_samples import write_video
from tests.live_scoop import demo_ontology
from tests.openapi import document, operation, problems

pytestmark = pytest.mark.django_db(transaction=True)


def template_of(method: str, path: str) -> str | None:
    """The document's path template that ``path`` (``{name}`` standing for any segment) is an
    instance of, for ``method``, the one with the fewest parameters first (as the URL conf
    routes ``/schemas/default/`` before ``/schemas/{schema_id}/``); None when there is none."""
    matching = []
    for template, item in document()["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if method.lower() in item and re.fullmatch(pattern, re.sub(r"\{\w+\}", "x", path)):
            matching.append(template)
    return min(matching, key=lambda template: template.count("{"), default=None)


def requests_in_the_source() -> set[tuple[str, str]]:
    """(method, path) of every ``self.request(...)`` call written in the client."""
    source = inspect.getsource(scoop_client.client)
    return set(re.findall(r'self\.request\("(\w+)", f?"([^"?]+)"', source))


class RecordingClient(ScoopClient):
    """The client, keeping every (method, template, status, answer) it got."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[tuple[str, str | None, int | None, Any]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = super().request(method, path, **kwargs)
        except ScoopError as error:
            self.answers.append((method, template_of(method, path), error.status, error.body))
            raise
        self.answers.append((method, template_of(method, path), None, answer))
        return answer


def conformance_problems(method: str, template: str, status: int | None, answer: Any) -> list[str]:
    """Where an answer breaks its documented schema; a success (status None: the client does
    not say which 2xx it got) must conform to one of the documented 2xx answers."""
    responses = operation(method, template)["responses"]
    codes = [code for code in responses if code.startswith("2")] if status is None else [str(status)]
    found = []
    for code in codes:
        content = responses.get(code, {}).get("content")
        if content is None:
            found.append([] if answer is None else [f"{code}: an answer where none is documented"])
            continue
        found.append(problems(answer, content["application/json"]["schema"]))
    return min(found, key=len) if found else [f"status {status} is not documented"]


def test_every_request_the_client_writes_is_an_operation_of_the_document():
    written = requests_in_the_source()

    assert len(written) >= 12
    assert {(method, path) for method, path in written if template_of(method, path) is None} == set()


def _analytics() -> dict:
    def detection(color: str, track: int) -> dict:
        return {"label": "vehicle", "index": track, "confidence": 0.9,
                "bounding_box": {"top_left": {"x": 0.1, "y": 0.2}, "bottom_right": {"x": 0.3, "y": 0.5}},
                "attrs": {"attrs": [{"type": "eta.core.data.CategoricalAttribute", "name": "color", "value": color}]}}

    return {"metadata": {"frame_rate": 2.0, "total_frame_count": 3, "gps_waypoints": {"points": [
                {"latitude": 37.7749, "longitude": -122.4194, "frame_number": 1}]}},
            "frames": {"1": {"frame_number": 1, "objects": {"objects": [detection("red", 1)]}},
                       "2": {"frame_number": 2, "objects": {"objects": [detection("blue", 2)]}}}}


def test_the_answers_the_client_parses_conform_to_the_document(live_scoop, tmp_path: Path):
    admin = RecordingClient(live_scoop.url, live_scoop.admin)
    worker = RecordingClient(live_scoop.url, live_scoop.worker)
    analyst = RecordingClient(live_scoop.url, live_scoop.analyst)

    schema = admin.schema_upload(name="road", document=demo_ontology())
    admin.schemas()
    admin.schema(schema["id"])
    admin.schema_default_set(name="road")
    with pytest.raises(ScoopBadRequest):
        admin.schema_default_set(name="raod")
    worker.schema_default()
    with pytest.raises(ScoopBadRequest):
        admin.schema_upload(name="broken", document={"objects": []})
    video = worker.video_create(name="cam-1")
    worker.media_upload(video["id"], write_video(tmp_path / "cam-1.webm"))
    worker.media(video["id"])
    other = worker.video_create(name="cam-2")
    worker.media_register(other["id"], url="https://example.org/cam-2.mp4")
    worker.ingest_wait(video="cam-1", analytics=_analytics(), schema="road", timeout=30)
    path = tmp_path / "cam-2.json"
    path.write_text(json.dumps(_analytics()))
    worker.job_wait(worker.ingest(video="cam-2", analytics=path, schema="road:1", options={"fps": 2})["id"],
                    timeout=30)
    with pytest.raises(ScoopBadRequest):
        worker.ingest(video="v", analytics=_analytics(), format="mp4")
    analyst.videos()
    analyst.video(video["id"])
    analyst.search_clips(q="vehicle", page_size=1, facets=["label"])
    with pytest.raises(ScoopBadRequest):
        analyst.search(q="vehicle(colour=red)")
    analyst.occurrence(q="vehicle", unit="frames", facets=["label"])
    analyst.cooccurrence(a="label", b="label", scope="frame")
    analyst.cooccurrence(top=3)
    analyst.geo(bbox=[-123, 37, -122, 38], zoom=10, q="vehicle")
    analyst.timeline(q="vehicle", bins=5)

    answers = admin.answers + worker.answers + analyst.answers
    assert [(method, template) for method, template, _, _ in answers if template is None] == []
    broken = {f"{method} {template} {status}": found for method, template, status, answer in answers
              if (found := conformance_problems(method, template, status, answer))}
    assert broken == {}
    called = {(method, template) for method, template, _, _ in answers}
    assert called == {(method, template_of(method, path)) for method, path in requests_in_the_source()}
