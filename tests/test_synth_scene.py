"""Scenes and plate crops: reproducible by index, labels that agree with the geometry, and
datasets written with clear errors that lose nothing."""

import errno
import json
import pathlib
import shutil

import cv2
import numpy as np
import pytest

from edge.plates import PlateText
from edge.synth.backgrounds import BackgroundError, Backgrounds
from edge.synth.dataset import SynthError, read_records, write_dataset, write_sheet
from edge.synth.degrade import camera_processing, cast_shadow, wide_dynamic_range
from edge.synth.plate import LABEL_IDS
from edge.synth.scene import Overrides, make_sample, plane_homography


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory):
    """A small real backgrounds folder: three frames of ../shared when present, else made here."""
    folder = tmp_path_factory.mktemp("backgrounds")
    (folder / "images").mkdir()
    shared = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "backgrounds"
    rows = ["file,x1,y1,x2,y2"]
    if shared.is_dir():
        lines = (shared / "plates.csv").read_text().splitlines()[1:4]
        for line in lines:
            name = line.split(",")[0]
            shutil.copy(shared / "images" / name, folder / "images" / name)
            rows.append(",".join(line.split(",")[:5]))
    else:
        for i in range(3):
            frame = np.full((720, 1280, 3), 90 + 20 * i, np.uint8)
            cv2.rectangle(frame, (560, 480), (680, 510), (240, 240, 240), -1)
            cv2.imwrite(str(folder / "images" / f"f{i}.jpg"), frame)
            rows.append(f"f{i}.jpg,560,480,680,510")
    (folder / "plates.csv").write_text("\n".join(rows) + "\n")
    return Backgrounds(folder)


@pytest.mark.parametrize("kind", ["plates", "scenes"])
def test_same_seed_and_index_give_the_same_sample(kind, backgrounds):
    for index in range(4):
        a = make_sample(11, index, kind, backgrounds)
        b = make_sample(11, index, kind, backgrounds)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
        assert a.record() == b.record()
    assert not np.array_equal(make_sample(11, 0, kind).image, make_sample(12, 0, kind).image)


def test_face_on_homography_gives_a_2_to_1_rectangle_of_the_asked_width():
    h = plane_homography(330, 165, 0, 0, 0, focal=1000, width_px=200, centre=(640, 360))
    corners = cv2.perspectiveTransform(np.float64([[[0, 0]], [[330, 0]], [[330, 165]], [[0, 165]]]), h)[:, 0]
    assert np.allclose(corners, [[540, 310], [740, 310], [740, 410], [540, 410]])


@pytest.mark.parametrize("kind", ["plates", "scenes"])
def test_labels_agree_with_corners_and_field_boxes(kind, backgrounds):
    for index in range(12):
        s = make_sample(3, index, kind, backgrounds if index % 2 else None)
        record = s.record()
        assert PlateText.parse(record["plate"]["text"], record["plate"]["color"]) == s.plate
        quad = s.corners.astype(np.float32)
        plate_pixels = np.argwhere(s.labels >= LABEL_IDS["plate"])
        assert len(plate_pixels) > 50
        inside = [cv2.pointPolygonTest(quad, (float(x) + 0.5, float(y) + 0.5), True) > -2 for y, x in plate_pixels[::7]]
        assert np.mean(inside) > 0.99, (kind, index)
        x1, y1, x2, y2 = record["bbox"]
        for name, box in record["fields"].items():
            ys, xs = np.nonzero(s.labels == LABEL_IDS[name])
            if box is None:
                assert len(xs) == 0
                continue
            assert box == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            assert x1 - 2 <= box[0] and box[2] <= x2 + 2 and y1 - 2 <= box[1] and box[3] <= y2 + 2
        if record["vehicle"]:
            vx1, vy1, vx2, vy2 = record["vehicle"]
            cx, cy = quad.mean(axis=0)
            assert vx1 <= cx <= vx2 and vy1 <= cy <= vy2


def test_plate_size_in_scenes_spans_far_to_close():
    widths = [make_sample(1, i, "scenes").conditions["plate_width_px"] for i in range(40)]
    assert min(widths) < 80 and max(widths) > 200


def test_asked_width_and_lighting_are_kept():
    s = make_sample(2, 0, "plates", width_px=180, lighting="night")
    assert s.conditions["plate_width_px"] == 180 and s.conditions["lighting"] == "night"
    with pytest.raises(ValueError, match="lighting 'noon'"):
        make_sample(2, 0, "plates", lighting="noon")
    with pytest.raises(ValueError, match="kind 'cars'"):
        make_sample(2, 0, "cars")


def test_a_camera_looking_down_sees_the_same_plate_shorter_and_wider_at_the_top():
    plain = make_sample(3, 1, "scenes", width_px=140, overrides=Overrides(pitch=0.0))
    down = make_sample(3, 1, "scenes", width_px=140, overrides=Overrides(pitch=45.0))
    assert down.conditions == {**plain.conditions, "pitch": 45.0}  # no random draw added
    assert down.plate == plain.plate

    def edges(corners):  # top width, bottom width, mean height (corners clockwise from top-left)
        (tl, tr, br, bl) = np.asarray(corners, float)
        return (np.linalg.norm(tr - tl), np.linalg.norm(br - bl),
                (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2)
    top, bottom, height = edges(down.corners)
    _, _, plain_height = edges(plain.corners)
    assert top > bottom  # the top edge is nearer the camera
    assert height < 0.8 * plain_height  # foreshortened: cos 45° of the face-on height, about


def test_a_plate_lettered_in_its_faces_digits_keeps_the_drawn_1_and_the_scene():
    ones, sevens = PlateText("品川", "111", "さ", 1111, None), PlateText("品川", "177", "さ", 7171, None)
    for plate, changes in ((ones, False), (sevens, True)):
        drawn = make_sample(3, 2, "scenes", plate=plate, width_px=160)
        lettered = make_sample(3, 2, "scenes", plate=plate, width_px=160, overrides=Overrides(font_digits=True))
        assert lettered.plate == drawn.plate and np.array_equal(lettered.corners, drawn.corners)
        assert np.array_equal(lettered.image, drawn.image) != changes  # only a face's 7 differs from the drawing


def test_a_shadow_cast_across_the_plate_darkens_one_side_of_a_line_through_it():
    plain = make_sample(3, 2, "scenes", width_px=140, lighting="day", overrides=Overrides())
    shaded = make_sample(3, 2, "scenes", width_px=140, lighting="day", overrides=Overrides(shadow=True))
    assert shaded.conditions == {**plain.conditions, "cast_shadow": True}  # no random draw added
    assert np.array_equal(shaded.labels, plain.labels) and np.array_equal(shaded.corners, plain.corners)
    ratio = (shaded.image.astype(float).mean(axis=2) + 1) / (plain.image.astype(float).mean(axis=2) + 1)
    on_plate = ratio[shaded.labels > 0]
    assert (on_plate < 0.6).mean() > 0.1 and (on_plate > 0.9).mean() > 0.1  # the line crosses the plate
    # the shadow alone: the far side of the line at the shade and bluer, the near side as it was
    picture = np.full((40, 80, 3), 200.0, np.float32)
    out = cast_shadow(picture, (40.0, 20.0), 90.0, 0.4, 2.0)  # a vertical line through the middle
    lit, dark = out[:, 70], out[:, 10]
    if lit.mean() < dark.mean():
        lit, dark = dark, lit
    assert np.allclose(lit, 200.0, atol=0.5)
    assert np.allclose(dark[:, 1], 80.0, atol=0.5) and (dark[:, 0] > dark[:, 2]).all()  # BGR: blue over red
    edge = out[20, :, 1]
    assert ((edge > 85) & (edge < 195)).sum() >= 2  # a soft edge, not a step


def test_a_camera_processed_scene_is_the_same_scene_denoised_and_sharpened():
    plain = make_sample(3, 1, "scenes", width_px=100, overrides=Overrides())
    processed = make_sample(3, 1, "scenes", width_px=100, overrides=Overrides(processed=True))
    assert processed.conditions == {**plain.conditions, "camera_processing": True}  # no random draw added
    assert np.array_equal(processed.labels, plain.labels) and np.array_equal(processed.corners, plain.corners)
    assert not np.array_equal(processed.image, plain.image)
    # the processing alone: a noisy flat patch smoothed, a strong edge ringed on both sides
    picture = np.full((60, 120), 128.0, np.float32) + np.random.default_rng(0).normal(0, 6, (60, 120)).astype(np.float32)
    picture[:, 60:] += 102.0
    picture[:, 50:60] -= 88.0
    out = camera_processing(picture)
    assert out[:, 5:45].std() < 0.5 * picture[:, 5:45].std()
    assert out[:, 55:65].mean(axis=0).min() < 40 - 5 and out[:, 55:65].mean(axis=0).max() > 230 + 5


def test_a_wide_dynamic_range_scene_is_the_same_scene_with_its_tones_mapped_locally():
    plain = make_sample(3, 1, "scenes", width_px=70, overrides=Overrides())
    mapped = make_sample(3, 1, "scenes", width_px=70, overrides=Overrides(wdr=True))
    assert mapped.conditions == {**plain.conditions, "wide_dynamic_range": True}  # no random draw added
    assert np.array_equal(mapped.labels, plain.labels) and not np.array_equal(mapped.image, plain.image)
    # the mapping alone: a bright half and a dark half brought together, their detail kept
    picture = np.full((100, 200, 3), 20.0, np.float32)
    picture[:, 100:] = 240.0
    picture[40:60, 20:80:4] += 8.0  # faint detail in the shade
    out = wide_dynamic_range(picture)
    dark, bright = out[:, 5:95].mean(), out[:, 105:195].mean()
    assert bright / dark < 0.4 * (240.0 / 20.0)  # a 12:1 scene comes out under 5:1
    assert np.allclose(out[..., 0], out[..., 1]) and out.max() <= 256
    detail = out[40:60, 20:80].mean(axis=(0, 2))
    assert detail.max() - detail.min() > 8.0  # the shade's detail no fainter than it was


def test_backgrounds_have_their_plates_painted_out_unless_kept(backgrounds):
    name = backgrounds.files[0]
    original = cv2.imread(str(backgrounds.folder / "images" / name))
    frame = backgrounds.frame(0)
    x1, y1, x2, y2 = (int(v) for v in frame.boxes[0])
    inner = (slice(y1 + 2, y2 - 2), slice(x1 + 2, x2 - 2))
    assert np.abs(frame.image[inner].astype(int) - original[inner].astype(int)).mean() > 3
    outside = (slice(0, 100), slice(0, 100))
    assert np.array_equal(frame.image[outside], original[outside])
    kept = backgrounds.frame(0, keep=0)
    assert kept.kept == (0,) and np.array_equal(kept.image[inner], original[inner])


@pytest.mark.parametrize("content,fragment", [
    (None, "plates.csv is missing"),
    ("file,x1,y1,x2,y2\nro.jpg,1,2,three,4\n", "needs numeric"),
    ("file,x1,y1,x2,y2\nabsent.jpg,1,2,3,4\n", "no image of"),
])
def test_malformed_backgrounds_folder(tmp_path, content, fragment):
    (tmp_path / "images").mkdir()
    if content is not None:
        (tmp_path / "plates.csv").write_text(content)
    with pytest.raises(BackgroundError, match=fragment):
        Backgrounds(tmp_path)


def test_dataset_matches_samples_made_directly_whatever_the_workers(tmp_path):
    one = write_dataset(tmp_path / "one", 6, 9, "plates", workers=1, progress=False)
    two = write_dataset(tmp_path / "two", 6, 9, "plates", workers=2, progress=False)
    assert one.count == two.count == 6
    for a, b in zip(read_records(one.folder), read_records(two.folder)):
        assert a == b
        direct = make_sample(9, a["index"], "plates")
        assert np.array_equal(cv2.imread(str(one.folder / a["image"])), direct.image)  # PNG is lossless
        assert np.array_equal(cv2.imread(str(one.folder / a["mask"]), cv2.IMREAD_UNCHANGED), direct.labels)
    meta = json.loads((one.folder / "meta.json").read_text())
    assert meta["count"] == 6 and meta["label_ids"]["serial"] == 5
    sheet = write_sheet(one.folder, tmp_path / "sheet.png")
    assert cv2.imread(str(sheet)) is not None


def test_dataset_refuses_bad_arguments(tmp_path):
    with pytest.raises(SynthError, match="--count must be at least 1"):
        write_dataset(tmp_path / "a", 0, 1, progress=False)
    with pytest.raises(SynthError, match="--kind must be one of"):
        write_dataset(tmp_path / "a", 1, 1, kind="cars", progress=False)
    write_dataset(tmp_path / "a", 1, 1, workers=1, progress=False)
    with pytest.raises(SynthError, match="already holds a dataset"):
        write_dataset(tmp_path / "a", 1, 1, progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SynthError, match="cannot create"):
        write_dataset(tmp_path / "file" / "sub", 1, 1, progress=False)


def test_full_disk_stops_cleanly_and_keeps_every_complete_sample(tmp_path, monkeypatch):
    real_write = pathlib.Path.write_bytes
    calls = {"n": 0}

    def write_until_full(self, data):
        calls["n"] += 1
        if calls["n"] > 7:  # 3 samples (image + mask) fit, the 4th's mask does not
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_until_full)
    with pytest.raises(SynthError, match="No space left on device.*stopped after 3 samples"):
        write_dataset(tmp_path / "full", 10, 4, workers=1, progress=False)
    monkeypatch.undo()
    records = read_records(tmp_path / "full")
    assert [r["index"] for r in records] == [0, 1, 2]
    for r in records:
        assert (tmp_path / "full" / r["image"]).stat().st_size > 0 and (tmp_path / "full" / r["mask"]).exists()
    assert not (tmp_path / "full" / "masks" / "0000003.png").exists()


def test_distractors_stay_off_the_plate():
    from edge.synth.distractors import random_distractor

    rng = np.random.default_rng(11)
    plate = (500.0, 300.0, 620.0, 360.0)
    gx, gy = 40.0, 20.0
    keep_out = (plate[0] - gx, plate[1] - gy, plate[2] + gx, plate[3] + gy)
    placed = 0
    for _ in range(300):
        found = random_distractor(rng, 120.0, (1280, 720), keep_out)
        if found is None:
            continue
        art, alpha, h = found
        assert art.dtype == np.uint8 and art.shape[:2] == alpha.shape
        ph, pw = alpha.shape
        corners = cv2.perspectiveTransform(np.float64([[[0, 0], [pw, 0], [pw, ph], [0, ph]]]), h)[0]
        x1, y1 = corners.min(axis=0)
        x2, y2 = corners.max(axis=0)
        assert x2 <= plate[0] or x1 >= plate[2] or y2 <= plate[1] or y1 >= plate[3]
        placed += 1
    assert placed > 100


def test_scenes_carry_distractors_and_their_count():
    counts = [make_sample(3, i, "scenes").conditions["distractors"] for i in range(12)]
    assert max(counts) >= 2 and min(counts) == 0


def test_dataset_writes_eval_labels_anpr_eval_can_read(tmp_path):
    from edge.evaluate import read_labels

    write_dataset(tmp_path / "d", 4, seed=2, kind="scenes", backgrounds_dir=None, workers=1, progress=False)
    labels = read_labels(tmp_path / "d" / "labels.csv")
    records = read_records(tmp_path / "d")
    assert len(labels) == len(records)
    for rec in records:
        (plate,) = labels[pathlib.Path(rec["image"]).name]
        assert plate.readable == ("partial" if rec["truncated"] else "yes") and not plate.pasted
        assert plate.region == rec["plate"]["region"] and plate.serial == rec["plate"]["serial"]
        assert np.allclose(plate.box, [max(0, rec["bbox"][0]), max(0, rec["bbox"][1]),
                                       min(rec["width"], rec["bbox"][2]), min(rec["height"], rec["bbox"][3])], atol=0.5)
