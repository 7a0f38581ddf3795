"""Train the five field classifiers on synthetic rectified plates, on CPU, calibrate them and
export each to ONNX with its manifest.

    python -m engines.reader.train TRAIN_DIR... --val VAL_DIR --steps 4000 --out engines/models

TRAIN_DIR and VAL_DIR are written by ``python -m engines.reader.data`` (different seeds).
After training, one temperature per classifier is fitted on VAL_DIR (minimum negative
log-likelihood), so that a softmax probability of 0.9 is right about 9 times in 10; the
runtime divides the logits by it (``calibration.temperature`` in the manifest).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from edge.plates import has_letter
from edge.plates.reading import LETTER_CLASS_SHARE_TRAINED, READ_FIELDS, vocabularies
from edge.synth.degrade import SHADOW_SHADE, glare, jpeg, motion_blur, random_shadow, unsharp_mask
from edge.vision.fields import FIELD_CROPS, FieldCrop, to_input
from edge.vision.reader import MODEL_NAMES
from engines.finetune import anchored_loss, copy_checked, load_folded, onnx_weights, train_mode
from engines.reader.ensemble import member_prefix_of
from engines.reader.data import LABEL_COLUMNS
from engines.reader.model import DEFAULT_WIDTHS, GRIDS, WIDTHS, FieldClassifier

PAD = 3  # pixels of shift augmentation
# --blur: a car moving while the shutter is open smears the plate along its path; from 2 to 12 %
# of the plate's width (3 to 17 px on a 140 px plate: about 10 to 40 km/h at 1/500 s), mostly
# sideways. The scenes the cuts come from are blurred in a quarter of cases up to 1/15 of the
# width; the stress suite's "motion blur 8 px" and "16 px" are 6 and 11 %.
BLUR_LENGTH = (0.02, 0.12)
BLUR_ANGLE_SD = 20.0
# --small: a plate seen small (a far car, a wide lane, a low-resolution stream) is rectified from few
# pixels; its cuts are shrunk to what a plate this many pixels wide gives, JPEG-compressed in
# SMALL_JPEG_SHARE of cases at a starved stream's quality, and enlarged back as rectifying does.
# The plates rendered for training are 40-360 px wide; the stress suite's small ones are 30 and 45 px.
SMALL_WIDTH = (24.0, 64.0)
SMALL_JPEG_SHARE = 0.5
SMALL_JPEG_QUALITY = (10, 40)
# --processed: cameras denoise and sharpen before they compress (phones and IP cameras alike): an
# edge-preserving smoothing that wipes out fine low-contrast strokes, then an unsharp mask that
# rings round the strong ones. Done at the plate's own size in the camera (PROCESSED_WIDTH pixels
# wide), so its reach in the rectified cut grows as the plate gets smaller.
PROCESSED_WIDTH = (60.0, 200.0)
PROCESSED_SIGMA_COLOUR = (20.0, 60.0)  # grey levels the denoise smooths across
PROCESSED_SIGMA_SPACE = (0.8, 2.0)  # camera pixels
PROCESSED_SHARPEN_SIGMA = (0.7, 1.5)  # camera pixels
PROCESSED_SHARPEN_AMOUNT = (0.5, 1.5)
# --glared: the sun or a lamp mirrored in the plate washes a patch of it out, strokes and all
# (``edge.synth.degrade.glare``, as scenes draw it: GLARE_SIZE of the plate's width), centred
# anywhere on the plate, so that it falls on every field alike. The label stays: a washed-out
# place may hold a digit, so a blank place is no sure sign of a serial's dot.
GLARE_SIZE = (0.2, 0.6)


def label_slices() -> dict[str, slice]:
    out, start = {}, 0
    for name, places in LABEL_COLUMNS:
        out[name] = slice(start, start + places)
        start += places
    return out


def load(folders: list[Path]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every shard's cuts (by field) and labels, concatenated."""
    cuts: dict[str, list[np.ndarray]] = {name: [] for name in READ_FIELDS}
    labels = []
    for folder in folders:
        shards = sorted(folder.glob("shard-*.npz"))
        shards = [s for s in shards if not s.name.endswith(".tmp.npz")]
        if not shards:
            raise SystemExit(f"{folder}: no shards; write them with python -m engines.reader.data {folder}")
        for shard in shards:
            with np.load(shard) as z:
                for name in READ_FIELDS:
                    cuts[name].append(z[name])
                labels.append(z["labels"])
    return {k: np.concatenate(v) for k, v in cuts.items()}, np.concatenate(labels).astype(np.int64)


def lettered(labels: np.ndarray) -> np.ndarray:
    """Whether each plate's class number has a Latin letter in it (30A, 4PA...)."""
    letters = [i for i, symbol in enumerate(vocabularies()["class_number"]) if has_letter(symbol)]
    return np.isin(labels[:, label_slices()["class_number"]], letters).any(axis=1)


class Draws:
    """Each step's batch of plates: drawn evenly, or with ``letter_share`` of them plates whose
    class number has a letter, whatever their share of the data (more distinct lettered plates
    to learn from, the share the classifier learns unchanged: decoding divides it out)."""

    def __init__(self, labels: np.ndarray, letter_share: float | None, rng: np.random.Generator):
        self.count, self.share, self.rng = len(labels), letter_share, rng
        if letter_share is not None:
            marks = lettered(labels)
            self.pools = np.flatnonzero(marks), np.flatnonzero(~marks)
            if not len(self.pools[0]) or not len(self.pools[1]):
                raise SystemExit("--letter-share needs plates with and without a letter in the class number")

    def __call__(self, batch: int) -> np.ndarray:
        if self.share is None:
            return self.rng.integers(0, self.count, batch)
        with_letter = int(self.rng.binomial(batch, self.share))
        return np.concatenate([self.rng.choice(self.pools[0], with_letter),
                               self.rng.choice(self.pools[1], batch - with_letter)])


def plate_width_at_cut_scale(crop: FieldCrop) -> float:
    """The whole plate's width in the pixels of ``crop``'s cuts."""
    return crop.size[0] / (crop.box[2] - crop.box[0])


def size_at_width(cut: np.ndarray, crop: FieldCrop, width: float) -> tuple[int, int]:
    """The (width, height) ``cut`` has on a plate ``width`` pixels wide (and half as high)."""
    x0, y0, x1, y1 = crop.box
    return max(1, round(width * (x1 - x0))), max(1, round(width / 2 * (y1 - y0)))


def seen_small(cut: np.ndarray, crop: FieldCrop, width: float, quality: int | None) -> np.ndarray:
    """``cut`` as it would be from a plate ``width`` pixels wide: shrunk by the cut's own scale on
    each axis, JPEG-compressed at ``quality`` (None: not), enlarged back. Unchanged where the cut
    already holds fewer pixels than that."""
    h, w = cut.shape[:2]
    small = size_at_width(cut, crop, width)
    if small[0] >= w or small[1] >= h:
        return cut
    out = cv2.resize(cut, small, interpolation=cv2.INTER_AREA)
    if quality is not None:
        out = jpeg(out, quality)
    return np.clip(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR), 0, 255).astype(cut.dtype)


def seen_processed(cut: np.ndarray, crop: FieldCrop, width: float, sigma_colour: float, sigma_space: float,
                   sharpen_sigma: float, sharpen_amount: float) -> np.ndarray:
    """``cut`` (grey) as a camera that denoises and sharpens leaves it, on a plate ``width`` pixels
    wide: at that size, an edge-preserving smoothing (bilateral, ``sigma_colour`` grey levels,
    ``sigma_space`` pixels) and an unsharp mask (``sharpen_sigma`` pixels, ``sharpen_amount``),
    then back to the cut's size. Where the cut holds fewer pixels than that, at its own size."""
    h, w = cut.shape[:2]
    size = size_at_width(cut, crop, width)
    out = cv2.resize(cut, size, interpolation=cv2.INTER_AREA) if size[0] < w and size[1] < h else cut
    out = unsharp_mask(cv2.bilateralFilter(out, -1, sigma_colour, sigma_space).astype(np.float32),
                       sharpen_sigma, sharpen_amount)
    out = np.clip(out, 0, 255).astype(cut.dtype)
    if out.shape[:2] != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def seen_shadowed(cut: np.ndarray, crop: FieldCrop, rng: np.random.Generator) -> np.ndarray:
    """``cut`` with a hard shadow across it, as a bumper, a pole or a building throws one in sun
    (``edge.synth.degrade.random_shadow``: a line through the cut's middle half at any angle)."""
    h, w = cut.shape[:2]
    out = random_shadow(cut.astype(np.float32), (0.0, 0.0, float(w), float(h)), plate_width_at_cut_scale(crop), rng)
    return np.clip(out, 0, 255).astype(cut.dtype)


def seen_glared(cut: np.ndarray, crop: FieldCrop, rng: np.random.Generator) -> np.ndarray:
    """``cut`` (grey) with glare on the plate (``edge.synth.degrade.glare``): a bright patch
    GLARE_SIZE of the plate's width, centred anywhere on the plate, in or out of the cut."""
    h, w = cut.shape[:2]
    x0, y0, x1, y1 = crop.box
    centre = ((rng.uniform(0, 1) - x0) / (x1 - x0) * w, (rng.uniform(0, 1) - y0) / (y1 - y0) * h)
    size = plate_width_at_cut_scale(crop) * rng.uniform(*GLARE_SIZE)
    out = glare(cut.astype(np.float32)[..., None], centre, size, rng)[..., 0]
    return np.clip(out, 0, 255).astype(cut.dtype)


def processed_at_random(cut: np.ndarray, crop: FieldCrop, rng: np.random.Generator) -> np.ndarray:
    """``seen_processed`` at a plate width and settings drawn from ``rng`` in the training's ranges
    (PROCESSED_*: the width first, then the settings in the function's order)."""
    return seen_processed(cut, crop, float(np.exp(rng.uniform(*np.log(PROCESSED_WIDTH)))),
                          *(float(rng.uniform(*r)) for r in (PROCESSED_SIGMA_COLOUR, PROCESSED_SIGMA_SPACE,
                                                             PROCESSED_SHARPEN_SIGMA, PROCESSED_SHARPEN_AMOUNT)))


def blurred_at_random(cut: np.ndarray, crop: FieldCrop, rng: np.random.Generator) -> np.ndarray:
    """A moving car's blur drawn from ``rng``: along a line BLUR_LENGTH of the plate's width long,
    then at an angle of BLUR_ANGLE_SD degrees' spread."""
    return motion_blur(cut, float(rng.uniform(*BLUR_LENGTH)) * plate_width_at_cut_scale(crop),
                       float(rng.normal(0, BLUR_ANGLE_SD)))


def augment(batch: np.ndarray, rng: np.random.Generator, crop: FieldCrop, blur: float = 0.0,
            small: float = 0.0, processed: float = 0.0, shadowed: float = 0.0,
            glared: float = 0.0) -> np.ndarray:
    """Shifts by up to PAD pixels, contrast and noise for lettering; white balance, exposure and
    saturation for colour; for a share ``blur`` of the cuts, a moving car's blur: along a line
    BLUR_LENGTH of the plate's width long, at an angle of BLUR_ANGLE_SD degrees' spread; and, for a
    share ``small`` of the lettering cuts, the plate seen SMALL_WIDTH pixels wide (``seen_small``);
    for a share ``processed`` of them, a camera's denoising and sharpening (``seen_processed``); for
    a share ``shadowed`` of them, a hard shadow across the cut (``seen_shadowed``); for a share
    ``glared`` of them, glare on the plate (``seen_glared``)."""
    return augment_marked(batch, rng, crop, blur, small, processed, shadowed, glared)[0]


def augment_marked(batch: np.ndarray, rng: np.random.Generator, crop: FieldCrop, blur: float = 0.0,
                   small: float = 0.0, processed: float = 0.0,
                   shadowed: float = 0.0, glared: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``augment``'s cuts, and which of them only the plain augmentation touched (no blur, small
    plate, camera processing, shadow or glare): what ``--anchor`` holds to the readers a fine-tune
    starts from."""
    color = crop.color
    plain = np.ones(len(batch), bool)

    def small_cut(cut: np.ndarray) -> np.ndarray:  # (text_head.degraded draws the JPEG before the width)
        width = float(np.exp(rng.uniform(*np.log(SMALL_WIDTH))))
        quality = int(rng.integers(SMALL_JPEG_QUALITY[0], SMALL_JPEG_QUALITY[1] + 1)) \
            if rng.random() < SMALL_JPEG_SHARE else None
        return seen_small(cut, crop, width, quality)

    # (share, degradation, whether colour cuts get it too), in this order: each draws its cuts, then
    # its own parameters cut by cut, from ``rng``
    degradations = ((glared, lambda cut: seen_glared(cut, crop, rng), False),
                    (shadowed, lambda cut: seen_shadowed(cut, crop, rng), False),
                    (processed, lambda cut: processed_at_random(cut, crop, rng), False), (small, small_cut, False),
                    (blur, lambda cut: blurred_at_random(cut, crop, rng), True))
    wanted = [(share, degrade) for share, degrade, on_colour in degradations if share > 0 and (on_colour or not color)]
    if wanted:
        batch = batch.copy()  # the degradations write into it
    for share, degrade in wanted:
        for i in np.flatnonzero(rng.random(len(batch)) < share):
            batch[i] = degrade(batch[i])
            plain[i] = False
    n, h, w = batch.shape[:3]
    pad = ((0, 0), (PAD, PAD), (PAD, PAD)) + (((0, 0),) if color else ())
    padded = np.pad(batch, pad, mode="edge")
    dx, dy = rng.integers(0, 2 * PAD + 1, n), rng.integers(0, 2 * PAD + 1, n)
    out = np.stack([padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)]).astype(np.float32)
    if color:
        gains = rng.uniform(0.8, 1.2, (n, 1, 1, 3)) * rng.uniform(0.55, 1.3, (n, 1, 1, 1))
        out = out * gains
        grey = out.mean(axis=3, keepdims=True)  # shade and haze wash colours out
        keep = np.where(rng.random((n, 1, 1, 1)) < 0.3, rng.uniform(0.4, 1.0, (n, 1, 1, 1)), 1.0)
        out = grey + (out - grey) * keep
    else:
        mean = out.mean(axis=(1, 2), keepdims=True)
        out = mean + (out - mean) * rng.uniform(0.5, 1.2, (n, 1, 1))
        out += rng.normal(0, 1, out.shape) * rng.uniform(0, 8, (n, 1, 1))
    return np.clip(out, 0, 255).astype(np.uint8), plain


def build(name: str) -> FieldClassifier:
    crop = FIELD_CROPS[name]
    places = dict(LABEL_COLUMNS)[name]
    return FieldClassifier(3 if crop.color else 1, places, len(vocabularies()[name]), GRIDS[name],
                           WIDTHS.get(name, DEFAULT_WIDTHS))


def init_from_onnx(model: FieldClassifier, path: Path, member: int = 0) -> None:
    """Start ``model`` from an exported classifier (the committed one; of an ensemble, its member
    ``member``); fine-tune it with ``train_mode(model, frozen_norms=True)`` (engines/finetune.py says why)."""
    graph, weights = onnx_weights(path, "a folder of exported classifiers")
    try:
        prefix = member_prefix_of(graph, member)
    except ValueError as exc:
        raise SystemExit(f"{path}: {exc}") from exc
    convs = [n for n in graph.node if n.op_type == "Conv" and n.name.startswith(prefix)]
    blocks = [m for m in model.features if isinstance(m, torch.nn.Sequential)]
    if len(convs) != len(blocks):
        raise SystemExit(f"{path}: {len(convs)} convolutions, the model has {len(blocks)}; not the same architecture")
    with torch.no_grad():
        for node, (conv, norm, _) in zip(convs, blocks):
            load_folded(conv, norm, weights[node.input[1]], weights[node.input[2]], f"{path}: {node.name}")
        for name in ("head.2.weight", "head.2.bias", "head.5.weight", "head.5.bias"):
            copy_checked(model.get_parameter(name), weights[prefix + name], f"{path}: {prefix + name}")


def logits_of(model: FieldClassifier, cuts: np.ndarray, batch: int = 512) -> torch.Tensor:
    """The model's logits on ``cuts``, in evaluation mode (the caller sets training mode again)."""
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(to_input(cuts[i:i + batch])).to(device)).cpu()
                          for i in range(0, len(cuts), batch)])


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    right = logits.argmax(-1) == labels
    return {"place_accuracy": round(float(right.float().mean()), 4),
            "field_accuracy": round(float(right.all(dim=1).float().mean()), 4)}


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature (0.25-8, on a fine log grid) that minimises the held-out negative
    log-likelihood; a grid cannot diverge the way a gradient fit can on a tiny set."""
    flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
    nll = [float(F.cross_entropy(flat_logits / t, flat_labels)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def calibration_error(logits: torch.Tensor, labels: torch.Tensor, temperature: float, bins: int = 10) -> float:
    """Expected calibration error of the top class, per place."""
    p = torch.softmax(logits.reshape(-1, logits.shape[-1]) / temperature, -1)
    conf, pred = p.max(-1)
    right = (pred == labels.reshape(-1)).float()
    ece = 0.0
    for k in range(bins):
        inside = (conf > k / bins) & (conf <= (k + 1) / bins)
        if inside.any():
            ece += float(inside.float().mean() * (conf[inside].mean() - right[inside].mean()).abs())
    return round(ece, 4)


def write_model(name: str, model: FieldClassifier, out_dir: Path, temperature: float, training: dict,
                metrics: dict) -> Path:
    crop = FIELD_CROPS[name]
    out = out_dir / f"{MODEL_NAMES[name]}.onnx"
    model = model.cpu().eval()
    channels = 3 if crop.color else 1
    dummy = torch.zeros(1, channels, crop.size[1], crop.size[0])
    torch.onnx.export(model, dummy, str(out), input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    manifest = {
        "name": out.stem,
        "version": 1,
        "task": f"classify the {name} of a rectified plate",
        "field": name,
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "input": {"name": "input", "shape": ["N", channels, crop.size[1], crop.size[0]], "layout": "NCHW",
                  "cut": {"box": list(crop.box), "size": list(crop.size), "color": crop.color},
                  "normalise": "edge.vision.fields.to_input: grey cuts to zero mean and unit spread each; "
                               "colour cuts BGR scaled to [-1, 1]"},
        "output": {"name": "logits", "shape": ["N", model.places, model.classes],
                   "meaning": "per place, logits over the classes; softmax(logits / temperature)"},
        "classes": list(vocabularies()[name]),
        "places": model.places,
        "calibration": {"temperature": round(temperature, 4),
                        "how": "fitted on the held-out synthetic plates by minimum negative log-likelihood"},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "training": training,
        "metrics": metrics,
    }
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="+", help="folders written by python -m engines.reader.data")
    ap.add_argument("--val", type=Path, required=True, help="a held-out folder (another seed)")
    ap.add_argument("--out", type=Path, default=Path("engines/models"))
    ap.add_argument("--fields", nargs="+", default=list(READ_FIELDS), choices=READ_FIELDS)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--note", default="")
    ap.add_argument("--init", type=Path, metavar="DIR",
                    help="fine-tune the classifiers exported in DIR (e.g. engines/models) instead of starting afresh; "
                         "their batch norms stay as exported")
    ap.add_argument("--member", type=int, default=0, help="with --init, the ensemble member to start from")
    ap.add_argument("--blur", type=float, default=0.0, metavar="SHARE",
                    help="blur this share of the cuts as a moving car would (BLUR_LENGTH of the plate's width)")
    ap.add_argument("--small", type=float, default=0.0, metavar="SHARE",
                    help="show this share of the lettering cuts as a plate SMALL_WIDTH pixels wide would give them")
    ap.add_argument("--processed", type=float, default=0.0, metavar="SHARE",
                    help="show this share of the lettering cuts as a camera that denoises and sharpens leaves them")
    ap.add_argument("--shadowed", type=float, default=0.0, metavar="SHARE",
                    help="show this share of the lettering cuts with a hard shadow cast across them")
    ap.add_argument("--glared", type=float, default=0.0, metavar="SHARE",
                    help="show this share of the lettering cuts with glare washing a patch of the plate out")
    ap.add_argument("--anchor", type=float, default=0.0, metavar="WEIGHT",
                    help="with --init, hold the fine-tune to the classifiers it starts from on the cuts no blur, "
                         "small plate, camera processing, shadow or glare touched (KL to them, this weight), so that "
                         "learning those costs less of what they read")
    ap.add_argument("--device", default="cpu",
                    help="where the networks train: cpu, or cuda (a GPU lent for training; exported for the CPU)")
    ap.add_argument("--letter-share", type=float, default=None, metavar="SHARE",
                    help="draw plates whose class number has a letter at this share of each batch (e.g. "
                         f"{LETTER_CLASS_SHARE_TRAINED}, the share decoding assumes), so that extra lettered plates "
                         "(python -m engines.reader.data --letter-classes) add variety, not weight")
    args = ap.parse_args(argv)
    for option in ("blur", "small", "processed", "shadowed", "glared"):
        share = getattr(args, option)
        if not 0.0 <= share <= 1.0:
            ap.error(f"--{option} is a share of the cuts, from 0 to 1, not {share}")
    if args.anchor < 0:
        ap.error(f"--anchor is a weight, 0 or more, not {args.anchor}")
    if args.anchor and args.init is None:
        ap.error("--anchor needs --init: it holds the fine-tune to the classifiers it starts from")
    if args.letter_share is not None and not 0.0 < args.letter_share < 1.0:
        ap.error(f"--letter-share is a share of each batch, between 0 and 1, not {args.letter_share}")

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    cuts, labels = load(args.data)
    val_cuts, val_labels = load([args.val])
    slices = label_slices()
    print(f"{len(labels)} training plates, {len(val_labels)} held out", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)  # checkpoints are written there during training

    models = {name: build(name) for name in args.fields}
    frozen_norms = args.init is not None
    for name, model in models.items():
        if args.init:
            init_from_onnx(model, args.init / f"{MODEL_NAMES[name]}.onnx", args.member)
        model.to(args.device)
        train_mode(model, frozen_norms)
    teachers = {name: copy.deepcopy(model).eval() for name, model in models.items()} if args.anchor else {}
    params = [p for m in models.values() for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    y_all = torch.from_numpy(labels)
    draws = Draws(labels, args.letter_share, rng)
    val_y = {name: torch.from_numpy(val_labels[:, slices[name]]) for name in models}
    start, running = time.time(), {}
    for step in range(1, args.steps + 1):
        idx = draws(args.batch)
        loss = 0.0
        for name, model in models.items():
            cut, plain = augment_marked(cuts[name][idx], rng, FIELD_CROPS[name], args.blur, args.small,
                                        args.processed, args.shadowed, args.glared)
            x = torch.from_numpy(to_input(cut)).to(args.device)
            logits = model(x)
            y = y_all[idx, slices[name]].reshape(-1).to(args.device)
            part = F.cross_entropy(logits.reshape(-1, model.classes), y)
            if name in teachers:
                with torch.no_grad():
                    teacher_logits = teachers[name](x)
                part = part + args.anchor * anchored_loss(logits, teacher_logits,
                                                          torch.from_numpy(plain).to(args.device))
            running[name] = part.item() if name not in running else 0.98 * running[name] + 0.02 * part.item()
            loss = loss + part
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps:
            losses = " ".join(f"{k} {v:.3f}" for k, v in running.items())
            line = f"step {step}/{args.steps} {losses} {time.time() - start:.0f}s"
            if step % 500 == 0 or step == args.steps:
                line += " val " + " ".join(
                    f"{k} {accuracy(logits_of(m, val_cuts[k]), val_y[k])['field_accuracy']}" for k, m in models.items())
                for m in models.values():
                    train_mode(m, frozen_norms)
                torch.save({k: m.state_dict() for k, m in models.items()}, args.out / "read-fields.pt")
            print(line, flush=True)
    seconds = time.time() - start

    training = {"data": f"python -m engines.reader.data: {len(labels)} synthetic plates "
                        f"({', '.join(str(f) for f in args.data)}); {len(val_labels)} held out ({args.val})",
                "recipe": (f"fine-tuned from {args.init} member {args.member} (batch norms frozen), " if args.init else "")
                          + f"AdamW one-cycle lr {args.lr}, {args.steps} steps of {args.batch} plates, "
                          f"{', '.join(args.fields)} together, shift/contrast/noise/white-balance augmentation"
                          + (f", class numbers with a letter {args.letter_share} of each batch"
                             if args.letter_share is not None else "")
                          + (f", motion blur on {args.blur:.0%} of the cuts ({BLUR_LENGTH[0]:.0%}-{BLUR_LENGTH[1]:.0%} "
                             f"of the plate's width)" if args.blur else "")
                          + (f", {args.small:.0%} of the lettering cuts seen as plates {SMALL_WIDTH[0]:.0f}-"
                             f"{SMALL_WIDTH[1]:.0f} px wide (JPEG {SMALL_JPEG_QUALITY[0]}-{SMALL_JPEG_QUALITY[1]} "
                             f"in {SMALL_JPEG_SHARE:.0%} of them)" if args.small else "")
                          + (f", {args.processed:.0%} of the lettering cuts denoised and sharpened as a camera does "
                             f"on plates {PROCESSED_WIDTH[0]:.0f}-{PROCESSED_WIDTH[1]:.0f} px wide" if args.processed else "")
                          + (f", {args.shadowed:.0%} of the lettering cuts with a hard shadow across them (shade "
                             f"{SHADOW_SHADE[0]}-{SHADOW_SHADE[1]})" if args.shadowed else "")
                          + (f", {args.glared:.0%} of the lettering cuts with glare on the plate ({GLARE_SIZE[0]}-"
                             f"{GLARE_SIZE[1]} of its width)" if args.glared else "")
                          + (f", held to the classifiers it started from on the cuts only the plain augmentation "
                             f"touched (KL weight {args.anchor})" if args.anchor else "")
                          + f", seed {args.seed}",
                "note": args.note, "seconds": round(seconds), "torch": torch.__version__,
                **({"device": torch.cuda.get_device_name(args.device)} if args.device.startswith("cuda") else {})}
    for name, model in models.items():
        val_logits = logits_of(model, val_cuts[name])
        temperature = fit_temperature(val_logits, val_y[name])
        metrics = {"held_out_synthetic": {**accuracy(val_logits, val_y[name]),
                                          "calibration_error_before": calibration_error(val_logits, val_y[name], 1.0),
                                          "calibration_error_after": calibration_error(val_logits, val_y[name],
                                                                                       temperature)}}
        path = write_model(name, model, args.out, temperature, training, metrics)
        print(f"wrote {path}: temperature {temperature:.3f} {metrics}", flush=True)
    torch.save({k: m.state_dict() for k, m in models.items()}, args.out / "read-fields.pt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
