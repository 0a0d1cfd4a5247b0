"""Region layers: GeoJSON, zipped shapefile and GeoPackage uploads (CRS converted,
invalid polygons reported, not crashed on) and per-region counts of the query."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from shapely.geometry import Point, Polygon

from tests.analytics.corpus import analytics, create_schema, index_video, person, street, vehicle

pytestmark = pytest.mark.django_db

# Two overlapping regions: west = lon 0..1.2, east = lon 0.8..3, both lat 0..1.2. The street's
# frames (lon, lat): 0 (0.5, 0.5) west; 1 (1.0, 0.5) both; 2 (1.5, 0.5) east; 50 (2.5, 1.0) east;
# 51 (5, 5) in neither.
WEST = Polygon([(0, 0), (1.2, 0), (1.2, 1.2), (0, 1.2)])
EAST = Polygon([(0.8, 0), (3, 0), (3, 1.2), (0.8, 1.2)])
BOWTIE = Polygon([(10, 10), (12, 12), (12, 10), (10, 12)])


def layer_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"district": ["west", "east", "knot", "pin"], "people": [10, 20, 30, 40]},
        geometry=[WEST, EAST, BOWTIE, Point(1, 1)],
        crs="EPSG:4326",
    )


def geojson_upload(name: str = "districts.geojson") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, layer_frame().to_json().encode(), content_type="application/geo+json")


def shapefile_upload(tmp_path: Path) -> SimpleUploadedFile:
    frame = layer_frame().iloc[:3].to_crs("EPSG:3857")  # a shapefile holds one geometry type
    frame.to_file(tmp_path / "districts.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in tmp_path.glob("districts.*"):
            archive.write(path, path.name)
    return SimpleUploadedFile("districts.zip", buffer.getvalue(), content_type="application/zip")


def geopackage_upload(tmp_path: Path) -> SimpleUploadedFile:
    layer_frame().to_crs("EPSG:32631").to_file(tmp_path / "districts.gpkg", layer="districts")
    return SimpleUploadedFile("districts.gpkg", (tmp_path / "districts.gpkg").read_bytes())


def upload(client, file, name: str = "districts", status: int = 201) -> dict:
    response = client.post("/api/v1/regions/", {"name": name, "file": file}, format="multipart")
    assert response.status_code == status, response.content
    return response.json()


def counts(client, layer: int, status: int = 200, **body) -> dict:
    response = client.post("/api/v1/stats/regions/", {"layer": layer, **body}, format="json")
    assert response.status_code == status, response.content
    return response.json()


def by_district(answer: dict) -> dict[str, int]:
    return {feature["properties"]["district"]: feature["properties"]["count"] for feature in answer["features"]}


@pytest.fixture
def corpus(db):
    create_schema()
    index_video(1, "street", street())
    index_video(2, "garage", analytics(vehicle(0, "truck", "black"), person(1)))  # no GPS: never counts


def test_a_geojson_layer_keeps_its_polygons_and_reports_the_rest(admin_client):
    answer = upload(admin_client, geojson_upload())

    assert (answer["name"], answer["regions"]) == ("districts", 2)
    assert answer["invalid"][0]["index"] == 2 and answer["invalid"][0]["reason"].startswith("Self-intersection")
    assert answer["invalid"][1] == {"index": 3, "reason": "a Point is not a polygon"}


def test_counts_per_region_overlaps_count_in_both(admin_client, analyst_client, corpus):
    layer = upload(admin_client, geojson_upload())["id"]

    frames = counts(analyst_client, layer)
    objects = counts(analyst_client, layer, target="objects")

    assert by_district(frames) == {"west": 2, "east": 3}  # frame 1 lies in both
    assert frames["outside"] == 1  # frame 51
    assert by_district(objects) == {"west": 1 + 2, "east": 2 + 1 + 1}
    assert objects["outside"] == 1
    west = frames["features"][0]
    assert west["properties"]["people"] == 10 and west["geometry"]["type"] == "Polygon"


def test_counts_follow_the_query(admin_client, analyst_client, corpus):
    layer = upload(admin_client, geojson_upload())["id"]

    suvs = counts(analyst_client, layer, q="vehicle(type=suv)")
    people = counts(analyst_client, layer, filters={"label": ["person"]})

    assert by_district(suvs) == {"west": 1, "east": 2} and suvs["outside"] == 0
    assert by_district(people) == {"west": 0, "east": 0} and people["outside"] == 1


def test_a_zipped_shapefile_in_web_mercator_is_converted_to_wgs84(admin_client, analyst_client, corpus, tmp_path):
    answer = upload(admin_client, shapefile_upload(tmp_path))

    assert answer["regions"] == 2 and [problem["index"] for problem in answer["invalid"]] == [2]
    layer = analyst_client.get(f"/api/v1/regions/{answer['id']}/").json()
    west, south, east, north = gpd.GeoDataFrame.from_features(layer["features"]).total_bounds
    assert (west, south, east, north) == pytest.approx((0, 0, 3, 1.2), abs=1e-6)
    assert by_district(counts(analyst_client, answer["id"])) == {"west": 2, "east": 3}


def test_a_geopackage_in_utm_is_converted(admin_client, analyst_client, corpus, tmp_path):
    answer = upload(admin_client, geopackage_upload(tmp_path))

    assert answer["regions"] == 2
    listed = analyst_client.get("/api/v1/regions/").json()
    assert [(layer["name"], layer["source_format"], layer["source_crs"]) for layer in listed] == [
        ("districts", "geopackage", "EPSG:32631")]
    assert by_district(counts(analyst_client, answer["id"])) == {"west": 2, "east": 3}


@pytest.mark.parametrize(("name", "content", "words"), [
    ("districts.txt", b"west", "expected a .geojson"),
    ("districts.geojson", b"{not json", "could not read districts.geojson"),
    ("districts.zip", b"not a zip", "could not read districts.zip"),
    ("points.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]}).encode(),
     "no valid polygon (row 0: a Point is not a polygon)"),
])
def test_unusable_files_are_400s(admin_client, name, content, words):
    answer = upload(admin_client, SimpleUploadedFile(name, content), status=400)

    assert answer["path"] == "file" and words in answer["detail"]
    assert "/tmp" not in answer["detail"]


def test_an_upload_needs_a_name_and_a_file(admin_client):
    answer = upload(admin_client, geojson_upload(), name="", status=400)

    assert answer["problems"][0]["path"] == "name"


def test_a_layer_reads_back_as_geojson_and_admins_delete_it(admin_client, analyst_client):
    layer = upload(admin_client, geojson_upload())["id"]

    shown = analyst_client.get(f"/api/v1/regions/{layer}/").json()
    assert shown["type"] == "FeatureCollection" and shown["name"] == "districts"
    assert [feature["id"] for feature in shown["features"]] == [0, 1]
    assert analyst_client.delete(f"/api/v1/regions/{layer}/").status_code == 403
    assert admin_client.delete(f"/api/v1/regions/{layer}/").status_code == 204
    assert analyst_client.get(f"/api/v1/regions/{layer}/").status_code == 404


def test_counts_of_an_unknown_layer_or_target_are_400s(admin_client, analyst_client, corpus):
    layer = upload(admin_client, geojson_upload())["id"]

    assert counts(analyst_client, layer + 1, status=400)["problems"][0]["path"] == "layer"
    assert counts(analyst_client, layer, status=400, target="tracks")["path"] == "target"
