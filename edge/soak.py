"""``anpr gate soak``: the gate's safety figure. Many synthetic vehicles, most of them one
character away from a listed plate in the ways the reader confuses characters (3/8, 6/9, 1/7
in the serial or class number, ま/よ and ね/れ/わ, region names that share a kanji), some listed;
each seen in a few frames (the full pipeline on synthetic scenes at widths of a plate nearing
the barrier, in day, dusk, night or infrared light), fused as the lane loop fuses a track, and
decided by the gate's policy in allow-list mode.

Half the listed vehicles that could have another face of their plate's category show it (a
listed yellow kei plate as a design-yellow or white one, a green one as design-green: the same
registration, which the gate must open for by its category, not its face).

Counted: wrong opens (a vehicle not on the list, or a listed one taken for another listed
plate), listed vehicles opened (and of them, those showing another face), and why the rest
stayed closed.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from edge.events import ListedPlate, ReadEvent
from edge.gate.config import GateConfig
from edge.gate.policy import GatePolicy
from edge.plates import Color, PlateText, PlateTextError
from edge.plates.regions import region_table
from edge.stream.vote import fused_reading, weight
from edge.synth.scene import make_sample
from edge.synth.texts import random_plate_text

DIGIT_SWAPS = {"3": "8", "8": "3", "6": "9", "9": "6", "1": "7", "7": "1"}
KANA_SWAPS = {"ま": "よ", "よ": "ま", "ね": "れわ", "れ": "ねわ", "わ": "ねれ"}
WIDTHS = (90.0, 130.0, 180.0)  # px: a plate nearing the barrier, one frame at each
LIGHTS = ("day", "day", "day", "day", "dusk", "night", "night", "infrared")


def _with(plate: PlateText, **change) -> PlateText | None:
    values = {"region": plate.region, "class_number": plate.class_number, "kana": plate.kana,
              "number": plate.number, "color": plate.color, **change}
    try:
        return PlateText(**values)
    except PlateTextError:
        return None


def near_misses(plate: PlateText, rng: np.random.Generator) -> list[PlateText]:
    """Valid plates one confusable character away from ``plate``."""
    out = []
    serial = f"{plate.number:04d}"
    for i, c in enumerate(serial):
        if c in DIGIT_SWAPS and (i > 0 or plate.number >= 1000):
            out.append(_with(plate, number=int(serial[:i] + DIGIT_SWAPS[c] + serial[i + 1:]) or 1))
    for i, c in enumerate(plate.class_number):
        if c in DIGIT_SWAPS:
            out.append(_with(plate, class_number=plate.class_number[:i] + DIGIT_SWAPS[c] + plate.class_number[i + 1:]))
    for k in KANA_SWAPS.get(plate.kana, ""):
        out.append(_with(plate, kana=k))
    names = [n for n in region_table().names() if n != plate.region and len(n) == len(plate.region)
             and set(n) & set(plate.region)]
    for n in rng.permutation(names)[:2]:
        out.append(_with(plate, region=str(n)))
    return [p for p in out if p is not None and p.number >= 1]


def other_faces(plate: PlateText) -> list[PlateText]:
    """``plate`` in every other colour of its category (design plates came with 3-character class
    numbers in 2017): yellow kei private as design-yellow or white, green as design-green."""
    if len(plate.class_number) != 3:
        return []
    out = [_with(plate, color=c) for c in Color if c is not plate.color]
    return [p for p in out if p is not None and p.meaning.category == plate.meaning.category]


@dataclass(frozen=True)
class Vehicle:
    index: int
    plate: PlateText
    kind: str  # listed | near miss | other
    near: str = ""  # for a near miss: the listed plate it is one character from
    light: str = "day"
    other_face: bool = False  # listed, showing another colour of its category than the list's


def plan(vehicles: int, listed: int, seed: int) -> tuple[list[ListedPlate], list[Vehicle]]:
    """The allow-list and the vehicles: a tenth listed, two thirds near misses, the rest others."""
    rng = np.random.default_rng([seed, 61])
    allow, keys = [], set()
    while len(allow) < listed:
        p = random_plate_text(rng, design_rate=0.0)
        if p.format() not in keys:
            keys.add(p.format())
            allow.append(ListedPlate(p, label=f"listed {len(allow)}"))
    out = []
    for i in range(vehicles):
        light = str(rng.choice(LIGHTS))
        r = rng.random()
        if r < 0.1:
            plate = allow[int(rng.integers(listed))].plate
            faces = other_faces(plate)
            if faces and rng.random() < 0.5:
                out.append(Vehicle(i, faces[int(rng.integers(len(faces)))], "listed", light=light, other_face=True))
            else:
                out.append(Vehicle(i, plate, "listed", light=light))
            continue
        if r < 0.77:
            for _ in range(20):
                source = allow[int(rng.integers(listed))].plate
                misses = [m for m in near_misses(source, rng) if m.format() not in keys]
                if misses:
                    out.append(Vehicle(i, misses[int(rng.integers(len(misses)))], "near miss", source.format(), light))
                    break
            else:
                out.append(Vehicle(i, random_plate_text(rng, design_rate=0.0), "other", light=light))
            continue
        p = random_plate_text(rng, design_rate=0.0)
        out.append(Vehicle(i, p, "listed" if p.format() in keys else "other", light=light))
    return allow, out


_pipeline = None


def _init() -> None:
    global _pipeline
    from edge.vision.config import VisionConfig
    from edge.vision.pipeline import Pipeline

    _pipeline = Pipeline(VisionConfig(threads=1))


def _read(job: tuple[int, Vehicle]) -> tuple[int, list]:
    """The vehicle's frames read: for each, the best plate's probabilities, weight and colour sight."""
    seed, v = job
    reads = []
    for k, width in enumerate(WIDTHS):
        sample = make_sample(seed, v.index * len(WIDTHS) + k, "scenes", None, plate=v.plate, width_px=width,
                             lighting=v.light)
        plates = _pipeline.read_image(sample.image).plates
        if plates:
            p = max(plates, key=lambda q: q.score)
            reads.append((p.probs, weight(p.width, p.score), p.color_seen))
    return v.index, reads


@dataclass
class SoakReport:
    vehicles: int = 0
    listed_vehicles: int = 0
    listed_opened: int = 0
    other_face: int = 0  # listed vehicles showing another face of their category
    other_face_opened: int = 0
    not_listed: int = 0
    near_misses: int = 0
    wrong_opens: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    unseen: int = 0  # vehicles with no plate found in any frame
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"vehicles": self.vehicles, "listed_vehicles": self.listed_vehicles,
                "listed_opened": self.listed_opened,
                "listed_opened_rate": round(self.listed_opened / self.listed_vehicles, 3) if self.listed_vehicles else None,
                "other_face": self.other_face, "other_face_opened": self.other_face_opened,
                "not_listed": self.not_listed, "near_misses": self.near_misses,
                "wrong_opens": len(self.wrong_opens), "wrong_open_details": self.wrong_opens,
                "not_found": self.unseen, "closed_because": dict(self.reasons.most_common()),
                "seconds": round(self.seconds, 1)}

    def table(self) -> str:
        d = self.to_dict()
        lines = [f"vehicles                        {d['vehicles']} ({d['near_misses']} one character from a listed "
                 f"plate, {d['listed_vehicles']} listed)",
                 f"wrong opens (target 0)          {d['wrong_opens']}",
                 f"listed vehicles opened          {d['listed_opened']} of {d['listed_vehicles']} "
                 f"({d['listed_opened_rate']}); showing another face of their category: {d['other_face_opened']} "
                 f"of {d['other_face']}",
                 f"no plate found in any frame     {d['not_found']}",
                 "closed because: " + "; ".join(f"{k} ({v})" for k, v in self.reasons.most_common(8)),
                 f"time                            {d['seconds']} s"]
        lines += [f"  WRONG OPEN: {w}" for w in self.wrong_opens]
        return "\n".join(lines)


def soak(vehicles: int = 1000, listed: int = 50, seed: int = 0, workers: int = 2, gate: GateConfig | None = None,
         progress=None) -> SoakReport:
    allow, fleet = plan(vehicles, listed, seed)
    policy_config = replace(gate or GateConfig(), mode="allow-list", cooldown_plate_seconds=0, cooldown_gate_seconds=0)
    policy = GatePolicy(policy_config)
    listed_keys = {e.plate.format(): e for e in allow}
    report = SoakReport(vehicles=len(fleet))
    started = time.perf_counter()
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers, _init) as pool:
        for done, (index, reads) in enumerate(pool.imap_unordered(_read, [(seed, v) for v in fleet], chunksize=4)):
            v = fleet[index]
            when = 100.0 * done  # one vehicle every 100 s, in the order they are decided: no cooldown applies
            is_listed = v.plate.format() in listed_keys
            report.listed_vehicles += is_listed
            report.not_listed += not is_listed
            report.near_misses += v.kind == "near miss"
            report.other_face += v.other_face
            if not reads:
                report.unseen += 1
                report.reasons["no plate found"] += 1
            else:
                seen = any(c for _, _, c in reads)
                reading = fused_reading([r[0] for r in reads], [r[1] for r in reads], 0.5, seen)
                event = ReadEvent(event_id=str(uuid.uuid4()), lane="soak", first_seen=when, last_seen=when,
                                  first_frame=0, last_frame=0, emitted_frame=0, emitted="left",
                                  frames_seen=len(reads), frames_used=len(reads), reading=reading,
                                  single_frame=reading, vehicle=None, direction="approaching", quad=(),
                                  color_seen=seen)
                decision = policy.decide(event, allow, when)
                if decision.opens:
                    right = is_listed and decision.listed is not None and \
                        decision.listed.plate.format() == v.plate.format()
                    if right:
                        report.listed_opened += 1
                        report.other_face_opened += v.other_face
                    else:
                        read = reading.plate.format() if reading.plate else "?"
                        report.wrong_opens.append(f"vehicle {index} {v.plate.format()} ({v.kind}, {v.light}) read as "
                                                  f"{read}, opened for {decision.listed.plate.format()}")
                else:
                    report.reasons[decision.reason.split(":")[0].split(" (")[0]] += 1
            if progress:
                progress()
    report.seconds = time.perf_counter() - started
    return report
