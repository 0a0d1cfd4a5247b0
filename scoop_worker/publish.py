"""Send a worker's result to Scoop with :mod:`scoop_client`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from scoop_client import ScoopClient
from scoop_worker.analysis import AnalysisResult


class SchemaMissing(LookupError):
    """The schema the worker was told to label against is not on the server."""


def schema_document(client: ScoopClient, ref: str | None) -> tuple[str, dict[str, Any]]:
    """The reference (``name:version``) and document of the schema ``ref``
    (an id, ``name`` for its newest version, or ``name:version``); with no ref,
    the default schema's newest version, as ingest chooses it."""
    if not ref:
        chosen = client.schema_default()
        return f"{chosen['name']}:{chosen['version']}", client.schema(chosen["id"])["document"]
    schemas = client.schemas()
    name, _, version = ref.partition(":")
    if ref.isdigit():
        candidates = [s for s in schemas if str(s["id"]) == ref]
    else:
        candidates = [s for s in schemas if s["name"] == name and (not version or str(s["version"]) == version)]
    if not candidates:
        known = ", ".join(sorted({s["name"] for s in schemas})) or "none"
        raise SchemaMissing(f"schema '{ref}' is not on the server (known: {known})")
    chosen = max(candidates, key=lambda s: s["version"])
    return f"{chosen['name']}:{chosen['version']}", client.schema(chosen["id"])["document"]


def labels_post(client: ScoopClient, *, result: AnalysisResult, video_name: str, schema: str | None,
                mode: str = "filter", media: Path | None = None, timeout: float = 600.0) -> dict[str, Any]:
    """Name the video, upload its media when given, ingest the labels (a
    streamed multipart file) and wait for the job; returns the finished job."""
    video = client.video_create(name=video_name)
    if media is not None:
        client.media_upload(video["id"], media)
    with tempfile.TemporaryDirectory(prefix="scoop-worker-") as folder:
        path = Path(folder) / f"{video_name}.json"
        path.write_text(json.dumps(result.labels))
        return client.ingest_wait(video=video_name, analytics=path, schema=schema, format="eta", mode=mode,
                                  timeout=timeout)
