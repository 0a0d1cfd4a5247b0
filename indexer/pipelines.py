"""Pipelines an admin registers: TorchScript detectors (docs/api/pipelines.md).

The contract a model meets (checked at registration by running it once on a random input):

- input: one float32 tensor ``[B, 3, H, W]``, RGB, values 0..1, ``H x W`` the pipeline's input size;
- output: a tensor ``[B, N, 6]``, or a list or tuple of ``B`` tensors ``[N, 6]``: rows
  ``[x1, y1, x2, y2, score, class]``, the box in pixels of the input, ``class`` a 0-based index
  into the pipeline's ``classes``.

Each class maps to an object label of the pipeline's schema (else the default schema). An analysis
that names the pipeline (:mod:`indexer.analyses`) resizes each frame to the input size, runs the
model (CUDA when torch sees it), scales the boxes back, keeps rows scoring at least ``min_score``,
suppresses overlaps above ``nms_iou`` per label, tracks with the reference worker's IoU tracker,
and its labels are ingested like any worker's output.

torch is imported inside the functions that need it, so that the web process, which registers
pipelines rarely, does not load it at start.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError

from indexer.models import LabelSchema, Pipeline
from indexer.payloads import PayloadError
from indexer.selectors import schema_default, schema_resolve

REFERENCE = "reference"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
CONFIG_KEYS = ("classes", "label_map", "input_size", "thresholds", "schema", "description")
SIZE_RANGE = (16, 4096)
MODEL_MAX_BYTES = 512 * 1024**2


def pipeline_register(*, name: str, model_chunks: Iterable[bytes], config: Any,
                      actor: AbstractBaseUser | None) -> Pipeline:
    """Check a detector and register it. Refused (400, naming the field) for a bad name, config,
    class map or label; for a file ``torch.jit.load`` cannot read; for an output that breaks the
    contract on a random input; and (409) for a name already taken."""
    if not isinstance(name, str) or not NAME.match(name) or name == REFERENCE:
        raise PayloadError(f"name must be 1-50 lowercase letters, digits, - or _, and not '{REFERENCE}'; got "
                           f"{name!r}", path="name")
    if Pipeline.objects.filter(name=name).exists():
        raise PayloadError(f"a pipeline called '{name}' exists: delete it first", status=409, path="name")
    checked = _config_checked(config)
    path = _model_store(name, model_chunks)
    try:
        _model_check(path, width=checked["input_width"], height=checked["input_height"],
                     classes=checked["classes"])
        return Pipeline.objects.create(name=name, model_path=str(path), model_bytes=path.stat().st_size,
                                       created_by=actor, **checked)
    except (PayloadError, IntegrityError):
        path.unlink(missing_ok=True)
        raise


def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Forget a pipeline and delete its model file (its analyses keep its name)."""
    path = Path(pipeline.model_path)
    pipeline.delete()
    path.unlink(missing_ok=True)


def _config_checked(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise PayloadError("config must be a JSON object", path="config")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise PayloadError(f"unknown config key '{unknown[0]}'; expected {', '.join(CONFIG_KEYS)}",
                           path=f"config.{unknown[0]}")
    classes = config.get("classes")
    if (not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes)):
        raise PayloadError("classes must be a non-empty list of class names, class 0 first", path="config.classes")
    if len(set(classes)) != len(classes):
        raise PayloadError("classes must not repeat a name", path="config.classes")
    schema = _schema(config.get("schema"))
    labels = set((schema.document.get("objects") or {}).get("schema") or {})
    label_map = config.get("label_map")
    if not isinstance(label_map, dict):
        raise PayloadError("label_map must be an object: {class name: ontology label}", path="config.label_map")
    extra = sorted(set(label_map) - set(classes))
    if extra:
        raise PayloadError(f"label_map names '{extra[0]}', which is not one of the classes",
                           path=f"config.label_map.{extra[0]}")
    for index, cls in enumerate(classes):
        label = label_map.get(cls)
        if label is None:
            raise PayloadError(f"class '{cls}' (index {index}) maps to no ontology label: add it to label_map",
                               path=f"config.label_map.{cls}")
        if label not in labels:
            raise PayloadError(f"class '{cls}' maps to '{label}', which is not an object label of schema {schema} "
                               f"(it has {', '.join(sorted(labels)) or 'none'})", path=f"config.label_map.{cls}")
    size = config.get("input_size")
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and SIZE_RANGE[0] <= n <= SIZE_RANGE[1]
                       for n in size)):
        raise PayloadError(f"input_size must be [width, height], whole numbers from {SIZE_RANGE[0]} to "
                           f"{SIZE_RANGE[1]}; got {size!r}", path="config.input_size")
    thresholds = config.get("thresholds", {})
    if not isinstance(thresholds, dict) or set(thresholds) - {"score", "nms_iou"}:
        raise PayloadError("thresholds must be an object with score and nms_iou", path="config.thresholds")
    for key, default in (("score", 0.3), ("nms_iou", 0.5)):
        value = thresholds.setdefault(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise PayloadError(f"thresholds.{key} must be a number from 0 to 1, got {value!r}",
                               path=f"config.thresholds.{key}")
    description = config.get("description", "")
    if not isinstance(description, str) or len(description) > 500:
        raise PayloadError("description must be text of at most 500 characters", path="config.description")
    return {"classes": classes, "label_map": {cls: label_map[cls] for cls in classes}, "input_width": size[0],
            "input_height": size[1], "min_score": float(thresholds["score"]), "nms_iou": float(thresholds["nms_iou"]),
            "schema": schema if config.get("schema") is not None else None, "description": description}


def _schema(ref: Any) -> LabelSchema:
    if ref is None:
        schema = schema_default()
        if schema is None:
            raise PayloadError("no label schema exists yet to map the classes into: upload one first",
                               path="config.schema")
        return schema
    if not isinstance(ref, str | int):
        raise PayloadError("schema must be a schema's id, name or name:version", path="config.schema")
    return schema_resolve(ref=ref)


def _model_store(name: str, chunks: Iterable[bytes]) -> Path:
    folder = Path(settings.SCOOP_DATA_DIR) / "pipelines"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{uuid.uuid4().hex}.pt"
    size = 0
    with path.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > MODEL_MAX_BYTES:
                out.close()
                path.unlink(missing_ok=True)
                raise PayloadError(f"the model is larger than {MODEL_MAX_BYTES} bytes", status=413, path="model")
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise PayloadError("the model file is empty", path="model")
    return path


def _model_load(path: Path, device: str):
    import torch  # lazily: see the module's docstring

    with warnings.catch_warnings():
        # torch 2.13 deprecates TorchScript for torch.export, but scripted detectors are what users have.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch")
        return torch.jit.load(str(path), map_location=device).eval()


def _model_check(path: Path, *, width: int, height: int, classes: Sequence[str]) -> None:
    import torch  # lazily: see the module's docstring

    try:
        module = _model_load(path, "cpu")
    except Exception as error:  # torch raises RuntimeError, ValueError, pickle errors...
        raise PayloadError(f"the file is not a TorchScript model torch.jit.load can read: "
                           f"{str(error).splitlines()[0][:300]}", path="model") from None
    generator = torch.Generator().manual_seed(0)
    try:
        with torch.no_grad():
            output = module(torch.rand(1, 3, height, width, generator=generator))
    except Exception as error:
        raise PayloadError(f"the model failed on a [1, 3, {height}, {width}] input: "
                           f"{str(error).splitlines()[0][:300]}", path="model") from None
    rows = _rows_per_image(output, images=1)[0]
    if rows.numel():
        indices = rows[:, 5]
        if not torch.all(indices == indices.round()) or indices.min() < 0 or indices.max() >= len(classes):
            raise PayloadError(f"the model gave class indices {sorted({float(i) for i in indices.tolist()})}, but "
                               f"classes has {len(classes)} names (0 to {len(classes) - 1})", path="config.classes")


def _rows_per_image(output: Any, *, images: int) -> list:
    """The ``[N, 6]`` rows of each image, or a :class:`PayloadError` saying how ``output`` breaks
    the contract."""
    import torch  # lazily: see the module's docstring

    expected = (f"the model's output must be a tensor [{images}, N, 6] or a list of {images} tensor(s) [N, 6] "
                "(x1, y1, x2, y2, score, class)")
    if isinstance(output, torch.Tensor):
        if output.dim() != 3 or output.shape[0] != images or output.shape[2] != 6:
            raise PayloadError(f"{expected}; it gave a tensor {list(output.shape)}", path="model")
        return list(output.float().unbind(0))
    if isinstance(output, list | tuple) and len(output) == images and all(
            isinstance(t, torch.Tensor) and t.dim() == 2 and t.shape[1] == 6 for t in output):
        return [t.float() for t in output]
    shown = ([list(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__ for t in output]
             if isinstance(output, list | tuple) else type(output).__name__)
    raise PayloadError(f"{expected}; it gave {shown}", path="model")


class PipelineDetector:
    """A registered pipeline as a detector of :func:`scoop_worker.video_analyse`: frames resized
    to its input size, boxes scaled back, its thresholds applied, classes named by their labels."""

    def __init__(self, pipeline: Pipeline, *, device: str):
        self.pipeline, self.device = pipeline, device
        self.module = _model_load(Path(pipeline.model_path), device)
        self.name = pipeline.name
        self.labels = tuple(pipeline.label_map[cls] for cls in pipeline.classes)

    def detect(self, frames: Sequence[Any]) -> list[list[Any]]:
        import cv2
        import numpy as np
        import torch

        from scoop_worker.detections import Detection
        from scoop_worker.detectors import non_max_suppression

        width, height = self.pipeline.input_width, self.pipeline.input_height
        rgb = np.stack([cv2.cvtColor(cv2.resize(frame, (width, height)), cv2.COLOR_BGR2RGB) for frame in frames])
        batch = torch.from_numpy(rgb).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        with torch.no_grad():
            per_image = _rows_per_image(self.module(batch), images=len(frames))
        found = []
        for frame, rows in zip(frames, per_image, strict=True):
            scale_x, scale_y = frame.shape[1] / width, frame.shape[0] / height
            kept = [row for row in rows.detach().cpu().tolist() if row[4] >= self.pipeline.min_score]
            detections = []
            for x1, y1, x2, y2, score, cls in kept:
                index = int(cls)
                if not 0 <= index < len(self.labels):
                    raise ValueError(f"pipeline {self.name} gave class {index}; it has {len(self.labels)} classes")
                detections.append(Detection(label=self.labels[index], score=float(min(1.0, score)), source=self.name,
                                            box=(x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y)))
            found.append(_suppressed(detections, self.pipeline.nms_iou, non_max_suppression))
        return found


def _suppressed(detections: list, max_iou: float, suppress) -> list:
    import numpy as np

    kept = []
    for label in sorted({d.label for d in detections}):
        same = [d for d in detections if d.label == label]
        kept += [same[i] for i in suppress([d.box for d in same], np.array([d.score for d in same]), max_iou)]
    return kept
