"""Finding plates in a frame and reading their fields: ``find(frame, roi)``, ``read(plates)``,
``follow(frame, box)`` for a plate already tracked, and ``read_image(image)`` (find, then read).

1. The vehicle detector (Tiny YOLOv3) finds vehicles.
2. The segmenter looks for plates on the whole frame (or the lane's region of interest) at two
   scales, and on each vehicle that is small in the frame at a closer scale. The whole-frame pass
   runs by default even when vehicles are found: Tiny YOLOv3 often misses the close,
   frame-filling car and finds the far ones instead.
3. Each candidate is segmented again in a window round it (the *refine* pass); its mask gives
   the four corners, shapes that cannot be a plate are dropped, and the plate is rectified.
   In still images (``read_image``), a vehicle on which no plate was found (or the frame, when
   neither was) is then searched for lettering by a text detector trained on real photographs
   (edge/vision/text_finder.py), and each group of lines goes to the same refine pass: the
   second route, ``by_text``.
4. The field classifiers read each rectified plate, from its outline and from the outline grown
   by ``vision.read_scales``, averaging the views (edge/vision/reader.py), and the grammar
   decodes their probabilities into a valid plate or null fields (edge/plates/reading.py), the
   colour's weighed with a design plate's yellow rim looked for in the frame (edge/vision/rim.py).
   Each plate keeps those probabilities, so a vehicle's frames can be fused before decoding.

One ``Pipeline`` (one set of model sessions) serves every lane: the lane's region of interest
is passed with each call. Values are immutable; reading a plate gives a new ``PlateRead``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from edge.common.boxes import area, centre, holds, intersection, iou, longer_side, mask_box, nms
from edge.common.errors import ImageError
from edge.common.frame import Frame
from edge.plates import FIELDS
from edge.plates.reading import READ_FIELDS, Reading, colorless, decode, tempered, yellow_rim_weighed
from edge.vision.config import HEAD_KEYS, VisionConfig
from edge.vision.detector import Vehicle, VehicleDetector
from edge.vision.field_text import MODEL_NAMES as TEXT_MODELS
from edge.vision.field_text import FieldTextReader, feature_source
from edge.vision.geometry import CANONICAL_SIZE, quad_from_mask, rectify, rectify_transform, scaled, shape_problem
from edge.vision.manifest import DEFAULT_MODELS_DIR, model_file
from edge.vision.reader import MODEL_NAMES, FieldReader, shows_color
from edge.vision.rim import rim_odds
from edge.vision.second_opinion import (ClassNumberSecondOpinion, FieldSecondOpinion, KanaSecondOpinion, Recogniser,
                                         RegionSecondOpinion)
from edge.vision.segmenter import PlateSegmenter, WarpedWindow, Window, fit_window
from edge.vision.shrink import FrameShrinks
from edge.vision.text_finder import TextFinder


# A field "shows" on a rectified plate when this many of its 336 x 168 pixels are labelled with
# it: about a tenth of the smallest field (the kana) on a medium plate.
MIN_FIELD_PIXELS = 120

# A vehicle box whose longer side is under this many image pixels is not searched on its own
# (by the find pass or the second route): any plate on it is far too small to read.
MIN_VEHICLE_SIDE = 24

# The segmenter learnt refine views with the plate 0.35 to 1.0 of the window's side
# (engines/segmenter/data.py); a blob the refine window sees smaller is looked at again in a
# window it fills CLOSER_SHARE of (a plate close up at a steep yaw, whose box is as tall as wide).
SMALLEST_REFINE_SHARE = 0.35
CLOSER_SHARE = 0.6

# A plate seen so slanted that one side of its outline is KEYSTONE times its opposite (close
# up through a wide lens) is outlined once more in a view warped so that outline is a face-on
# rectangle filling SQUARED_SHARE of the view's width: the segmenter learnt plates seen at
# moderate slants, and there the near end it left out shows as an ordinary plate's corner.
# 1.3 at first (lever 26); 1.15 since lever 55, as the segmenter's outline of such a plate is
# often squarer than the plate (README).
KEYSTONE = 1.15
SQUARED_SHARE = 0.6


@dataclass(frozen=True, eq=False)
class PlateRead:
    """One plate found in an image and, once read, its fields (None where not read with confidence)."""

    quad: np.ndarray  # 4x2 image pixels: TL, TR, BR, BL
    score: float  # how sure the segmenter is that this is a plate (mean probability inside the quad)
    rectified: np.ndarray  # canonical face-on BGR image, CANONICAL_SIZE
    field_boxes: dict[str, list[int] | None]  # on the rectified image
    vehicle: Vehicle | None = None
    source: np.ndarray | None = field(default=None, repr=False)  # the frame it was found in, for reading
    found_by: str = "segmenter"  # or "lettering": the second route (``by_text``) found it
    color_seen: bool = True  # set when read; False: a grey plate (infrared or monochrome camera)
    probs: dict[str, np.ndarray] | None = None  # the field classifiers' calibrated probabilities, once read
    reading: Reading | None = None  # the decoded fields, once the field classifiers have run

    def _value(self, name: str) -> str | None:
        return None if self.reading is None else self.reading.fields[name].value

    region = property(lambda self: self._value("region"))
    class_number = property(lambda self: self._value("class_number"))
    kana = property(lambda self: self._value("kana"))
    serial = property(lambda self: self._value("serial"))
    color = property(lambda self: self._value("color"))

    @property
    def number(self) -> int | None:
        return None if self.reading is None else self.reading.number

    @property
    def category(self) -> str | None:
        return None if self.reading is None else self.reading.category

    @property
    def text(self) -> str | None:
        return self.reading.plate.format() if self.reading and self.reading.plate else None

    @property
    def valid(self) -> bool:
        return self.text is not None

    @property
    def confidence(self) -> float | None:
        return None if self.reading is None else round(self.reading.confidence, 3)

    def spelled(self, missing: str, names: tuple[str, ...] = READ_FIELDS) -> str:
        """The fields read, in plate order, ``missing`` standing for one withheld."""
        return " ".join(missing for _ in names) if self.reading is None else self.reading.spelled(missing, names)

    @property
    def fields(self) -> dict[str, dict]:
        """Each field's value and confidence; empty until read."""
        return {} if self.reading is None else {name: self.reading.fields[name].to_dict() for name in READ_FIELDS}

    @property
    def width(self) -> float:
        """The plate's width in image pixels (mean of its top and bottom sides)."""
        q = self.quad
        return float((np.hypot(*(q[1] - q[0])) + np.hypot(*(q[2] - q[3]))) / 2)

    @property
    def bbox(self) -> list[float]:
        return [float(self.quad[:, 0].min()), float(self.quad[:, 1].min()),
                float(self.quad[:, 0].max()), float(self.quad[:, 1].max())]

    def to_dict(self) -> dict:
        """The plate's part of the `anpr read --json` contract (docs in DESIGN.md)."""
        fields = self.fields or {name: {"value": None, "confidence": None} for name in READ_FIELDS}
        return {
            "text": self.text, "region": self.region, "class_number": self.class_number, "kana": self.kana,
            "serial": self.serial, "number": self.number, "color": self.color, "category": self.category,
            "valid": self.valid, "confidence": self.confidence, "fields": fields, "color_seen": self.color_seen,
            "plate_score": round(self.score, 3),
            "found_by": self.found_by,
            "quad": [[round(float(x), 1), round(float(y), 1)] for x, y in self.quad],
            "bbox": [round(v, 1) for v in self.bbox],
            "vehicle": None if self.vehicle is None else {
                "label": self.vehicle.label, "score": round(self.vehicle.score, 3),
                "box": [round(v, 1) for v in self.vehicle.box]},
        }


@dataclass(frozen=True)
class ReadResult:
    """What one frame showed: its plates (best first), its vehicles, the time each stage took,
    and the frame's index and capture time when it came from a source."""

    plates: list[PlateRead]
    vehicles: list[Vehicle]
    timing_ms: dict[str, float]
    index: int | None = None
    time: float | None = None


@dataclass(frozen=True, eq=False)
class _Candidate:
    box: tuple[float, float, float, float]  # image pixels
    score: float
    vehicle: Vehicle | None
    # (find view's segmentation, the blob's pixels in it) for each find view that outlined this
    # candidate: its own, and those of the other views' blobs it stands for (vision.find_view_fallback)
    outlines: tuple = ()


def load_image(path) -> np.ndarray:
    """A BGR image from a file, or ImageError saying why not."""
    if not Path(path).is_file():
        raise ImageError(f"{path}: no such file")
    data = np.fromfile(str(path), np.uint8)
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageError(f"{path}: not a readable image (corrupt or unsupported format)")
    return image


class Pipeline:
    """Finds plates in still images or frames; one instance per process (models load once)."""

    def __init__(self, config: VisionConfig | None = None):
        self.config = config or VisionConfig()
        c = self.config
        models = Path(c.models_dir) if c.models_dir else DEFAULT_MODELS_DIR
        self.detector = (VehicleDetector(model_file(models, "yolov3-tiny", c.precision), c.backend,
                                         threads=c.threads, plans_dir=c.plans_dir) if c.vehicle_detector else None)
        self.segmenter = PlateSegmenter(model_file(models, "plate-seg", c.precision), c.backend, threads=c.threads,
                                        plans_dir=c.plans_dir)
        self.reader = (FieldReader(models, c.backend, c.threads, c.precision, c.plans_dir, c.side_by_side)
                       if c.read_fields else None)
        self.text_finder = (TextFinder(models / "ppocr-det.onnx", c.backend, c.threads, c.plans_dir, c.text_route_size)
                            if c.text_route else None)
        self.second_opinion: dict[str, FieldSecondOpinion | ClassNumberSecondOpinion] = {}
        self.field_text: dict[str, FieldTextReader] = {}  # field -> a head on a recogniser's features
        recognisers: dict[str, Recogniser] = {}  # one session a recogniser, whoever asks it

        def recogniser(name: str) -> Recogniser:
            if name not in recognisers:
                recognisers[name] = Recogniser(models / f"{name}.onnx", c.backend, c.threads)
            return recognisers[name]

        if c.read_fields and c.second_opinion:
            kinds = {"region": RegionSecondOpinion, "kana": KanaSecondOpinion, "class_number": ClassNumberSecondOpinion}
            self.second_opinion = {field: kinds[field](recogniser(c.second_opinion_model))
                                   for field in c.second_opinion}
        for field, key in HEAD_KEYS.items():
            if c.read_fields and getattr(c, key):
                head = models / f"{TEXT_MODELS[field]}.onnx"
                self.field_text[field] = FieldTextReader(recogniser(feature_source(head)), head, c.backend, c.threads,
                                                          field)

    def model_holders(self) -> dict[str, tuple[object, str]]:
        """Model name -> (the component whose ``backend`` runs it, its input's name): where the
        quantizer records calibration inputs or tries an INT8 model, and the benchmark times."""
        out = {}
        if self.detector is not None:
            out["yolov3-tiny"] = (self.detector, self.detector.manifest.input["name"])
        out["plate-seg"] = (self.segmenter, self.segmenter.manifest.input["name"])
        if self.reader is not None:
            for field, c in self.reader.classifiers.items():
                out[MODEL_NAMES[field]] = (c, c.input)
        return out

    def models_in_use(self) -> dict[str, dict]:
        """Each model's file and the backend running it (FP32 or INT8, ONNX Runtime or TensorRT)."""
        holders = {name: holder for name, (holder, _) in self.model_holders().items()}
        for opinion in self.second_opinion.values():
            holders[opinion.recogniser.manifest.name] = opinion.recogniser
        for field, head in self.field_text.items():
            holders[head.recogniser.manifest.name] = head.recogniser
            holders[TEXT_MODELS[field]] = head
        if self.text_finder is not None:
            holders["ppocr-det"] = self.text_finder
        return {name: {"file": holder.manifest.path.name, "backend": type(holder.backend).__name__}
                for name, holder in holders.items()}

    # -- stage 2: candidates -------------------------------------------------------------------

    def _search_regions(self, image: np.ndarray, vehicles: list[Vehicle],
                        roi: tuple[float, float, float, float]) -> list[tuple[tuple, int, Vehicle | None]]:
        """(box, longest side in view pixels, vehicle) for every find pass."""
        c = self.config
        h, w = image.shape[:2]
        passes = []
        if c.whole_frame == "always" or not vehicles:
            passes += [(roi, c.find_size, None), (roi, c.find_size // 2, None)]
        frame_scale = c.find_size / max(roi[2] - roi[0], roi[3] - roi[1])  # view px per image px
        for v in _largest(vehicles, c.max_vehicles):
            side = longer_side(v.box)
            if side < MIN_VEHICLE_SIDE or c.vehicle_size / side * 1.25 < frame_scale:
                continue  # the whole-frame pass already sees this vehicle more closely
            passes.append((_around(v.box, w, h), c.vehicle_size, v))
        return passes

    def _candidates(self, image: np.ndarray, vehicles: list[Vehicle], roi) -> list[_Candidate]:
        c = self.config
        found: list[_Candidate] = []
        weak: list[_Candidate] = []
        shrinks = FrameShrinks(image)  # the half-scale whole-frame view from the full one's shrink
        for box, longest, vehicle in self._search_regions(image, vehicles, roi):
            seg = self.segmenter.segment(image, fit_window(box, longest), shrinks)
            sure = seg.plate > c.plate_threshold
            found += _blobs(seg, sure, c.min_candidate_area, vehicle)
            if c.weak_candidate_threshold is not None:
                weak += _blobs(seg, seg.plate > c.weak_candidate_threshold, c.min_candidate_area, vehicle, skip=sure)
        sure_ones = _best(found)
        if c.find_view_fallback is not None:
            # the closest view first: it outlines a large plate in the most detail
            sure_ones = [replace(s, outlines=tuple(sorted((o for f in found if f is s or iou(f.box, s.box) > 0.3
                                                          for o in f.outlines), key=lambda o: -o[0].window.scale)))
                         for s in sure_ones]
        # the unsure blobs after the sure ones, whatever they score, and none on a sure one
        # (a plate another view saw clearly)
        unsure_ones = [w for w in _best(weak) if all(intersection(w.box, f.box) < 0.3 * area(w.box) for f in sure_ones)]
        return sure_ones + unsure_ones

    # -- stage 3: refine -----------------------------------------------------------------------

    def _refine(self, image: np.ndarray, cand: _Candidate, vehicles: list[Vehicle]) -> PlateRead | None:
        """The plate round a candidate, or None when what is there cannot be a plate."""
        x1, y1, x2, y2 = cand.box
        side = max(1.6 * (x2 - x1), 3.2 * (y2 - y1), 16.0)
        middle = centre(cand.box)
        size = self.config.refine_size
        # a blob cut by the window's edge is looked at again in a wider window, and one the window
        # sees smaller than the segmenter learnt in a closer one: each once
        closer, wider = True, True
        for _ in range(3):
            window = Window(middle[0] - side / 2, middle[1] - side / 2, size / side, size, size)
            seg = self.segmenter.segment(image, window)
            blob = _blob_at(seg.plate > self.config.plate_threshold, window.to_view([middle])[0])
            if blob is None:
                return None
            x1, y1, x2, y2 = mask_box(blob)  # x2, y2 exclusive
            middle = tuple(window.to_image([[(x1 + x2 - 1) / 2, (y1 + y2 - 1) / 2]])[0])
            if _uncut((x1, y1, x2, y2), size):
                if closer and max(x2 - x1, y2 - y1) < SMALLEST_REFINE_SHARE * size:
                    closer, side = False, max(max(x2 - x1, y2 - y1) / window.scale / CLOSER_SHARE, 16.0)
                    continue
                return self._plate(image, seg, blob, cand.vehicle or _vehicle_of(blob, seg.window, vehicles))
            if not wider:
                return None
            wider, side = False, side * 1.8
        return None

    def _as_found(self, image: np.ndarray, cand: _Candidate, vehicles: list[Vehicle]) -> PlateRead | None:
        """The plate as a find view outlined it, when the refine pass found none round it and it
        is at least ``vision.find_view_fallback`` image pixels wide."""
        least = self.config.find_view_fallback
        if least is None:
            return None
        for seg, blob in cand.outlines:
            plate = self._plate(image, seg, blob, cand.vehicle or _vehicle_of(blob, seg.window, vehicles))
            if plate is not None:
                return plate if plate.width >= least else None
        return None

    def _squared(self, image: np.ndarray, plate: PlateRead | None) -> PlateRead | None:
        """A plate whose outline is steeply keystoned, outlined again in a view that shows it
        face-on (KEYSTONE); the outline it had when that view finds no plate there."""
        if plate is None:
            return None
        q = np.asarray(plate.quad, np.float64)
        return (self._face_on(image, q, plate.vehicle, self.config.min_fields) or plate) if _keystoned(q) else plate

    def _face_on(self, image: np.ndarray, quad: np.ndarray, vehicle: Vehicle | None,
                 min_fields: int) -> PlateRead | None:
        """The plate outlined in a view warped so that ``quad`` (image pixels) is a face-on
        rectangle filling SQUARED_SHARE of its width, with ``min_fields`` of its fields showing,
        or None when that view shows no such plate."""
        size = self.config.refine_size
        w = SQUARED_SHARE * size
        h = w * CANONICAL_SIZE[1] / CANONICAL_SIZE[0]
        x0, y0 = (size - w) / 2, (size - h) / 2
        window = WarpedWindow.onto(quad, [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]], size, size)
        if not window.in_front():
            return None
        seg = self.segmenter.segment(image, window)
        blob = _blob_at(seg.plate > self.config.plate_threshold, (size / 2, size / 2))
        if blob is None or not _uncut(mask_box(blob), size):
            return None
        return self._plate(image, seg, blob, vehicle, min_fields)

    def _plate(self, image: np.ndarray, seg, blob: np.ndarray, vehicle: Vehicle | None,
               min_fields: int | None = None) -> PlateRead | None:
        """The plate a blob outlines in a refine view, if its shape and score allow it to be one
        and ``min_fields`` of its fields show (None: ``vision.min_fields``, and an outline one
        field short is looked at once more face-on, where all four must show: the segmenter
        often leaves the upper row of a plate seen at a steep compound slant unlabelled, and
        labels it in a view that undoes the slant; README lever 82)."""
        window = seg.window
        quad_view = quad_from_mask(blob)
        if quad_view is None or shape_problem(quad_view, blob, self.config.shape, scale=window.scale) is not None:
            return None
        inside = np.zeros(blob.shape, np.uint8)
        cv2.fillConvexPoly(inside, np.round(quad_view).astype(np.int32), 1)
        score = float(seg.plate[inside > 0].mean())
        if score < self.config.min_plate_score:
            return None
        quad = window.to_image(quad_view)
        # field boxes: the refine view's labels carried onto the canonical plate (the warp only
        # samples inside the quad, so labels are needed only there and two pixels round it)
        (qx1, qy1), (qx2, qy2) = np.floor(quad_view.min(axis=0)) - 2, np.ceil(quad_view.max(axis=0)) + 3
        near = (max(0, int(qx1)), max(0, int(qy1)), max(0, int(qx2)), max(0, int(qy2)))
        labels = cv2.warpPerspective(seg.labels(near), rectify_transform(quad_view), CANONICAL_SIZE,
                                     flags=cv2.INTER_NEAREST)
        masks = {name: labels == seg.classes.index(name) for name in FIELDS}
        shown = sum(int(m.sum()) >= MIN_FIELD_PIXELS for m in masks.values())
        if shown < (min_fields if min_fields is not None else self.config.min_fields):
            # lettering, but not laid out as a plate's fields in this view
            if min_fields is None and shown == self.config.min_fields - 1:
                return self._face_on(image, np.asarray(quad, np.float64), vehicle, len(FIELDS))
            return None
        boxes = {name: mask_box(m) for name, m in masks.items()}
        return PlateRead(quad=quad, score=score, rectified=rectify(image, quad), field_boxes=boxes, vehicle=vehicle,
                         source=image)

    def find(self, frame: Frame | np.ndarray, roi: tuple[float, float, float, float] | None = None) -> ReadResult:
        """Every plate in a frame, best first, not yet read. ``roi``: the lane's region of
        interest as fractions of the frame (x1, y1, x2, y2); None takes ``vision.roi``."""
        image, index, when = _unpack(frame)
        roi_box = self.config.roi_box(image.shape[1], image.shape[0], roi)
        t0 = time.perf_counter()
        vehicles = self.detector.detect(image) if self.detector else []
        t1 = time.perf_counter()
        candidates = self._candidates(image, vehicles, roi_box)[:self.config.max_candidates]
        t2 = time.perf_counter()
        plates = _distinct([p for p in (self._squared(image, self._refine(image, cand, vehicles)
                                                      or self._as_found(image, cand, vehicles))
                                        for cand in candidates) if p])
        t3 = time.perf_counter()
        timing = {"detect": (t1 - t0) * 1e3, "find": (t2 - t1) * 1e3, "refine": (t3 - t2) * 1e3}
        return ReadResult(plates, vehicles, {k: round(v, 1) for k, v in timing.items()}, index, when)

    def by_text(self, found: ReadResult, image: np.ndarray,
                roi: tuple[float, float, float, float] | None = None) -> ReadResult:
        """``found`` with the plates the second route finds: each vehicle without a plate (or the
        region of interest, when neither a vehicle nor a plate was found) searched for lettering
        (edge/vision/text_finder.py), each group of lines given to the refine pass, the first
        plate it makes on a vehicle kept."""
        if self.text_finder is None:
            return found
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        plates = list(found.plates)
        if found.vehicles:
            regions = [(_lower(_around(v.box, w, h)), v) for v in _largest(found.vehicles, self.config.max_vehicles)
                       if longer_side(v.box) >= MIN_VEHICLE_SIDE
                       and not any(holds(v.box, centre(p.bbox)) for p in plates)]
        else:
            regions = [] if plates else [(self.config.roi_box(w, h, roi), None)]
        for region, vehicle in regions:
            for group in self.text_finder.find(image, region)[:self.config.max_candidates]:
                if any(intersection(group.box, p.bbox) > 0.5 * area(group.box) for p in plates):
                    continue
                plate = self._squared(image, self._refine(image, _Candidate(group.box, group.score, vehicle),
                                                          found.vehicles))
                if plate is not None:
                    plates.append(replace(plate, found_by="lettering"))
                    if vehicle is not None:
                        break
        timing = {**found.timing_ms, "text": round((time.perf_counter() - t0) * 1e3, 1)}
        return replace(found, plates=_distinct(plates), timing_ms=timing)

    def follow(self, frame: Frame | np.ndarray, box) -> PlateRead | None:
        """The plate near ``box`` (x1, y1, x2, y2 image pixels: where a tracked plate is expected),
        found with the refine pass alone, or None when no plate is there. One segmenter run
        instead of a whole search: how a plate already tracked is followed frame to frame."""
        image, _, _ = _unpack(frame)
        return self._squared(image, self._refine(image, _Candidate(tuple(float(v) for v in box), 1.0, None), []))

    def _views(self, plate: PlateRead) -> list[np.ndarray]:
        """The plate rectified from its outline scaled by each of ``vision.read_scales``. Made
        only for plates that are read: a plate that is only followed needs none of them."""
        if plate.source is None:
            return [plate.rectified]
        return [plate.rectified if s == 1 else rectify(plate.source, scaled(plate.quad, s))
                for s in self.config.read_scales]

    def _second_look(self, plates: list[PlateRead], read: list[dict[str, np.ndarray]],
                     decoded: list[Reading]) -> list[dict[str, np.ndarray]]:
        """A plate any of whose printed fields decodes (``decoded``) under
        ``vision.second_opinion_below`` is read again from its outline scaled by each of
        ``vision.second_look_scales``, and those views' probabilities averaged in with the first
        ones, view for view."""
        c = self.config
        unsure = [i for i, (p, reading) in enumerate(zip(plates, decoded)) if p.source is not None
                  and min(reading.fields[name].confidence for name in FIELDS) < c.second_opinion_below]
        if not unsure:
            return read
        more = self.reader.read_views([[rectify(plates[i].source, scaled(plates[i].quad, s))
                                        for s in c.second_look_scales] for i in unsure])
        first, second = len(c.read_scales), len(c.second_look_scales)
        out = list(read)
        for i, probs in zip(unsure, more):
            out[i] = {name: (read[i][name] * first + probs[name] * second) / (first + second) for name in READ_FIELDS}
        return out

    def read(self, plates: list[PlateRead]) -> list[PlateRead]:
        """The plates with their fields read: the calibrated probabilities of every view
        averaged and decoded under the grammar. Each plate keeps its probabilities, for fusing
        across frames; a grey plate's colour probabilities are kept flat, as no evidence."""
        if self.reader is None or not plates:
            return list(plates)
        c = self.config
        out = []
        first = self.reader.read_views([self._views(p) for p in plates])
        # decoded once here for the second look; a plate whose probabilities nothing below changes
        # and whose colour shows keeps that decoding (the same arguments, so the same reading)
        decoded = [decode(probs, c.min_field_confidence) for probs in first] if c.second_look_scales else None
        read = self._second_look(plates, first, decoded) if decoded else first
        for field, head in self.field_text.items():
            rescored = head.rescore([r[field] for r in read], [p.rectified for p in plates], c.field_text_below)
            read = [{**r, field: value} for r, value in zip(read, rescored)]
        for name, opinion in self.second_opinion.items():
            rescored = opinion.rescore([r[name] for r in read], [p.rectified for p in plates],
                                       c.second_opinion_below, c.second_opinion_weight)
            read = [{**r, name: value} for r, value in zip(read, rescored)]
        for i, (p, probs) in enumerate(zip(plates, read)):
            seen = shows_color(p.rectified)
            odds = rim_odds(p.source, p.quad, p.width) if seen and p.source is not None else 1.0
            if odds != 1.0:
                probs = {**probs, "color": yellow_rim_weighed(probs["color"], odds)}
            if decoded and seen and all(probs[name] is first[i][name] for name in READ_FIELDS):
                reading = decoded[i]
            else:
                probs = probs if seen else colorless(probs)
                reading = decode(probs, c.min_field_confidence, seen)
            if p.width < c.small_plate_width:
                reading = tempered(reading, c.small_plate_temperature, c.small_plate_confidence, c.min_field_confidence)
            elif p.width < c.narrow_plate_width:
                reading = tempered(reading, c.narrow_plate_temperature, 1.0, c.min_field_confidence)
            out.append(replace(p, probs=probs, color_seen=seen, reading=reading))
        return out

    def read_image(self, frame: Frame | np.ndarray, roi: tuple[float, float, float, float] | None = None) -> ReadResult:
        """Find every plate in a frame (``find``, then ``by_text``) and read it."""
        found = self.by_text(self.find(frame, roi), _unpack(frame)[0], roi)
        t0 = time.perf_counter()
        plates = self.read(found.plates)
        read_ms = (time.perf_counter() - t0) * 1e3
        timing = {**found.timing_ms, "read": round(read_ms, 1)}
        timing["total"] = round(sum(timing.values()), 1)
        return replace(found, plates=plates, timing_ms=timing)


def _keystoned(quad: np.ndarray) -> bool:
    """Whether one side of an outline is KEYSTONE times its opposite or more."""
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)  # top, right, bottom, left
    return max(sides[1] / sides[3], sides[3] / sides[1], sides[0] / sides[2], sides[2] / sides[0]) >= KEYSTONE


def _unpack(frame: Frame | np.ndarray) -> tuple[np.ndarray, int | None, float | None]:
    """The image of a frame (checked), its index and capture time."""
    image, index, when = (frame.image, frame.index, frame.time) if isinstance(frame, Frame) else (frame, None, None)
    if image is None or image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 8:
        raise ImageError(f"expected an HxWx3 BGR image of at least 8x8 pixels, got "
                         f"{None if image is None else image.shape}")
    return image, index, when


def _largest(vehicles: list[Vehicle], n: int) -> list[Vehicle]:
    """The ``n`` vehicles whose boxes are largest, largest first."""
    return sorted(vehicles, key=lambda v: -area(v.box))[:n]


def _around(box, width: int, height: int) -> tuple[float, float, float, float]:
    """A vehicle's box grown to where its plate may be (plates sit low; detector boxes often
    cut the bumper), inside a width x height image."""
    x1, y1, x2, y2 = box
    mx, my = 0.08 * (x2 - x1), 0.15 * (y2 - y1)
    return max(0, x1 - mx), max(0, y1 - my), min(width, x2 + mx), min(height, y2 + my)


def _lower(box) -> tuple[float, float, float, float]:
    """The lower two thirds of a vehicle's box, where its plates are."""
    x1, y1, x2, y2 = box
    return x1, y1 + (y2 - y1) / 3, x2, y2


def _best(candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates that overlap no better-scoring one, best first."""
    keep = nms(np.array([c.box for c in candidates]).reshape(-1, 4), np.array([c.score for c in candidates]), 0.3)
    return [candidates[i] for i in keep]


def _blobs(seg, mask: np.ndarray, min_area: int, vehicle: Vehicle | None,
           skip: np.ndarray | None = None) -> list[_Candidate]:
    """A candidate for every blob of ``mask`` (a find view's pixels over a threshold) of at least
    ``min_area`` view pixels and holding no pixel of ``skip``, scored by its mean plate probability."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    skipped = set(np.unique(comp[skip]).tolist()) if skip is not None else set()
    out = []
    for k in range(1, n):
        x, y, bw, bh, area = stats[k]
        if area < min_area or k in skipped:
            continue
        blob = comp == k
        score = float(seg.plate[blob].mean())
        (ix1, iy1), (ix2, iy2) = seg.window.to_image([[x, y], [x + bw, y + bh]])
        out.append(_Candidate((ix1, iy1, ix2, iy2), score, vehicle, ((seg, blob),)))
    return out


def _blob_at(mask: np.ndarray, point) -> np.ndarray | None:
    """The connected blob of ``mask`` under ``point`` (view pixels), else the one nearest it."""
    n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if n < 2:
        return None
    h, w = mask.shape
    x, y = int(np.clip(round(point[0]), 0, w - 1)), int(np.clip(round(point[1]), 0, h - 1))
    k = comp[y, x]
    if k == 0:
        ys, xs = np.nonzero(comp)
        nearest = np.argmin((xs - x) ** 2 + (ys - y) ** 2)
        k = comp[ys[nearest], xs[nearest]]
    return comp == k


def _uncut(box, size: int) -> bool:
    """Whether a blob's box (view pixels, x2 and y2 exclusive) keeps off a size x size view's edges."""
    x1, y1, x2, y2 = box
    return x1 > 0 and y1 > 0 and x2 < size and y2 < size


def _distinct(plates: list[PlateRead]) -> list[PlateRead]:
    """One plate per place, best score first: a plate mostly inside (or over) a better one is the same plate."""
    kept: list[PlateRead] = []
    for p in sorted(plates, key=lambda p: -p.score):
        if all(intersection(p.bbox, q.bbox) <= 0.5 * min(area(p.bbox), area(q.bbox)) for q in kept):
            kept.append(p)
    return kept


def _vehicle_of(blob: np.ndarray, window: Window, vehicles: list[Vehicle]) -> Vehicle | None:
    """The vehicle whose box holds the blob's centre (the smallest such, if several)."""
    if not vehicles:
        return None
    ys, xs = np.nonzero(blob)
    cx, cy = window.to_image([[xs.mean(), ys.mean()]])[0]
    holding = [v for v in vehicles if holds(v.box, (cx, cy))]
    return min(holding, key=lambda v: area(v.box), default=None)
