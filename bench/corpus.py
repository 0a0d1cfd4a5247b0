"""The synthetic corpus that the search benchmark and the load test ingest: ETA analytics
of the demo ontology, 10 detections a frame, GPS fixes every second, videos of up to
10,000 frames."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import REPO
from fixtures.generate_eta import write_eta_video
from indexer.ontology import Ontology, parse_schema_document

DETECTIONS_PER_FRAME = 10
MAX_FRAMES_PER_VIDEO = 10_000
DEMO_ONTOLOGY = REPO / "fixtures" / "demo_ontology.json"
# A ``manage.py shell -c`` script: upload the demo ontology as the schema "road".
UPLOAD_ONTOLOGY = (
    "import json; from indexer.services import schema_create; "
    "schema_create(name='road', document=json.load(open('fixtures/demo_ontology.json')), author=None)"
)


def parse_size(text: str) -> int:
    """A number of detections: ``10k``, ``1.5m`` or ``250``."""
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def demo_ontology() -> Ontology:
    return parse_schema_document(json.loads(DEMO_ONTOLOGY.read_text()))


def write_corpus(directory: Path, detections: int, *, frames_per_video: int = MAX_FRAMES_PER_VIDEO) -> list[Path]:
    """The corpus's files, videos of up to ``frames_per_video`` frames, generated into
    ``directory`` unless already there: the generator is deterministic, so a file named
    by its seed and size is reused (10M detections take minutes to write)."""
    ontology = demo_ontology()
    directory.mkdir(parents=True, exist_ok=True)
    frames_left = max(1, detections // DETECTIONS_PER_FRAME)
    paths, seed = [], 0
    while frames_left > 0:
        frames = min(frames_left, frames_per_video)
        path = directory / f"bench-{seed:04d}-{frames}x{DETECTIONS_PER_FRAME}.json"
        if not path.exists():
            partial = path.with_suffix(".part")
            write_eta_video(partial, frames=frames, objects_per_frame=DETECTIONS_PER_FRAME, seed=seed,
                            ontology=ontology)
            partial.rename(path)
        paths.append(path)
        frames_left -= frames
        seed += 1
    return paths
