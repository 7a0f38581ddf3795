"""The plate segmenter: a small ResNet-style encoder with a feature-pyramid decoder.

Per pixel it scores six classes (the ids of ``edge.synth.plate.LABEL_IDS``): background, plate,
and the four field regions: region name (地名), class number (分類番号), kana (かな) and
serial (一連番号). It is fully convolutional: any input whose sides are multiples of 32.
"""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

from edge.synth.plate import LABEL_IDS

# The label ids the synthetic masks are written with, in id order: background, plate, then the fields.
CLASSES = tuple(sorted(LABEL_IDS, key=LABEL_IDS.get))


def _conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convolutions and a shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x), inplace=True)


class PlateSegmenter(nn.Module):
    """Encoder at strides 2-32, decoder back to stride 4, logits upsampled to the input size."""

    def __init__(self, widths=(16, 24, 48, 64, 96), decoder=32, classes: int = len(CLASSES)):
        super().__init__()
        w = widths
        self.stem = _conv_bn(3, w[0], stride=2)
        self.stage1 = nn.Sequential(BasicBlock(w[0], w[1], 2))
        self.stage2 = nn.Sequential(BasicBlock(w[1], w[2], 2), BasicBlock(w[2], w[2]))
        self.stage3 = nn.Sequential(BasicBlock(w[2], w[3], 2), BasicBlock(w[3], w[3]))
        self.stage4 = nn.Sequential(BasicBlock(w[3], w[4], 2), BasicBlock(w[4], w[4]))
        self.lateral = nn.ModuleList(nn.Conv2d(c, decoder, 1) for c in (w[4], w[3], w[2], w[1]))
        self.smooth = nn.ModuleList(_conv_bn(decoder, decoder) for _ in range(3))
        self.head = nn.Conv2d(decoder, classes, 1)

    def forward(self, x):
        size = x.shape[-2:]
        s2 = self.stem(x)
        s4 = self.stage1(s2)
        s8 = self.stage2(s4)
        s16 = self.stage3(s8)
        s32 = self.stage4(s16)
        y = self.lateral[0](s32)
        for lateral, smooth, skip in zip(self.lateral[1:], self.smooth, (s16, s8, s4)):
            y = F.interpolate(y, size=skip.shape[-2:], mode="nearest") + lateral(skip)
            y = smooth(y)
        return F.interpolate(self.head(y), size=size, mode="bilinear", align_corners=False)
