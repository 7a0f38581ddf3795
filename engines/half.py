"""Store a model's weights at half precision, in place: the file halves, the network computes in float32.

    python -m engines.half engines/models/read-region.onnx [MORE.onnx...]

Each model is rewritten by ``edge.vision.half.store_half`` and its manifest (the ``.json``
beside it) gets the new file's sha256 and a ``weights`` entry saying how they are stored. The
committed files must stay under the repository's 20 MB limit; a six-member reader does not in
float32. A model already stored so is left as it is; one stored so in part (an ensemble merging
half-stored members with newly trained ones) has the rest of its weights halved.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx

from edge.vision.half import WEIGHTS_NOTE, float_weights, is_half, store_half
from edge.vision.plans import sha256_of


def halve(path: Path) -> str:
    """Rewrite the model at ``path`` and its manifest; what was done, for the log."""
    meta = path.with_suffix(".json")
    if not path.is_file() or not meta.is_file():
        raise SystemExit(f"{path}: needs the model and its manifest {meta.name} beside it")
    model = onnx.load(str(path))
    if not float_weights(model):
        return f"{path}: already stored at half precision, left as it is"
    partly = is_half(model)  # an ensemble of half-stored members and new ones: the new ones' weights are halved
    before = path.stat().st_size
    onnx.save(store_half(model), str(path))
    manifest = json.loads(meta.read_text(encoding="utf-8"))
    manifest["sha256"] = sha256_of(path)
    manifest["weights"] = WEIGHTS_NOTE
    meta.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return (f"{path}: {before / 1e6:.1f} MB -> {path.stat().st_size / 1e6:.1f} MB"
            + (" (the weights it still held in float32)" if partly else ""))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", type=Path, nargs="+", help="ONNX models, each with its manifest beside it")
    for path in ap.parse_args(argv).models:
        print(halve(path), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
