"""The Scoop REST client: token auth, media upload, ingest, jobs, search, statistics.

Standard library only (urllib), so a GPU worker needs nothing but Python to
talk to Scoop. Every error status raises a :mod:`scoop_client.errors`
exception that carries the API's ``detail``, ``problems`` and ``path``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from scoop_client.errors import JobFailed, JobTimeout, ScoopConnectionError, error_for
from scoop_client.multipart import MultipartBody

Json = dict[str, Any]
FINISHED = ("succeeded", "failed")


class ScoopClient:
    """A session with one Scoop server for one token.

    >>> scoop = ScoopClient("http://127.0.0.1:8000", token="...")
    >>> job = scoop.ingest_wait(video="cam-7", analytics=Path("labels.json"), schema="road")
    >>> scoop.search(q="vehicle(color=red)")["counts"]["frames"]
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # -- plumbing -------------------------------------------------------------

    def request(self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None,
                body: MultipartBody | None = None) -> Any:
        """Send one request and decode the JSON answer (None for an empty one);
        raise a :class:`~scoop_client.errors.ScoopError` for any error status."""
        url = self.url + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        data: Any = None
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif body is not None:
            data = body
            headers["Content-Type"] = body.content_type
            headers["Content-Length"] = str(body.length)
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _decoded(response.read())
        except urllib.error.HTTPError as error:
            raise error_for(error.code, _decoded(error.read()), method=method, url=url) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise ScoopConnectionError(f"{method} {url}: {getattr(error, 'reason', error)}") from error
        finally:
            if body is not None:
                body.close()

    # -- schemas and videos ---------------------------------------------------

    def schemas(self) -> list[Json]:
        """Every label schema version: ``[{"id", "name", "version", ...}]``."""
        return self.request("GET", "/api/v1/schemas/")

    def schema(self, schema_id: int) -> Json:
        """One schema version with its ``document`` (the ontology, in Scoop's layout)."""
        return self.request("GET", f"/api/v1/schemas/{schema_id}/")

    def schema_upload(self, *, name: str, document: Json) -> Json:
        """Upload a new version of the ontology ``name`` (admin token)."""
        return self.request("POST", "/api/v1/schemas/", json_body={"name": name, "schema": document})

    def schema_default(self) -> Json:
        """The default schema ``{"id", "name", "version"}``: the version requests that
        name no schema use."""
        return self.request("GET", "/api/v1/schemas/default/")

    def schema_default_set(self, *, name: str) -> Json:
        """Make the schema ``name`` the default (admin token); answers its newest version."""
        return self.request("PUT", "/api/v1/schemas/default/", json_body={"name": name})

    def video_create(self, *, name: str) -> Json:
        """The video called ``name``, made if it does not exist yet (worker token)."""
        return self.request("POST", "/api/v1/videos/", json_body={"name": name})

    def videos(self, *, page: int = 1) -> Json:
        """One page of videos: ``{"count", "next", "previous", "results"}`` (analyst or admin token)."""
        return self.request("GET", "/api/v1/videos/", params={"page": page})

    def video(self, video_id: int) -> Json:
        """One video's metadata (analyst or admin token)."""
        return self.request("GET", f"/api/v1/videos/{video_id}/")

    def media_upload(self, video_id: int, path: str | Path) -> Json:
        """Upload a media file for a video, streamed from disk; Scoop probes it in the background."""
        body = MultipartBody({}, {"file": Path(path)})
        return self.request("POST", f"/api/v1/videos/{video_id}/media/", body=body)

    def media_register(self, video_id: int, *, path: str | None = None, url: str | None = None) -> Json:
        """Point a video at a file already on the server (``path``) or at an http(s) ``url``."""
        fields = {"path": path} if path is not None else {"url": url}
        return self.request("POST", f"/api/v1/videos/{video_id}/media/", json_body=fields)

    def media(self, video_id: int) -> Json:
        """A video's media state (``media_status``: probing, ready, failed, none)."""
        return self.request("GET", f"/api/v1/videos/{video_id}/media/")

    # -- ingest ---------------------------------------------------------------

    def ingest(self, *, video: str, analytics: Json | list | str | Path, schema: str | int | None = None,
               format: str | None = None, mode: str = "strict", options: Json | None = None,
               allow_empty: bool = False) -> Json:
        """Post analytics for ``video``: a file path (sent as a streamed
        multipart upload) or a decoded JSON value / JSON text (sent as a JSON
        body). ``allow_empty`` lets a payload without frames or detections
        replace a video that has some. Answers the queued job ``{"id", "status", "url"}``."""
        fields: Json = {"video": video, "mode": mode}
        if allow_empty:
            fields["allow_empty"] = "true"
        if schema is not None:
            fields["schema"] = str(schema)
        if format is not None:
            fields["format"] = format
        if isinstance(analytics, Path):
            if options is not None:
                fields["options"] = json.dumps(options)
            return self.request("POST", "/api/v1/ingest/", body=MultipartBody(fields, {"file": analytics}))
        if options is not None:
            fields["options"] = options
        return self.request("POST", "/api/v1/ingest/", json_body={**fields, "analytics": analytics})

    def job(self, job_id: str) -> Json:
        """One ingest job: status, progress, counts, violations, error."""
        return self.request("GET", f"/api/v1/ingest/{job_id}/")

    def job_wait(self, job_id: str, *, timeout: float = 600.0, interval: float = 0.5) -> Json:
        """Poll a job until it ends. Returns the succeeded job; raises
        :class:`JobFailed` for a failed or cancelled one (its video was deleted),
        :class:`JobTimeout` past ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] == "succeeded":
                return job
            if job["status"] in ("failed", "cancelled"):
                raise JobFailed(job)
            if time.monotonic() >= deadline:
                raise JobTimeout(job, timeout)
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def ingest_wait(self, *, timeout: float = 600.0, **ingest: Any) -> Json:
        """:meth:`ingest`, then :meth:`job_wait` on the job it queued."""
        return self.job_wait(self.ingest(**ingest)["id"], timeout=timeout)

    # -- search and statistics (analyst or admin token) ----------------------

    def search(self, *, q: str | None = None, query: Json | None = None, filters: Mapping[str, list] | None = None,
               page: int = 1, page_size: int | None = None, gap_s: float | None = None,
               facets: list[str] | None = None, facet_unit: str | None = None, schema: str | None = None) -> Json:
        """Search with the text form ``q`` or a JSON ``query`` tree plus sidebar
        ``filters``: exact counts, facets and one page of clips."""
        return self.request("POST", "/api/v1/search/", json_body=_fields(
            q=q, query=query, filters=filters, page=page, page_size=page_size, gap_s=gap_s,
            facets=facets, facet_unit=facet_unit, schema=schema,
        ))

    def search_clips(self, *, page_size: int = 500, **search: Any) -> list[Json]:
        """Every clip of a search, following the pages."""
        clips: list[Json] = []
        page = 1
        while True:
            answer = self.search(page=page, page_size=page_size, **search)
            clips.extend(answer["clips"])
            if page >= answer["pages"]:
                return clips
            page += 1

    def occurrence(self, *, q: str | None = None, query: Json | None = None, filters: Mapping[str, list] | None = None,
                   unit: str | None = None, facets: list[str] | None = None, **fields: Any) -> Json:
        """Counts per label and attribute value of the matching frames, in ``unit``."""
        return self.request("POST", "/api/v1/stats/occurrence/", json_body=_fields(
            q=q, query=query, filters=filters, unit=unit, facets=facets, **fields))

    def cooccurrence(self, *, a: str | None = None, b: str | None = None, scope: str | None = None,
                     top: int | None = None, q: str | None = None, **fields: Any) -> Json:
        """The co-occurrence matrix of facets ``a`` x ``b`` (or the ``top`` pairs) in ``scope``."""
        return self.request("POST", "/api/v1/stats/cooccurrence/", json_body=_fields(
            a=a, b=b, scope=scope, top=top, q=q, **fields))

    def geo(self, *, bbox: list[float], zoom: float, target: str | None = None, q: str | None = None,
            **fields: Any) -> Json:
        """Matching located frames (or detections) binned for a map view, as GeoJSON."""
        return self.request("POST", "/api/v1/stats/geo/", json_body=_fields(
            bbox=bbox, zoom=zoom, target=target, q=q, **fields))

    def timeline(self, *, q: str | None = None, bins: int | None = None, **fields: Any) -> Json:
        """Matching frames over video time and wall-clock time."""
        return self.request("POST", "/api/v1/stats/timeline/", json_body=_fields(q=q, bins=bins, **fields))


def _fields(**values: Any) -> Json:
    """The request fields that were given (None means: use the server's default)."""
    return {name: value for name, value in values.items() if value is not None}


def _decoded(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
