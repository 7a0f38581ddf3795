"""Train the plate segmenter on synthetic scenes, on CPU, and export it to ONNX with its manifest.

    python -m engines.segmenter.train DATA_DIR --steps 2500 --out engines/models/plate-seg.onnx

``make train`` generates the scenes (anpr synth) and runs this. The last 5 % of the scenes
are held out; their views give the validation figures written into the manifest.
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

from engines.finetune import copy_checked, load_folded, onnx_weights, train_mode
from engines.segmenter.data import MEAN, STD, read_scenes, to_input, training_view
from engines.segmenter.model import CLASSES, PlateSegmenter

CLASS_WEIGHTS = (1.0, 3.0, 3.0, 3.0, 3.0, 3.0)  # plate pixels are rare in find views


class Views(torch.utils.data.Dataset):
    def __init__(self, records, seed: int, count: int, size: int):
        self.records, self.seed, self.count, self.size = records, seed, count, size

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        rng = np.random.default_rng((self.seed, i))
        view, labels = training_view(self.records[int(rng.integers(len(self.records)))], rng, self.size)
        return torch.from_numpy(to_input(view[None])[0]), torch.from_numpy(labels.astype(np.int64))


def module_name(node_name: str) -> str:
    """The module an exported node came from: torch names nodes by their scopes, each scope
    either a child of the last (``/stage1/stage1.0/conv1/Conv`` -> ``stage1.0.conv1``) or, where
    it repeats the last one's name (``shortcut/shortcut.0``), that child's full name."""
    parts: list[str] = []
    for scope in node_name.strip("/").split("/")[:-1]:
        if parts and scope.startswith(parts[-1] + "."):
            parts[-1] = scope
        else:
            parts.append(scope)
    return ".".join(parts)


def norm_after(model: PlateSegmenter, conv_name: str) -> torch.nn.BatchNorm2d:
    """The batch norm that follows a bias-free convolution: ``x.0`` -> ``x.1``, ``convN`` -> ``bnN``."""
    head, _, last = conv_name.rpartition(".")
    name = f"{head}.1" if last == "0" else f"{head}.bn{last.removeprefix('conv')}"
    return model.get_submodule(name)


def init_from_onnx(model: PlateSegmenter, path: Path) -> None:
    """Start ``model`` from an exported segmenter (the committed one); fine-tune it with
    ``train_mode(model, frozen_norms=True)`` (engines/finetune.py says why)."""
    graph, weights = onnx_weights(path, "an exported segmenter")
    convs = {name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}
    loaded = set()
    with torch.no_grad():
        for node in (n for n in graph.node if n.op_type == "Conv"):
            name = module_name(node.name)
            if name not in convs:
                raise SystemExit(f"{path}: convolution {node.name} has no counterpart in the model")
            conv, where = model.get_submodule(name), f"{path}: {node.name}"
            weight, bias = weights[node.input[1]], weights[node.input[2]]
            if conv.bias is None:
                load_folded(conv, norm_after(model, name), weight, bias, where)
            else:
                copy_checked(conv.weight, weight, where)
                copy_checked(conv.bias, bias, where)
            loaded.add(name)
    if loaded != convs:
        raise SystemExit(f"{path}: no weights for {', '.join(sorted(convs - loaded))}; not the same architecture")


def evaluate(model, batches) -> dict:
    """Pixel figures on held-out views: plate IoU (plate and fields together) and field accuracy."""
    model.eval()
    inter = union = field_right = field_total = 0
    with torch.no_grad():
        for x, y in batches:
            pred = model(x).argmax(1)
            inter += int(((pred > 0) & (y > 0)).sum())
            union += int(((pred > 0) | (y > 0)).sum())
            fields = y >= 2
            field_right += int((pred[fields] == y[fields]).sum())
            field_total += int(fields.sum())
    return {"plate_iou": round(inter / max(union, 1), 4), "field_pixel_accuracy": round(field_right / max(field_total, 1), 4)}


def export(model, out: Path, size: int) -> None:
    model.eval()
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, str(out), input_names=["image"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                    "logits": {0: "batch", 2: "height", 3: "width"}}, dynamo=False)


def write_model(model, out: Path, size: int, training: dict, metrics: dict) -> None:
    """Export ``model`` to ``out`` (ONNX) and write its manifest beside it."""
    export(model, out, size)
    manifest = {
        "name": out.stem,
        "version": 1,
        "task": "semantic segmentation of the plate and its four fields",
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "input": {"name": "image", "shape": ["N", 3, "H", "W"], "layout": "NCHW", "color": "RGB",
                  "normalise": {"scale": 1 / 255, "mean": MEAN, "std": STD},
                  "multiple_of": 32, "pad_value": 0},
        "output": {"name": "logits", "shape": ["N", len(CLASSES), "H", "W"],
                   "meaning": "per-pixel class logits (softmax over the class axis)"},
        "classes": list(CLASSES),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "training": training,
        "metrics": metrics,
    }
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="+", help="folders written by `anpr synth --kind scenes`")
    ap.add_argument("--out", type=Path, default=Path("engines/models/plate-seg.onnx"))
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--note", default="", help="recorded in the manifest (e.g. where the scenes came from)")
    ap.add_argument("--init", type=Path, metavar="ONNX",
                    help="fine-tune this exported segmenter (e.g. engines/models/plate-seg.onnx) instead of starting "
                         "afresh; its batch norms stay as exported")
    args = ap.parse_args(argv)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train, val = [], []
    for folder in args.data:
        scenes = read_scenes(folder)
        if len(scenes) < 50:
            raise SystemExit(f"{folder}: only {len(scenes)} scenes; generate more with anpr synth --kind scenes")
        held = max(20, len(scenes) // 20)  # the last scenes of each folder are held out
        train += scenes[:-held]
        val += scenes[-held:]
    loader = torch.utils.data.DataLoader(Views(train, args.seed, args.steps * args.batch, args.size),
                                         batch_size=args.batch, num_workers=1, persistent_workers=True)
    val_batches = list(torch.utils.data.DataLoader(Views(val, 10_000 + args.seed, 256, args.size), batch_size=32))

    model = PlateSegmenter()
    frozen_norms = args.init is not None
    if args.init:
        init_from_onnx(model, args.init)
    train_mode(model, frozen_norms)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    weights = torch.tensor(CLASS_WEIGHTS)
    start, running = time.time(), None
    for step, (x, y) in enumerate(loader, 1):
        loss = F.cross_entropy(model(x), y, weight=weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == args.steps:
            line = f"step {step}/{args.steps} loss {running:.4f} {time.time() - start:.0f}s"
            if step % 500 == 0 or step == args.steps:
                line += f" val {evaluate(model, val_batches)}"
                train_mode(model, frozen_norms)
                torch.save(model.state_dict(), args.out.with_suffix(".pt"))
            print(line, flush=True)
    seconds = time.time() - start
    metrics = evaluate(model, val_batches)

    training = {"data": f"anpr synth --kind scenes, {len(train)} scenes ({len(val)} held out)",
                "recipe": (f"fine-tuned from {args.init} (batch norms frozen), " if args.init else "")
                          + f"AdamW one-cycle lr {args.lr}, {args.steps} steps of {args.batch} views "
                          f"{args.size}x{args.size}, class weights {list(CLASS_WEIGHTS)}, seed {args.seed}",
                "folders": [str(f) for f in args.data], "note": args.note,
                "seconds": round(seconds), "torch": torch.__version__}
    write_model(model, args.out, args.size, training, {"held_out_synthetic_views": metrics})
    torch.save(model.state_dict(), args.out.with_suffix(".pt"))  # kept (not committed) to fine-tune from
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {seconds / 60:.1f} min; {metrics}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
