"""Small generated videos for the media tests, and a video record that has one.

Frame ``i`` of :func:`write_video` shows ``i`` in binary as five vertical
stripes, black for 0 and white for 1, so any decoded, re-encoded or scaled
picture of it tells which frame it is (:func:`shown_frame`)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

FRAMES, FPS, WIDTH, HEIGHT = 25, 5.0, 160, 120


BITS = 5


def frame_picture(frame: int, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    picture = np.zeros((height, width, 3), np.uint8)
    for bit in range(BITS):
        if frame >> bit & 1:
            picture[:, bit * width // BITS : (bit + 1) * width // BITS] = 255
    return picture


def write_video(path: Path, *, frames: int = FRAMES, fps: float = FPS, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), fps, size)
    assert writer.isOpened()
    for frame in range(frames):
        writer.write(frame_picture(frame, size))
    writer.release()
    return path


def media_video(name: str = "sample", *, frames: int = FRAMES):
    """A video whose media is a generated file in SCOOP_DATA_DIR/media, probed."""
    from indexer import services
    from indexer.media import media_dir

    video, _ = services.video_get_or_create(user=None, name=name)
    path = write_video(media_dir() / f"{name}.webm", frames=frames)
    services.video_media_register(actor=None, video=video, path=str(path), enqueue=False)
    return services.video_media_probe(video_id=video.pk)


def shown_frame(picture: np.ndarray) -> int:
    """The frame number a picture of :func:`write_video` shows, read from the
    middle of each stripe (lossy codecs blur only their edges)."""
    height, width = picture.shape[:2]
    frame = 0
    for bit in range(BITS):
        left, right = bit * width // BITS, (bit + 1) * width // BITS
        quarter = (right - left) // 4
        if picture[height // 4 : -height // 4, left + quarter : right - quarter].mean() > 128:
            frame |= 1 << bit
    return frame


def decode_jpeg(content: bytes) -> np.ndarray:
    assert content[:3] == b"\xff\xd8\xff", content[:16]
    return cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)


def ingest_demo(worker_client, admin_client, capture, demo):
    """Upload the demo ontology and ingest one demo video's analytics through the API, as a worker."""
    from tests.conftest import REPO

    ontology = json.loads((REPO / "fixtures" / "demo_ontology.json").read_text())
    created = admin_client.post("/api/v1/schemas/", {"name": "road", "schema": ontology}, format="json")
    assert created.status_code == 201, created.content
    with capture(execute=True):
        response = worker_client.post(
            "/api/v1/ingest/", {"video": demo.name, "analytics": demo.eta_labels(), "schema": "road"}, format="json"
        )
    assert response.status_code == 202, response.content
    job = worker_client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", job
    return job["video"]
