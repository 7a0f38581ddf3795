"""The Darknet -> ONNX converter against an independent numpy forward pass of a tiny network."""

import numpy as np
import onnxruntime as ort
import pytest

from engines.darknet import DarknetError, convert, parse_cfg, read_weights

# Every layer kind Tiny YOLOv3 uses, at toy size: odd input side so maxpool padding matters.
TINY_CFG = """
[net]
width=20
height=20
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=6
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=1

[convolutional]
size=1
stride=1
pad=1
filters=7
activation=linear

[yolo]
mask = 1
anchors = 2,3, 5,7
classes=2
num=2

[route]
layers = -3

[convolutional]
batch_normalize=1
filters=3
size=1
stride=1
pad=1
activation=leaky

[upsample]
stride=2

[route]
layers = -1, 0

[convolutional]
size=3
stride=2
pad=1
filters=7
activation=linear

[yolo]
mask = 0
anchors = 2,3, 5,7
classes=2
num=2
"""


def _layout(cfg):
    """(filters, in_channels, size, batch_normalize) of each conv, in file order, by walking the cfg."""
    convs, channels = [], []
    c = 3
    for s in parse_cfg(cfg)[1:]:
        if s.kind == "convolutional":
            convs.append((int(s.options["filters"]), c, int(s.options["size"]), s.options.get("batch_normalize") == "1"))
            c = int(s.options["filters"])
        elif s.kind == "route":
            idx = [int(v) for v in s.options["layers"].split(",")]
            c = sum(channels[i if i >= 0 else len(channels) + i] for i in idx)
        channels.append(c)
    return convs


def _random_weights(cfg, rng, version=(0, 2, 0)):
    """A Darknet weights file's bytes and, per conv, the parameters it holds."""
    params, chunks = [], []
    for filters, cin, size, bn in _layout(cfg):
        p = {"bias": rng.normal(0, 0.5, filters).astype(np.float32)}
        chunks.append(p["bias"])
        if bn:
            p["scale"] = rng.uniform(0.5, 1.5, filters).astype(np.float32)
            p["mean"] = rng.normal(0, 0.3, filters).astype(np.float32)
            p["var"] = rng.uniform(0.2, 2.0, filters).astype(np.float32)
            chunks += [p["scale"], p["mean"], p["var"]]
        p["w"] = rng.normal(0, 0.4, (filters, cin, size, size)).astype(np.float32)
        chunks.append(p["w"].ravel())
        params.append(p)
    seen = np.int64(1234).tobytes() if version[0] * 10 + version[1] >= 2 else np.int32(1234).tobytes()
    header = np.int32(version).tobytes() + seen
    return header + np.concatenate(chunks).tobytes(), params


# -- an independent forward pass, written from Darknet's C code, unfused batch norm -------------

def _conv(x, w, bias, stride, pad):
    c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((f, oh, ow), np.float64)
    for i in range(k):
        for j in range(k):
            patch = xp[:, i: i + stride * oh: stride, j: j + stride * ow: stride]
            out += np.einsum("fc,chw->fhw", w[:, :, i, j], patch)
    return out


def _maxpool(x, size, stride):
    """Darknet's forward_maxpool_layer: padding size-1, offset -padding/2 (C division), -inf outside."""
    c, h, w = x.shape
    pad = size - 1
    oh, ow = (h + pad - size) // stride + 1, (w + pad - size) // stride + 1
    offset = -int(pad / 2)
    out = np.full((c, oh, ow), -np.inf)
    for i in range(oh):
        for j in range(ow):
            for n in range(size):
                for m in range(size):
                    y, xx = offset + i * stride + n, offset + j * stride + m
                    if 0 <= y < h and 0 <= xx < w:
                        out[:, i, j] = np.maximum(out[:, i, j], x[:, y, xx])
    return out


def _forward(cfg, params, image):
    layers, outputs, k = [], [], 0
    x = image.astype(np.float64)
    for s in parse_cfg(cfg)[1:]:
        o = s.options
        if s.kind == "convolutional":
            p = params[k]
            k += 1
            size, stride = int(o["size"]), int(o.get("stride", 1))
            x = _conv(x, p["w"].astype(np.float64), p["bias"], stride, size // 2 if o.get("pad") == "1" else 0)
            if o.get("batch_normalize") == "1":
                x = (x - p["mean"][:, None, None]) / (np.sqrt(p["var"])[:, None, None] + 1e-6)
                x = x * p["scale"][:, None, None]
            x = x + p["bias"][:, None, None]
            if o.get("activation") == "leaky":
                x = np.where(x > 0, x, 0.1 * x)
        elif s.kind == "maxpool":
            x = _maxpool(x, int(o["size"]), int(o["stride"]))
        elif s.kind == "upsample":
            st = int(o["stride"])
            x = x.repeat(st, axis=1).repeat(st, axis=2)
        elif s.kind == "route":
            idx = [int(v) for v in o["layers"].split(",")]
            x = np.concatenate([layers[i if i >= 0 else len(layers) + i] for i in idx], axis=0)
        elif s.kind == "yolo":
            outputs.append(x)
        layers.append(x)
    return outputs


@pytest.mark.parametrize("version", [(0, 2, 0), (0, 1, 0)])
def test_converter_matches_numpy_forward_pass(tmp_path, version):
    rng = np.random.default_rng(3)
    data, params = _random_weights(TINY_CFG, rng, version)
    path = tmp_path / "tiny.weights"
    path.write_bytes(data)
    model, heads = convert(TINY_CFG, read_weights(path), "tiny")
    assert [h.anchors for h in heads] == [[[5, 7]], [[2, 3]]]
    assert [h.grid for h in heads] == [[10, 10], [10, 10]]
    (tmp_path / "tiny.onnx").write_bytes(model.SerializeToString())
    session = ort.InferenceSession(str(tmp_path / "tiny.onnx"), providers=["CPUExecutionProvider"])
    for trial in range(3):
        image = rng.random((3, 20, 20)).astype(np.float32)
        got = session.run([h.output for h in heads], {"image": image[None]})
        want = _forward(TINY_CFG, params, image)
        assert len(got) == len(want) == 2
        for g, w in zip(got, want):
            assert g.shape[1:] == w.shape
            np.testing.assert_allclose(g[0], w, rtol=1e-4, atol=1e-4)


def test_weights_too_short_or_too_long_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    data, _ = _random_weights(TINY_CFG, rng)
    for bad, message in ((data[:-8], "weights end"), (data + b"\0" * 8, "file holds")):
        path = tmp_path / "bad.weights"
        path.write_bytes(bad)
        with pytest.raises(DarknetError, match=message):
            convert(TINY_CFG, read_weights(path))


@pytest.mark.parametrize("cfg, message", [
    ("[convolutional]\nfilters=1", "must start with a \\[net\\]"),
    ("[net]\nwidth=8\nheight=8\n[shortcut]\nfrom=-1", "shortcut.*not supported"),
    ("[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=x\nsize=1", "not an integer"),
    ("[net]\nwidth=8\nheight=8\n[route]\nlayers=-3", "outside the network"),
    ("[net\nwidth=8", "unclosed"),
])
def test_bad_cfg_names_the_problem(cfg, message):
    with pytest.raises(DarknetError, match=message):
        convert(cfg, np.zeros(1000, np.float32))
