"""Convert a Darknet network (``.cfg`` + ``.weights``) to ONNX.

Written for Tiny YOLOv3 (convolutional, maxpool, route, upsample, yolo); any other section is
refused with its name. Batch normalisation is folded into the convolutions with Darknet's own
formula, ``(x - mean) / (sqrt(var) + 1e-6)``. Each ``[yolo]`` section becomes one graph output
holding the raw convolution map; decoding (anchors, sigmoid, letterbox) is numpy at run time
(``edge/vision/detector.py``), so every backend shares it.

    python -m engines.darknet yolov3-tiny.cfg yolov3-tiny.weights out.onnx
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SUPPORTED = ("convolutional", "maxpool", "route", "upsample", "yolo")
LEAKY_SLOPE = 0.1
BN_EPSILON = 1e-6


class DarknetError(ValueError):
    """The cfg or weights cannot be converted; the message names the section or the byte count."""


@dataclass
class Section:
    kind: str
    options: dict[str, str]
    line: int

    def int(self, key: str, default: int | None = None) -> int:
        if key not in self.options:
            if default is None:
                raise DarknetError(f"[{self.kind}] at line {self.line} has no {key}=")
            return default
        try:
            return int(self.options[key])
        except ValueError:
            raise DarknetError(f"[{self.kind}] at line {self.line}: {key}={self.options[key]!r} is not an integer") from None

    def ints(self, key: str) -> list[int]:
        try:
            return [int(v) for v in self.options[key].split(",") if v.strip()]
        except (KeyError, ValueError):
            raise DarknetError(f"[{self.kind}] at line {self.line}: {key}= must be a list of integers") from None


@dataclass
class YoloHead:
    """What decoding one output needs: its anchors in network pixels and the class count."""

    output: str
    anchors: list[list[int]]
    classes: int
    stride: int = 0
    grid: list[int] = field(default_factory=list)


def parse_cfg(text: str) -> list[Section]:
    """Sections in order, ``[net]`` first, options as strings."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise DarknetError(f"line {number}: unclosed section header {raw!r}")
            sections.append(Section(line[1:-1].strip(), {}, number))
        elif "=" in line:
            if not sections:
                raise DarknetError(f"line {number}: option before any section")
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
        else:
            raise DarknetError(f"line {number}: cannot parse {raw!r}")
    if not sections or sections[0].kind not in ("net", "network"):
        raise DarknetError("the cfg must start with a [net] section")
    for s in sections[1:]:
        if s.kind not in SUPPORTED:
            raise DarknetError(f"[{s.kind}] at line {s.line} is not supported (only {', '.join(SUPPORTED)})")
    return sections


def read_weights(path: Path) -> np.ndarray:
    """The float32 weights after Darknet's header (3 int32 version numbers, then `seen`)."""
    data = Path(path).read_bytes()
    if len(data) < 16:
        raise DarknetError(f"{path}: {len(data)} bytes is too short for a Darknet weights file")
    major, minor, _ = np.frombuffer(data[:12], np.int32)
    header = 20 if major * 10 + minor >= 2 else 16  # `seen` became int64 in version 0.2
    return np.frombuffer(data[header:], np.float32)


def maxpool_pads(size: int, stride: int, padding: int, h: int, w: int) -> tuple[list[int], int, int]:
    """ONNX pads reproducing Darknet's maxpool: output (n + padding - size) // stride + 1, offset -padding // 2."""
    out_h, out_w = (h + padding - size) // stride + 1, (w + padding - size) // stride + 1
    begin = padding // 2
    end_h = (out_h - 1) * stride + size - h - begin
    end_w = (out_w - 1) * stride + size - w - begin
    return [begin, begin, max(end_h, 0), max(end_w, 0)], out_h, out_w


def convert(cfg_text: str, weights: np.ndarray, name: str = "darknet") -> tuple[onnx.ModelProto, list[YoloHead]]:
    """The ONNX model (input ``image``: 1x3xHxW RGB in [0, 1]) and one YoloHead per output."""
    sections = parse_cfg(cfg_text)
    net = sections[0]
    height, width, channels = net.int("height"), net.int("width"), net.int("channels", 3)
    nodes, inits, outputs, heads = [], [], [], []
    shapes: list[tuple[int, int, int]] = []  # (channels, h, w) after each layer
    names: list[str] = []
    cursor = 0
    cur, (c, h, w) = "image", (channels, height, width)

    def take(count: int, what: str) -> np.ndarray:
        nonlocal cursor
        if cursor + count > weights.size:
            raise DarknetError(f"weights end after {weights.size} floats; {what} needs {count} more from {cursor}")
        chunk = weights[cursor: cursor + count]
        cursor += count
        return chunk

    for i, s in enumerate(sections[1:]):
        out = f"layer{i}_{s.kind}"
        if s.kind == "convolutional":
            filters, size, stride = s.int("filters"), s.int("size"), s.int("stride", 1)
            pad = size // 2 if s.int("pad", 0) else s.int("padding", 0)
            groups = s.int("groups", 1)
            if groups != 1:
                raise DarknetError(f"[convolutional] at line {s.line}: groups={groups} is not supported")
            bias = take(filters, f"layer {i} biases").copy()
            if s.int("batch_normalize", 0):
                scales = take(filters, f"layer {i} bn scales")
                mean = take(filters, f"layer {i} bn means")
                var = take(filters, f"layer {i} bn variances")
            kernel = take(filters * c * size * size, f"layer {i} weights").reshape(filters, c, size, size).copy()
            if s.int("batch_normalize", 0):
                factor = scales / (np.sqrt(var) + BN_EPSILON)
                kernel *= factor[:, None, None, None]
                bias = bias - mean * factor
            inits += [numpy_helper.from_array(kernel.astype(np.float32), f"{out}_w"),
                      numpy_helper.from_array(bias.astype(np.float32), f"{out}_b")]
            act = s.options.get("activation", "linear")
            conv_out = out if act == "linear" else f"{out}_pre"
            nodes.append(helper.make_node("Conv", [cur, f"{out}_w", f"{out}_b"], [conv_out], kernel_shape=[size, size],
                                          strides=[stride, stride], pads=[pad] * 4))
            if act == "leaky":
                nodes.append(helper.make_node("LeakyRelu", [conv_out], [out], alpha=LEAKY_SLOPE))
            elif act != "linear":
                raise DarknetError(f"[convolutional] at line {s.line}: activation={act} is not supported")
            c, h, w = filters, (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
        elif s.kind == "maxpool":
            size, stride = s.int("size", 1), s.int("stride", 1)
            pads, h, w = maxpool_pads(size, stride, s.int("padding", size - 1), h, w)
            nodes.append(helper.make_node("MaxPool", [cur], [out], kernel_shape=[size, size], strides=[stride, stride],
                                          pads=pads))
        elif s.kind == "upsample":
            stride = s.int("stride", 2)
            scales = numpy_helper.from_array(np.float32([1, 1, stride, stride]), f"{out}_scales")
            inits.append(scales)
            nodes.append(helper.make_node("Resize", [cur, "", f"{out}_scales"], [out], mode="nearest",
                                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
            h, w = h * stride, w * stride
        elif s.kind == "route":
            layers = [v if v >= 0 else i + v for v in s.ints("layers")]
            if any(not 0 <= v < i for v in layers):
                raise DarknetError(f"[route] at line {s.line}: layers={s.options['layers']} points outside the network")
            if len({shapes[v][1:] for v in layers}) != 1:
                raise DarknetError(f"[route] at line {s.line}: joined layers differ in size")
            if len(layers) == 1:
                nodes.append(helper.make_node("Identity", [names[layers[0]]], [out]))
            else:
                nodes.append(helper.make_node("Concat", [names[v] for v in layers], [out], axis=1))
            c, h, w = sum(shapes[v][0] for v in layers), *shapes[layers[0]][1:]
        elif s.kind == "yolo":
            anchors = s.ints("anchors")
            mask = s.ints("mask") if "mask" in s.options else list(range(len(anchors) // 2))
            classes = s.int("classes")
            if c != len(mask) * (5 + classes):
                raise DarknetError(f"[yolo] at line {s.line}: input has {c} channels, expected "
                                   f"{len(mask)} x (5 + {classes})")
            nodes.append(helper.make_node("Identity", [cur], [out]))
            outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, c, h, w]))
            heads.append(YoloHead(out, [[anchors[2 * m], anchors[2 * m + 1]] for m in mask], classes,
                                  stride=height // h, grid=[h, w]))
        shapes.append((c, h, w))
        names.append(out)
        cur = out
    if cursor != weights.size:
        raise DarknetError(f"the cfg uses {cursor} weights but the file holds {weights.size}")
    if not heads:
        raise DarknetError("the cfg has no [yolo] section")
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                           [1, channels, height, width])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="engines.darknet")
    model.ir_version = 8  # readable by ONNX Runtime 1.14+ and TensorRT 8.5+
    onnx.checker.check_model(model)
    return model, heads


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Convert a Darknet cfg + weights to ONNX")
    ap.add_argument("cfg", type=Path)
    ap.add_argument("weights", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    model, heads = convert(args.cfg.read_text(), read_weights(args.weights), args.out.stem)
    onnx.save(model, str(args.out))
    print(f"wrote {args.out}: outputs {', '.join(h.output for h in heads)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
