"""``manage.py ingest_file --jobs N``: files ingested by N processes at once give the same
index as one at a time, and a bad file fails alone, named, without touching the others.

Run as real commands on a data dir of their own (the workers are forked processes, which
the in-memory test database could not follow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.corpus import UPLOAD_ONTOLOGY
from fixtures.generate_eta import write_eta_video
from indexer.ontology import parse_schema_document
from tests.conftest import REPO

FRAMES = {"north": 60, "south": 45, "east": 30, "west": 75}
OBJECTS_PER_FRAME = 3
# Per video: its counts as stored, and the index's answer to one query over everything.
REPORT = """
import json
from analytics.search import search_run
from indexer.models import LabelSchema, Video
answer = search_run(schema=LabelSchema.objects.get(name="road"), q="vehicle(color=red) OR NOT person")
print(json.dumps({"videos": {v.name: v.counts for v in Video.objects.all()},
                  "counts": {k: round(v, 6) for k, v in answer.result.counts.items()},
                  "facets": {k: {str(value): n for value, n in values.items()}
                             for k, values in answer.result.facets.items()}}))
"""


def _manage(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCOOP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "scoop.settings.embedded",
           "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=check,
                          capture_output=True, text=True)


def _data_dir(path: Path) -> Path:
    path.mkdir()
    _manage(path, "migrate", "--noinput")
    _manage(path, "shell", "-c", UPLOAD_ONTOLOGY)
    return path


def _report(data_dir: Path) -> dict:
    """REPORT's answer (the last line: ``shell`` may say what it imported before it)."""
    return json.loads(_manage(data_dir, "shell", "-c", REPORT).stdout.strip().splitlines()[-1])


def _files(directory: Path) -> list[Path]:
    ontology = parse_schema_document(json.loads((REPO / "fixtures" / "demo_ontology.json").read_text()))
    paths = []
    for seed, (name, frames) in enumerate(FRAMES.items()):
        path = directory / f"{name}.json"
        write_eta_video(path, frames=frames, objects_per_frame=OBJECTS_PER_FRAME, seed=seed, ontology=ontology)
        paths.append(path)
    return paths


def test_parallel_ingest_indexes_exactly_what_one_at_a_time_does(tmp_path):
    files = _files(tmp_path)
    one_by_one, parallel = _data_dir(tmp_path / "one"), _data_dir(tmp_path / "parallel")

    _manage(one_by_one, "ingest_file", "--schema", "road", *map(str, files))
    done = _manage(parallel, "ingest_file", "--schema", "road", "--jobs", "3", *map(str, files))

    assert sorted(line.split(":")[0] for line in done.stdout.splitlines()) == sorted(f.name for f in files)
    expected, got = (_report(d) for d in (one_by_one, parallel))
    assert got == expected
    assert {name: counts["objects"] for name, counts in got["videos"].items()} == {
        name: frames * OBJECTS_PER_FRAME for name, frames in FRAMES.items()}
    assert got["counts"]["videos"] >= 2
    assert got["counts"]["frames"] > 0


def test_a_bad_file_fails_alone_and_is_named(tmp_path):
    good = _files(tmp_path)[:2]
    bad = tmp_path / "broken.json"
    bad.write_text('{"frames": {"1": {"objects": [}}}')
    data_dir = _data_dir(tmp_path / "scoop")

    failed = _manage(data_dir, "ingest_file", "--schema", "road", "--jobs", "2", str(bad), *map(str, good),
                     check=False)

    assert failed.returncode == 1
    assert "broken.json" in failed.stderr
    assert "line 1" in failed.stderr
    report = _report(data_dir)
    assert sorted(report["videos"]) == ["north", "south"]


def test_jobs_must_be_positive(tmp_path):
    refused = _manage(_data_dir(tmp_path / "scoop"), "ingest_file", "--jobs", "0", str(tmp_path), check=False)
    assert refused.returncode == 1
    assert "--jobs must be at least 1" in refused.stderr
