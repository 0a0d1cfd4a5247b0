"""Batch imports of a folder or a zip of videos, by ``manage.py import_videos`` and by the API: the
filename pattern gives each video's camera and recording time, per-camera defaults the rest; every
video is probed, and analysed when a pipeline is named; bad patterns, files and dates are refused."""

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from indexer import services
from indexer.media import media_dir
from indexer.models import Analysis, Video, VideoImport
from tests.indexer.media_samples import write_video

pytestmark = pytest.mark.django_db

PATTERN = r"(?P<camera>[a-z0-9-]+)_(?P<recorded_at>\d{8}T\d{6})\.webm"
PARTS = r"(?P<camera>[a-z]+)/(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)/(?P<hour>\d\d)h(?P<minute>\d\d)\.webm"


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "drop"
    root.mkdir()
    write_video(root / "gate-3_20261207T083000.webm", frames=10)
    write_video(root / "dock_20261207T091500.webm", frames=12)
    (root / "README.txt").write_text("not a video: left alone")
    return root


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_videos", *args, stdout=out)
    return out.getvalue()


def test_the_command_imports_a_folder_with_the_patterns_fields_and_the_defaults(folder, tmp_path):
    defaults = tmp_path / "cameras.json"
    defaults.write_text(json.dumps({"gate-3": {"lat": 48.85, "lon": 2.35, "timezone": "Europe/Paris"},
                                    "*": {"lat": 51.5, "lon": -0.12}}))

    out = run(str(folder), "--pattern", PATTERN, "--defaults", str(defaults))

    gate = Video.objects.get(name="gate-3_20261207T083000")
    dock = Video.objects.get(name="dock_20261207T091500")
    assert (gate.camera, dock.camera) == ("gate-3", "dock")
    # Paris is UTC+1 in December; the default zone is UTC.
    assert gate.recorded_at == datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    assert dock.recorded_at == datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
    assert (gate.gps, dock.gps) == ([[0.0, 48.85, 2.35]], [[0.0, 51.5, -0.12]])
    assert (gate.media_status, gate.frame_count, dock.media_status, dock.frame_count) == ("ready", 10, "ready", 12)
    assert gate.media_path == str(folder / "gate-3_20261207T083000.webm")  # used where it is
    assert "import " in out and "2 videos, 0 skipped" in out
    assert VideoImport.objects.get().videos == sorted([dock.pk, gate.pk])


def test_date_parts_from_subfolders_and_csv_defaults_from_a_zip(tmp_path):
    archive = tmp_path / "cams.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(write_video(tmp_path / "a.webm", frames=8), "yard/2026-12-06/23h45.webm")
    defaults = tmp_path / "cameras.csv"
    defaults.write_text("camera,lat,lon,timezone\nyard,40.7,-74.0,America/New_York\n")

    run(str(archive), "--pattern", PARTS, "--defaults", str(defaults))

    video = Video.objects.get(name="yard/2026-12-06/23h45")
    assert video.recorded_at == datetime(2026, 12, 7, 4, 45, tzinfo=UTC)
    assert (video.camera, video.gps, video.media_status, video.frame_count) == ("yard", [[0.0, 40.7, -74.0]],
                                                                                "ready", 8)
    assert Path(video.media_path).name.startswith("upload-") and Path(video.media_path).read_bytes() == \
        (tmp_path / "a.webm").read_bytes()


def test_the_command_analyses_each_video_when_a_pipeline_is_named(folder, demo_ontology_document):
    services.schema_create(name="road", document=demo_ontology_document, author=None)
    services.schema_default_set(name="road", user=None)

    out = run(str(folder), "--pattern", PATTERN, "--pipeline", "reference")

    analyses = Analysis.objects.select_related("video").order_by("video__name")
    assert [(a.video.name, a.pipeline, a.status) for a in analyses] == [
        ("dock_20261207T091500", "reference", "succeeded"), ("gate-3_20261207T083000", "reference", "succeeded")]
    assert analyses[0].result["frames"] == 12
    assert f"analysis {analyses[0].pk} of dock_20261207T091500: succeeded" in out


def test_an_import_run_again_skips_the_videos_it_made(folder):
    run(str(folder), "--pattern", PATTERN)

    out = run(str(folder), "--pattern", PATTERN)

    assert Video.objects.count() == 2
    assert "skipped dock_20261207T091500.webm: a video called 'dock_20261207T091500' exists" in out
    assert "0 videos, 2 skipped" in out


@pytest.mark.parametrize(("pattern", "message"), [
    (r"(?P<camera>[a-z", "the pattern is not a valid regular expression: unterminated character set at position 11"),
    (r"(?P<cam>\w+)_.*", "the pattern's group 'cam' is not one Scoop reads; name groups camera, recorded_at, year, "
                         "month, day, hour, minute, second"),
    (r".*\.webm", "the pattern has no named group"),
    (r"(?P<camera>gate-3)_.*\.webm", "1 of 2 video files do not match the pattern '(?P<camera>gate-3)_.*\\\\.webm': "
                                     "'dock_20261207T091500.webm'"),
])
def test_bad_patterns_are_refused_before_anything_is_made(folder, pattern, message):
    with pytest.raises(CommandError) as refused:
        run(str(folder), "--pattern", pattern)

    assert str(refused.value).startswith(message)
    assert not Video.objects.exists() and not VideoImport.objects.exists()


def test_a_bad_date_is_refused_with_its_file(tmp_path):
    root = tmp_path / "drop"
    root.mkdir()
    write_video(root / "gate_20261307T083000.webm", frames=3)

    with pytest.raises(CommandError) as refused:
        run(str(root), "--pattern", PATTERN)

    assert str(refused.value) == ("'gate_20261307T083000.webm': recorded_at '20261307T083000' is not a date and time "
                                  "(ISO 8601, or YYYYMMDD[HHMM[SS]] with any separators)")


def test_bad_defaults_are_refused_naming_the_camera(folder, tmp_path):
    defaults = tmp_path / "cameras.json"
    defaults.write_text(json.dumps({"gate-3": {"lat": 95, "lon": 0}}))

    with pytest.raises(CommandError) as refused:
        run(str(folder), "--pattern", PATTERN, "--defaults", str(defaults))

    assert str(refused.value) == "camera 'gate-3': lat must be from -90 to 90, got 95.0"


def test_an_admin_imports_a_folder_inside_the_import_roots_through_the_api(admin_client, folder, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.SCOOP_IMPORT_ROOTS = [str(folder.parent)]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/imports/", {"path": str(folder), "pattern": PATTERN,
                                                          "defaults": {"dock": {"timezone": "Asia/Tokyo"}}},
                                     format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["source"], len(body["videos"]), body["skipped"]) == ("folder", str(folder), 2, [])
    dock = Video.objects.get(name="dock_20261207T091500")
    assert dock.recorded_at == datetime(2026, 12, 7, 0, 15, tzinfo=UTC)
    assert dock.media_status == "ready" and dock.owner == admin_client.user
    assert admin_client.get(body["url"]).json()["videos"] == body["videos"]


@pytest.mark.parametrize(("role", "path", "status", "message"), [
    ("admin", "/etc", 403, "'/etc' is not inside a folder videos may be imported from (SCOOP_IMPORT_ROOTS: "),
    ("admin", "../drop", 403, "'../drop' is not inside a folder videos may be imported from"),
    ("analyst", "{folder}", 403, "only admins may import a folder of the server"),
])
def test_folder_imports_are_the_admins_inside_the_roots(request, folder, settings, role, path, status, message):
    settings.SCOOP_IMPORT_ROOTS = [str(folder.parent)]
    client = request.getfixturevalue(f"{role}_client")

    response = client.post("/api/v1/imports/", {"path": path.format(folder=folder), "pattern": PATTERN},
                           format="json")

    assert response.status_code == status
    assert response.json()["detail"].startswith(message)
    assert not Video.objects.exists()


def test_an_analyst_imports_a_zip_and_names_a_pipeline(analyst_client, tmp_path, demo_ontology_document):
    services.schema_create(name="road", document=demo_ontology_document, author=None)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.write(write_video(tmp_path / "a.webm", frames=6), "lane_2026-12-07T10:00:00+01:00.webm")
    defaults = SimpleUploadedFile("cams.json", json.dumps({"lane": {"schema": "road"}}).encode())

    response = analyst_client.post("/api/v1/imports/", {
        "file": SimpleUploadedFile("cams.zip", buffer.getvalue()), "defaults": defaults,
        "pattern": r"(?P<camera>\w+)_(?P<recorded_at>[^_]+)\.webm", "pipeline": "reference"}, format="multipart")

    assert response.status_code == 201, response.content
    video = Video.objects.get(name="lane_2026-12-07T10:00:00+01:00")
    assert video.recorded_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    analysis = Analysis.objects.get()
    assert response.json()["analyses"] == [str(analysis.pk)]
    assert (analysis.video_id, analysis.status, analysis.params["schema"]) == (video.pk, "queued", "road")


@pytest.mark.parametrize(("fields", "message"), [
    ({"pattern": "(?P<camera>x"}, "the pattern is not a valid regular expression: missing ), unterminated subpattern"),
    ({"pattern": r"(?P<camera>\w+)\.webm", "pipeline": "yolo"}, "unknown pipeline 'yolo'; expected one of reference"),
    ({"pattern": r"(?P<camera>\w+)\.mp4"}, "1 of 1 video files do not match the pattern"),
])
def test_a_bad_zip_import_answers_400(analyst_client, tmp_path, fields, message):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.write(write_video(tmp_path / "a.webm", frames=3), "cam.webm")

    response = analyst_client.post("/api/v1/imports/", {"file": SimpleUploadedFile("v.zip", buffer.getvalue()),
                                                        **fields}, format="multipart")

    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(message)
    assert not Video.objects.exists()
    assert list(media_dir().iterdir()) == []


def test_a_file_that_is_not_a_zip_is_refused(analyst_client):
    response = analyst_client.post("/api/v1/imports/", {"file": SimpleUploadedFile("v.zip", b"not a zip"),
                                                        "pattern": r"(?P<camera>\w+)\.webm"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["detail"] == "'v.zip' is not a zip file"


def test_an_unknown_default_is_refused_through_the_api(admin_client, folder, settings):
    settings.SCOOP_IMPORT_ROOTS = [str(folder.parent)]

    response = admin_client.post("/api/v1/imports/", {"path": str(folder), "pattern": PATTERN,
                                                      "defaults": {"dock": {"height": 3}}}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "defaults.dock.height: unknown default; expected lat, lon, timezone, schema"
    assert not Video.objects.exists()
