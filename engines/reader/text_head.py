"""Train a field's head on a PP-OCR recogniser's features (edge/vision/field_text.py).

The recogniser (``engines/models/ppocr5-rec.onnx``, PP-OCRv5, or ``ppocr-rec.onnx``, PP-OCRv4, as
``--recogniser`` says; `make models`; trained on real photographs of text) stays frozen; a small
head of our own learns one field from its per-column features of that field's cell (``--field``:
the 138 region names and "unknown", the class number's 3 places, the kana, or the serial's 4
places), on the same synthetic plates as the field classifiers (``engines.reader.data.example``:
rectified with the segmenter's kind of corner error). Its temperature, and the weight it gets
against our classifier of the field where ours is unsure (under ``vision.field_text_below``, as
the runtime asks it; ``calibrate --below P`` fits the weight over the plates under P instead), are
fitted on a separate tuning seed, never on the sets that decide.

    python -m engines.reader.text_head render DIR --seed 21 --count 30000 --degraded 0.5 [--field region]
    python -m engines.reader.text_head render TUNE_DIR --seed 23 --count 1000 [--field region]
    python -m engines.reader.text_head train DIR [DIR ...] --tune TUNE_DIR [--recogniser ppocr5-rec] [--field region]
        [--out engines/models]
    python -m engines.reader.text_head calibrate TUNE_DIR [--field region] [--below P] [--out engines/models]
    python -m engines.reader.text_head merge HEAD.onnx HEAD.onnx [...] --tune TUNE_DIR [--out engines/models]
        (a merged head, a committed one, gives its members one by one: a committed head grows by a new one)

``render`` writes ``DIR/shard-NNNN.npz`` (``col``: the field's cell at the recogniser's height,
48 high BGR, 96 wide, the kana's 48, the serial's 128; ``grey``: our classifier's cut of the field;
``lab``: the field's class indices) and ``meta.json``. ``train`` needs torch (``pip install -e .[train]``) and writes
``read-region-text.onnx`` (``read-class-number-text.onnx``, ``read-kana-text.onnx``, ``read-serial-text.onnx``) with
its manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import time
from pathlib import Path

import cv2
import numpy as np

from edge.common.fonts import font_names
from edge.plates.reading import plate_labels, vocabularies
from edge.synth.backgrounds import Backgrounds, default_backgrounds_dir
from edge.synth.degrade import glare, random_shadow
from edge.vision.config import VisionConfig
from edge.vision.field_text import CROPS, MODEL_NAMES, best, combine, softmax
from edge.vision.fields import FIELD_CROPS, FieldCrop, cut
from edge.vision.geometry import CANONICAL_SIZE
from edge.vision.manifest import DEFAULT_MODELS_DIR
from edge.vision.reader import FieldClassifier
from edge.vision.second_opinion import HEIGHT, Recogniser
from engines.reader import data

SHARD = 4000
MERGED_TASK = ": {} heads trained apart, averaged"  # what a merged head's task adds to its heads' own


def cell(field: str) -> tuple[int, int]:
    """The field's cell at the recogniser's height, as it resizes it (96 x 48; the kana's 48 x 48, the
    serial's 128 x 48)."""
    size = CROPS[field].size
    return round(HEIGHT * size[0] / size[1]), HEIGHT


WEIGHTS = np.round(np.linspace(0, 1, 21), 2)  # 0, 0.05, ..., 1: a weight the manifest writes as it is
DEGRADATIONS = ("small", "blur", "shadow", "glare", "processed")


def degraded(rectified: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """The rectified plate (336 x 168 BGR) as the field classifiers' training shows their cuts
    (``engines.reader.train``'s degradations, at its ranges, on the whole plate): ``small`` (seen
    24-64 px wide, JPEG 10-40 in half), ``blur`` (a moving car's), ``shadow`` (a hard one across
    it), ``glare`` (a bright patch anywhere on it), ``processed`` (a camera's denoise and sharpen)."""
    from engines.reader import train as t  # torch: the train extra

    plate = FieldCrop((0.0, 0.0, 1.0, 1.0), CANONICAL_SIZE, color=True)
    width = float(CANONICAL_SIZE[0])
    if kind == "small":  # the JPEG drawn before the width (train.py's cuts the other way round; the
        # committed heads' data was drawn so)
        quality = int(rng.integers(t.SMALL_JPEG_QUALITY[0], t.SMALL_JPEG_QUALITY[1] + 1)) \
            if rng.random() < t.SMALL_JPEG_SHARE else None
        return t.seen_small(rectified, plate, float(np.exp(rng.uniform(*np.log(t.SMALL_WIDTH)))), quality)
    if kind == "blur":
        return t.blurred_at_random(rectified, plate, rng)
    if kind == "processed":
        return t.processed_at_random(rectified, plate, rng)
    image = rectified.astype(np.float32)
    if kind == "shadow":
        out = random_shadow(image, (0.0, 0.0, width, width / 2), width, rng)
    elif kind == "glare":
        out = glare(image, (rng.uniform(0, width), rng.uniform(0, width / 2)), width * rng.uniform(*t.GLARE_SIZE), rng)
    else:
        raise ValueError(f"no degradation {kind!r} ({', '.join(DEGRADATIONS)})")
    return np.clip(out, 0, 255).astype(np.uint8)


def _render(job: tuple[str, int, int, int, str | None, str, float]) -> str:
    out, seed, start, count, backgrounds_dir, field, share = job
    backgrounds = Backgrounds(backgrounds_dir) if backgrounds_dir else None
    col, grey, lab = [], [], []
    for i in range(start, start + count):
        rectified, plate, _ = data.example(seed, i, backgrounds)
        views = [rectified]
        rng = np.random.default_rng([seed, i, 56])
        if rng.random() < share:  # the plate once more, degraded
            views.append(degraded(rectified, DEGRADATIONS[rng.integers(len(DEGRADATIONS))], rng))
        for view in views:
            grey.append(cut(view, FIELD_CROPS[field]))
            col.append(cv2.resize(cut(view, CROPS[field]), cell(field), interpolation=cv2.INTER_AREA))
            lab.append(plate_labels(plate)[field])
    path = Path(out) / f"shard-{start // SHARD:04d}.npz"
    np.savez(path, col=np.array(col), grey=np.array(grey), lab=np.array(lab))
    return str(path)


def render(out: Path, seed: int, count: int, workers: int = 2, backgrounds: str | None = None,
           field: str = "region", degraded_share: float = 0.0) -> None:
    if not 0 <= degraded_share <= 1:
        raise SystemExit(f"--degraded {degraded_share}: a share of the plates, 0 to 1")
    out.mkdir(parents=True, exist_ok=True)
    backgrounds = backgrounds or (str(default_backgrounds_dir()) if default_backgrounds_dir() else None)
    jobs = [(str(out), seed, start, min(SHARD, count - start), backgrounds, field, degraded_share)
            for start in range(0, count, SHARD)]
    t0 = time.time()
    with mp.get_context("spawn").Pool(workers) as pool:
        for k, path in enumerate(pool.imap_unordered(_render, jobs), 1):
            print(f"{k}/{len(jobs)} {path} {time.time() - t0:.0f}s", flush=True)
    (out / "meta.json").write_text(json.dumps({"count": count, "seed": seed, "backgrounds": backgrounds,
                                               "field": field, "degraded": degraded_share,
                                               "fonts": font_names()}) + "\n")


def load(*folders: Path) -> dict[str, np.ndarray]:
    """The shards of one or more folders, folder by folder, each's in name order."""
    parts = []
    for folder in folders:
        shards = sorted(folder.glob("shard-*.npz"))
        if not shards:
            raise SystemExit(f"{folder}: no shard-*.npz (python -m engines.reader.text_head render {folder})")
        parts += [np.load(s) for s in shards]
    out = {key: np.concatenate([p[key] for p in parts]) for key in ("col", "grey", "lab")}
    out["lab"] = out["lab"].reshape(len(out["lab"]), -1)  # one column a place
    return out


def described(folder: Path) -> dict:
    """What a folder of shards holds, for the manifest: its seed, count, the share of plates also
    there degraded and the font files the lettering was drawn from (``meta.json``; None where
    it was rendered before they were recorded)."""
    meta = folder / "meta.json"
    data = json.loads(meta.read_text()) if meta.exists() else {}
    return {"seed": data.get("seed"), "count": data.get("count"), "degraded": data.get("degraded", 0.0),
            "fonts": data.get("fonts"), "folder": folder.name}


def features(recogniser: Recogniser, cells: np.ndarray, batch: int = 64) -> np.ndarray:
    return np.concatenate([recogniser.features(list(cells[i:i + batch])).astype(np.float16)
                           for i in range(0, len(cells), batch)])


def ours(models_dir: Path, grey: np.ndarray, field: str = "region", batch: int = 256) -> np.ndarray:
    """Our classifier's calibrated probabilities on its cuts: N x places x classes."""
    c = FieldClassifier(field, models_dir)
    return np.concatenate([c.of_cuts(grey[i:i + batch]) for i in range(0, len(grey), batch)])


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood over plates and places (N x places x classes, N x places)."""
    return float(-np.log(np.take_along_axis(probs, labels[..., None], axis=-1) + 1e-12).mean())


def calibrate(head_logits: np.ndarray, mine: np.ndarray, labels: np.ndarray, field: str = "region",
              below: float | None = None) -> dict:
    """The head's temperature (the field classifiers' own grid fit) and its weight against ours
    over the plates ours is unsure of (``best`` under ``below``, as the runtime asks it: by default
    ``vision.field_text_below``), with each one's figures (arrays N x places x classes; accuracy:
    every place right)."""
    import torch

    from engines.reader.train import calibration_error, fit_temperature

    temperature = fit_temperature(torch.tensor(head_logits), torch.tensor(labels))
    theirs = softmax(head_logits / temperature)
    below = VisionConfig().field_text_below if below is None else below
    unsure = np.array([best(field, m) < below for m in mine])
    weight = float(min(WEIGHTS, key=lambda w: nll(combine(mine[unsure], theirs[unsure], w), labels[unsure])))
    both = mine.copy()
    both[unsure] = combine(mine[unsure], theirs[unsure], weight)
    tuning = {name: {"accuracy": round(float((p.argmax(-1) == labels).all(axis=1).mean()), 4),
                     "calibration_error": calibration_error(torch.tensor(np.log(p + 1e-12)), torch.tensor(labels), 1.0)}
              for name, p in (("ours", mine), ("head", theirs), ("combined", both))}
    return {"temperature": round(temperature, 4), "weight": weight, "fitted_below": below, "tuning_set": tuning}


RECOGNISERS = {"ppocr-rec": "PP-OCRv4", "ppocr5-rec": "PP-OCRv5"}


def train(train_dirs: list[Path], tune_dir: Path, out_dir: Path, models_dir: Path, epochs: int = 20, seed: int = 0,
          recogniser_name: str = "ppocr5-rec", field: str = "region") -> Path:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    recogniser = Recogniser(models_dir / f"{recogniser_name}.onnx")
    t0 = time.time()
    tr, tune = load(*train_dirs), load(tune_dir)
    x, y = torch.tensor(features(recogniser, tr["col"]).astype(np.float32)), torch.tensor(tr["lab"])
    tune_x = features(recogniser, tune["col"]).astype(np.float32)
    print(f"features of {len(x)} + {len(tune_x)} plates: {time.time() - t0:.0f}s", flush=True)
    steps_t, width, classes, places = x.shape[1], x.shape[2], len(vocabularies()[field]), y.shape[1]

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(width)
            self.conv = nn.Sequential(nn.Conv1d(width, 256, 3, padding=1), nn.GELU(),
                                      nn.Conv1d(256, 256, 3, padding=1), nn.GELU())
            self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(steps_t * 256, places * classes))

        def forward(self, f):  # N x classes for one place (region, kana), else N x places x classes
            out = self.out(self.conv(self.norm(f).transpose(1, 2)).flatten(1)).view(-1, places, classes)
            return out[:, 0] if places == 1 else out

    net, batch = Head(), min(128, len(x))
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=epochs * (len(x) // batch))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    spread = x.std()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x) - batch + 1, batch):
            idx = order[i:i + batch]
            logits = net(x[idx] + 0.05 * spread * torch.randn(batch, steps_t, width))
            loss = loss_fn(logits.reshape(-1, classes), y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{epochs} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
    net.eval()
    with torch.no_grad():
        tune_logits = net(torch.tensor(tune_x)).double().numpy().reshape(len(tune_x), places, classes)
    calibration = calibrate(tune_logits, ours(models_dir, tune["grey"], field), tune["lab"], field)
    print(f"tuning set: {calibration}", flush=True)

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{MODEL_NAMES[field]}.onnx"
    torch.onnx.export(net, torch.zeros(1, steps_t, width), out, input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "N"}, "logits": {0: "N"}}, dynamo=False)
    rec = recogniser.manifest.data
    manifest = {
        "name": MODEL_NAMES[field], "version": 1,
        "task": f"classify the {field} from the {RECOGNISERS[recogniser_name]} recogniser's features",
        "field": field, "file": out.name, "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "input": {"name": "features", "shape": ["N", steps_t, width], "features": rec["features"]["name"],
                  "from": {"model": rec["file"], "sha256": rec["sha256"]},
                  "cut": {"box": list(CROPS[field].box), "size": list(cell(field)), "color": True}},
        "output": {"name": "logits", "shape": ["N", classes] if places == 1 else ["N", places, classes],
                   "meaning": "softmax(logits / temperature)" + ("" if places == 1 else " over each place")},
        "classes": list(vocabularies()[field]),
        "calibration": {**calibration, "fitted_on": described(tune_dir)},
        "training": {"plates": len(x), "data": [described(d) for d in train_dirs], "epochs": epochs, "batch": batch,
                     "seed": seed,
                     "optimiser": "AdamW 2e-3 one-cycle, weight decay 0.05, label smoothing 0.05",
                     "seconds": round(time.time() - t0)},
    }
    write_manifest(out, manifest)
    return out


def tuned(model: bytes, manifest: dict, tune_dir: Path, models_dir: Path, field: str,
          below: float | None = None) -> dict:
    """``calibrate`` for the head ``model`` (ONNX bytes) on ``tune_dir``'s plates, the recogniser
    its manifest names and our classifier of the field taken from ``models_dir``."""
    import onnxruntime as ort

    tune = load(tune_dir)
    recogniser = Recogniser(models_dir / manifest["input"]["from"]["model"])
    x = features(recogniser, tune["col"]).astype(np.float32)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    logits = session.run([manifest["output"]["name"]], {manifest["input"]["name"]: x})[0].astype(np.float64)
    places = tune["lab"].shape[1]
    calibration = calibrate(logits.reshape(len(x), places, -1), ours(models_dir, tune["grey"], field), tune["lab"],
                            field, below)
    print(f"tuning set: {calibration}", flush=True)
    return calibration


def merge_heads(heads: list[Path], tune_dir: Path, out_dir: Path, models_dir: Path) -> Path:
    """Heads of one field trained apart, averaged into one graph as the readers' ensembles are
    (``engines.reader.ensemble.merge``: the log of the mean of each head's softmax at its own
    temperature), the merged head's temperature and weight against ours fitted on ``tune_dir``.
    A head that is itself merged (a committed one) gives its members one by one, each with the
    temperature its graph holds and the training its manifest lists, so a committed head can be
    grown without the files it was merged from."""
    from engines.reader.ensemble import merge

    manifests = [json.loads(h.with_suffix(".json").read_text(encoding="utf-8")) for h in heads]
    first = manifests[0]
    field = first.get("field", "region")
    members = []
    for head, manifest in zip(heads, manifests):
        if manifest.get("field", "region") != field or manifest["input"] != first["input"] \
                or manifest["classes"] != first["classes"]:
            raise SystemExit(f"{head}: reads another field, cell or recogniser's features than {heads[0]}")
        members += head_members(head, manifest)
    if len(members) < 2:
        raise SystemExit("merge: two heads or more")
    model = merge([graph for graph, _, _ in members], [temperature for _, temperature, _ in members],
                  input_name=first["input"]["name"])
    data = model.SerializeToString()
    calibration = tuned(data, first, tune_dir, models_dir, field)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{MODEL_NAMES[field]}.onnx"
    out.unlink(missing_ok=True)  # a link to the committed head is replaced, not written through
    out.write_bytes(data)
    # a merged head's task names its count of heads (its manifest's members): the new count replaces it
    task = first["task"].removesuffix(MERGED_TASK.format(len(first["training"].get("members", []))))
    manifest = {**first, "version": first.get("version", 1), "file": out.name, "sha256": hashlib.sha256(data).hexdigest(),
                "task": task + MERGED_TASK.format(len(members)),
                "calibration": {**calibration, "fitted_on": described(tune_dir)},
                "training": {"members": [training for _, _, training in members],
                             "merged": "log(mean_i softmax(logits_i / T_i)) (engines/reader/ensemble.merge); "
                                       "T_i: each head's own calibrated temperature"}}
    write_manifest(out, manifest)
    return out


def head_members(head: Path, manifest: dict) -> list[tuple[object, float, dict]]:
    """``head``'s networks, each with its temperature and its training: itself, or a merged head's
    members (``engines.reader.ensemble.split``)."""
    import onnx

    from engines.reader.ensemble import member_count, split

    graph = onnx.load(head)
    if not member_count(graph.graph):
        return [(graph, manifest["calibration"]["temperature"], manifest["training"])]
    trainings = manifest["training"].get("members", [])
    parts = split(graph)
    if len(trainings) != len(parts):
        raise SystemExit(f"{head}: its graph holds {len(parts)} heads and its manifest lists {len(trainings)}")
    return [(part, temperature, training) for (part, temperature), training in zip(parts, trainings)]


def write_manifest(head: Path, manifest: dict) -> None:
    """``manifest`` beside ``head`` (a link to a committed manifest is replaced, not written through)."""
    path = head.with_suffix(".json")
    path.unlink(missing_ok=True)
    path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {head} and its manifest")


def refit(tune_dir: Path, out_dir: Path, models_dir: Path, field: str = "region", below: float | None = None) -> Path:
    """The field's committed head (in ``models_dir``), its weights as they are, with its temperature
    and its weight against ours fitted again on ``tune_dir`` (``calibrate``, as ``train`` fits them);
    the head and its manifest written to ``out_dir``, the manifest keeping the calibration it had."""
    head = models_dir / f"{MODEL_NAMES[field]}.onnx"
    manifest = json.loads(head.with_suffix(".json").read_text(encoding="utf-8"))
    if manifest.get("field", "region") != field:
        raise SystemExit(f"{head}: its manifest says it reads the {manifest.get('field')}, not the {field}")
    calibration = tuned(head.read_bytes(), manifest, tune_dir, models_dir, field, below)
    before = {key: manifest["calibration"][key] for key in ("temperature", "weight", "fitted_on")}
    manifest["calibration"] = {**calibration, "fitted_on": described(tune_dir), "before_refit": before}
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / head.name
    if out_dir.resolve() != models_dir.resolve():
        out.unlink(missing_ok=True)  # a link to the committed head is replaced by a copy
        out.write_bytes(head.read_bytes())
    write_manifest(out, manifest)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="synthetic plates' cells of one field")
    r.add_argument("out", type=Path)
    r.add_argument("--seed", type=int, default=21)
    r.add_argument("--count", type=int, default=30000)
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--backgrounds", default=None)
    r.add_argument("--field", choices=sorted(CROPS), default="region")
    r.add_argument("--degraded", type=float, default=0.0, metavar="SHARE",
                   help="that share of the plates also as the classifiers' training degrades them (a second row)")
    t = sub.add_parser("train", help="the head, its temperature and weight")
    t.add_argument("train", type=Path, nargs="+", help="one or more folders `render` wrote (their plates together)")
    t.add_argument("--tune", type=Path, required=True)
    t.add_argument("--out", type=Path, default=DEFAULT_MODELS_DIR)
    t.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="where the recogniser and read-region are")
    t.add_argument("--recogniser", choices=sorted(RECOGNISERS), default="ppocr5-rec",
                   help="whose features the head reads (the committed head: PP-OCRv5's; lever 44's: ppocr-rec)")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--field", choices=sorted(CROPS), default="region")
    c = sub.add_parser("calibrate", help="the committed head's temperature and weight fitted again, its weights kept")
    c.add_argument("tune", type=Path)
    c.add_argument("--out", type=Path, default=DEFAULT_MODELS_DIR)
    c.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="where the head, its recogniser and ours are")
    c.add_argument("--field", choices=sorted(CROPS), default="region")
    c.add_argument("--below", type=float, default=None, metavar="P",
                   help="fit the weight over the plates ours is under P (default: vision.field_text_below)")
    m = sub.add_parser("merge", help="heads of one field trained apart, averaged into one; its temperature and weight")
    m.add_argument("heads", type=Path, nargs="+", help="the heads' .onnx files (each beside its manifest)")
    m.add_argument("--tune", type=Path, required=True)
    m.add_argument("--out", type=Path, default=DEFAULT_MODELS_DIR)
    m.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="where the recogniser and ours are")
    a = ap.parse_args(argv)
    if a.command == "render":
        render(a.out, a.seed, a.count, a.workers, a.backgrounds, a.field, a.degraded)
    elif a.command == "calibrate":
        if a.below is not None and not 0 < a.below <= 1:
            raise SystemExit(f"--below {a.below}: a confidence, above 0 and at most 1")
        refit(a.tune, a.out, a.models, a.field, a.below)
    elif a.command == "merge":
        merge_heads(a.heads, a.tune, a.out, a.models)
    else:
        train(a.train, a.tune, a.out, a.models, a.epochs, a.seed, a.recogniser, a.field)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
