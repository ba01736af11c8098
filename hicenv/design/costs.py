"""Hardware costs of a design: devices and area, training and inference energy, first order.

In the style of Accelergy/Timeloop: a cost is a sum over actions of (count x cost per
action). The counts are exact where they can be: devices from the network's shape and
the bit split; MACs per image from the network's shape on the meta device; accumulator
read-modify-writes (every weight, every update) and programming pulses by kind from the
simulator's counters (``pulses``), projected to the deployment's steps. The costs per
action and the architecture's assumptions are the fields of :class:`CostModel`; every
default cites its source in ``docs/costs.md`` and is an order of magnitude, not a
measurement of one chip. A user passes their own ``CostModel``.

The architecture assumed (``docs/costs.md`` says why):

* every device of a HIC weight (``msb_bits`` binary, one or two multi-level) sits in its
  own crossbar column; an input vector reads every device once (a device read per
  weight-MAC and device) and each column's sum is converted by one ADC conversion per
  ``crossbar_rows`` device reads; the binary and multi-level columns are combined
  digitally (a shift-add per conversion);
* HIC training runs the forward and the backward-data pass on the crossbars and the
  weight gradient in the digital unit (one FP32 MAC per weight-MAC and image); the
  accumulator (``acc_bits`` per weight, SRAM) is read and written once per update;
* digital layers (first convolution, last linear layer) and the FP32 baseline compute
  in FP32 with weights in SRAM (one 32-bit read per weight per image, three passes in
  training and a read and write of weight and momentum per update);
* batch norm, activations and data movement between cores are not counted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from functools import cache

from hicenv.errors import InputError

__all__ = [
    "CostModel",
    "network_macs",
    "device_counts",
    "area",
    "pulse_totals",
    "energy",
    "hardware_costs",
    "with_costs",
    "UM2_PER_MM2",
]

UM2_PER_MM2 = 1e6
PJ = 1e-12


@dataclass(frozen=True)
class CostModel:
    """Cost per action and the architecture's assumptions. Sources: ``docs/costs.md``; every
    default is an order of magnitude."""

    pcm_cell_um2: float = 0.036
    """Area of one PCM cell with its access transistor (um^2): an embedded 28 nm PCM bit cell."""
    sram_bit_um2: float = 0.127
    """Area of one 6T SRAM bit (um^2): a 28 nm high-density bit cell (accumulator, digital weights)."""
    set_pj: float = 10.0
    """Energy of one binary SET pulse (pJ), verify read included."""
    reset_pj: float = 10.0
    """Energy of one RESET pulse (pJ), binary or multi-level."""
    partial_set_pj: float = 5.0
    """Energy of one partial-SET pulse of a multi-level device (pJ), verify read included."""
    reprogram_pulses: float = 5.0
    """Partial SETs that bring a multi-level device to its target after a RESET (iterative
    program-and-verify)."""
    device_read_pj: float = 0.05
    """Energy of one device read inside a crossbar MVM (pJ): V^2 G t at 0.2 V, about 12 uS, 100 ns."""
    adc_pj: float = 2.0
    """Energy of one ADC conversion of a column sum (pJ), 8 bits."""
    crossbar_rows: int = 256
    """Rows summed in one column current: device reads per ADC conversion."""
    int_add_pj: float = 0.1
    """A 32-bit integer add (pJ): the shift-add combining column outputs, per conversion."""
    fp32_mac_pj: float = 4.6
    """One FP32 multiply-accumulate (pJ): a multiply (3.7) and an add (0.9) at 45 nm."""
    sram_bit_pj: float = 0.156
    """Reading or writing one SRAM bit (pJ): 10 pJ per 64-bit access of an 8 KB array at 45 nm."""

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"CostModel.{f.name} must be a finite number > 0, got {v!r}")
        if not isinstance(self.crossbar_rows, int):
            raise InputError(f"CostModel.crossbar_rows must be an integer, got {self.crossbar_rows!r}")

    @classmethod
    def from_dict(cls, d: dict | CostModel | None) -> CostModel:
        if d is None:
            return cls()
        if isinstance(d, CostModel):
            return d
        if not isinstance(d, dict):
            raise InputError(f"costs must be a dict of CostModel fields, got {type(d).__name__}")
        from hicenv.sim.config import check_known_fields

        check_known_fields(cls, d)
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


@cache
def network_macs(width: float, depth: int, in_channels: int, num_classes: int, image_size: int) -> dict:
    """Multiply-accumulates per image of the HIC layers and of the digital ones, and the
    parameter counts of each, from the network's shapes on the meta device."""
    import torch
    from torch import nn

    from hicenv.sim.model import ResNet, hic_layer_names

    with torch.device("meta"):
        net = ResNet(depth, width, in_channels, num_classes)
        hic = {n.rsplit(".", 1)[0] for n in hic_layer_names(net)}
        macs = {"hic": 0, "digital": 0}

        def count(name):
            def hook(module, inputs, output):
                if isinstance(module, nn.Conv2d):
                    k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
                    n = output[0].numel() * k
                else:
                    n = module.in_features * module.out_features
                macs["hic" if name in hic else "digital"] += n

            return hook

        for name, m in net.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.register_forward_hook(count(name))
        net.eval()
        net(torch.empty(1, in_channels, image_size, image_size))
    params = dict(net.named_parameters())
    hic_params = sum(params[n].numel() for n in hic_layer_names(net))
    return {
        "hic_macs": macs["hic"],
        "digital_macs": macs["digital"],
        "hic_params": hic_params,
        "digital_params": sum(p.numel() for p in params.values()) - hic_params,
    }


def _config(metrics: dict):
    from hicenv.sim.config import HICConfig

    return HICConfig.from_dict(metrics["config"])


def device_counts(config, n_hic_weights: int, n_digital: int) -> dict:
    """Devices and SRAM bits of a design: binary and multi-level PCM devices, accumulator bits
    (training-only) and the digital parameters' bits."""
    if config.fp32:
        return {
            "n_binary_devices": 0,
            "n_multilevel_devices": 0,
            "devices_per_weight": 0,
            "accumulator_bits": 0,
            "digital_bits": 32 * (n_hic_weights + n_digital),
        }
    return {
        "n_binary_devices": n_hic_weights * config.msb_bits,
        "n_multilevel_devices": n_hic_weights * config.devices_per_lsb,
        "devices_per_weight": config.msb_bits + config.devices_per_lsb,
        "accumulator_bits": n_hic_weights * config.acc_bits,
        "digital_bits": 32 * n_digital,
    }


def area(counts: dict, model: CostModel) -> dict:
    """Area in mm^2 by component: PCM devices, the accumulator's SRAM, the digital weights' SRAM.
    ``area_mm2`` is the chip's training footprint; ``inference_area_mm2`` leaves the accumulator out."""
    pcm = (counts["n_binary_devices"] + counts["n_multilevel_devices"]) * model.pcm_cell_um2 / UM2_PER_MM2
    acc = counts["accumulator_bits"] * model.sram_bit_um2 / UM2_PER_MM2
    digital = counts["digital_bits"] * model.sram_bit_um2 / UM2_PER_MM2
    return {
        "area_pcm_mm2": pcm,
        "area_accumulator_mm2": acc,
        "area_digital_mm2": digital,
        "area_mm2": pcm + acc + digital,
        "inference_area_mm2": pcm + digital,
    }


def pulse_totals(metrics: dict) -> dict | None:
    """Programming pulses of the evaluated run by kind: the simulator's exact ``pulses``, or
    (a stored run of an older bench) the per-class write-cycle means times the device counts,
    where binary SETs and RESETs are known only together (``binary_flips``). None if unknown."""
    p = metrics.get("pulses")
    if p:
        return {
            "binary_set": p["binary_set"],
            "binary_reset": p["binary_reset"],
            "multilevel_reset": p["multilevel_reset"],
            "multilevel_partial_set": p["multilevel_partial_set"],
        }
    wc = metrics.get("write_cycles") or {}
    means = {k: (wc.get(k) or {}).get("mean") for k in ("binary", "multilevel_resets", "multilevel_partial_sets")}
    if any(v is None for v in means.values()):
        return None
    n_b, n_ml = metrics["n_binary_devices"], metrics["n_multilevel_devices"]
    return {
        "binary_flips": means["binary"] * n_b,
        "multilevel_reset": means["multilevel_resets"] * n_ml,
        "multilevel_partial_set": means["multilevel_partial_sets"] * n_ml,
    }


def _programming_pj(pulses: dict, model: CostModel) -> float:
    e_ml_reset = model.reset_pj + model.reprogram_pulses * model.partial_set_pj
    binary = (
        pulses["binary_flips"] * (model.set_pj + model.reset_pj) / 2  # split unknown: exact when SET = RESET energy
        if "binary_flips" in pulses
        else pulses["binary_set"] * model.set_pj + pulses["binary_reset"] * model.reset_pj
    )
    return binary + pulses["multilevel_reset"] * e_ml_reset + pulses["multilevel_partial_set"] * model.partial_set_pj


def _inference_pj(config, macs: dict, model: CostModel) -> dict:
    """Energy of one image's forward pass by component (pJ)."""
    digital = macs["digital_macs"] * model.fp32_mac_pj + 32 * macs["digital_params"] * model.sram_bit_pj
    if config.fp32:
        digital += macs["hic_macs"] * model.fp32_mac_pj + 32 * macs["hic_params"] * model.sram_bit_pj
        return {"crossbar": 0.0, "adc": 0.0, "digital": digital}
    reads = macs["hic_macs"] * (config.msb_bits + config.devices_per_lsb)
    conversions = reads / model.crossbar_rows
    return {
        "crossbar": reads * model.device_read_pj,
        "adc": conversions * (model.adc_pj + model.int_add_pj),
        "digital": digital,
    }


def energy(metrics: dict, model: CostModel, deployment, image_size: int | None = None) -> dict:
    """Inference energy per image and training energy per deployment training (J), by component.

    Programming pulses are the evaluated run's, scaled linearly to the deployment's steps
    (a mean over devices: see ``studies/wear/REPORT.md`` for how they grow). Where the run's
    pulses are unknown (the surrogate), ``train_energy_programming_j`` is empty and
    ``train_energy_j`` counts programming at its bound, every device written at every step,
    whose size ``train_energy_bound_j`` gives."""
    config = _config(metrics)
    depth = (metrics.get("budget") or {}).get("depth") or 32
    in_ch, classes = _data_shape(metrics)
    macs = network_macs(config.width, int(depth), in_ch, classes, image_size or deployment.image_size)
    inf = _inference_pj(config, macs, model)
    images = deployment.steps * deployment.batch_size
    out = {f"inference_energy_{k}_j": v * PJ for k, v in inf.items()}
    out["inference_energy_j"] = sum(inf.values()) * PJ
    out["train_energy_bound_j"] = None
    n_params = macs["hic_params"] + macs["digital_params"]
    if config.fp32:
        train = {
            "crossbar": 0.0,
            "adc": 0.0,
            "digital": images * 3 * (macs["hic_macs"] + macs["digital_macs"]) * model.fp32_mac_pj
            + deployment.steps * 4 * 32 * n_params * model.sram_bit_pj,
            "accumulator": 0.0,
            "programming": 0.0,
        }
    else:
        train = {
            "crossbar": images * 2 * inf["crossbar"],  # forward and backward-data passes
            "adc": images * 2 * inf["adc"],
            "digital": images * (3 * inf["digital"] - 2 * 32 * macs["digital_params"] * model.sram_bit_pj)
            + images * macs["hic_macs"] * model.fp32_mac_pj  # the weight gradient of HIC layers
            + deployment.steps * 4 * 32 * macs["digital_params"] * model.sram_bit_pj,
            "accumulator": deployment.steps * macs["hic_params"] * 2 * config.acc_bits * model.sram_bit_pj,
        }
        pulses = pulse_totals(metrics)
        steps = metrics.get("steps")
        if pulses is not None and steps:
            train["programming"] = _programming_pj(pulses, model) * deployment.steps / steps
        else:
            train["programming"] = None
            devices = macs["hic_params"] * (config.msb_bits + config.devices_per_lsb)
            bound = deployment.steps * devices * max(model.set_pj, model.reset_pj * (1 + model.reprogram_pulses))
            out["train_energy_bound_j"] = bound * PJ
    known = sum(v for v in train.values() if v is not None)
    out.update({f"train_energy_{k}_j": None if v is None else v * PJ for k, v in train.items()})
    out["train_energy_j"] = known * PJ + (out["train_energy_bound_j"] or 0.0)
    return out


def _data_shape(metrics: dict) -> tuple[int, int]:
    """Input channels and classes of the evaluated network (the bench's: 1 and 10)."""
    return int(metrics.get("in_channels") or 1), int(metrics.get("num_classes") or 10)


def hardware_costs(metrics: dict, deployment, model: CostModel) -> dict:
    """Every hardware cost of one design's metrics: device counts, area, energy by component and
    wear projected over ``deployment`` (:func:`hicenv.design.deployment.wear_metrics`)."""
    from hicenv.design.deployment import wear_metrics

    config = _config(metrics)
    depth = int((metrics.get("budget") or {}).get("depth") or 32)
    in_ch, classes = _data_shape(metrics)
    macs = network_macs(config.width, depth, in_ch, classes, deployment.image_size)
    counts = device_counts(config, macs["hic_params"], macs["digital_params"])
    return {
        **counts,
        **area(counts, model),
        **energy(metrics, model, deployment),
        **wear_metrics(metrics, deployment),
    }


def with_costs(metrics: dict, deployment, model: CostModel) -> dict:
    """``metrics`` with :func:`hardware_costs` added: what every backend's answer carries to the
    objectives and the reward (a key the backend answered itself is kept)."""
    return {**hardware_costs(metrics, deployment, model), **metrics}
