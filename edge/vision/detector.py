"""The vehicle detector: Tiny YOLOv3 (COCO weights) decoded in numpy, keeping the vehicle classes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.vision.backend import load_backend
from edge.common.boxes import nms
from edge.vision.manifest import Manifest, ModelError, load_manifest
from edge.vision.shrink import area_shrink


@dataclass(frozen=True)
class Vehicle:
    """A detected vehicle: its box in image pixels, COCO class name and score."""

    box: tuple[float, float, float, float]
    label: str
    score: float


def letterbox(image_bgr: np.ndarray, width: int, height: int, pad: int) -> tuple[np.ndarray, float, float, float]:
    """RGB image fitted into width x height without distortion; returns it with scale and offsets."""
    h, w = image_bgr.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.full((height, width, 3), pad, np.uint8)
    dx, dy = (width - nw) // 2, (height - nh) // 2
    resized = (area_shrink(image_bgr, (nw, nh)) if scale < 1
               else cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR))
    canvas[dy:dy + nh, dx:dx + nw] = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    return canvas, scale, dx, dy


def decode_yolo(outputs: dict[str, np.ndarray], manifest: Manifest, keep: list[int],
                score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLOv3 heads -> (boxes in network pixels Nx4, scores N, class ids N), classes in ``keep`` only."""
    _, _, net_h, net_w = manifest.input["shape"]
    n_classes = len(manifest.classes)
    all_boxes, all_scores, all_ids = [], [], []
    for head in manifest.data["outputs"]:
        raw = outputs[head["name"]][0]
        anchors = np.float32(head["anchors"])
        a = len(anchors)
        gh, gw = raw.shape[-2:]
        p = raw.reshape(a, 5 + n_classes, gh, gw).astype(np.float32)
        sig = 1 / (1 + np.exp(-p[:, [0, 1, 4]]))
        cls = 1 / (1 + np.exp(-p[:, 5:][:, keep]))
        scores = sig[:, 2:3] * cls  # a x k x gh x gw
        best = scores.argmax(axis=1)
        best_score = np.take_along_axis(scores, best[:, None], axis=1)[:, 0]
        idx = np.nonzero(best_score >= score_threshold)
        if not idx[0].size:
            continue
        ai, yi, xi = idx
        cx = (sig[ai, 0, yi, xi] + xi) / gw * net_w
        cy = (sig[ai, 1, yi, xi] + yi) / gh * net_h
        bw = np.exp(np.clip(p[ai, 2, yi, xi], -10, 10)) * anchors[ai, 0]
        bh = np.exp(np.clip(p[ai, 3, yi, xi], -10, 10)) * anchors[ai, 1]
        all_boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1))
        all_scores.append(best_score[idx])
        all_ids.append(np.asarray(keep)[best[idx]])
    if not all_boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_ids)


class VehicleDetector:
    """Finds cars, buses, trucks and motorcycles (the manifest's ``vehicle_classes``)."""

    def __init__(self, model: str | Path = "yolov3-tiny", backend: str = "auto", score_threshold: float = 0.25,
                 nms_threshold: float = 0.45, threads: int | None = None, plans_dir: str | Path | None = None):
        self.manifest = load_manifest(model)
        self.backend = load_backend(self.manifest.path, backend, threads, plans_dir)
        wanted = self.manifest.data.get("vehicle_classes", [])
        unknown = [c for c in wanted if c not in self.manifest.classes]
        if not wanted or unknown:
            raise ModelError(f"manifest of {self.manifest.path.name}: vehicle_classes {unknown or wanted} "
                             "are not among its classes")
        self.keep = [self.manifest.classes.index(c) for c in wanted]
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold

    def detect(self, image_bgr: np.ndarray) -> list[Vehicle]:
        """Vehicles in the image, best first; one box per vehicle (NMS across the vehicle classes)."""
        _, _, net_h, net_w = self.manifest.input["shape"]
        pad = round(255 * self.manifest.input.get("pad_value", 0.5))
        rgb, scale, dx, dy = letterbox(image_bgr, net_w, net_h, pad)
        outputs = self.backend.run({self.manifest.input["name"]: self.manifest.normalise(rgb)})
        boxes, scores, ids = decode_yolo(outputs, self.manifest, self.keep, self.score_threshold)
        h, w = image_bgr.shape[:2]
        vehicles = []
        for i in nms(boxes, scores, self.nms_threshold):
            x1, y1, x2, y2 = boxes[i]
            box = (float(np.clip((x1 - dx) / scale, 0, w)), float(np.clip((y1 - dy) / scale, 0, h)),
                   float(np.clip((x2 - dx) / scale, 0, w)), float(np.clip((y2 - dy) / scale, 0, h)))
            if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
                vehicles.append(Vehicle(box, self.manifest.classes[int(ids[i])], float(scores[i])))
        return vehicles
