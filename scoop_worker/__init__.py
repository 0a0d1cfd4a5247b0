"""Scoop's reference GPU worker: analyse a video and post ETA VideoLabels.

Run ``python -m scoop_worker VIDEO --url URL --token TOKEN`` (see
``__main__``), or use it as a library::

    from scoop_worker import video_analyse, TorchScriptDetector
    result = video_analyse("cam.mp4", batch=16)
    result.labels            # ETA VideoLabels (framewise), ready to ingest
    result.frames_per_second

Nothing here imports Django: the worker runs on any machine with torch and OpenCV.
"""

from scoop_worker.analysis import AnalysisResult, VideoUnreadable, default_detectors, video_analyse
from scoop_worker.detectors import Detector, HogPeopleDetector, MotionDetector, TorchScriptDetector
from scoop_worker.embedding import EMBEDDING_DIM, embed_images

__all__ = [
    "EMBEDDING_DIM",
    "AnalysisResult",
    "Detector",
    "HogPeopleDetector",
    "MotionDetector",
    "TorchScriptDetector",
    "VideoUnreadable",
    "default_detectors",
    "embed_images",
    "video_analyse",
]
