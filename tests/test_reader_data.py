"""The field classifiers' training examples, rectified from true corners or from a segmenter's outline."""

import numpy as np

from edge.vision.config import VisionConfig
from edge.vision.manifest import DEFAULT_MODELS_DIR
from edge.vision.pipeline import Pipeline
from engines.reader.data import LABEL_COLUMNS, example, write_examples


def test_examples_rectified_from_the_segmenters_outline_where_it_finds_the_plate(tmp_path):
    outliner = Pipeline(VisionConfig(models_dir=str(DEFAULT_MODELS_DIR), vehicle_detector=False, read_fields=False))
    outlined = [example(23, i, None, outliner) for i in range(6)]
    truth = [example(23, i, None) for i in range(6)]
    assert sum(by for _, _, by in outlined) >= 4  # clear procedural scenes: the committed segmenter finds most
    for (image, plate, by), (true_image, true_plate, true_by) in zip(outlined, truth):
        assert image.shape == true_image.shape == (168, 336, 3) and plate == true_plate and not true_by
        assert by == (not np.array_equal(image, true_image))  # the plate taken from its true corners otherwise

    write_examples(tmp_path / "shards", 4, seed=23, workers=1, outlines_dir=str(DEFAULT_MODELS_DIR))
    with np.load(tmp_path / "shards" / "shard-0000.npz") as z:
        assert z["outlined"].tolist() == [by for _, _, by in outlined[:4]]
        assert z["labels"].shape == (4, sum(places for _, places in LABEL_COLUMNS))


def test_letter_classes_give_only_plates_whose_class_number_has_a_letter(tmp_path):
    from edge.plates import has_letter

    plain = [example(31, i, None)[1] for i in range(40)]
    lettered = [example(31, i, None, letter_classes=True)[1] for i in range(40)]
    assert all(has_letter(p.class_number) for p in lettered)
    assert sum(has_letter(p.class_number) for p in plain) < 12  # about one plate in twelve otherwise
    assert len({p.class_number for p in lettered}) > 20  # the texts' own variety among lettered ones
    # without the option a plate is the one it always was (the committed readers' data is reproducible)
    assert [p for p in plain if has_letter(p.class_number)] == [
        q for p, q in zip(plain, lettered) if has_letter(p.class_number)]

    write_examples(tmp_path / "letters", 3, seed=31, workers=1, letter_classes=True)
    with np.load(tmp_path / "letters" / "shard-0000.npz") as z:
        assert [t.split()[0] for t in z["texts"]] == [str(p).split()[0] for p in lettered[:3]]
