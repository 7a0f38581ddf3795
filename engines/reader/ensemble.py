"""Average readers trained apart into one: each field's networks merged into one ONNX graph.

    python -m engines.reader.ensemble DIR_A DIR_B... --val VAL_DIR --out DIR

Each DIR holds the five classifiers as ``python -m engines.reader.train`` exports them, or as this
module merged them (an ensemble's members join one by one, with their own temperatures). For each
field the merged graph runs every member on the same input and gives
``log(mean_i softmax(logits_i / T_i))`` as its ``logits`` (T_i: the member's calibrated
temperature), so the runtime reads it as it reads one network: one file, one input, one output
of the same shape. Networks trained from different starts err on different drawings, and their
average is surer where they agree and less sure where they do not. The ensemble's own
temperature is then fitted on VAL_DIR (least negative log-likelihood) and written in the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edge.plates.reading import READ_FIELDS
from edge.vision.fields import to_input
from edge.vision.half import WEIGHTS_NOTE, float_weights, is_half
from edge.vision.reader import MODEL_NAMES

INPUT, OUTPUT = "input", "logits"
# The least mean probability given: a class every member rules out (float32 softmax gives 0 beyond
# about 87 logits below the best) gets log(1e-30) = -69, not -inf, which would turn into NaN downstream.
FLOOR = 1e-30


def member_prefix(i: int) -> str:
    """The prefix of member ``i``'s node and tensor names in a merged graph."""
    return f"m{i}/"


def member_count(graph: onnx.GraphProto) -> int:
    """How many members a merged graph holds (their nodes named ``member_prefix(i)``...); 0 for a single network."""
    count = 0
    while any(n.name.startswith(member_prefix(count)) for n in graph.node):
        count += 1
    return count


def member_prefix_of(graph: onnx.GraphProto, member: int) -> str:
    """``member_prefix(member)`` where ``graph`` is an ensemble holding that member; "" for a single
    network and member 0; ValueError for a member the graph does not hold."""
    count = member_count(graph)
    if 0 <= member < count:
        return member_prefix(member)
    if count == 0 and member == 0:
        return ""
    raise ValueError(f"no member {member} in this graph")


def merge(members: list[onnx.ModelProto], temperatures: list[float], input_name: str = INPUT) -> onnx.ModelProto:
    """One graph: each member's nodes and weights under ``member_prefix(i)``, the shared input
    (``input_name``: the classifiers' ``input``, the heads' ``features``), and the log of the mean of
    the members' tempered softmaxes (floored at FLOOR) as ``logits``."""
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two members")
    if len(temperatures) != len(members):
        raise ValueError(f"{len(members)} members but {len(temperatures)} temperatures")
    nodes, initializers, probs = [], [], []
    for i, (member, temperature) in enumerate(zip(members, temperatures)):
        graph = member.graph
        if [v.name for v in graph.input if v.name not in {w.name for w in graph.initializer}] != [input_name] \
                or [v.name for v in graph.output] != [OUTPUT]:
            raise ValueError(f"member {i}: expected one input {input_name!r} and one output {OUTPUT!r}")
        prefix = member_prefix(i)

        def renamed(name: str) -> str:
            return name if name in ("", input_name) else prefix + name

        for k, node in enumerate(graph.node):
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = prefix + (node.name or f"node{k}")  # unnamed nodes would all be named the prefix
            copy.input[:] = [renamed(n) for n in node.input]
            copy.output[:] = [renamed(n) for n in node.output]
            nodes.append(copy)
        for weight in graph.initializer:
            copy = onnx.TensorProto()
            copy.CopyFrom(weight)
            copy.name = prefix + weight.name
            initializers.append(copy)
        initializers.append(numpy_helper.from_array(np.array(temperature, np.float32), prefix + "temperature"))
        nodes.append(helper.make_node("Div", [prefix + OUTPUT, prefix + "temperature"], [prefix + "tempered"],
                                      name=prefix + "temper"))
        nodes.append(helper.make_node("Softmax", [prefix + "tempered"], [prefix + "probs"], axis=-1,
                                      name=prefix + "softmax"))
        probs.append(prefix + "probs")
    initializers.append(numpy_helper.from_array(np.array(1.0 / len(members), np.float32), "share"))
    initializers.append(numpy_helper.from_array(np.array(FLOOR, np.float32), "floor"))
    nodes.append(helper.make_node("Sum", probs, ["sum"], name="sum"))
    nodes.append(helper.make_node("Mul", ["sum", "share"], ["mean"], name="mean"))
    nodes.append(helper.make_node("Max", ["mean", "floor"], ["floored"], name="floored"))
    nodes.append(helper.make_node("Log", ["floored"], [OUTPUT], name="log"))
    first = members[0].graph
    graph = helper.make_graph(nodes, "ensemble", [v for v in first.input if v.name == input_name], [first.output[0]],
                              initializers)
    model = helper.make_model(graph, opset_imports=list(members[0].opset_import),
                              producer_name="engines.reader.ensemble")
    model.ir_version = members[0].ir_version
    onnx.checker.check_model(model)
    return model


def split(model: onnx.ModelProto) -> list[tuple[onnx.ModelProto, float | None]]:
    """A merged graph's members again, each a network of its own with its temperature; a single
    network is its own only member (temperature None: its manifest holds it)."""
    graph = model.graph
    count = member_count(graph)
    if not count:
        return [(model, None)]
    out = []
    for i in range(count):
        prefix = member_prefix(i)
        nodes = []
        for node in graph.node:
            if not node.name.startswith(prefix) or node.name in (prefix + "temper", prefix + "softmax"):
                continue
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = node.name.removeprefix(prefix)
            copy.input[:] = [name.removeprefix(prefix) for name in node.input]
            copy.output[:] = [name.removeprefix(prefix) for name in node.output]
            nodes.append(copy)
        weights, temperature = [], None
        for w in graph.initializer:
            if w.name == prefix + "temperature":
                temperature = float(numpy_helper.to_array(w))
            elif w.name.startswith(prefix):
                copy = onnx.TensorProto()
                copy.CopyFrom(w)
                copy.name = w.name.removeprefix(prefix)
                weights.append(copy)
        member = helper.make_graph(nodes, f"{graph.name}-member{i}", list(graph.input), list(graph.output), weights)
        out.append((helper.make_model(member, opset_imports=model.opset_import), temperature))
    return out


def run(model: onnx.ModelProto, cuts: np.ndarray, batch: int = 512):
    """The merged graph's output on ``cuts`` (ONNX Runtime, as the product runs it), as a torch tensor."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return torch.from_numpy(np.concatenate([session.run(None, {INPUT: to_input(cuts[i:i + batch])})[0]
                                            for i in range(0, len(cuts), batch)]))


def build(name: str, dirs: list[Path], val_cuts: np.ndarray, val_labels, out_dir: Path) -> Path:
    """Merge field ``name``'s networks from ``dirs``, fit the ensemble's temperature on ``val_cuts``
    and ``val_labels`` (a torch tensor), write model and manifest."""
    from engines.reader.train import accuracy, calibration_error, fit_temperature  # the train extra (torch)

    stem = MODEL_NAMES[name]
    networks, temperatures, manifests = [], [], []
    for d in dirs:
        manifest = json.loads((d / f"{stem}.json").read_text(encoding="utf-8"))
        if manifests and (manifest["classes"] != manifests[0]["classes"] or manifest["input"] != manifests[0]["input"]):
            raise SystemExit(f"{d / stem}.json: its classes or input differ from {dirs[0] / stem}.json")
        found = split(onnx.load(str(d / f"{stem}.onnx")))
        if found[0][1] is None:  # one network: its temperature is in its manifest
            networks.append(found[0][0])
            temperatures.append(manifest["calibration"]["temperature"])
            manifests.append(manifest)
            continue
        for i, (network, temperature) in enumerate(found):  # an ensemble: each member as trained
            networks.append(network)
            temperatures.append(temperature)
            manifests.append({**manifest, "training": manifest["training"]["members"][i],
                              "metrics": manifest["metrics"]["members"][i],
                              "parameters": sum(int(np.prod(w.dims)) for w in network.graph.initializer)})
    model = merge(networks, temperatures)
    logits = run(model, val_cuts)
    temperature = fit_temperature(logits, val_labels)
    metrics = {**accuracy(logits, val_labels),
               "calibration_error_before": calibration_error(logits, val_labels, 1.0),
               "calibration_error_after": calibration_error(logits, val_labels, temperature)}
    return write(model, manifests, temperature, metrics, out_dir / f"{stem}.onnx")


def write(model: onnx.ModelProto, manifests: list[dict], temperature: float, metrics: dict, out: Path) -> Path:
    """Save the merged graph as ``out`` with its manifest: the first member's, with the file, the
    output's meaning, the ensemble's temperature and metrics, and every member's training."""
    onnx.save(model, str(out))
    manifest = dict(manifests[0])
    manifest.pop("weights", None)  # the first member's storage, not the merged file's: said again below if so
    if is_half(model):
        manifest["weights"] = WEIGHTS_NOTE + ("" if not float_weights(model) else
                                              "; some members' weights are still float32 (python -m engines.half)")
    manifest.update(
        name=out.stem, file=out.name, sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
        output={**manifests[0]["output"],
                "meaning": "per place, the log of the members' mean probability over the classes; "
                           "softmax(logits / temperature)"},
        calibration={"temperature": round(temperature, 4),
                     "how": "the ensemble's, fitted on the held-out synthetic plates by minimum negative "
                            "log-likelihood"},
        parameters=sum(m["parameters"] for m in manifests),
        training={"ensemble": f"python -m engines.reader.ensemble: the mean of {len(manifests)} networks' tempered "
                              "probabilities, merged into one graph",
                  "members": [m["training"] for m in manifests]},
        metrics={"held_out_synthetic": metrics, "members": [m["metrics"] for m in manifests]})
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("members", type=Path, nargs="+", help="folders of exported classifiers (two or more)")
    ap.add_argument("--val", type=Path, required=True, help="a held-out folder of python -m engines.reader.data")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fields", nargs="+", default=list(READ_FIELDS), choices=READ_FIELDS)
    args = ap.parse_args(argv)
    import torch

    from engines.reader.train import label_slices, load

    if len(args.members) < 2:
        ap.error("give at least two folders of classifiers")
    if any(m.resolve() == args.out.resolve() for m in args.members):
        ap.error("--out must not be one of the members: their files would be overwritten while being read")
    args.out.mkdir(parents=True, exist_ok=True)
    val_cuts, val_labels = load([args.val])
    slices = label_slices()
    for name in args.fields:
        path = build(name, args.members, val_cuts[name], torch.from_numpy(val_labels[:, slices[name]]), args.out)
        held = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        print(f"wrote {path}: temperature {held['calibration']['temperature']} {held['metrics']['held_out_synthetic']}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
