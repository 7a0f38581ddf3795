"""Weights stored at half precision: a model file half the size that still computes in float32.

``store_half`` keeps each convolution's and matrix product's weight tensor as float16 with a
``Cast`` back to float32 under the weight's own name, so its uses and the rest of
the graph are untouched. ONNX Runtime (and TensorRT) fold those casts when they load the model,
so a run costs what it did; the network differs from the float32 one only by its weights rounded
to 11 significant bits (a relative 0.05 % at most). Biases, temperatures and other small tensors
stay float32 (the ensemble's floor of 1e-30 is below float16's range). ``expand_half`` undoes
it, for the tools that want each weight as a float32 tensor under its name: INT8 quantization
(weights must be initializers to be quantized) and fine-tuning from a model.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# The ops whose second input is a weight tensor worth halving (the bulk of a classifier's bytes).
WEIGHT_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
HALF_SUFFIX, CAST_SUFFIX = "/half", "/cast"
# a manifest's ``weights`` entry for a model so stored (python -m engines.half writes it)
WEIGHTS_NOTE = (f"the weights of {', '.join(WEIGHT_OPS)} stored as float16 and cast to float32 where used "
                "(python -m engines.half); computed in float32")


def store_half(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with the float32 weights of ``WEIGHT_OPS`` stored as float16."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    weights = {w.name: w for w in graph.initializer}
    casts = []
    for name in float_weights(out):
        w = weights[name]
        graph.initializer.remove(w)
        graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(w).astype(np.float16),
                                                         name + HALF_SUFFIX))
        casts.append(helper.make_node("Cast", [name + HALF_SUFFIX], [name], to=TensorProto.FLOAT,
                                      name=name + CAST_SUFFIX))
    nodes = casts + list(graph.node)  # casts first: a graph's nodes are in topological order
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(out)
    return out


def float_weights(model: onnx.ModelProto) -> list[str]:
    """The float32 weights of ``WEIGHT_OPS`` in ``model``, each named once (a weight two nodes share):
    what ``store_half`` halves. Some may be left where some weights are already stored so (an
    ensemble of half-stored members and newly trained ones, as ``engines.reader.ensemble`` merges them)."""
    floats = {w.name for w in model.graph.initializer if w.data_type == TensorProto.FLOAT}
    return list(dict.fromkeys(node.input[1] for node in model.graph.node
                              if node.op_type in WEIGHT_OPS and len(node.input) > 1 and node.input[1] in floats))


def expand_half(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every float16 weight that ``store_half`` wrote back as a float32 tensor
    under its own name and its cast gone; a model without them is returned as it is."""
    halves = {w.name: w for w in model.graph.initializer if w.data_type == TensorProto.FLOAT16}

    def restores(node: onnx.NodeProto) -> bool:
        return (node.op_type == "Cast" and len(node.input) == 1 and node.input[0] in halves
                and any(a.name == "to" and a.i == TensorProto.FLOAT for a in node.attribute))

    casts = [n for n in model.graph.node if restores(n)]
    if not casts:
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    gone = {n.input[0] for n in casts}
    weights = [w for w in graph.initializer if w.name not in gone]
    weights += [numpy_helper.from_array(numpy_helper.to_array(halves[n.input[0]]).astype(np.float32), n.output[0])
                for n in casts]
    nodes = [n for n in graph.node if not restores(n)]
    del graph.initializer[:]
    graph.initializer.extend(weights)
    del graph.node[:]
    graph.node.extend(nodes)
    return out


def is_half(model: onnx.ModelProto) -> bool:
    """Whether ``model`` holds weights stored by ``store_half``."""
    return any(w.data_type == TensorProto.FLOAT16 for w in model.graph.initializer)
