"""Appearance embeddings for detection crops: a fixed descriptor, not a learned one.

No pretrained network can be downloaded here, so the embedding is a classic,
hand-designed appearance descriptor computed with torch (batched, on CUDA when
available). For every crop, resized to 64x64:

- **colour**: hue (8 bins, each pixel weighted by saturation x value so that grey
  pixels do not vote for a random hue), saturation (4 bins) and value (4 bins)
  histograms over a 2x2 spatial grid: 64 numbers;
- **shape**: histograms of gradient orientation (8 unsigned bins over 0..pi,
  weighted by gradient magnitude, HOG-like) over a 4x4 grid: 128 numbers.

Each part is L2-normalised, the colour part weighted by ``COLOR_WEIGHT``, and
the whole vector L2-normalised again, so the dot product of two embeddings is
their cosine similarity. It tells crops apart by colour layout and coarse
shape; it knows nothing about identity or semantics (two red cars look alike,
a red car and a red coat may too). The same input always gives the same output.

This module is a contract: ``EMBEDDING_DIM`` and :func:`embed_images` keep
their meaning for every caller (the reference worker, similarity search).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

SIZE = 64
HUE_BINS, SAT_BINS, VAL_BINS, COLOR_GRID = 8, 4, 4, 2
ORIENT_BINS, SHAPE_GRID = 8, 4
COLOR_DIM = (HUE_BINS + SAT_BINS + VAL_BINS) * COLOR_GRID * COLOR_GRID
SHAPE_DIM = ORIENT_BINS * SHAPE_GRID * SHAPE_GRID
EMBEDDING_DIM = COLOR_DIM + SHAPE_DIM
COLOR_WEIGHT = 1.0
EPS = 1e-8


def default_device() -> torch.device:
    """CUDA when this machine has it, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def embed_images(images: list[np.ndarray], *, device: str | torch.device | None = None) -> np.ndarray:
    """Embed BGR uint8 crops of any size: an ``N x EMBEDDING_DIM`` float32
    array of L2-normalised rows (cosine similarity = dot product).

    Grey (2-D) and BGRA crops are accepted; an empty crop raises ValueError.
    """
    if not images:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    target = torch.device(device) if device is not None else default_device()
    batch = torch.from_numpy(np.stack([_resized(image) for image in images])).to(target)
    with torch.no_grad():
        vectors = embed_tensor(batch.permute(0, 3, 1, 2).float() / 255.0)
    return vectors.cpu().numpy().astype(np.float32)


def embed_tensor(bgr: torch.Tensor) -> torch.Tensor:
    """Embed a ``B x 3 x SIZE x SIZE`` float tensor of BGR values in 0..1."""
    color = F.normalize(_color_histograms(bgr), dim=1, eps=EPS) * COLOR_WEIGHT
    shape = F.normalize(_orientation_histograms(bgr), dim=1, eps=EPS)
    return F.normalize(torch.cat([color, shape], dim=1), dim=1, eps=EPS)


def _resized(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"cannot embed an empty crop of shape {image.shape}")
    return cv2.resize(np.ascontiguousarray(image, dtype=np.uint8), (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def _hsv(bgr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue in 0..1 (a full turn), saturation and value in 0..1; each ``B x H x W``."""
    blue, green, red = bgr[:, 0], bgr[:, 1], bgr[:, 2]
    value, _ = bgr.max(dim=1)
    chroma = value - bgr.min(dim=1).values
    safe = torch.where(chroma > EPS, chroma, torch.ones_like(chroma))
    hue = torch.where(
        value == red, ((green - blue) / safe) % 6,
        torch.where(value == green, (blue - red) / safe + 2, (red - green) / safe + 4),
    ) / 6.0
    hue = torch.where(chroma > EPS, hue, torch.zeros_like(hue))
    saturation = torch.where(value > EPS, chroma / torch.where(value > EPS, value, torch.ones_like(value)),
                             torch.zeros_like(value))
    return hue, saturation, value


def _pooled_histogram(values: torch.Tensor, bins: int, weights: torch.Tensor, grid: int) -> torch.Tensor:
    """Per grid cell, the weighted share of pixels in each of ``bins`` equal bins of 0..1."""
    index = (values * bins).long().clamp(0, bins - 1)
    votes = F.one_hot(index, bins).permute(0, 3, 1, 2).float() * weights.unsqueeze(1)
    return F.adaptive_avg_pool2d(votes, grid).flatten(1)


def _color_histograms(bgr: torch.Tensor) -> torch.Tensor:
    hue, saturation, value = _hsv(bgr)
    ones = torch.ones_like(value)
    return torch.cat([
        _pooled_histogram(hue, HUE_BINS, saturation * value, COLOR_GRID),
        _pooled_histogram(saturation, SAT_BINS, ones, COLOR_GRID),
        _pooled_histogram(value, VAL_BINS, ones, COLOR_GRID),
    ], dim=1)


SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _orientation_histograms(bgr: torch.Tensor) -> torch.Tensor:
    gray = (0.114 * bgr[:, 0] + 0.587 * bgr[:, 1] + 0.299 * bgr[:, 2]).unsqueeze(1)
    kernels = torch.stack([SOBEL_X, SOBEL_X.T]).unsqueeze(1).to(bgr.device)
    gradients = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels)
    gx, gy = gradients[:, 0], gradients[:, 1]
    magnitude = torch.sqrt(gx * gx + gy * gy)
    # Unsigned orientation: an edge is the same edge whichever side is brighter.
    orientation = torch.atan2(gy, gx) % math.pi / math.pi
    return _pooled_histogram(orientation, ORIENT_BINS, magnitude, SHAPE_GRID)
