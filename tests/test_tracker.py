"""A track's event: what it takes for a track to be a vehicle worth logging."""

from dataclasses import replace

import numpy as np
import pytest

from edge.common.frame import Frame
from edge.plates import PlateText
from edge.plates.reading import decode, plate_labels, vocabularies
from edge.stream.config import StreamConfig
from edge.stream.tracker import GLIMPSE_SIGHTINGS, Track, Tracker
from edge.stream.vote import FULL_WEIGHT_WIDTH
from edge.vision.pipeline import PlateRead
from tests.test_reading import probs_for


def _sighting(index: int, probs: dict, width: float = 140.0) -> tuple[Frame, PlateRead]:
    image = np.zeros((360, 640, 3), np.uint8)
    quad = np.array([[200.0, 150], [200 + width, 150], [200 + width, 150 + width / 2], [200, 150 + width / 2]])
    quad += index  # a legible plate, moving a little
    plate = PlateRead(quad=quad, score=0.9, rectified=np.full((168, 336, 3), 200, np.uint8),
                      field_boxes={}, probs=probs, reading=decode(probs))
    return Frame(image, index, 1000.0 + index / 30), plate


def _track(probs: dict, frames: int, width: float = 140.0, track: Track | None = None) -> Track:
    track = track or Track(track_id="t")
    start = track.last.frame_index + 1 if track.sightings else 0
    for i in range(start, start + frames):
        frame, plate = _sighting(i, probs, width)
        track.see(frame, plate)
        track.add_read(frame, plate, 0.5)
    return track


def test_a_plate_read_only_in_part_for_a_moment_is_a_glimpse_not_a_vehicle():
    probs = probs_for(plate_labels(PlateText.parse("出雲 307 り 45-67", "white")), sure=0.995)
    for name in ("region", "class_number"):  # far away at night: only kana and serial read
        probs[name] = np.full_like(probs[name], 1 / len(vocabularies()[name]))
    glimpse = _track(probs, GLIMPSE_SIGHTINGS - 1)
    assert glimpse.fused.fields["serial"].value == "45-67" and glimpse.fused.plate is None
    assert not glimpse.worth_an_event()
    assert _track(probs, GLIMPSE_SIGHTINGS).worth_an_event()  # seen long enough: a vehicle read in part


def test_a_plate_read_in_full_is_worth_an_event_from_its_first_frame():
    probs = probs_for(plate_labels(PlateText.parse("出雲 307 り 45-67", "white")), sure=0.995)
    assert _track(probs, 1).worth_an_event()


def test_a_plate_read_surely_but_small_settles_only_once_read_at_the_settle_width():
    config = StreamConfig()
    probs = probs_for(plate_labels(PlateText.parse("旭川 331 み ・・・1", "white")), sure=0.999)
    small = _track(probs, 10, width=config.min_read_width + 2)  # every field sure in ten frames at 52 px
    fields = small.fused.fields.values()
    assert small.fused.plate is not None and all(f.confidence >= config.settle_confidence for f in fields)
    assert not small.settled(config)  # a class number misread at 52 px is as sure as this: no early event
    assert small.worth_an_event()  # it is still logged when the vehicle leaves
    grown = _track(probs, 1, width=config.settle_width, track=small)
    assert grown.settled(config)


def test_a_lost_track_is_continued_by_its_own_plate_but_not_by_the_next_car_in_its_place():
    """The car after a vehicle that stopped at the barrier shows its plate where that one was
    lost (a leaving car's rear plate); it must start its own track, or it is never logged."""
    config = StreamConfig()
    first = probs_for(plate_labels(PlateText.parse("三河 582 と 66-28", "yellow")), sure=0.99)
    misread = probs_for(plate_labels(PlateText.parse("三河 588 と 66-28", "yellow")), sure=0.99)
    next_car = probs_for(plate_labels(PlateText.parse("板橋 52 な ・・・4", "yellow")), sure=0.99)
    for probs, continues in ((misread, True), (next_car, False)):
        tracker = Tracker("lane-1", config, 0.5)
        frame, plate = _sighting(0, first)
        track = tracker.found(frame, plate)
        track.add_read(frame, plate, 0.5)
        gone = Frame(frame.image, 30, frame.time + config.lost_after + 0.1)
        events, _ = tracker.expire(gone)  # lost: not seen for longer than lost_after
        assert tracker.live == [] and tracker.lost == [track] and len(events) == 1
        frame, plate = _sighting(31, probs)  # 1 s later (within rejoin_seconds), in its place
        assert (tracker.found(frame, plate) is track) == continues


def test_a_track_that_made_its_event_is_not_continued_by_a_plate_too_small_to_read():
    """An approaching car far away, too small to read, where a leaving car went out of sight:
    joined to that car's track, which made its event and is no longer read, it would never be
    logged. A track never logged (its plate never read) may still be continued by an unread plate."""
    config = StreamConfig()
    probs = probs_for(plate_labels(PlateText.parse("安曇野 96 け ・405", "green")), sure=0.99)
    for read in (True, False):
        tracker = Tracker("lane-1", config, 0.5)
        frame, plate = _sighting(0, probs)
        track = tracker.found(frame, plate)
        if read:
            track.add_read(frame, plate, 0.5)
        events, _ = tracker.expire(Frame(frame.image, 30, frame.time + config.lost_after + 0.1))
        assert tracker.lost == [track] and track.emitted == read and len(events) == read
        frame, plate = _sighting(31, probs)
        unread = replace(plate, probs=None, reading=None)  # as the search gives a plate under min_read_width
        assert (tracker.found(frame, unread) is track) == (not read)


def test_the_next_car_found_by_following_a_lost_track_that_made_its_event_gets_a_track_of_its_own():
    """A track that lost its plate is still followed where its plate should be, until it expires;
    the next car's plate found there is another vehicle, not the last one's, or it is never logged
    (seen on a 4 MP clip at 20 fps: a leaving car where the car before it went out of sight)."""
    config = StreamConfig()
    first = probs_for(plate_labels(PlateText.parse("姫路 376 ぬ 95-01", "white")), sure=0.99)
    second = probs_for(plate_labels(PlateText.parse("出雲 307 り 45-67", "white")), sure=0.99)
    tracker = Tracker("lane-1", config, 0.5)
    frame, plate = _sighting(0, first)
    old = tracker.found(frame, plate)
    old.add_read(frame, plate, 0.5)
    old.emit("lane-1", 0, "settled", config)
    old.following = False  # lost, not yet expired
    frame, plate = _sighting(5, second)
    assert not old.may_continue(plate)
    ended = tracker.end(old)
    new = tracker.found(frame, plate)  # as the lane takes it: a search's plate, which the old track may not continue
    assert tracker.live == [new] and tracker.lost == [old] and new is not old and not new.emitted
    assert ended.event_id == old.event_id and ended.last_frame == 0  # the old row ends at its last sighting
    new.add_read(frame, plate, 0.5)
    assert new.fused.plate == PlateText.parse("出雲 307 り 45-67", "white")


def test_a_lost_tracks_predicted_box_stays_a_box_however_far_ahead():
    """A plate shrinking as its car leaves: moving each corner on in a line would turn the box
    inside out within a few frames; the centre moves on and the size shrinks by the same ratio."""
    track = Track(track_id="t")
    image = np.zeros((360, 640, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate([(100, 100, 300, 200), (110, 104, 270, 184)]):
        quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float)
        track.see(Frame(image, i, 1000.0 + i / 30), PlateRead(quad=quad, score=0.9, rectified=None, field_boxes={}))
    for ahead in (1, 5, 15, 40):
        x1, y1, x2, y2 = track.predicted_box(1 + ahead)
        assert x2 > x1 and y2 > y1, ahead
    x1, y1, x2, y2 = track.predicted_box(2)
    assert (x1 + x2) / 2 == pytest.approx(180) and (x2 - x1) == pytest.approx(160 * 0.8)  # 10 px on, 0.8 the size


def _torn(text: str, color: str, first: str, second: str) -> dict:
    """A plate's probabilities read surely, but its colour torn: ``first`` 0.6, ``second`` 0.36."""
    probs = probs_for(plate_labels(PlateText.parse(text, color)), sure=0.999)
    colors = vocabularies()["color"]
    probs["color"] = np.full(len(colors), 0.01)
    probs["color"][colors.index(first)], probs["color"][colors.index(second)] = 0.6, 0.36
    return probs


def test_a_category_still_unsure_when_the_plate_is_fully_legible_no_longer_holds_the_event_back():
    """A two-digit class whose colour is torn between yellow (a kei car) and white (a registered
    one): every printed field sure, the category not. The event waits for it while the plate
    grows, not after it is FULL_WEIGHT_WIDTH wide (a car stopped at the barrier would otherwise
    wait for the time limit)."""
    config = StreamConfig()
    probs = _torn("品川 55 さ 12-34", "yellow", "yellow", "white")
    track = _track(probs, 10, width=FULL_WEIGHT_WIDTH - 20)
    assert track.fused.category_reading.confidence < config.settle_confidence
    assert not track.settled(config)
    track = _track(probs, 1, width=FULL_WEIGHT_WIDTH, track=track)
    assert track.settled(config) and track.fused.category_reading.confidence < config.settle_confidence


def test_a_design_plates_unsure_face_does_not_hold_the_event_back():
    """A kei design plate's thin rim: the face torn between white and design-yellow, both "kei,
    private". The gate checks the category, which is sure, so the event does not wait for the face."""
    config = StreamConfig()
    probs = _torn("徳島 5X8 わ ・・・1", "design-yellow", "white", "design-yellow")
    track = _track(probs, 10, width=FULL_WEIGHT_WIDTH - 20)
    assert track.fused.fields["color"].confidence < config.settle_confidence
    assert track.settled(config)
