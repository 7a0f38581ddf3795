"""A field classifier: a small VGG-style CNN whose last feature map, pooled to a coarse grid that
keeps left-to-right order, feeds one softmax per place (1 for region, kana and colour, 3 for the
class number, 4 for the serial). Output: logits N x places x classes."""

from __future__ import annotations

import torch
from torch import nn

WIDTHS = {"color": (8, 16, 32, 32)}  # colour needs little; the lettering fields take the default
DEFAULT_WIDTHS = (16, 32, 64, 96)
# pooled grid (rows, columns) per field: enough columns to tell the places apart; each a factor
# of the feature map (input / 8), which the ONNX export needs
GRIDS = {"region": (5, 6), "class_number": (5, 4), "kana": (5, 5), "serial": (5, 7), "color": (2, 4)}


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FieldClassifier(nn.Module):
    def __init__(self, channels: int, places: int, classes: int, grid: tuple[int, int],
                 widths: tuple[int, int, int, int] = DEFAULT_WIDTHS, hidden: int = 256):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.places, self.classes = places, classes
        self.features = nn.Sequential(
            _conv(channels, w0), nn.MaxPool2d(2),
            _conv(w0, w1), nn.MaxPool2d(2),
            _conv(w1, w2), _conv(w2, w2), nn.MaxPool2d(2),
            _conv(w2, w3),
            nn.AdaptiveAvgPool2d(grid),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(w3 * grid[0] * grid[1], hidden),
                                  nn.ReLU(inplace=True), nn.Dropout(0.2), nn.Linear(hidden, places * classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).view(-1, self.places, self.classes)
