"""What a design point costs: inference model size, training state, device wear.

Size conventions (the same for HIC and the FP32 baseline, so ratios are fair):

* a HIC weight costs ``msb_bits + lsb_bits`` bits, plus one 32-bit step ``delta``
  per HIC layer;
* every digital parameter (first convolution, last linear layer, batch-norm scale
  and shift) costs 32 bits; batch-norm running statistics fold into the affine
  transform at inference and are not counted;
* the FP32 baseline costs 32 bits for every learnable parameter;
* ``size_ratio`` divides by one fixed reference, the FP32 network at width 1 with
  the same depth, input channels and classes (``reference_size_bits``), so that
  sizes compare across widths: a search can trade width against bits. The FP32
  network of the design's own width is ``fp32_size_bits``;
* the accumulator is training-only state (``acc_bits`` per HIC weight; 32 for the
  float reference) and is reported apart, never in the model size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hicenv.sim.config import HICConfig
from hicenv.sim.model import ResNet

__all__ = ["model_size", "reference_size_bits", "cycle_stats", "MB_BITS"]

MB_BITS = 8 * 1_000_000
"""Bits in one megabyte (SI, 10^6 bytes)."""
FLOAT_BITS = 32


def reference_size_bits(depth: int, in_channels: int, num_classes: int) -> int:
    """Size in bits of the FP32 ResNet at width 1: the one reference of ``size_ratio``."""
    with torch.device("meta"):  # shapes only, nothing allocated
        net = ResNet(depth, 1.0, in_channels, num_classes)
    return FLOAT_BITS * sum(p.numel() for p in net.parameters())


def model_size(model: nn.Module, hic_names: list[str], config: HICConfig, reference_bits: int) -> dict:
    """Inference model size and device counts of ``model`` under ``config``;
    ``reference_bits`` is :func:`reference_size_bits` of the model's depth and data."""
    params = dict(model.named_parameters())
    n_params = sum(p.numel() for p in params.values())
    n_hic = sum(params[n].numel() for n in hic_names)
    n_digital = n_params - n_hic
    fp32_bits = FLOAT_BITS * n_params
    if config.fp32:
        hic_bits, digital_bits, n_hic_layers, n_hic_weights = 0, fp32_bits, 0, 0
        train_state_bits, n_binary, n_multilevel = 0, 0, 0
    else:
        n_hic_layers, n_hic_weights = len(hic_names), n_hic
        hic_bits = n_hic * config.total_bits + FLOAT_BITS * n_hic_layers
        digital_bits = FLOAT_BITS * n_digital
        train_state_bits = n_hic * config.acc_bits
        n_binary, n_multilevel = n_hic * config.msb_bits, n_hic * config.devices_per_lsb
    total = hic_bits + digital_bits
    return {
        "n_weights": n_params,
        "n_hic_weights": n_hic_weights,
        "n_hic_layers": n_hic_layers,
        "model_size_bits": total,
        "model_size_mb": total / MB_BITS,
        "hic_size_bits": hic_bits,
        "digital_size_bits": digital_bits,
        "fp32_size_bits": fp32_bits,
        "reference_size_bits": reference_bits,
        "size_ratio": total / reference_bits,
        "train_state_bits": train_state_bits,
        "n_binary_devices": n_binary,
        "n_multilevel_devices": n_multilevel,
    }


def _summary(counts: torch.Tensor) -> dict:
    """max, mean and 99.9th percentile of per-device event counts."""
    if counts.numel() == 0:
        return {"max": 0, "mean": 0.0, "p99_9": 0.0}
    c = counts.reshape(-1).cpu().numpy()
    return {"max": int(c.max()), "mean": float(c.mean()), "p99_9": float(np.percentile(c, 99.9))}


def _distribution(counts: torch.Tensor) -> dict:
    """Quantiles and a log2-binned histogram of per-device event counts.

    ``hist_log2[0]`` counts devices never written, ``hist_log2[b]`` (b >= 1) those
    written ``2**(b-1)`` to ``2**b - 1`` times.
    """
    c = counts.reshape(-1).cpu().long()
    if c.numel() == 0:
        return {"quantiles": {}, "hist_log2": []}
    q = (0.5, 0.9, 0.99, 0.999)
    qs = np.percentile(c.numpy(), [100 * v for v in q])
    bins = torch.where(c > 0, torch.floor(torch.log2(c.clamp_min(1).double())).long() + 1, 0)
    return {"quantiles": {f"p{100 * v:g}": float(x) for v, x in zip(q, qs)}, "hist_log2": torch.bincount(bins).tolist()}


def cycle_stats(
    cycles: dict[str, torch.Tensor],
    sizes: list[int],
    names: list[str],
    endurance_cycles: float,
) -> dict:
    """Write-erase statistics per device, per layer and in total.

    ``cycles`` is :meth:`hicenv.sim.hybrid.HybridWeights.write_cycles`: ``binary``
    (msb_bits x N), ``multilevel`` (N, or 2N for differential pairs) and its two parts. Every programming event
    counts towards wear; the endurance fraction is the most-cycled device's count
    over ``endurance_cycles``.
    """
    binary, ml = cycles["binary"], cycles["multilevel"]
    every = torch.cat([binary.reshape(-1), ml.reshape(-1)])
    per_layer = []
    per_weight = ml.reshape(-1, sum(sizes))  # a differential pair: two devices per weight
    for name, b, m in zip(names, binary.split(sizes, dim=1), per_weight.split(sizes, dim=1)):
        per_layer.append({"layer": name, **_summary(torch.cat([b.reshape(-1), m.reshape(-1)]))})
    total = _summary(every)
    return {
        "write_cycles": {
            "total": total,
            "binary": _summary(binary),
            "multilevel": _summary(ml),
            "multilevel_resets": _summary(cycles["multilevel_resets"]),
            "multilevel_partial_sets": _summary(cycles["multilevel_partial_sets"]),
            "per_layer": per_layer,
            "binary_distribution": _distribution(binary),
            "multilevel_distribution": _distribution(ml),
        },
        "max_write_cycles": total["max"],
        "endurance_fraction": total["max"] / endurance_cycles,
    }
