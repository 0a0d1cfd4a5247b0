"""The reference worker's parts on synthetic input: colours, tracker, detectors."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from scoop_worker import TorchScriptDetector, video_analyse
from scoop_worker.colors import PALETTE, object_color
from scoop_worker.detections import Detection
from scoop_worker.detectors import HogPeopleDetector, MotionDetector, non_max_suppression
from scoop_worker.tracking import IouTracker, iou_matrix
from tests.scoop_worker import worker_video


@pytest.mark.parametrize(("bgr", "name"), [
    ((20, 20, 200), "red"), ((0, 100, 255), "red"), ((0, 220, 230), "yellow"), ((40, 180, 40), "green"),
    ((200, 80, 20), "blue"), ((160, 40, 120), "blue"), ((15, 15, 15), "black"), ((250, 250, 250), "white"),
    ((170, 170, 170), "silver"), ((100, 100, 100), "gray"),
])
def test_solid_patches_get_their_colour(bgr, name):
    patch = np.full((30, 40, 3), bgr, np.uint8)
    assert object_color(patch) == (name, 1.0)


def test_the_colour_is_taken_from_the_centre_and_limited_to_the_allowed_values():
    crop = np.full((50, 50, 3), (100, 100, 100), np.uint8)
    crop[12:38, 12:38] = (20, 20, 200)
    assert object_color(crop)[0] == "red"
    gray_share = 1 - 26 * 26 / 900  # the central 30x30 pixels, 26x26 of them red
    assert object_color(crop, allowed=("black", "white", "gray")) == ("gray", pytest.approx(gray_share, abs=0.001))
    assert object_color(crop, allowed=("green",)) is None
    assert set(PALETTE) == {"black", "white", "silver", "gray", "red", "yellow", "green", "blue"}


def test_iou_matrix():
    overlaps = iou_matrix([(0, 0, 10, 10), (0, 0, 10, 10)], [(5, 0, 15, 10), (20, 20, 30, 30)])
    assert overlaps.tolist() == [[pytest.approx(1 / 3), 0.0], [pytest.approx(1 / 3), 0.0]]


def _frame(*boxes):
    return [Detection(label=label, box=box, score=0.9, source="test") for label, box in boxes]


def test_the_tracker_follows_moving_boxes_and_keeps_labels_apart():
    tracker = IouTracker(min_iou=0.3, max_missed=1)
    tracks = []
    for step in range(6):
        frame = _frame(("vehicle", (10 + 5 * step, 10, 60 + 5 * step, 40)),
                       ("vehicle", (200 - 5 * step, 100, 250 - 5 * step, 130)),
                       ("person", (10 + 5 * step, 10, 60 + 5 * step, 40)))  # same box as the car, other label
        tracks.append([d.track for d in tracker.update(frame)])
    assert tracks == [[1, 2, 3]] * 6


def test_a_track_survives_a_short_gap_but_not_a_long_one():
    tracker = IouTracker(min_iou=0.3, max_missed=2)
    box = ("person", (0, 0, 20, 60))
    seen = [d.track for d in tracker.update(_frame(box))]
    for _ in range(2):
        tracker.update([])
    seen += [d.track for d in tracker.update(_frame(box))]
    for _ in range(3):
        tracker.update([])
    seen += [d.track for d in tracker.update(_frame(box))]
    assert seen == [1, 1, 2]


def test_two_boxes_crossing_the_same_slot_are_matched_by_best_overlap():
    tracker = IouTracker()
    tracker.update(_frame(("vehicle", (0, 0, 100, 50)), ("vehicle", (90, 0, 190, 50))))
    moved = tracker.update(_frame(("vehicle", (95, 0, 195, 50)), ("vehicle", (5, 0, 105, 50))))
    assert [d.track for d in moved] == [2, 1]


def _matches(found: list[Detection], truth: list[tuple[int, int, int, int]], min_iou: float = 0.3) -> tuple[int, int]:
    """(drawn people matched by a detection, detections matching no drawn person)."""
    overlaps = iou_matrix([d.box for d in found], truth)
    matched = sum(1 for j in range(len(truth)) if (overlaps[:, j] >= min_iou).any()) if found else 0
    spurious = sum(1 for i in range(len(found)) if not (overlaps[i] >= min_iou).any()) if truth else len(found)
    return matched, spurious


def test_hog_finds_both_drawn_people_in_a_frame_and_nobody_in_the_empty_street():
    hog = HogPeopleDetector()
    index = worker_video.WALKER_FRAMES.start + 3
    [found] = hog.detect([worker_video.frame_at(index)])
    assert [d.label for d in found] == ["person", "person"] and {d.source for d in found} == {"hog"}
    assert _matches(found, worker_video.person_boxes(index)) == (2, 0)
    # SVM margins of 2.6 to 3.9 on these figures: 1 - exp(-2.3) = 0.9.
    assert all(0.9 <= d.score < 1 for d in found)
    assert hog.detect([worker_video.empty_frame()]) == [[]]


def test_hog_finds_the_drawn_people_in_every_frame_and_nothing_else():
    hog = HogPeopleDetector()
    frames = [worker_video.frame_at(i) for i in range(worker_video.FRAMES)]
    drawn = matched = spurious = 0
    for index, found in enumerate(hog.detect(frames)):
        truth = worker_video.person_boxes(index)
        hits, misses = _matches(found, truth)
        drawn, matched, spurious = drawn + len(truth), matched + hits, spurious + misses
    assert drawn == worker_video.FRAMES + len(worker_video.WALKER_FRAMES)
    assert matched >= 0.9 * drawn and spurious == 0


def test_hog_shrinks_large_frames_and_maps_boxes_back():
    frame = worker_video.frame_at(worker_video.WALKER_FRAMES.start + 3)
    doubled = cv2.resize(frame, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    [small] = HogPeopleDetector().detect([frame])
    [large] = HogPeopleDetector(max_width=worker_video.WIDTH).detect([doubled])
    assert len(large) == len(small) == 2
    by_x = lambda found: sorted(found, key=lambda d: d.box[0])  # noqa: E731
    for a, b in zip(by_x(small), by_x(large), strict=True):
        assert np.allclose(np.array(b.box) / 2, a.box, atol=6)


def test_non_max_suppression_keeps_the_best_of_overlapping_boxes():
    boxes = [(0, 0, 10, 20), (1, 1, 11, 21), (30, 0, 40, 20), (2, 0, 12, 20)]
    assert non_max_suppression(boxes, np.array([0.5, 0.9, 0.1, 0.3]), 0.4) == [1, 2]
    assert non_max_suppression(boxes, np.array([0.5, 0.9, 0.1, 0.3]), 0.9) == [1, 0, 3, 2]


def test_the_motion_detector_alone_finds_the_walker_and_the_cars_only_where_they_are_drawn():
    detector = MotionDetector()
    found = detector.detect([worker_video.frame_at(i) for i in range(worker_video.FRAMES)])
    person_frames = {i for i, boxes in enumerate(found) if any(d.label == "person" for d in boxes)}
    vehicle_frames = {i for i, boxes in enumerate(found) if any(d.label == "vehicle" for d in boxes)}
    # The standing person never moves: background subtraction cannot see them.
    assert person_frames == set(worker_video.WALKER_FRAMES)
    assert vehicle_frames == set(worker_video.RED_FRAMES) | set(worker_video.BLUE_FRAMES)


def test_with_hog_every_person_is_reported_once_and_moving_blobs_are_the_cars():
    detector = MotionDetector(people=HogPeopleDetector())
    found = detector.detect([worker_video.frame_at(i) for i in range(worker_video.FRAMES)])
    people = [[d for d in boxes if d.label == "person"] for boxes in found]
    # One detection per drawn person, never two for one (the walker's blob is claimed by its HOG box).
    assert [len(p) for p in people] == [len(worker_video.person_boxes(i)) for i in range(worker_video.FRAMES)]
    assert sum(d.source == "hog" for p in people for d in p) >= 0.9 * sum(len(p) for p in people)
    vehicle_frames = {i for i, boxes in enumerate(found) if any(d.label == "vehicle" for d in boxes)}
    assert vehicle_frames == set(worker_video.RED_FRAMES) | set(worker_video.BLUE_FRAMES)


class _Boxes(torch.nn.Module):
    """A scripted 'detector': one box per image around its darkest column, class = image index % 2."""

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        results: list[torch.Tensor] = []
        for i in range(images.shape[0]):
            column = images[i].mean(dim=0).mean(dim=0).argmin().float()
            row = torch.stack([column - 5, torch.tensor(10.0), column + 5, torch.tensor(50.0),
                               torch.tensor(0.8), torch.tensor(float(i % 2))])
            low = torch.tensor([[0.0, 0.0, 4.0, 4.0, 0.1, 0.0]])  # below the score threshold
            results.append(torch.cat([row.unsqueeze(0), low]))
        return results


def _scripted(tmp_path: Path) -> Path:
    path = tmp_path / "boxes.pt"
    torch.jit.save(torch.jit.script(_Boxes()), str(path))
    return path


def test_a_torchscript_detector_is_run_in_batches_with_its_contract(tmp_path):
    detector = TorchScriptDetector(_scripted(tmp_path), ["bicycle", "dog"], device="cpu")
    frames = [np.full((64, 80, 3), 255, np.uint8) for _ in range(3)]
    for i, frame in enumerate(frames):
        frame[:, 20 + 10 * i] = 0
    found = detector.detect(frames)
    assert [[(d.label, d.box, d.score) for d in boxes] for boxes in found] == [
        [("bicycle", (15.0, 10.0, 25.0, 50.0), pytest.approx(0.8))],
        [("dog", (25.0, 10.0, 35.0, 50.0), pytest.approx(0.8))],
        [("bicycle", (35.0, 10.0, 45.0, 50.0), pytest.approx(0.8))],
    ]


def test_a_torchscript_class_outside_the_labels_is_an_error(tmp_path):
    detector = TorchScriptDetector(_scripted(tmp_path), ["bicycle"], device="cpu")
    with pytest.raises(ValueError, match="class 1, but only 1 labels are known"):
        detector.detect([np.zeros((20, 20, 3), np.uint8)] * 2)


def test_video_analyse_writes_eta_with_tracks_colours_and_embeddings(tmp_path):
    path = worker_video.write_video(tmp_path / "street.avi")
    result = video_analyse(path, batch=4, device="cpu")
    assert result.frames == worker_video.FRAMES and result.frames_per_second > 0
    frames = result.labels["frames"]
    red = [o for f in frames.values() for o in f["objects"]["objects"]
           if o["label"] == "vehicle" and o["attrs"]["attrs"][0]["value"] == "red"]
    assert {o["frame_number"] - 1 for o in red} == set(worker_video.RED_FRAMES)
    assert len({o["index"] for o in red}) == 1
    assert len(red[0]["embedding"]) == 192
    persons = [o for f in frames.values() for o in f["objects"]["objects"] if o["label"] == "person"]
    assert all(o["attrs"]["attrs"] == [] for o in persons)  # only vehicles take a colour
    # The default detectors run HOG: the standing person is found in every frame, the walker too.
    assert {o["frame_number"] - 1 for o in persons} == set(worker_video.STANDING_FRAMES)
    assert len(persons) == worker_video.FRAMES + len(worker_video.WALKER_FRAMES)
    assert sum(o["name"] == "hog" for o in persons) >= 0.9 * len(persons)
    assert result.labels["metadata"]["frame_rate"] == worker_video.FPS
    assert result.summary()["by_label"] == {"person": len(persons), "vehicle": result.detections - len(persons)}


def test_the_user_detector_and_the_ontology_filter_are_applied(tmp_path):
    path = worker_video.write_video(tmp_path / "street.avi")
    user = TorchScriptDetector(_scripted(tmp_path), ["vehicle", "dog"], device="cpu")
    result = video_analyse(path, detectors=[user], labels={"vehicle", "person"}, embed=False, batch=7)
    objects = [o for f in result.labels["frames"].values() for o in f["objects"]["objects"]]
    # Even frames give class 0 (vehicle), odd ones 'dog', which the ontology lacks; batches of 7 restart the index.
    assert {o["name"] for o in objects} == {"boxes"}
    assert {o["label"] for o in objects} == {"vehicle"}
    assert all("embedding" not in o for o in objects)
    assert len(objects) == sum(1 for i in range(worker_video.FRAMES) if (i % 7) % 2 == 0)


def test_a_missing_or_undecodable_video_is_refused(tmp_path):
    from scoop_worker import VideoUnreadable

    with pytest.raises(VideoUnreadable, match="no video file at"):
        video_analyse(tmp_path / "missing.avi")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoUnreadable, match=r"OpenCV (cannot open|decoded no frame of) .*garbage.avi"):
        video_analyse(garbage)


def test_embeddings_of_one_car_are_closer_than_another_car_and_a_person(tmp_path):
    result = video_analyse(worker_video.write_video(tmp_path / "street.avi"), device="cpu")
    vectors: dict[str, list[np.ndarray]] = {"red": [], "blue": [], "person": []}
    for frame in result.labels["frames"].values():
        for item in frame["objects"]["objects"]:
            kind = item["attrs"]["attrs"][0]["value"] if item["label"] == "vehicle" else "person"
            vectors[kind].append(np.array(item["embedding"]))

    def similarity(a: str, b: str) -> float:
        return float(np.mean([x @ y for x in vectors[a] for y in vectors[b]]))

    assert similarity("red", "red") > similarity("red", "blue") + 0.1
    assert similarity("red", "blue") > similarity("red", "person") + 0.2
