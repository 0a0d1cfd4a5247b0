"""The embedding contract: shape, norm, determinism, and similar crops scoring higher."""

import cv2
import numpy as np
import pytest

from scoop_worker.embedding import EMBEDDING_DIM, embed_images


def _car(color, size=(60, 100), background=(150, 160, 155)):
    image = np.full((*size, 3), background, np.uint8)
    h, w = size
    cv2.rectangle(image, (w // 10, h // 3), (w - w // 10, h - h // 8), color, -1)
    cv2.rectangle(image, (w // 4, h // 8), (w - w // 4, h // 3), color, -1)
    return image


def _figure(color, size=(120, 50), background=(150, 160, 155)):
    image = np.full((*size, 3), background, np.uint8)
    h, w = size
    cv2.circle(image, (w // 2, h // 10), h // 12, color, -1)
    cv2.rectangle(image, (w // 4, h // 5), (3 * w // 4, 3 * h // 5), color, -1)
    cv2.line(image, (w // 3, 3 * h // 5), (w // 4, h - 2), color, 4)
    cv2.line(image, (2 * w // 3, 3 * h // 5), (3 * w // 4, h - 2), color, 4)
    return image


def test_embeddings_are_unit_rows_of_the_documented_size_for_any_crop_size():
    crops = [_car((0, 0, 255)), _figure((40, 40, 40)), np.zeros((3, 500, 3), np.uint8),
             np.full((7, 7), 128, np.uint8)]
    vectors = embed_images(crops)
    assert vectors.shape == (4, EMBEDDING_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embed_images([]).shape == (0, EMBEDDING_DIM)


def test_the_same_crop_always_gives_the_same_vector():
    crops = [_car((0, 0, 255)), _figure((200, 60, 20))]
    assert np.array_equal(embed_images(crops, device="cpu"), embed_images(list(reversed(crops)))[::-1])


def test_same_looking_crops_score_higher_than_different_ones():
    red_car = _car((30, 30, 220))
    similar = [
        _car((40, 25, 200), size=(75, 130)),  # another red car, bigger, slightly different red
        _car((30, 30, 220), background=(140, 150, 160)),  # the same car on another background
    ]
    different = [_car((200, 60, 20)), _figure((30, 30, 220)), _figure((40, 45, 50)), _car((235, 235, 235))]
    vectors = embed_images([red_car, *similar, *different])
    scores = vectors[1:] @ vectors[0]
    assert min(scores[:2]) > max(scores[2:]), scores
    # Colour alone or shape alone is not enough to look alike.
    assert scores[2] < 0.95 and scores[3] < 0.95, scores


def test_an_empty_crop_is_refused():
    with pytest.raises(ValueError, match="empty crop"):
        embed_images([np.zeros((0, 10, 3), np.uint8)])
