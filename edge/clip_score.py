"""Scoring a run of the daemon on a synthetic clip against the clip's truth (``vehicles.jsonl``).

Each event is given to the vehicle whose plate was in view over most of the event's frames.
Per vehicle: how many events (exactly one is right), whether the fused reading is exactly the
plate (every field, colour included), whether the single most confident frame's own reading
was, and how long after the plate first became readable the event came (in the clip's time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.plates.reading import READ_FIELDS


class TruthError(ValueError):
    """The truth file is missing or malformed; the message names the line."""


def read_truth(folder: Path) -> tuple[list[dict], float]:
    """The vehicles of a clip folder and its frame rate."""
    path = folder / "vehicles.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        fps = float(json.loads((folder / "clip.json").read_text()).get("fps", 30))
    except FileNotFoundError as exc:
        raise TruthError(f"{exc.filename}: missing (a clip folder holds clip.mp4, clip.json, vehicles.jsonl)") from None
    except (ValueError, AttributeError) as exc:
        raise TruthError(f"{folder / 'clip.json'}: malformed ({exc})") from None
    vehicles = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            v = json.loads(line)
            if not all(k in v for k in ("vehicle", "first_frame", "last_frame", *READ_FIELDS)):
                raise ValueError("needs vehicle, first_frame, last_frame and every field")
        except ValueError as exc:
            raise TruthError(f"{path}:{number}: {exc}") from None
        vehicles.append(v)
    return vehicles, fps


@dataclass(frozen=True)
class ClipScore:
    vehicles: int
    events: int
    per_vehicle: list[dict]
    unmatched_events: int
    fps: float

    def to_dict(self) -> dict:
        seen = [v for v in self.per_vehicle if v["first_frame"] is not None]
        counts = [v["events"] for v in seen]
        one = [v for v in seen if v["events"] >= 1]
        return {
            "vehicles": len(seen), "events": self.events,
            "events_per_vehicle": round(sum(counts) / len(seen), 3) if seen else None,
            "vehicles_with_exactly_one_event": sum(c == 1 for c in counts),
            "missed_vehicles": sum(c == 0 for c in counts), "duplicate_events": sum(max(0, c - 1) for c in counts),
            "events_matching_no_vehicle": self.unmatched_events,
            "fused_exact": sum(v["fused_exact"] for v in one), "single_frame_exact": sum(v["single_exact"] for v in one),
            "fused_exact_rate": round(sum(v["fused_exact"] for v in one) / len(seen), 3) if seen else None,
            "single_frame_exact_rate": round(sum(v["single_exact"] for v in one) / len(seen), 3) if seen else None,
            "wrong_fields": sum(v["wrong_fields"] for v in one),
            "wrong_fields_at_0_95": sum(v["wrong_confident_fields"] for v in one),
            "withheld_fields": sum(v["withheld_fields"] for v in one),
            "latency_s_median": _stat(np.median, [v["latency_s"] for v in one], 2),
            "latency_s_max": _stat(np.max, [v["latency_s"] for v in one], 2),
            "from_view_s_median": _stat(np.median, [v["from_view_s"] for v in one], 2),
            "direction_right": sum(v["event_direction"] == v["direction"] for v in one),
            "pulses": sum(1 for v in one if v["relay"] and not v["relay"].startswith("not executed")),
            "pulse_after_event_ms_median": _stat(np.median, [v["pulse_after_event_ms"] for v in one], 1),
            "pulse_after_event_ms_max": _stat(np.max, [v["pulse_after_event_ms"] for v in one], 1),
            "per_vehicle": self.per_vehicle,
        }

    def table(self) -> str:
        d = self.to_dict()
        rows = [
            ("vehicles in the clip", d["vehicles"]), ("events", d["events"]),
            ("events per vehicle (target 1.00)", d["events_per_vehicle"]),
            ("vehicles with exactly one event", d["vehicles_with_exactly_one_event"]),
            ("missed vehicles", d["missed_vehicles"]), ("duplicate events", d["duplicate_events"]),
            ("events matching no vehicle", d["events_matching_no_vehicle"]),
            ("exact plate, fused event", f"{d['fused_exact']} ({d['fused_exact_rate']})"),
            ("exact plate, best single frame", f"{d['single_frame_exact']} ({d['single_frame_exact_rate']})"),
            ("fields given wrong (of them at >= 0.95)", f"{d['wrong_fields']} ({d['wrong_fields_at_0_95']})"),
            ("fields withheld", d["withheld_fields"]),
            ("first readable frame to event, median s", d["latency_s_median"]),
            ("first readable frame to event, max s", d["latency_s_max"]),
            ("plate first in view to event, median s", d["from_view_s_median"]),
            ("direction right", d["direction_right"]),
            ("relay pulses", d["pulses"]),
            ("event to relay switched on, median / max ms",
             f"{d['pulse_after_event_ms_median']} / {d['pulse_after_event_ms_max']}"),
        ]
        width = max(len(r[0]) for r in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines.append("")
        for v in self.per_vehicle:
            lines.append(f"vehicle {v['vehicle']:>2}  {v['truth']:<22} {v['events']} event(s)  fused {v['fused'] or '-':<22} "
                         f"single {v['single'] or '-':<22} {v['direction']:<11} {v['light']:<5} "
                         f"latency {v['latency_s'] if v['latency_s'] is not None else '-'} s")
        return "\n".join(lines)


def _fields_of(row: dict) -> dict:
    return {name: row.get(name) for name in READ_FIELDS}


def score_clip(truth: list[dict], rows: list[dict], fps: float) -> ClipScore:
    """Match event rows (from the store) to the truth's vehicles and score them."""
    events_of: dict[int, list[dict]] = {v["vehicle"]: [] for v in truth}
    unmatched = 0
    for row in rows:
        best, best_overlap = None, 0
        for v in truth:
            if v["first_frame"] is None:
                continue
            overlap = min(row["last_frame"], v["last_frame"] + 15) - max(row["first_frame"], v["first_frame"] - 15) + 1
            if overlap > best_overlap:
                best, best_overlap = v, overlap
        if best is None:
            unmatched += 1
        else:
            events_of[best["vehicle"]].append(row)
    per_vehicle = []
    for v in truth:
        mine = sorted(events_of[v["vehicle"]], key=lambda r: r["first_seen"])
        want = _fields_of(v)
        first = mine[0] if mine else None
        single = json.loads(first["single_fields"]) if first and first.get("single_fields") else {}
        single_values = {name: single.get(name, {}).get("value") for name in READ_FIELDS}
        given = {name: (first[name], first[f"{name}_confidence"]) for name in READ_FIELDS} if first else {}
        wrong = [name for name, (value, _) in given.items() if value is not None and value != want[name]]
        latency = in_view = None
        if first is not None and v.get("first_readable_frame") is not None:
            latency = round((first["emitted_frame"] - v["first_readable_frame"]) / fps, 2)
        if first is not None:
            in_view = round((first["emitted_frame"] - v["first_frame"]) / fps, 2)
        per_vehicle.append({
            "vehicle": v["vehicle"], "truth": v["text"], "color": v["color"], "light": v.get("light", ""),
            "direction": v.get("direction", ""), "first_frame": v["first_frame"], "events": len(mine),
            "fused": first["text"] if first else None, "fused_exact": bool(first) and _fields_of(first) == want,
            "single": first["single_text"] if first else None, "single_exact": bool(first) and single_values == want,
            "event_direction": first["direction"] if first else None, "latency_s": latency, "from_view_s": in_view,
            "wrong_fields": len(wrong), "wrong_confident_fields": sum(given[n][1] >= 0.95 for n in wrong),
            "decision": first.get("decision") if first else None, "relay": first.get("relay") if first else None,
            "pulse_after_event_ms": round((first["relay_at"] - first["emitted_at"]) * 1e3, 1)
            if first and first.get("relay_at") and first.get("emitted_at") else None,
            "withheld_fields": sum(value is None for value, _ in given.values()),
        })
    return ClipScore(len(truth), len(rows), per_vehicle, unmatched, fps)


def _stat(function, values: list, digits: int) -> float | None:
    """``function`` (np.median, np.max) of the values given, rounded; None when there are none."""
    values = [v for v in values if v is not None]
    return round(float(function(values)), digits) if values else None
