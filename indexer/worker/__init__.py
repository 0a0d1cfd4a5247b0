"""Scoop's reference GPU worker: analyse a video and post ETA VideoLabels.

Run ``python -m indexer.worker VIDEO --url URL --token TOKEN`` (see
``__main__``), or use it as a library::

    from indexer.worker import video_analyse, TorchScriptDetector
    result = video_analyse("cam.mp4", batch=16)
    result.labels            # ETA VideoLabels (framewise), ready to ingest
    result.frames_per_second

Nothing here imports Django: the worker runs on any machine with torch and OpenCV.
"""

from indexer.worker.analysis import AnalysisResult, VideoUnreadable, default_detectors, video_analyse
from indexer.worker.detectors import Detector, HogPeopleDetector, MotionDetector, TorchScriptDetector
from indexer.worker.embedding import EMBEDDING_DIM, embed_images

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
