"""The ``vision`` section of the configuration: how plates are looked for and read."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from edge.common.errors import ConfigError
from edge.common.sections import is_number
from edge.vision.backend import BACKENDS
from edge.vision.geometry import ShapeLimits
from edge.vision.manifest import PRECISIONS


def check_roi(roi, key: str) -> None:
    """A region of interest is four fractions of the frame, x1 < x2 and y1 < y2; else ConfigError naming ``key``."""
    if (not isinstance(roi, (tuple, list)) or len(roi) != 4 or not all(isinstance(v, (int, float)) for v in roi)
            or not (0 <= roi[0] < roi[2] <= 1 and 0 <= roi[1] < roi[3] <= 1)):
        raise ConfigError(f"{key} = {roi!r}: expected [x1, y1, x2, y2] fractions of the frame with "
                          "0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1")


SECOND_OPINION_FIELDS = ("region", "kana", "class_number")
# The fields a head on a recogniser's features may read (edge/vision/field_text.py), each with the key
# that turns it on.
HEAD_KEYS = {"region": "region_text", "class_number": "class_number_text", "kana": "kana_text",
             "serial": "serial_text"}
SECOND_OPINION_MODELS = ("ppocr5-rec", "ppocr-rec")  # PP-OCRv5 (knows Japanese), PP-OCRv4 (until stop 54)


@dataclass(frozen=True)
class VisionConfig:
    """How plates are looked for (the ``vision`` section of the config)."""

    models_dir: str | None = None  # where NAME.onnx + NAME.json live; None: engines/models
    backend: str = "auto"  # auto | onnxruntime | tensorrt
    # fp32: the models as trained; int8: their Q/DQ copies (`make quantize`), on the CPU and,
    # built into TensorRT plans (`make engines`), on the Jetson
    precision: str = "fp32"
    plans_dir: str | None = None  # TensorRT plans (`anpr engines build`); None: engines/plans
    threads: int | None = None  # ONNX Runtime threads; None: up to 4
    # The five field classifiers of a plate run at once, each on one thread, on `threads` workers
    # (true), or one after another on all of them (false); "auto": at once for INT8 copies on
    # ONNX Runtime, where that was measured faster (README, lever 50; in FP32 it was slower).
    # The same results either way.
    side_by_side: str | bool = "auto"
    vehicle_detector: bool = True
    whole_frame: str = "always"  # always | fallback (only when no vehicle is found)
    roi: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2 as fractions of the frame
    find_size: int = 512  # longer side of the whole-frame view, px (a second pass runs at half)
    vehicle_size: int = 384  # longer side of a vehicle view, px
    refine_size: int = 256  # side of the square view round each candidate, px
    plate_threshold: float = 0.5
    # With a number, the find pass also sends blobs it is unsure of (plate probability over it,
    # none of their pixels over plate_threshold) to the refine pass, which looks at them closely:
    # small and low-contrast plates show weakly in a whole-frame view. Measured at 0.25 (README,
    # "lever 6"): 4 more plates found of 1055, none more read exactly, so off (null) by default.
    weak_candidate_threshold: float | None = None
    min_candidate_area: int = 12  # view pixels
    # With a number, a plate at least this many image pixels wide that the refine pass loses is
    # taken as a whole-frame or vehicle view outlined it (the same shape, score and field
    # checks): a large plate seen close up through a wide lens is outlined in the find view,
    # where the refine view's segmenter marks only its serial. Null turns it off. Measured at
    # 500 (README, levers 8, 8b and 8c): refused with one reader (a class number given wrong at
    # 1.00 from the looser outline), kept with the ensemble reader (stress66: 4 more close-range
    # plates found, 3 more read exactly, nothing else moved, no field wrong at 0.99 added).
    find_view_fallback: int | None = 500
    # In still images (``read_image``: anpr read, eval, the gate's soak; never the lane's search),
    # every vehicle on which no plate was found, or the frame when neither a vehicle nor a plate
    # was, is searched for lettering by a text detector trained on real photographs (PP-OCRv4's,
    # edge/vision/text_finder.py) in a view whose longer side is at most text_route_size px, and
    # each pair of stacked lines goes to the refine pass as a candidate (README, levers 41, 41b).
    text_route: bool = True
    text_route_size: int = 640
    min_plate_score: float = 0.6
    # How many of the four fields must show on a plate. 3 was chosen on a held-out synthetic set
    # (anpr synth --seed 31338, 300 scenes) with the previous segmenter: false plates 0.38 -> 0.06
    # per image, recall 0.993 -> 0.989. An outline one field short is looked at once more
    # face-on, and kept there only if all four show (README lever 82).
    min_fields: int = 3
    max_vehicles: int = 4
    max_candidates: int = 12
    read_fields: bool = True  # run the field classifiers (off: find plates only)
    # A field read below this calibrated confidence is given as null (with its confidence).
    min_field_confidence: float = 0.5
    # Each plate is read from its outline scaled about its centre by each of these, and the
    # probabilities averaged: an outline a little too tight (a plate edge lost in a dark holder)
    # cuts the first or last character, the grown one does not. (1.0, 1.08) was chosen on the
    # held-out synthetic scenes at the start (anpr synth --seed 31338, anpr eval: exact match
    # 0.796 -> 0.807); (1.0, 1.05) for today's readers, with narrow_plate_* (README, lever 61).
    read_scales: tuple[float, ...] = (1.0, 1.05)
    # A plate any of whose printed fields decodes under second_opinion_below is read again from
    # its outline scaled by each of these, the views averaged in (README, lever 49); () for none.
    second_look_scales: tuple[float, ...] = (0.96, 1.04)
    # A second opinion on these fields from a recogniser trained on real text (edge/vision/
    # second_opinion.py), asked only where our classifier's best value is under
    # second_opinion_below, combined with the weight second_opinion_weight. The region's was kept
    # in lever 2 (PP-OCRv4 at 0.35) and lever 84c (PP-OCRv5, which knows Japanese, at 0.2), then
    # replaced by region_text below (lever 89c, stop 55: fewer regions read wrong); the class
    # number's was not kept (one more field wrong at 0.99 or more on held41), nor the kana's (lever
    # 84b: more kana wrong): all three are for measuring. second_opinion_model "ppocr-rec" is the
    # PP-OCRv4 one (region and class number only).
    second_opinion: tuple[str, ...] = ()
    second_opinion_model: str = "ppocr5-rec"
    second_opinion_below: float = 0.9
    second_opinion_weight: float = 0.2
    # The region read a second way where ours is unsure (its best name under field_text_below):
    # a head of our own on PP-OCRv5's features of the region cell, combined with ours at the weight
    # in its manifest (edge/vision/field_text.py, engines/models/read-region-text.onnx). Kept in
    # lever 89c (stop 55; README): regions given wrong 43 -> 33 on two fresh sets, exact within the
    # rule's one and two plates, a picture 3 % faster than the CTC opinion it replaced; taught on
    # degraded plates too in lever 91 (stop 56: three plates more exact on stress134); two such
    # heads trained apart, averaged in one graph, since lever 107 (stop 61: regions given wrong
    # 15 -> 12 on two fresh sets); three since lever 110 (stop 62: one plate more exact), and a
    # fourth taught on other plates since lever 115 (stop 62: regions given wrong 19 -> 18), and a
    # fifth trained apart on those plates since lever 121 (stop 64: regions given wrong 27 -> 26).
    region_text: bool = True
    # The same for the class number (分類番号): a head on PP-OCRv5's features of its cell, combined
    # place by place where our best class number is under field_text_below
    # (engines/models/read-class-number-text.onnx). Not kept in lever 90 (stop 55: more class
    # numbers given wrong); kept in lever 92, the head taught on degraded plates too (stop 56;
    # README: class numbers given wrong 49 -> 48 on two fresh sets, exact 1245 -> 1246, a picture
    # 1-2 % slower); averaged with a head taught on 90,000 plates since lever 112 (stop 62: class
    # numbers given wrong 28 -> 23 on two fresh sets).
    class_number_text: bool = True
    # The same for the kana (engines/models/read-kana-text.onnx): kept in lever 94 (stop 56; README:
    # kana given wrong 51 -> 48 on two fresh sets, more withheld, exact 1222 = 1222); two such heads
    # trained apart, averaged, since lever 109 (stop 61: kana given wrong 27 -> 24 on two fresh sets);
    # a third, taught on twice the plates, since lever 117 (stop 63: kana given wrong 34 -> 33); a
    # fourth, taught on plates no other head saw, since lever 123 (stop 65: kana given wrong 33 -> 30).
    kana_text: bool = True
    # The same for the serial (一連番号, engines/models/read-serial-text.onnx), place by place: kept in
    # lever 95 (stop 57; README: serials withheld 30 -> 25 and right 1415 -> 1420 on two fresh sets,
    # none more given wrong, exact 1230 -> 1232).
    serial_text: bool = True
    # The heads above are asked where our best value is under this (0.9, as second_opinion_below,
    # which also sets when a plate gets the second look; the heads' weights were fitted below 0.9).
    field_text_below: float = 0.9
    # A plate narrower than small_plate_width image pixels (its found outline) is smaller than the
    # readers learnt plates (40 px and wider, engines/reader/data.py), and there they are sure too
    # often: every confidence of its reading is tempered by small_plate_temperature and then held
    # to at most small_plate_confidence (edge/plates/reading.py: tempered), under the gate's 0.95.
    # Chosen on the synthetic tuning set of README lever 47 (800 small plates, seeds 88001 and
    # 88501); small_plate_width 0 switches it off.
    small_plate_width: float = 30.0
    small_plate_temperature: float = 2.0
    small_plate_confidence: float = 0.9
    # A plate at least small_plate_width but narrower than narrow_plate_width (50: the lane's
    # stream.min_read_width, so the lane reads none) is read a little over-surely (on the tuning
    # set of README lever 61, fields given above 0.5 on 30-50 px plates: mean confidence 0.912,
    # right 0.885): its confidences are tempered by narrow_plate_temperature, fitted there by the
    # negative log-likelihood (python -m engines.width_temperature), with no cap. narrow_plate_width
    # 0 switches it off.
    narrow_plate_width: float = 50.0
    narrow_plate_temperature: float = 1.25
    shape: ShapeLimits = field(default_factory=ShapeLimits)

    def __post_init__(self):
        def bad(key, allowed):
            raise ConfigError(f"vision.{key} = {getattr(self, key)!r}: expected {allowed}")

        if self.backend not in BACKENDS:
            bad("backend", " | ".join(BACKENDS))
        if self.precision not in PRECISIONS:
            bad("precision", " | ".join(PRECISIONS))
        if self.whole_frame not in ("always", "fallback"):
            bad("whole_frame", "always | fallback")
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            bad("threads", "a positive integer or null")
        if not (self.side_by_side is True or self.side_by_side is False or self.side_by_side == "auto"):
            bad("side_by_side", '"auto", true or false')
        for key in ("find_size", "vehicle_size", "refine_size", "text_route_size"):
            v = getattr(self, key)
            if not isinstance(v, int) or v < 64 or v % 32:
                bad(key, "an integer multiple of 32, at least 64")
        for key in ("plate_threshold", "min_plate_score", "min_field_confidence"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or not 0 < v < 1:
                bad(key, "a number between 0 and 1")
        weak = self.weak_candidate_threshold
        if weak is not None and (not isinstance(weak, (int, float)) or isinstance(weak, bool)
                                 or not 0 < weak < self.plate_threshold):
            bad("weak_candidate_threshold", "null or a number above 0 and under vision.plate_threshold")
        if not isinstance(self.min_fields, int) or not 0 <= self.min_fields <= 4:
            bad("min_fields", "an integer from 0 to 4")
        for key in ("min_candidate_area", "max_vehicles", "max_candidates"):
            v = getattr(self, key)
            if not isinstance(v, int) or v < 0:
                bad(key, "a non-negative integer")
        for key in ("second_opinion_below", "second_opinion_weight", "field_text_below"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v <= 1.01:
                bad(key, "a number above 0, at most 1.01")
        if (not isinstance(self.second_opinion, tuple)
                or not set(self.second_opinion) <= set(SECOND_OPINION_FIELDS)):
            bad("second_opinion", f"a list of fields from {', '.join(SECOND_OPINION_FIELDS)} (empty: none)")
        if self.second_opinion_model not in SECOND_OPINION_MODELS:
            bad("second_opinion_model", f"one of {', '.join(SECOND_OPINION_MODELS)}")
        if "kana" in self.second_opinion and self.second_opinion_model == "ppocr-rec":
            bad("second_opinion", "without kana when second_opinion_model is ppocr-rec (PP-OCRv4 knows no hiragana)")
        for key, low, high, allowed in (
                ("small_plate_width", 0, 400, "a plate width in image pixels from 0 (off) to 400"),
                ("small_plate_temperature", 1, 10, "a number from 1 to 10"),
                ("narrow_plate_width", 0, 400, "a plate width in image pixels from 0 (off) to 400"),
                ("narrow_plate_temperature", 1, 10, "a number from 1 to 10"),
                ("small_plate_confidence", self.min_field_confidence, 1,
                 f"a number from vision.min_field_confidence ({self.min_field_confidence}) to 1")):
            if not is_number(getattr(self, key), low, high):
                bad(key, allowed)
        fallback = self.find_view_fallback
        if fallback is not None and (not isinstance(fallback, int) or isinstance(fallback, bool) or fallback < 14):
            bad("find_view_fallback", "null or a plate width in image pixels, at least 14")
        for key in ("vehicle_detector", "read_fields", "text_route", *HEAD_KEYS.values()):
            if not isinstance(getattr(self, key), bool):
                bad(key, "true or false")
        for key, least in (("read_scales", 1), ("second_look_scales", 0)):
            v = getattr(self, key)
            if not isinstance(v, tuple) or not least <= len(v) <= 4 or not all(is_number(s, 0.8, 1.25) for s in v):
                bad(key, f"a list of {least} to 4 numbers from 0.8 to 1.25" + ("" if least else " (empty: none)"))
        if self.roi is not None:
            check_roi(self.roi, "vision.roi")

    def roi_box(self, width: int, height: int, roi: tuple[float, float, float, float] | None = None
                ) -> tuple[float, float, float, float]:
        """A region of interest (``roi``, else ``vision.roi``) in pixels of a width x height
        frame; the whole frame without one."""
        roi = roi if roi is not None else self.roi
        if roi is None:
            return (0.0, 0.0, float(width), float(height))
        check_roi(roi, "roi")
        x1, y1, x2, y2 = roi
        return (x1 * width, y1 * height, x2 * width, y2 * height)

    @classmethod
    def from_dict(cls, data: dict) -> "VisionConfig":
        known = {f.name for f in fields(cls)} - {"shape"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"vision: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        for key in ("roi", "read_scales", "second_look_scales", "second_opinion"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        return cls(**values)
