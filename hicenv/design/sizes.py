"""Sizes and device counts of a design point, computed exactly on the meta device.

No weights are allocated: the network is built with shapes only, once per width and
depth in a process, and :func:`hicenv.sim.metrics.model_size` counts its bits and devices.
Every backend that does not train (the surrogate) computes sizes here instead of learning
them, and the train backend uses the same network to refuse a point that cannot fit.
"""

from __future__ import annotations

from functools import cache

from hicenv.sim.config import HICConfig

__all__ = ["meta_network", "design_sizes", "reference_bits"]


@cache
def meta_network(width: float, depth: int = 32):
    """ResNet-``depth`` at ``width`` (one input channel, 10 classes: the bench's) on the meta
    device, shapes only, and its HIC layers; built once per width and depth in a process."""
    import torch

    from hicenv.sim.model import ResNet, hic_layer_names

    with torch.device("meta"):
        net = ResNet(depth, width, 1, 10)
    return net, hic_layer_names(net)


@cache
def design_sizes(width: float, fp32: bool, msb: int, lsb: int, acc: int, encoding: str) -> dict:
    """Model size and device counts (ResNet-32, one input channel, 10 classes: the embedded
    Fashion-MNIST the bench trains on), cached per point."""
    from hicenv.sim.metrics import model_size

    config = HICConfig(msb_bits=msb, lsb_bits=lsb, acc_bits=acc, width=width, fp32=fp32, lsb_encoding=encoding)
    net, hic_names = meta_network(width)
    return model_size(net, hic_names, config, reference_bits())


@cache
def reference_bits() -> int:
    """The size reference of the bench's network (the FP32 network at width 1), computed
    once (it builds a ResNet-32: 36 ms, which every step paid before)."""
    from hicenv.sim.metrics import reference_size_bits

    return reference_size_bits(32, 1, 10)
