"""ResNet for 32x32 images as in He et al. 2016, section 4.2, with a width multiplier.

Three stages of ``(depth - 2) / 6`` basic blocks with 16, 32, 64 channels times
``width``; a 1x1 convolution with batch norm projects the shortcut where the shape
changes (option B), global average pooling and one linear layer. ResNet-32 at
width 1 with one input channel has 466,618 parameters.

The model is plain PyTorch: it knows nothing of devices. :func:`hic_layer_names`
says which weights the HIC scheme puts on PCM (every convolution but the first;
the first and last layers, biases and batch norm stay digital).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hicenv.errors import InputError

__all__ = ["ResNet", "resnet", "hic_layer_names", "digital_param_names"]


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet; ``depth = 6 n + 2`` (8, 14, 20, 32, 44, 56, 110)."""

    def __init__(self, depth: int = 32, width: float = 1.0, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise InputError(f"depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, ...), got {depth}")
        if width <= 0 or abs(16 * width - round(16 * width)) > 1e-9:
            raise InputError(f"width must make 16 * width a positive integer, got {width}")
        n = (depth - 2) // 6
        chans = [round(c * width) for c in (16, 32, 64)]
        self.conv1 = nn.Conv2d(in_channels, chans[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0])
        layers = []
        c_in = chans[0]
        for stage, c_out in enumerate(chans):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(c_in, c_out, 2 if (stage > 0 and b == 0) else 1))
                c_in = c_out
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(chans[2], num_classes)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """He (Kaiming normal) init from an explicit generator; BN to identity."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1 / m.in_features**0.5
                nn.init.uniform_(m.weight, -bound, bound, generator=generator)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


def resnet(
    depth: int = 32,
    width: float = 1.0,
    in_channels: int = 3,
    num_classes: int = 10,
    generator: torch.Generator | None = None,
) -> ResNet:
    """A freshly initialised ResNet; the same generator state gives the same weights."""
    model = ResNet(depth, width, in_channels, num_classes)
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    model.reset_parameters(generator)
    return model


def hic_layer_names(model: nn.Module) -> list[str]:
    """Names of the weights HIC stores on PCM: all convolutions after the first."""
    return [f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and name != "conv1"]


def digital_param_names(model: nn.Module) -> list[str]:
    """Every other learnable parameter: first conv, last linear, batch norm."""
    hic = set(hic_layer_names(model))
    return [n for n, _ in model.named_parameters() if n not in hic]
