"""CVAT for video 1.1 reader: tracks, outside, attributes, shapes, safety."""

from __future__ import annotations

import math

import pytest

from indexer.formats import FormatError, cvat, sniff
from indexer.formats.sniff import syntax_check
from indexer.records import FrameRecord, ObjectRecord, TrackRecord
from tests.samples import FORMATS_DIR


def test_sample():
    analytics = cvat.read(FORMATS_DIR / "cvat_video_1_1.xml", options={"fps": 30})
    assert analytics.warnings == []
    assert (analytics.meta.width, analytics.meta.height, analytics.meta.filename) == (1920, 1080, "north-gate-01")
    records = list(analytics.records())
    tracks = [r for r in records if isinstance(r, TrackRecord)]
    assert [(t.track, t.label, t.attrs) for t in tracks] == [
        ("0", "car", {"make": "Honda"}),
        ("1", "person", {"age": 34.0}),
    ]
    objects = [r for r in records if isinstance(r, ObjectRecord)]
    # frame 2 is outside="1": the car has left, so no detection until frame 4 brings it back
    assert [(o.index, o.label, o.track, o.attrs) for o in objects] == [
        (0, "car", "0", {"color": "red", "parked": False}),
        (1, "car", "0", {"color": "blue", "parked": True}),
        (4, "car", "0", {"color": "blue", "parked": True}),
        (0, "person", "1", {}),
    ]
    assert objects[0].box == pytest.approx((0.1, 0.1, 0.2, 0.2))
    assert objects[0].path == "track[id=0].box[frame=0]"
    assert objects[2].t == pytest.approx(4 / 30)
    # the polygon's box is the box around its points
    assert objects[3].box == pytest.approx((96 / 1920, 216 / 1080, 192 / 1920, 540 / 1080))
    assert sorted({r.index for r in records if isinstance(r, FrameRecord)}) == [0, 1, 4]


def test_fps_default_and_size_options(tmp_path):
    path = tmp_path / "bare.xml"
    path.write_text(
        '<annotations><version>1.1</version><track id="3" label="car">'
        '<ellipse frame="2" outside="0" cx="50" cy="50" rx="10" ry="5"/></track></annotations>'
    )
    with pytest.raises(FormatError, match="the CVAT file has no meta original_size"):
        cvat.check_options(path, {})
    analytics = cvat.read(path, options={"width": 100, "height": 100})
    assert analytics.warnings == ["no fps option: assumed 30 fps to turn times into frame indices"]
    objects = [r for r in analytics.records() if isinstance(r, ObjectRecord)]
    assert [(o.index, o.track, o.box) for o in objects] == [(2, "3", pytest.approx((0.4, 0.45, 0.6, 0.55)))]


def test_cvat_for_images_and_bad_values_are_refused(tmp_path):
    images = tmp_path / "images.xml"
    images.write_text('<annotations><version>1.1</version><image id="0" name="a.jpg"/></annotations>')
    with pytest.raises(FormatError, match="this is CVAT for images"):
        cvat.read(images)
    bad = tmp_path / "bad.xml"
    bad.write_text(
        "<annotations><meta><task><labels><label><name>car</name><attributes><attribute>"
        "<name>parked</name><input_type>checkbox</input_type></attribute></attributes></label>"
        "</labels><original_size><width>10</width><height>10</height></original_size></task></meta>"
        '<track id="1" label="car"><box frame="0" outside="0" xtl="0" ytl="0" xbr="1" ybr="1">'
        '<attribute name="parked">maybe</attribute></box></track></annotations>'
    )
    with pytest.raises(FormatError, match=r"track\[id=1\].box\[frame=0\].attribute\[name=parked\]: a checkbox"):
        list(cvat.read(bad, options={"fps": 30}).records())


def test_xml_bombs_and_external_entities_are_refused(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<annotations>&lol2;</annotations>"
    )
    with pytest.raises(FormatError, match="refused XML"):
        syntax_check(bomb, "xml")
    external = tmp_path / "external.xml"
    external.write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><annotations>&x;</annotations>'
    )
    with pytest.raises(FormatError, match="refused XML"):
        cvat.read(external)
    broken = tmp_path / "broken.xml"
    broken.write_text("<annotations>\n  <track id='1' label='car'>\n</annotations>")
    with pytest.raises(FormatError, match="malformed XML at line 3, column 3: mismatched tag"):
        syntax_check(broken, "xml")


def _long_attribute_file(path, megabytes: int, tail: str = "</annotations>"):
    path.write_bytes(
        b'<annotations><version>1.1</version><meta><task><original_size><width>100</width><height>100</height>'
        b'</original_size></task></meta><track id="0" label="car"><box frame="0" outside="0" xtl="1" ytl="1" '
        b'xbr="2" ybr="2"><attribute name="note">' + b"a" * (megabytes * 2**20) + b'</attribute></box></track>'
        b'<track id="1" label="car" note="' + b"b" * (megabytes * 2**20) + b'"><box frame="3" outside="0" '
        b'xtl="1" ytl="1" xbr="2" ybr="2"/></track>' + tail.encode()
    )
    return path


def test_a_30_mb_attribute_is_parsed_in_linear_time(tmp_path, monkeypatch):
    """expat 2.5 parses a pending token again from its start on every feed: fixed-size feeds of a 30 MB
    attribute cost ~500 passes over it (40 s). Doubling the feed while no event comes out keeps the
    passes logarithmic and their lengths a geometric series, so the bytes expat reads stay linear."""
    path = _long_attribute_file(tmp_path / "long.xml", 30)
    feeds: list[int] = []

    class CountingParser(sniff.XMLPullParser):
        def feed(self, data):
            feeds.append(len(data))
            super().feed(data)

    monkeypatch.setattr(sniff, "XMLPullParser", CountingParser)
    syntax_check(path, "xml")

    size = path.stat().st_size
    assert sum(feeds) == size
    # each long token is reached by at most log2(30 MB / 64 KB) + 1 = 10 doublings
    assert len(feeds) <= 2 * (math.ceil(math.log2(30 * 2**20 / sniff.XML_CHUNK_BYTES)) + 2)
    # no feed is more than twice the longest token (30 MB): memory stays bounded by the token, not the file
    assert max(feeds) <= 2 * 30 * 2**20
    objects = [r for r in cvat.read(path, options={"fps": 30}).records() if isinstance(r, ObjectRecord)]
    assert [(o.index, o.track, len(o.attrs.get("note", ""))) for o in objects] == [(0, "0", 30 * 2**20), (3, "1", 0)]


def test_a_fault_after_a_long_token_has_its_line_and_column(tmp_path):
    path = _long_attribute_file(tmp_path / "long.xml", 1, tail="\n<track>\n</annotations>")
    with pytest.raises(FormatError, match="malformed XML at line 3, column 3: mismatched tag"):
        syntax_check(path, "xml")
