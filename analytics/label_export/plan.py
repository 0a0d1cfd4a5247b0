"""What a label export holds and how it is written (docs/api/exports.md).

:func:`export_plan` checks a request and tells what the export will be (its file name,
content type, whether it is a zip); :func:`export_chunks` writes it as a stream of bytes,
video after video, each video read once from its payload (:mod:`.source`). Formats:

- ``eta``: ETA VideoLabels, a file per video (:mod:`.eta`);
- ``cvat``: CVAT for video 1.1 XML, a file per video (:mod:`.cvat`);
- ``mot``: MOTChallenge ``gt/gt.txt`` and ``seqinfo.ini`` per video (:mod:`.mot`);
- ``coco``: one COCO-style JSON (:mod:`.coco`);
- ``csv``: ``clips.csv``, ``detections.csv``, ``events.csv`` (:mod:`.table`);
- ``camio``: Camio's label download, JSON, CSV or XML (:mod:`.camio`).

Several files make a zip, streamed as it is written (:mod:`.zipstream`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from analytics.label_export import camio, coco, cvat, eta, mot, table
from analytics.label_export.source import Scope, VideoLabels, Window, matched_frames, scope_videos, video_labels
from analytics.label_export.zipstream import zip_stream
from indexer.limits import PAGE_SIZE_MAX
from indexer.models import Video
from indexer.search import get_search_backend
from indexer.search.contract import Clip, SearchRequest

__all__ = ["FORMATS", "ExportPlan", "Scope", "Window", "export_chunks", "export_detections", "export_plan",
           "export_scope"]

FORMATS = ("eta", "cvat", "mot", "coco", "csv", "camio")
CAMIO_LAYOUTS = ("json", "csv", "xml")

Progress = Callable[[int, int], None]  # (videos done, videos)


@dataclass
class ExportPlan:
    format: str
    scope: Scope
    videos: list[Video]
    filename: str
    content_type: str
    layout: str = "json"  # camio only

    @property
    def zipped(self) -> bool:
        return self.filename.endswith(".zip")


def export_scope(*, request: SearchRequest, scope: str = "all", page: int = 1, page_size: int = 20,
                 clips: list[dict] | None = None) -> Scope:
    """The frames to export: every match (``all``), those of one page of the search's clips
    (``page``) or of the clips given (``clips``: ``{video, start_s, end_s}``)."""
    if scope == "clips":
        return Scope(request=request, windows=[Window(clip["video"], clip["start_s"], clip["end_s"])
                                               for clip in clips or []])
    if scope == "page":
        paged = replace(request, page=page, page_size=page_size)
        result = get_search_backend().search(request=paged)
        return Scope(request=request, windows=[Window(clip.video_id, clip.start_s, clip.end_s)
                                               for clip in result.clips])
    return Scope(request=request)


def export_detections(*, scope: Scope) -> int:
    """How many detections the matching frames hold (all of them, windows or not): what
    decides between a streamed download and a job."""
    return int(get_search_backend().search(request=replace(scope.request, page=1, page_size=1)).counts["objects"])


def export_plan(*, scope: Scope, format: str, layout: str = "json") -> ExportPlan:
    """What exporting ``scope`` as ``format`` will write (the videos are found now)."""
    videos = scope_videos(scope=scope)
    single = {"eta": eta.EXTENSION, "cvat": cvat.EXTENSION}
    if format in single and len(videos) == 1:
        filename, content_type = f"{_safe(videos[0].name)}.{single[format]}", eta.CONTENT_TYPE
        content_type = eta.CONTENT_TYPE if format == "eta" else cvat.CONTENT_TYPE
    elif format == "coco":
        filename, content_type = "scoop-labels.coco.json", coco.CONTENT_TYPE
    elif format == "camio":
        filename, content_type = f"scoop-labels.camio.{layout}", camio.CONTENT_TYPES[layout]
    else:
        filename, content_type = f"scoop-labels.{format}.zip", "application/zip"
    return ExportPlan(format=format, scope=scope, videos=videos, filename=filename, content_type=content_type,
                      layout=layout)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "video"


def _names(videos: list[Video]) -> dict[int, str]:
    """A file name per video, unique within the export."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for video in videos:
        name = _safe(video.name)
        if name in taken:
            name = f"{name}-{video.pk}"
        taken.add(name)
        names[video.pk] = name
    return names


def _makers(plan: ExportPlan, progress: Progress | None) -> Iterator[Callable[[], VideoLabels]]:
    total = len(plan.videos)
    for done, video in enumerate(plan.videos):
        if progress is not None:
            progress(done, total)
        yield lambda video=video: video_labels(video=video, frames=matched_frames(scope=plan.scope,
                                                                                   video_id=video.pk))
    if progress is not None:
        progress(total, total)


def _each(plan: ExportPlan, progress: Progress | None) -> Iterator[VideoLabels]:
    for make in _makers(plan, progress):
        video = make()
        try:
            yield video
        finally:
            video.close()


def export_chunks(*, plan: ExportPlan, progress: Progress | None = None) -> Iterator[bytes]:
    """The export's bytes, written as they are read; ``progress(videos done, videos)`` is called
    before each video and at the end."""
    if plan.format == "coco":
        labels = list(plan.scope.request.ontology.objects)
        yield from (text.encode() for text in coco.write(_makers(plan, progress), labels))
    elif plan.format == "camio":
        yield from (text.encode() for text in camio.write(_each(plan, progress), plan.layout))
    elif plan.zipped:
        yield from zip_stream(_entries(plan, progress))
    else:
        writer = eta.write if plan.format == "eta" else cvat.write
        for video in _each(plan, progress):
            yield from (text.encode() for text in writer(video))


def _entries(plan: ExportPlan, progress: Progress | None) -> Iterator[tuple[str, Iterable[str]]]:
    if plan.format == "csv":
        yield from _csv_entries(plan, progress)
        return
    names = _names(plan.videos)
    for video in _each(plan, progress):
        name = names[video.video_id]
        if plan.format == "eta":
            yield f"{name}.json", eta.write(video)
        elif plan.format == "cvat":
            yield f"{name}.xml", cvat.write(video)
        else:
            files = mot.MotVideo(video)
            yield f"{name}/gt/gt.txt", files.gt()
            yield f"{name}/seqinfo.ini", [files.seqinfo()]
            if (classes := files.classes_json()) is not None:
                yield f"{name}/classes.json", [classes]


def _csv_entries(plan: ExportPlan, progress: Progress | None) -> Iterator[tuple[str, Iterable[str]]]:
    ontology = plan.scope.request.ontology
    objects, events = table.object_attributes(ontology), table.event_attributes(ontology)
    yield "clips.csv", table.clips(_clips(plan))
    event_text: list[str] = []

    def detections() -> Iterator[str]:
        for position, video in enumerate(_each(plan, progress)):
            yield from table.detections(video, objects, header=position == 0)
            event_text.extend(table.events(video, events, header=not event_text))
        if not plan.videos:
            yield from table.detections_header(objects)

    yield "detections.csv", detections()
    yield "events.csv", event_text or list(table.events_header(events))


def _clips(plan: ExportPlan) -> Iterator[tuple[Clip, str]]:
    """The search's clips (every page), or the selected windows' clips."""
    names = {video.pk: video.name for video in plan.videos}
    backend = get_search_backend()
    request = plan.scope.request
    page = 1
    while True:
        result = backend.search(request=replace(request, page=page, page_size=PAGE_SIZE_MAX))
        for clip in result.clips:
            if clip.video_id in names and _in_windows(clip, plan.scope.windows):
                yield clip, names[clip.video_id]
        if page * PAGE_SIZE_MAX >= result.total_clips or not result.clips:
            return
        page += 1


def _in_windows(clip: Clip, windows: list[Window] | None) -> bool:
    if windows is None:
        return True
    return any(window.video_id == clip.video_id and clip.end_s >= window.start_s
               and (window.end_s is None or clip.start_s < window.end_s) for window in windows)
