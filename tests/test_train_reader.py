"""Training the field classifiers end to end, briefly (slow: run with `make test-slow`)."""

import functools
import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_train_exports_classifiers_the_runtime_loads(tmp_path):
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.data import write_examples
    from engines.reader.train import build, load, main as train

    from edge.plates.reading import READ_FIELDS, vocabularies
    from edge.vision.fields import FIELD_CROPS, cut, to_input
    from edge.vision.manifest import load_manifest
    from edge.vision.reader import MODEL_NAMES, FieldReader

    write_examples(tmp_path / "train", 24, seed=5, workers=1, backgrounds_dir=None)
    write_examples(tmp_path / "val", 12, seed=6, workers=1, backgrounds_dir=None)
    out = tmp_path / "models"
    out.mkdir()
    assert train([str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--steps", "3", "--batch", "8",
                  "--out", str(out), "--note", "test"]) == 0
    for field in READ_FIELDS:
        manifest = load_manifest(out / f"{MODEL_NAMES[field]}.onnx")
        assert manifest.classes == list(vocabularies()[field])
        assert manifest.data["training"]["note"] == "test"
        assert 0.25 <= manifest.data["calibration"]["temperature"] <= 8

    # the exported graphs give the trained networks' answers, temperature applied
    reader = FieldReader(out, backend="onnxruntime")
    plates = [np.random.default_rng(k).integers(0, 256, (168, 336, 3), dtype=np.uint8) for k in range(3)]
    states = functools.cache(lambda folder: torch.load(folder / "read-fields.pt"))  # each folder's weights read once

    def answers(folder, field, temperature=1.0, cuts=None):
        """The trained network's probabilities on ``cuts``, or on the three plates' own cuts."""
        model = build(field)
        model.load_state_dict(states(folder)[field])
        model.eval()
        cuts = np.stack([cut(p, FIELD_CROPS[field]) for p in plates]) if cuts is None else cuts
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(to_input(cuts))) / temperature, -1).numpy()
    got = reader.read(plates)
    for field in READ_FIELDS:
        want = answers(out, field, reader.classifiers[field].temperature)
        for k in range(3):
            np.testing.assert_allclose(np.asarray(got[k][field]).reshape(want[k].shape), want[k], atol=1e-4)

    # and fine-tuning starts from exported classifiers
    tuned = tmp_path / "tuned"
    assert train([str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--steps", "2", "--batch", "8",
                  "--out", str(tuned), "--init", str(out), "--fields", "kana"]) == 0
    assert "fine-tuned from" in load_manifest(tuned / "read-kana.onnx").data["training"]["recipe"]

    # --anchor holds a fine-tune to the classifiers it starts from: the same steps, at a rate that
    # moves them far, leave the anchored kana classifier's answers on held-out plates nearer the
    # starting ones (over data seeds 5, 7, 9, 11 and 13 it moved 13 to 23 times less)
    held_out = load([tmp_path / "val"])[0]["kana"]
    moved = {}
    for anchor in ("0", "30"):
        folder = tmp_path / f"anchor{anchor}"
        assert train([str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--steps", "12", "--batch", "8",
                      "--lr", "0.01", "--out", str(folder), "--init", str(out), "--fields", "kana",
                      "--shadowed", "0.25", "--anchor", anchor]) == 0
        moved[anchor] = float(np.abs(answers(folder, "kana", cuts=held_out)
                                     - answers(out, "kana", cuts=held_out)).sum())
    assert "held to the classifiers it started from" in load_manifest(
        tmp_path / "anchor30" / "read-kana.onnx").data["training"]["recipe"]
    assert moved["30"] < moved["0"] / 3

    # and the trained classifiers average with the committed ones into classifiers the runtime loads
    from engines.reader.ensemble import main as ensemble

    from edge.vision.manifest import DEFAULT_MODELS_DIR

    pair = tmp_path / "pair"
    assert ensemble([str(out), str(DEFAULT_MODELS_DIR), "--val", str(tmp_path / "val"), "--out", str(pair)]) == 0
    paired = FieldReader(pair, backend="onnxruntime")
    for field in READ_FIELDS:
        manifest = load_manifest(pair / f"{MODEL_NAMES[field]}.onnx")
        committed = load_manifest(DEFAULT_MODELS_DIR / f"{MODEL_NAMES[field]}.onnx").data["training"]
        # the committed ensemble's members join one by one, after the new network
        assert manifest.data["training"]["members"] == [load_manifest(out / f"{MODEL_NAMES[field]}.onnx").data["training"],
                                                        *committed.get("members", [committed])]
        assert 0.25 <= manifest.data["calibration"]["temperature"] <= 8
        # where the committed members are half-stored, the new network's float32 weights beside them are named
        half_stored = "weights" in load_manifest(DEFAULT_MODELS_DIR / f"{MODEL_NAMES[field]}.onnx").data
        assert ("still float32" in manifest.data["weights"]) if half_stored else ("weights" not in manifest.data)
    assert len(paired.read(plates)) == 3


def test_fine_tuning_starts_from_the_exported_classifiers_exactly():
    """From each committed classifier, or from any member where it is an ensemble."""
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    import onnx
    import onnxruntime as ort
    from engines.reader.ensemble import member_prefix_of
    from engines.reader.train import build, init_from_onnx, train_mode

    from edge.plates.reading import READ_FIELDS
    from edge.vision.fields import FIELD_CROPS
    from edge.vision.manifest import DEFAULT_MODELS_DIR
    from edge.vision.reader import MODEL_NAMES

    for field, member in [(field, 0) for field in READ_FIELDS] + [("kana", 1), ("serial", 2)]:
        path = DEFAULT_MODELS_DIR / f"{MODEL_NAMES[field]}.onnx"
        model = build(field)
        init_from_onnx(model, path, member)
        crop = FIELD_CROPS[field]
        x = np.random.default_rng(1).normal(size=(4, 3 if crop.color else 1, crop.size[1], crop.size[0]))
        x = x.astype(np.float32)
        exported = onnx.load(str(path))
        logits = member_prefix_of(exported.graph, member) + "logits"  # of an ensemble, that member's
        if logits not in [o.name for o in exported.graph.output]:
            exported.graph.output.append(onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.FLOAT, None))
        want = ort.InferenceSession(exported.SerializeToString()).run([logits], {"input": x})[0]
        train_mode(model, frozen_norms=True)  # training's forward pass, dropout aside
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
        with torch.no_grad():
            got = model(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4)
        assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_the_blur_augmentation_smears_a_share_of_the_cuts_along_a_moving_cars_path():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.train import BLUR_LENGTH, augment

    from edge.vision.fields import FIELD_CROPS

    crop = FIELD_CROPS["serial"]
    cuts = np.full((400, crop.size[1], crop.size[0]), 40, np.uint8)
    cuts[:, :, crop.size[0] // 2] = 220  # one thin upright stroke
    plain = augment(cuts, np.random.default_rng(0), crop)
    blurred = augment(cuts, np.random.default_rng(0), crop, blur=0.5)
    # how wide the stroke is at half its peak, on the mean of each cut's rows (the noise averaged out)
    def width(batch):
        profile = batch.astype(float).mean(axis=1)
        profile -= profile.min(axis=1, keepdims=True)
        return (profile > 0.5 * profile.max(axis=1, keepdims=True)).sum(axis=1)
    assert width(plain).max() <= 2
    smeared = width(blurred) > 2
    assert 0.4 < smeared.mean() < 0.6  # about half the cuts
    plate_width = crop.size[0] / (crop.box[2] - crop.box[0])
    assert width(blurred).max() <= BLUR_LENGTH[1] * plate_width + 2  # no longer than the longest blur


def test_the_small_plate_augmentation_shows_a_share_of_the_lettering_cuts_from_few_pixels():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.train import SMALL_WIDTH, augment, seen_small

    from edge.vision.fields import FIELD_CROPS

    crop = FIELD_CROPS["region"]
    cuts = np.full((400, crop.size[1], crop.size[0]), 40, np.uint8)
    cuts[:, :, ::2] = 220  # strokes one pixel apart: only a plate seen large resolves them
    # the stripes' contrast along a row; a plate SMALL_WIDTH pixels wide gives the region cut under 27 columns
    def contrast(batch):
        return np.abs(np.diff(batch.astype(float), axis=2)).mean(axis=(1, 2))
    once = seen_small(cuts[0], crop, SMALL_WIDTH[1], None)
    assert once.shape == cuts[0].shape and once.dtype == np.uint8
    assert contrast(once[None])[0] < 0.2 * contrast(cuts[:1])[0]
    assert np.array_equal(seen_small(cuts[0], crop, 400.0, 20), cuts[0])  # more pixels than the cut has: unchanged
    plain = augment(cuts, np.random.default_rng(0), crop)
    small = augment(cuts, np.random.default_rng(0), crop, small=0.3)
    washed = contrast(small) < 0.5 * contrast(plain).min()
    assert 0.22 < washed.mean() < 0.38  # about the share asked
    color = FIELD_CROPS["color"]
    colour_cuts = np.random.default_rng(1).integers(0, 255, (50, color.size[1], color.size[0], 3), dtype=np.uint8)
    assert np.array_equal(augment(colour_cuts, np.random.default_rng(2), color, small=1.0),
                          augment(colour_cuts, np.random.default_rng(2), color))  # colour is not lettering


def test_the_processed_camera_augmentation_wipes_faint_strokes_and_rings_round_strong_ones():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.train import augment, seen_processed

    from edge.vision.fields import FIELD_CROPS

    crop = FIELD_CROPS["region"]
    h, w = crop.size[1], crop.size[0]
    cut = np.full((h, w), 128, np.uint8)
    cut[:, 10:30:2] = 140  # faint strokes: 12 grey levels, under the denoise's reach
    cut[:, 60:] = 230  # a strong edge at column 60
    cut[:, 50:60] = 40
    out = seen_processed(cut, crop, 1000.0, 40.0, 1.5, 1.0, 1.0)  # a large plate: processed at the cut's own size
    assert out.shape == cut.shape and out.dtype == np.uint8
    faint = np.abs(np.diff(out[:, 10:30].astype(float), axis=1)).mean()
    assert faint < 0.3 * np.abs(np.diff(cut[:, 10:30].astype(float), axis=1)).mean()
    assert out[:, 55:65].min() < 40 and out[:, 55:65].max() > 230  # the unsharp mask overshoots both sides
    # a small plate: processed at its few pixels, so the strong edge is smeared over several cut pixels
    small = seen_processed(cut, crop, 60.0, 40.0, 1.5, 1.0, 0.0)
    assert ((small[h // 2, 50:70] > 60) & (small[h // 2, 50:70] < 210)).sum() >= 2
    cuts = np.repeat(cut[None], 400, axis=0)
    plain = augment(cuts, np.random.default_rng(0), crop)
    processed = augment(cuts, np.random.default_rng(0), crop, processed=0.3)
    def stripes(batch):  # the faint strokes' contrast along the row, averaged down the cut (noise averages out)
        return np.abs(np.diff(batch[:, :, 13:27].astype(float).mean(axis=1), axis=1)).mean(axis=1)
    assert stripes(plain).min() > 4
    wiped = stripes(processed) < 3
    assert 0.22 < wiped.mean() < 0.38  # about the share asked
    color = FIELD_CROPS["color"]
    colour_cuts = np.random.default_rng(1).integers(0, 255, (50, color.size[1], color.size[0], 3), dtype=np.uint8)
    assert np.array_equal(augment(colour_cuts, np.random.default_rng(2), color, processed=1.0),
                          augment(colour_cuts, np.random.default_rng(2), color))  # colour is not lettering


def test_the_shadow_augmentation_darkens_one_side_of_a_line_across_a_share_of_the_cuts():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.train import augment, seen_shadowed

    from edge.synth.degrade import SHADOW_SHADE
    from edge.vision.fields import FIELD_CROPS

    crop = FIELD_CROPS["serial"]
    h, w = crop.size[1], crop.size[0]
    cut = np.full((h, w), 200, np.uint8)
    out = seen_shadowed(cut, crop, np.random.default_rng(3))
    assert out.shape == cut.shape and out.dtype == np.uint8
    dark = out < 200 * (SHADOW_SHADE[1] + 0.05)
    assert 0.15 < dark.mean() < 0.85  # a line through the cut's middle half: both sides show
    assert (out >= 199).mean() > 0.1  # the sunlit side as it was
    assert out.min() >= 200 * SHADOW_SHADE[0] - 1
    cuts = np.repeat(cut[None], 400, axis=0)
    shadowed = augment(cuts, np.random.default_rng(0), crop, shadowed=0.3)
    share = (shadowed.reshape(400, -1) < 200 * (SHADOW_SHADE[1] + 0.05)).mean(axis=1) > 0.1
    assert 0.22 < share.mean() < 0.38  # about the share asked
    color = FIELD_CROPS["color"]
    colour_cuts = np.random.default_rng(1).integers(0, 255, (50, color.size[1], color.size[0], 3), dtype=np.uint8)
    assert np.array_equal(augment(colour_cuts, np.random.default_rng(2), color, shadowed=1.0),
                          augment(colour_cuts, np.random.default_rng(2), color))  # colour is not lettering


def test_the_glare_augmentation_washes_a_patch_of_the_lettering_out_on_a_share_of_the_cuts():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.train import augment, augment_marked, main as train, seen_glared

    from edge.vision.fields import FIELD_CROPS

    crop = FIELD_CROPS["serial"]
    h, w = crop.size[1], crop.size[0]
    cut = np.full((h, w), 200, np.uint8)
    cut[:, ::4] = 30  # dark strokes on a white plate
    strokes = cut == 30
    rng = np.random.default_rng(5)
    outs = [seen_glared(cut, crop, rng) for _ in range(200)]
    assert all(o.shape == cut.shape and o.dtype == np.uint8 for o in outs)
    assert all((o >= cut).all() for o in outs)  # glare only adds light
    washed = np.array([(o[strokes] > 150).mean() for o in outs])  # strokes brighter than half-way to white
    assert 0.15 < (washed > 0.1).mean() < 0.5  # a good share of patches fall on the lettering and wash strokes out...
    assert (washed < 0.9).all()  # ...a patch, never the whole cut
    assert (washed < 0.01).mean() > 0.2  # ...and many fall on the plate beside the cut
    cuts = np.repeat(cut[None], 400, axis=0)
    out, plain = augment_marked(cuts, np.random.default_rng(0), crop, glared=0.3)
    assert np.array_equal(out, augment(cuts, np.random.default_rng(0), crop, glared=0.3))
    assert 0.22 < 1 - plain.mean() < 0.38  # about the share asked, and those not held by --anchor
    color = FIELD_CROPS["color"]
    colour_cuts = np.random.default_rng(1).integers(0, 255, (50, color.size[1], color.size[0], 3), dtype=np.uint8)
    assert np.array_equal(augment(colour_cuts, np.random.default_rng(2), color, glared=1.0),
                          augment(colour_cuts, np.random.default_rng(2), color))  # colour is not lettering
    with pytest.raises(SystemExit):  # a share, from 0 to 1: refused before any data is read
        train(["nowhere", "--val", "nowhere", "--glared", "1.5"])


def test_the_cuts_a_fine_tune_is_held_on_are_those_only_the_plain_augmentation_touched():
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.finetune import anchored_loss
    from engines.reader.train import augment, augment_marked

    from edge.synth.degrade import SHADOW_SHADE
    from edge.vision.fields import FIELD_CROPS

    crop = FIELD_CROPS["kana"]
    cuts = np.full((400, crop.size[1], crop.size[0]), 200, np.uint8)
    out, plain = augment_marked(cuts, np.random.default_rng(0), crop, shadowed=0.3)
    assert np.array_equal(out, augment(cuts, np.random.default_rng(0), crop, shadowed=0.3))
    rows = out.reshape(400, -1).astype(float)
    spread = np.percentile(rows, 95, axis=1) - np.percentile(rows, 5, axis=1)  # lit and shaded sides, or noise
    assert np.array_equal(plain, spread < 200 * (1 - SHADOW_SHADE[1]) / 2)  # the shadowed cuts, only they, not held
    assert 0.22 < 1 - plain.mean() < 0.38
    _, plain = augment_marked(cuts, np.random.default_rng(0), crop, blur=0.2, small=0.2, processed=0.2)
    assert 0.35 < plain.mean() < 0.65  # about 0.8 ** 3 of them untouched
    assert augment_marked(cuts, np.random.default_rng(0), crop)[1].all()

    torch.manual_seed(0)
    logits = torch.randn(6, 2, 5)
    held = torch.tensor([True, True, False, False, True, False])
    assert float(anchored_loss(logits, logits, held)) == pytest.approx(0.0, abs=1e-6)
    other = logits.clone()
    other[2:4] += 10 * torch.randn(2, 2, 5)  # rows not held may move freely
    assert float(anchored_loss(logits, other, held)) == pytest.approx(0.0, abs=1e-6)
    other[0] += 3.0 * torch.randn(2, 5)
    assert float(anchored_loss(other, logits, held)) > 0.01
    assert float(anchored_loss(other, logits, torch.zeros(6, dtype=torch.bool))) == 0.0


def test_fine_tuning_from_a_model_stored_at_half_precision_starts_from_its_weights(tmp_path):
    """`python -m engines.half` keeps the weights as float16 behind casts; --init reads them as float32."""
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    import onnx
    from engines.reader.train import build, init_from_onnx

    from edge.vision.half import store_half
    from edge.vision.manifest import DEFAULT_MODELS_DIR

    path = DEFAULT_MODELS_DIR / "read-kana.onnx"
    half = tmp_path / "read-kana.onnx"
    onnx.save(store_half(onnx.load(str(path))), str(half))
    a, b = build("kana"), build("kana")
    init_from_onnx(a, path, 1)
    init_from_onnx(b, half, 1)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        want = p.detach().half().float() if p.dim() > 1 else p  # weights rounded to half, biases as they were
        torch.testing.assert_close(q, want, msg=name)


def test_batches_hold_lettered_class_numbers_at_the_share_asked_whatever_their_share_of_the_data():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.data import labels_row
    from engines.reader.train import Draws, lettered

    from edge.plates import PlateText

    digits = PlateText.parse("品川 330 さ 12-34", "white")
    letter = PlateText.parse("品川 33A さ 12-34", "white")
    labels = np.array([labels_row(digits)] * 700 + [labels_row(letter)] * 300)
    assert lettered(labels).tolist() == [False] * 700 + [True] * 300
    draws = Draws(labels, 0.081, np.random.default_rng(0))
    drawn = np.concatenate([draws(128) for _ in range(200)])
    assert abs(lettered(labels[drawn]).mean() - 0.081) < 0.01  # not the data's 0.3
    even = Draws(labels, None, np.random.default_rng(0))
    assert abs(lettered(labels[np.concatenate([even(128) for _ in range(200)])]).mean() - 0.3) < 0.02
    with pytest.raises(SystemExit, match="with and without"):
        Draws(labels[:700], 0.081, np.random.default_rng(0))


def _region_head_data(tmp_path, count: int):
    """``text_head``'s command line, with ``count`` region plates rendered in tmp_path/train and 12 in
    tmp_path/tune (skipped without torch or the recogniser)."""
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.text_head import main as text_head

    from edge.vision.manifest import DEFAULT_MODELS_DIR

    if not (DEFAULT_MODELS_DIR / "ppocr5-rec.onnx").exists():
        pytest.skip("engines/models/ppocr5-rec.onnx is made by `make models`")
    assert text_head(["render", str(tmp_path / "train"), "--seed", "5", "--count", str(count), "--workers", "1"]) == 0
    assert text_head(["render", str(tmp_path / "tune"), "--seed", "6", "--count", "12", "--workers", "1"]) == 0
    return text_head


def test_the_region_head_trains_on_the_recogniser_and_the_runtime_loads_it(tmp_path):
    text_head = _region_head_data(tmp_path, 24)
    from edge.vision.field_text import MODEL_NAME, FieldTextReader
    from edge.vision.manifest import DEFAULT_MODELS_DIR
    from edge.vision.second_opinion import Recogniser

    out = tmp_path / "models"
    assert text_head(["train", str(tmp_path / "train"), "--tune", str(tmp_path / "tune"), "--out", str(out),
                      "--epochs", "1"]) == 0
    reader = FieldTextReader(Recogniser(DEFAULT_MODELS_DIR / "ppocr5-rec.onnx"), out / f"{MODEL_NAME}.onnx")
    assert 0 <= reader.weight <= 1 and reader.manifest.data["training"]["plates"] == 24
    assert reader.manifest.data["input"]["from"]["model"] == "ppocr5-rec.onnx"  # the default recogniser
    plates = [np.random.default_rng(k).integers(0, 256, (168, 336, 3), dtype=np.uint8) for k in range(2)]
    probs = reader.probabilities(plates)
    assert probs.shape == (2, 139) and np.allclose(probs.sum(axis=1), 1.0)
    sure = np.zeros(139)
    sure[3] = 1.0
    assert reader.rescore([sure], plates[:1], below=0.9)[0] is sure  # a plate ours is sure of is not read


def test_heads_trained_apart_merge_into_one_the_runtime_loads(tmp_path):
    text_head = _region_head_data(tmp_path, 16)
    from edge.vision.field_text import MODEL_NAME, MODEL_NAMES, FieldTextReader
    from edge.vision.manifest import DEFAULT_MODELS_DIR
    from edge.vision.second_opinion import Recogniser

    for seed in ("0", "1"):
        assert text_head(["train", str(tmp_path / "train"), "--tune", str(tmp_path / "tune"),
                          "--out", str(tmp_path / f"h{seed}"), "--epochs", "1", "--seed", seed]) == 0
    heads = [str(tmp_path / f"h{seed}" / f"{MODEL_NAME}.onnx") for seed in ("0", "1")]
    out = tmp_path / "merged"
    assert text_head(["merge", *heads, "--tune", str(tmp_path / "tune"), "--out", str(out)]) == 0
    reader = FieldTextReader(Recogniser(DEFAULT_MODELS_DIR / "ppocr5-rec.onnx"), out / f"{MODEL_NAME}.onnx")
    training = reader.manifest.data["training"]
    assert [m["seed"] for m in training["members"]] == [0, 1] and 0 <= reader.weight <= 1
    plates = [np.random.default_rng(k).integers(0, 256, (168, 336, 3), dtype=np.uint8) for k in range(2)]
    probs = reader.probabilities(plates)
    assert probs.shape == (2, 139) and np.allclose(probs.sum(axis=1), 1.0)
    # a merged head grows by another: its members come back from its graph and manifest
    assert text_head(["merge", str(out / f"{MODEL_NAME}.onnx"), heads[0], "--tune", str(tmp_path / "tune"),
                      "--out", str(tmp_path / "again")]) == 0
    grown = json.loads((tmp_path / "again" / f"{MODEL_NAME}.json").read_text(encoding="utf-8"))
    assert [m["seed"] for m in grown["training"]["members"]] == [0, 1, 0]
    assert grown["task"].endswith(": 3 heads trained apart, averaged") and grown["task"].count("heads") == 1
    kana = str(DEFAULT_MODELS_DIR / f"{MODEL_NAMES['kana']}.onnx")
    with pytest.raises(SystemExit, match="another field"):
        text_head(["merge", heads[0], kana, "--tune", str(tmp_path / "tune"), "--out", str(tmp_path / "mixed")])


def test_a_head_trains_on_several_folders_and_its_manifest_names_each(tmp_path):
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.text_head import main as text_head

    from edge.vision.field_text import MODEL_NAME
    from edge.vision.manifest import DEFAULT_MODELS_DIR, load_manifest

    if not (DEFAULT_MODELS_DIR / "ppocr5-rec.onnx").exists():
        pytest.skip("engines/models/ppocr5-rec.onnx is made by `make models`")
    for name, seed, count in (("a", "5", "8"), ("b", "7", "6"), ("tune", "6", "8")):
        assert text_head(["render", str(tmp_path / name), "--seed", seed, "--count", count, "--workers", "1"]) == 0
    out = tmp_path / "models"
    assert text_head(["train", str(tmp_path / "a"), str(tmp_path / "b"), "--tune", str(tmp_path / "tune"),
                      "--out", str(out), "--epochs", "1"]) == 0
    training = load_manifest(out / f"{MODEL_NAME}.onnx").data["training"]
    assert training["plates"] == 14
    assert [(d["folder"], d["seed"], d["count"]) for d in training["data"]] == [("a", 5, 8), ("b", 7, 6)]


def test_the_heads_data_holds_degraded_plates_once_more_with_their_labels(tmp_path):
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.data import example
    from engines.reader.text_head import DEGRADATIONS, degraded, load
    from engines.reader.text_head import main as text_head

    plate, _, _ = example(5, 0, None)  # rectified, 336 x 168 BGR
    for kind in DEGRADATIONS:
        out = degraded(plate, kind, np.random.default_rng(1))
        assert out.shape == plate.shape and out.dtype == np.uint8 and np.abs(out.astype(int) - plate).mean() > 1, kind
    with pytest.raises(ValueError, match="no degradation"):
        degraded(plate, "rain", np.random.default_rng(1))

    assert text_head(["render", str(tmp_path / "all"), "--seed", "5", "--count", "6", "--workers", "1",
                      "--degraded", "1"]) == 0
    rows = load(tmp_path / "all")
    assert len(rows["col"]) == 12 and (rows["lab"][0::2] == rows["lab"][1::2]).all()  # each plate, then degraded
    assert not (rows["col"][0::2] == rows["col"][1::2]).all(axis=(1, 2, 3)).any()
    meta = json.loads((tmp_path / "all" / "meta.json").read_text())
    assert meta["degraded"] == 1 and "ipaexg.ttf" in meta["fonts"]  # the bundled face is always among them
    with pytest.raises(SystemExit, match="--degraded"):
        text_head(["render", str(tmp_path / "bad"), "--count", "2", "--degraded", "1.5"])


def test_a_committed_head_is_calibrated_again_with_its_weights_kept(tmp_path):
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.text_head import main as text_head

    from edge.vision.field_text import MODEL_NAMES, FieldTextReader
    from edge.vision.manifest import DEFAULT_MODELS_DIR
    from edge.vision.second_opinion import Recogniser

    head = DEFAULT_MODELS_DIR / f"{MODEL_NAMES['serial']}.onnx"
    if not (DEFAULT_MODELS_DIR / "ppocr5-rec.onnx").exists():
        pytest.skip("engines/models/ppocr5-rec.onnx is made by `make models`")
    assert text_head(["render", str(tmp_path / "tune"), "--seed", "6", "--count", "16", "--workers", "1",
                      "--field", "serial", "--degraded", "1"]) == 0
    out = tmp_path / "models"
    out.mkdir()
    (out / head.name).symlink_to(head)  # a folder of links to the committed models, as a lever's
    assert text_head(["calibrate", str(tmp_path / "tune"), "--field", "serial", "--out", str(out)]) == 0
    assert not (out / head.name).is_symlink() and (out / head.name).read_bytes() == head.read_bytes()
    assert head.with_suffix(".json").exists() and (out / head.name).with_suffix(".json").exists()
    manifest = json.loads((out / head.name).with_suffix(".json").read_text(encoding="utf-8"))
    committed = json.loads(head.with_suffix(".json").read_text(encoding="utf-8"))
    assert manifest["calibration"]["fitted_on"]["degraded"] == 1 and manifest["calibration"]["fitted_on"]["count"] == 16
    assert manifest["calibration"]["before_refit"]["weight"] == committed["calibration"]["weight"]
    reader = FieldTextReader(Recogniser(DEFAULT_MODELS_DIR / "ppocr5-rec.onnx"), out / head.name, field="serial")
    assert 0 <= reader.weight <= 1
    with pytest.raises(SystemExit, match="not the kana"):  # a head is refitted for the field it reads
        other = tmp_path / "other"
        other.mkdir()
        for name in (head.name, head.with_suffix(".json").name, "ppocr5-rec.onnx", "ppocr5-rec.json"):
            (other / name.replace("serial", "kana")).symlink_to(DEFAULT_MODELS_DIR / name)
        text_head(["calibrate", str(tmp_path / "tune"), "--field", "kana", "--models", str(other)])


def test_the_heads_weight_is_fitted_over_the_plates_ours_is_under_below():
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from engines.reader.text_head import calibrate

    from edge.vision.config import VisionConfig

    def plates(ours_class, ours_p, head_class, n=40, classes=5):
        mine = np.full((n, 1, classes), (1 - ours_p) / (classes - 1))
        mine[:, 0, ours_class] = ours_p
        logits = np.zeros((n, 1, classes))
        logits[:, 0, head_class] = 4.0
        return mine, logits

    # ours unsure and right where the head is wrong; ours at 0.95 and wrong where the head is right
    (mine_a, head_a), (mine_b, head_b) = plates(0, 0.6, 1), plates(2, 0.95, 0)
    mine, logits = np.concatenate([mine_a, mine_b]), np.concatenate([head_a, head_b])
    labels = np.zeros((len(mine), 1), np.int64)
    asked_below_default = calibrate(logits, mine, labels, "kana")
    assert asked_below_default["fitted_below"] == VisionConfig().field_text_below == 0.9
    assert asked_below_default["weight"] == 0.0  # only the first plates are under 0.9: the head only misleads there
    asked_below_099 = calibrate(logits, mine, labels, "kana", below=0.99)
    assert asked_below_099["fitted_below"] == 0.99 and asked_below_099["weight"] > 0.2
