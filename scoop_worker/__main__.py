"""``python -m scoop_worker VIDEO [options]``: analyse a video and post (or write) its labels.

Exit status: 0 done, 1 Scoop refused something or the job failed (the API's
error is printed), 2 bad arguments or an unreadable video.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scoop_client import JobFailed, JobTimeout, ScoopClient, ScoopConnectionError, ScoopError
from scoop_worker.analysis import VideoUnreadable, video_analyse
from scoop_worker.detectors import Detector, HogPeopleDetector, MotionDetector, TorchScriptDetector
from scoop_worker.labels import DEFAULT_COLORS, ontology_colors, ontology_labels
from scoop_worker.publish import SchemaMissing, labels_post, schema_document


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    cli = argparse.ArgumentParser(prog="python -m scoop_worker", description=__doc__.split("\n")[0])
    cli.add_argument("video", type=Path, help="the video file (anything OpenCV reads)")
    cli.add_argument("--url", help="Scoop's base URL, e.g. http://127.0.0.1:8000 (omit to only write --output)")
    cli.add_argument("--token", help="a worker token (manage.py issue_token NAME --role worker)")
    cli.add_argument("--video-name", help="the name to ingest under (default: the file name)")
    cli.add_argument("--schema", help="schema id, name or name:version (default: the server's default schema)")
    cli.add_argument("--mode", choices=["strict", "filter"], default="filter",
                     help="ingest validation mode (default filter: drop labels the ontology lacks)")
    cli.add_argument("--upload-media", action="store_true", help="also upload the video file to Scoop")
    cli.add_argument("--detector", type=Path, help="a TorchScript detector (see TorchScriptDetector)")
    cli.add_argument("--detector-labels", default="", help="its class names, comma-separated, class 0 first")
    cli.add_argument("--no-hog", action="store_true",
                     help="do not run the HOG people detector (people then come from the motion shape rule only)")
    cli.add_argument("--hog-width", type=int, default=640,
                     help="shrink wider frames to this width before HOG, for speed (default 640; 0: never)")
    cli.add_argument("--hog-min-margin", type=float, default=0.0,
                     help="drop HOG windows whose SVM margin is below this (default 0; 1 keeps scores >= 0.63)")
    cli.add_argument("--no-motion", action="store_true",
                     help="do not run background subtraction (no vehicles, no moving-blob people)")
    cli.add_argument("--no-embed", action="store_true", help="leave out the per-detection embeddings")
    cli.add_argument("--device", choices=["cpu", "cuda"], help="torch device (default: cuda when available)")
    cli.add_argument("--batch", type=int, default=16, help="frames per batch (default 16)")
    cli.add_argument("--cpu-threads", type=int, default=1,
                     help="torch threads when running on the CPU (default 1; 0: torch's default)")
    cli.add_argument("--output", type=Path, help="also write the ETA VideoLabels JSON here")
    cli.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the ingest job")
    return cli


def detectors_from(args: argparse.Namespace) -> list[Detector]:
    """The detectors the command line asks for: built-in HOG and motion unless
    turned off, and the user's TorchScript detector when given."""
    people = None
    if not args.no_hog:
        people = HogPeopleDetector(max_width=args.hog_width or None, min_margin=args.hog_min_margin)
    detectors: list[Detector] = []
    if not args.no_motion:
        detectors.append(MotionDetector(people=people))
    elif people is not None:
        detectors.append(people)
    if args.detector is not None:
        labels = [label.strip() for label in args.detector_labels.split(",") if label.strip()]
        detectors.append(TorchScriptDetector(args.detector, labels, device=args.device))
    return detectors


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    if args.url and not args.token:
        parser().error("--url needs --token")
    client = ScoopClient(args.url, args.token, timeout=args.timeout) if args.url else None
    try:
        colors, labels, schema = DEFAULT_COLORS, None, args.schema
        if client is not None:
            schema, document = schema_document(client, args.schema)
            colors, labels = ontology_colors(document), ontology_labels(document)
        detectors = detectors_from(args)
        if not detectors:
            parser().error("nothing to run: --no-motion --no-hog needs --detector")
        result = video_analyse(args.video, detectors=detectors, device=args.device, batch=args.batch,
                               embed=not args.no_embed, colors=colors, labels=labels,
                               name=args.video_name or args.video.name, cpu_threads=args.cpu_threads or None)
        print(f"analysed {result.frames} frames in {result.seconds:.2f} s: {result.frames_per_second:.1f} frames/s "
              f"on {result.device}; {result.detections} detections, {result.tracks} tracks {result.counts_by_label}")
        if args.output is not None:
            args.output.write_text(json.dumps(result.labels))
            print(f"wrote {args.output}")
        if client is not None:
            job = labels_post(client, result=result, video_name=args.video_name or args.video.name, schema=schema,
                              mode=args.mode, media=args.video if args.upload_media else None, timeout=args.timeout)
            print(f"ingested as video {job['video']} (job {job['id']}): {json.dumps(job['counts'])}, "
                  f"{job['violation_count']} label(s) dropped")
    except (VideoUnreadable, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ScoopError as error:
        print(f"error: {error}", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem.get('path')}: {problem.get('message')}", file=sys.stderr)
        return 1
    except (JobFailed, JobTimeout, ScoopConnectionError, SchemaMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
