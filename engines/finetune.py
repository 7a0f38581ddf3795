"""Fine-tuning from an exported model: what the reader's and the segmenter's trainers share.

Our exports fold each batch norm into the convolution before it, so an ONNX model holds one
weight and one bias per convolution. Loaded back, the convolution takes the folded weight and
its batch norm becomes the identity plus the folded bias; with the norms frozen (their running
statistics used in training too) the network starts from exactly what the runtime runs.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper
from torch.nn import functional as F

from edge.vision.half import expand_half


def onnx_weights(path: Path, what: str) -> tuple[onnx.GraphProto, dict[str, torch.Tensor]]:
    """The graph of the exported model at ``path`` and its initialisers as tensors; ``what``
    names the model in the message when the file is missing."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such model to fine-tune (--init names {what})")
    graph = expand_half(onnx.load(str(path))).graph  # a half-stored model's weights as float32
    return graph, {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}


def copy_checked(target: torch.Tensor, source: torch.Tensor, where: str) -> None:
    """``target`` takes ``source``'s values; a shape that differs means another architecture."""
    if source.shape != target.shape:
        raise SystemExit(f"{where}: {tuple(source.shape)} in the file, {tuple(target.shape)} in the model; "
                         "not the same architecture")
    target.copy_(source)


def load_folded(conv: torch.nn.Conv2d, norm: torch.nn.BatchNorm2d, weight: torch.Tensor, bias: torch.Tensor,
                where: str) -> None:
    """A convolution and the batch norm after it take a folded weight and bias (call under no_grad)."""
    copy_checked(conv.weight, weight, where)
    norm.weight.fill_(1.0)
    copy_checked(norm.bias, bias, where)
    norm.running_mean.zero_()
    norm.running_var.fill_(1.0 - norm.eps)


def train_mode(model: torch.nn.Module, frozen_norms: bool) -> None:
    """Training mode; with ``frozen_norms`` the batch norms keep using their running statistics."""
    model.train()
    if frozen_norms:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


def anchored_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, anchored: torch.Tensor) -> torch.Tensor:
    """How far the rows marked ``anchored`` have moved from the model fine-tuning began with:
    KL(teacher || student) over the classes (the last axis), averaged over those rows' predictions
    (0 when no row is anchored). Added to the labels' loss, it lets a fine-tune learn what is new
    while holding it to what the committed model already reads."""
    if not bool(anchored.any()):
        return logits.sum() * 0.0
    student = F.log_softmax(logits[anchored], dim=-1)
    teacher = F.log_softmax(teacher_logits[anchored], dim=-1)
    return (teacher.exp() * (teacher - student)).sum(dim=-1).mean()
