"""Train the region reader that reads the name character by character (``read-region-chars``),
on CPU, and export it to ONNX with its manifest.

    python -m engines.reader.train_chars TRAIN_DIR... --val VAL_DIR --steps 3000 --out engines/models

The data are the field classifiers' (``python -m engines.reader.data``): the same region cut,
its label spelled out. The 138 names share their 194 characters (川 in 15 names, 山 in 9), so a
character is learnt from every name it is in, where the whole-name classifier (read-region)
learns each name from its own plates only. Plates with an old one-kanji label are left out:
their text is not a name. At run time the columns' probabilities are scored against the 138
names (edge/vision/second_opinion.py, as the PP-OCR recogniser's are): an opinion on the region
where the classifier is unsure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from edge.plates.reading import vocabularies
from edge.vision.fields import FIELD_CROPS, to_input
from engines.reader.model import CharReader
from engines.reader.train import augment, label_slices, load

NAME = "read-region-chars"


def characters() -> list[str]:
    """Every character of the 138 names, in code-point order (the model's columns 1..)."""
    return sorted(set("".join(vocabularies()["region"][:-1])))


def targets(region_labels: np.ndarray, chars: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each plate: whether it has a name (not an old label), and its name as character ids
    (1-based, padded with 0) with their count."""
    names = vocabularies()["region"]
    index = {c: i + 1 for i, c in enumerate(chars)}
    unknown = len(names) - 1
    longest = max(len(n) for n in names[:-1])
    ids = np.zeros((len(region_labels), longest), np.int64)
    lengths = np.zeros(len(region_labels), np.int64)
    for k, label in enumerate(region_labels):
        if label != unknown:
            name = names[label]
            ids[k, :len(name)] = [index[c] for c in name]
            lengths[k] = len(name)
    return lengths > 0, ids, lengths


def greedy_names(logits: torch.Tensor, chars: list[str]) -> list[str]:
    """Best path, collapsed: what the reader spells (for the held-out accuracy)."""
    out = []
    for row in logits.argmax(-1).tolist():
        text, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                text.append(chars[k - 1])
            prev = k
        out.append("".join(text))
    return out


def write_model(model: CharReader, out_dir: Path, chars: list[str], training: dict, metrics: dict) -> Path:
    crop = FIELD_CROPS["region"]
    out = out_dir / f"{NAME}.onnx"
    model.eval()
    dummy = torch.zeros(1, 1, crop.size[1], crop.size[0])
    torch.onnx.export(model, dummy, str(out), input_names=["input"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    with torch.no_grad():
        columns = int(model(dummy).shape[1])
    manifest = {
        "name": NAME,
        "version": 1,
        "task": "read the region name of a rectified plate character by character (CTC)",
        "field": "region",
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "input": {"name": "input", "shape": ["N", 1, crop.size[1], crop.size[0]], "layout": "NCHW",
                  "cut": {"box": list(crop.box), "size": list(crop.size), "color": False},
                  "normalise": "edge.vision.fields.to_input: grey cuts to zero mean and unit spread each"},
        "output": {"name": "logits", "shape": ["N", columns, len(chars) + 1],
                   "meaning": "per column (four input pixels), logits over CTC's blank (0) and the characters"},
        "classes": ["<blank>", *chars],
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
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    chars = characters()
    region = label_slices()["region"].start
    cuts, labels = load(args.data)
    named, ids, lengths = targets(labels[:, region], chars)
    cuts, ids, lengths = cuts["region"][named], torch.from_numpy(ids[named]), torch.from_numpy(lengths[named])
    val_cuts, val_labels = load([args.val])
    val_named, _, _ = targets(val_labels[:, region], chars)
    val_cuts = val_cuts["region"][val_named]
    val_names = [vocabularies()["region"][k] for k in val_labels[val_named, region]]
    print(f"{len(cuts)} training plates with a name, {len(val_cuts)} held out", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)

    crop = FIELD_CROPS["region"]
    model = CharReader(1, len(chars), crop.size[1])
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)

    def held_out_accuracy() -> float:
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(torch.from_numpy(to_input(val_cuts[i:i + 512])))
                                for i in range(0, len(val_cuts), 512)])
        model.train()
        return round(float(np.mean([a == b for a, b in zip(greedy_names(logits, chars), val_names)])), 4)

    start, running = time.time(), None
    model.train()
    for step in range(1, args.steps + 1):
        idx = rng.integers(0, len(cuts), args.batch)
        x = torch.from_numpy(to_input(augment(cuts[idx], rng, color=False)))
        log_probs = F.log_softmax(model(x), -1)  # N x T x C
        t = log_probs.shape[1]
        loss = F.ctc_loss(log_probs.transpose(0, 1), ids[idx], torch.full((args.batch,), t, dtype=torch.long),
                          lengths[idx], blank=0, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == args.steps:
            line = f"step {step}/{args.steps} ctc {running:.3f} {time.time() - start:.0f}s"
            if step % 500 == 0 or step == args.steps:
                line += f" val names spelled right {held_out_accuracy()}"
            print(line, flush=True)
    seconds = time.time() - start
    training = {"data": f"python -m engines.reader.data: {len(cuts)} synthetic plates with a name "
                        f"({', '.join(str(f) for f in args.data)}); {len(val_cuts)} held out ({args.val})",
                "recipe": f"AdamW one-cycle lr {args.lr}, {args.steps} steps of {args.batch} plates, CTC loss, "
                          f"shift/contrast/noise augmentation, seed {args.seed}",
                "note": args.note, "seconds": round(seconds), "torch": torch.__version__}
    metrics = {"held_out_synthetic": {"names_spelled_right": held_out_accuracy()}}
    path = write_model(model, args.out, chars, training, metrics)
    print(f"wrote {path}: {metrics}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
