"""The stress suite: scenes made condition by condition, so ``anpr eval`` can say where reading
fails (plate against a body of its own colour, tiny and huge plates, steep angles, large
frames, a large plate close up through a wide lens, bus and truck rears, each plate colour and
the design plates (a white kei plate among them), night and infrared, dirt and glare, a moving
car's blur, a low-bitrate stream, a camera that denoises and sharpens or maps tones locally).

Sample ``i`` of a stress set is condition ``LEVELS[i % len(LEVELS)]``; everything the level does
not fix is drawn as for ordinary scenes (edge/synth/scene.py) in a drawn lane, on a drawn car or
truck, so the levels differ only in what they name. Special plates (diplomatic, SDF) are out of
the reader's scope and are redrawn. ``levels_named(text)`` picks the conditions whose names
hold ``text`` (``anpr synth --kind stress --conditions TEXT``), to render or train on only those.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge.plates import Color, PlateText
from edge.synth.scene import Overrides, Sample, make_sample
from edge.synth.texts import random_plate_text


@dataclass(frozen=True)
class Level:
    name: str  # "width 45 px": the condition and its value, as the report prints it
    width_px: float | None = None
    lighting: str | None = "day"
    color: Color | None = None
    kei: bool = False  # with ``color`` white: a kei car's white design plate (2019 Rugby World Cup)
    overrides: Overrides = Overrides()
    frame_share: float | None = None  # plate width as a share of the frame's width


_MP = {"0.3 MP": (640, 480), "1 MP": (1280, 720), "2 MP": (1920, 1080), "4 MP": (2688, 1520), "8 MP": (3840, 2160)}

LEVELS: tuple[Level, ...] = (
    *(Level(f"width {w} px", width_px=float(w)) for w in (30, 45, 70, 120, 200, 400)),
    *(Level(f"yaw {y}°", width_px=140.0, overrides=Overrides(yaw=float(y))) for y in (0, 20, 35, 50)),
    # a camera mounted high (a gantry, a garage ceiling) looks down on the plate; ordinary scenes
    # draw the pitch within 25° either way
    *(Level(f"pitch {p}° (looking down)", width_px=140.0, overrides=Overrides(pitch=float(p))) for p in (30, 45)),
    *(Level(f"frame {name}", overrides=Overrides(frame_size=size, yaw=30.0), frame_share=0.14)
      for name, size in _MP.items()),
    # a camera close to the plate: a wide lens (focal length 0.45 and 0.4 of the frame's width)
    # and a plate a third or more of a 4 MP frame's width, so its near side is much larger
    # than its far side (the other levels' lenses are 0.8-1.6 frame widths)
    Level("close range 35 % of frame", frame_share=0.35,
          overrides=Overrides(frame_size=_MP["4 MP"], yaw=45.0, focal=0.45)),
    Level("close range 45 % of frame", frame_share=0.45,
          overrides=Overrides(frame_size=_MP["4 MP"], yaw=50.0, focal=0.4)),
    Level("body same colour as plate", width_px=140.0, overrides=Overrides(body="same")),
    Level("bus or truck rear", width_px=160.0, overrides=Overrides(vehicle="large rear")),
    *(Level(f"plate {c.value}", width_px=140.0, color=c) for c in (Color.WHITE, Color.GREEN, Color.YELLOW, Color.BLACK)),
    # design plates: a white face with a 3-5 mm rim (green: commercial; yellow: kei), and the kei
    # plates of the 2019 Rugby World Cup, white with no rim: only the rim tells them apart
    *(Level(f"plate {c.value}", width_px=140.0, color=c) for c in (Color.DESIGN_GREEN, Color.DESIGN_YELLOW)),
    Level("plate white on a kei car", width_px=140.0, color=Color.WHITE, kei=True),
    *(Level(f"light {light}", width_px=140.0, lighting=light) for light in ("dusk", "night", "infrared")),
    Level("heavy dirt", width_px=140.0, overrides=Overrides(dirt=0.9, glare=False)),
    Level("glare", width_px=140.0, overrides=Overrides(glare=True)),
    # sunlight with a hard shadow across the plate (a bumper, a pole, a building, the car ahead)
    Level("cast shadow across the plate", width_px=140.0, lighting="day", overrides=Overrides(shadow=True)),
    # a car moving across a 140 px plate's width while the shutter is open: about 10, 20 and 40 km/h
    # at 1/500 s; and a small plate in a low-bitrate stream (the blocks of a starved encoder)
    *(Level(f"motion blur {b} px", width_px=140.0, overrides=Overrides(motion_blur=float(b))) for b in (4, 8, 16)),
    Level("compression JPEG 15 at 70 px", width_px=70.0, overrides=Overrides(jpeg_quality=15)),
    # a camera's own processing: denoising and sharpening before it encodes (phones, most IP
    # cameras), and a wide dynamic range's local tone mapping (cameras facing headlights or sun)
    Level("camera processing at 70 px", width_px=70.0, overrides=Overrides(processed=True)),
    Level("wide dynamic range at 70 px", width_px=70.0, overrides=Overrides(wdr=True)),
)


def _plate_of(level: Level, rng: np.random.Generator) -> PlateText:
    design = level.kei or level.color in (Color.DESIGN_GREEN, Color.DESIGN_YELLOW)
    wanted = Color.DESIGN_YELLOW if level.kei else level.color
    for _ in range(500):
        plate = random_plate_text(rng, design_rate=1.0 if design else 0.0)
        if plate.color is wanted:
            if level.kei:  # the same kei private plate, white as the Rugby World Cup made it
                return PlateText(plate.region, plate.class_number, plate.kana, plate.number, level.color)
            return plate
    raise RuntimeError(f"no {level.name} drawn in 500 tries")  # never, for these levels


def levels_named(text: str | None) -> tuple[Level, ...]:
    """The conditions whose names hold ``text`` (all of them for None), or ValueError naming them all."""
    chosen = LEVELS if text is None else tuple(level for level in LEVELS if text in level.name)
    if not chosen:
        raise ValueError(f"no stress condition's name holds {text!r}; the conditions: "
                         + "; ".join(level.name for level in LEVELS))
    return chosen


def stress_sample(seed: int, index: int, levels: tuple[Level, ...] = LEVELS) -> Sample:
    """Sample ``index`` of stress set ``seed``: condition ``levels[index % len(levels)]``."""
    level = levels[index % len(levels)]
    for attempt in range(20):
        rng = np.random.default_rng([seed, index, attempt, 31])
        plate = _plate_of(level, rng) if level.color else None
        width = level.width_px
        if level.frame_share is not None:
            width = level.frame_share * level.overrides.frame_size[0]
        sample = make_sample(seed, index + attempt * 1_000_003, "scenes", None, plate=plate, width_px=width,
                             lighting=level.lighting, overrides=level.overrides)
        if not sample.conditions.get("special") and not sample.record()["truncated"]:
            break
    return replace(sample, index=index, conditions={**sample.conditions, "stress": level.name}, kind="stress")
