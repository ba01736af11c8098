"""The result of one evaluation: one documented type.

:func:`hicenv.sim.trainer.evaluate` returns a :class:`Result` (a plain dict, so it
is JSON as it stands: the cache, the paper's runs and the bench store it whole).
:func:`hicenv.rows.flatten` turns one into a table row. A result of ``evaluate(...,
measure=f)`` also holds ``measured``, ``f``'s dict (not a :class:`Result` field: only
experiments ask for it).
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["Result", "HORIZONS_S", "CURVE_POINTS"]

HORIZONS_S: dict[str, float] = {
    "0s": 0.0,
    "1h": 3600.0,
    "1d": 86400.0,
    "1mo": 30 * 86400.0,
    "1y": 365 * 86400.0,
}
"""Inference horizons after training (name -> seconds) at which accuracy is reported."""
CURVE_POINTS = 8
"""Points of the learning curve: the training run cut into this many equal parts."""


class Result(TypedDict):
    """The metrics of one evaluation, with what made them."""

    accuracy: float | None
    """Test accuracy right after training (devices read at t0, read noise included)."""
    accuracy_drift: dict[str, float] | None
    """Horizon (``0s``, ``1h``, ``1d``, ``1mo``, ``1y``) -> accuracy on the drift test subset, no compensation."""
    accuracy_drift_gdc: dict[str, float] | None
    """The same with global drift compensation (one scale per layer)."""
    horizons_seconds: dict[str, float]
    """Horizon -> seconds after training."""
    model_size_bits: int
    """Inference model size: HIC layers plus digital parts."""
    model_size_mb: float
    """The same in MB (10^6 bytes)."""
    hic_size_bits: int
    """HIC weights at ``msb_bits + lsb_bits`` bits plus a 32-bit step per layer."""
    digital_size_bits: int
    """First conv, last linear and batch norm at 32 bits."""
    reference_size_bits: int
    """The FP32 network at width 1 with the same depth, input channels and classes."""
    size_ratio: float
    """Model size over ``reference_size_bits``: the size objective of every search."""
    fp32_size_bits: int
    """The FP32 network of the design's own width."""
    n_weights: int
    """Learnable parameters in all."""
    n_hic_weights: int
    """Weights held in devices."""
    n_hic_layers: int
    """Layers held in devices."""
    train_state_bits: int
    """Accumulator bits (training-only state, not in the model size)."""
    n_binary_devices: int
    """Binary devices (one per MSB bit and weight)."""
    n_multilevel_devices: int
    """Multi-level devices (a differential LSB pair is two)."""
    write_cycles: dict[str, Any] | None
    """Per-device programming events: ``total``, ``binary``, ``multilevel``, ``multilevel_resets``,
    ``multilevel_partial_sets`` (each ``max``, ``mean``, ``p99_9``), ``per_layer``, and
    ``binary_distribution`` / ``multilevel_distribution`` (quantiles p50-p99.9 and ``hist_log2``:
    devices written 0, 1, 2-3, 4-7, ... times); null for the FP32 baseline."""
    wear_curve: dict[str, list[float]] | None
    """Programming events at the learning curve's checkpoints: ``steps``; the most-written
    device ``max`` (and ``binary_max``, ``multilevel_max``, ``multilevel_resets_max``,
    ``multilevel_partial_sets_max``) and the ``mean`` over every device; the totals over all
    devices ``binary_set``, ``binary_reset``, ``multilevel_reset``, ``multilevel_partial_set``
    and ``transfers`` (weights whose code changed, summed over updates). What wear projections
    fit; null for the FP32 baseline."""
    pulses: dict[str, int] | None
    """Pulses of the whole run by kind, summed over devices: ``binary_set``, ``binary_reset``,
    ``multilevel_reset``, ``multilevel_partial_set``; ``transfers``; ``accumulator_updates``
    (accumulator read-modify-writes: every weight's, every update). The counts energy is made
    of; null for the FP32 baseline."""
    max_write_cycles: int
    """Programming events of the most-written device."""
    endurance_fraction: float
    """``max_write_cycles`` over the device endurance (``device.endurance_cycles``)."""
    msb_saturations: int
    """Transfers clipped at the code range during training."""
    acc_clips: int
    """Weight-updates whose accumulator sum left its range (``acc_range`` deltas) and was clipped."""
    acc_clip_fraction: float
    """``acc_clips`` over all weight-updates (weights x steps)."""
    acc_clipped_delta: float
    """Update lost to those clips, summed over weights and steps, in units of each weight's ``delta``."""
    saturated_codes: int
    """Codes at either end of the range after training."""
    hic_state_bytes_per_weight: float
    """HIC state per weight while training: code, accumulator, conductance, counters."""
    train_loss: list[float]
    """Mean training loss per epoch."""
    epoch_accuracy: list[float]
    """Test accuracy after each epoch (only when an ``on_epoch`` hook asks)."""
    learning_curve: dict[str, list[float]]
    """The run cut into ``CURVE_POINTS`` equal parts: ``steps`` at the end of each, mean ``train_loss`` and
    ``train_accuracy`` (on the training batches) over each."""
    steps: int
    """Training steps (mini-batches) run."""
    train_seconds: float
    """Wall-clock training time."""
    eval_seconds: float
    """Wall-clock time of the test and drift evaluations."""
    images_per_second: float | None
    """Training throughput."""
    failed: bool
    """A diverging run (non-finite loss): accuracies are null; never an exception."""
    failure_reason: str | None
    """Why it failed, or null."""
    config: dict[str, Any]
    """The design point (``HICConfig.to_dict``)."""
    budget: dict[str, Any]
    """The budget (``Budget.to_dict``)."""
    dataset: str
    """Dataset name."""
    dataset_fingerprint: str
    """SHA-256 of the dataset's arrays (16 hex digits)."""
    in_channels: int
    """Image channels of the dataset (the network's input)."""
    num_classes: int
    """Classes of the dataset (the network's outputs)."""
    image_size: int
    """Image side in pixels."""
    train_images: int
    """Training images used."""
    test_images: int
    """Test images for ``accuracy``."""
    drift_test_images: int
    """Test images at each drift horizon (a prefix of the test images)."""
    drift_draws: int
    """Device draws averaged at each drift horizon (``Budget.drift_draws``)."""
    focus_horizon: str | None
    """The horizon read under ``focus_draws`` draws instead (``Budget.focus_horizon``; None: none)."""
    focus_draws: int
    """Device draws averaged at ``focus_horizon`` (``Budget.focus_draws``)."""
    seed: int
    """The seed of initialisation, data order and devices."""
    sim_fingerprint: str
    """Fingerprint of the simulator code that made the result (``hicenv.sim.fingerprint``)."""
    version: str
    """hicenv version."""
    torch_version: str
    """PyTorch version."""
    python_version: str
    """Python version."""
    machine: str
    """CPU (and GPU) and torch threads of the run."""
    device: str
    """Torch device of the run."""
    cuda_graphs: bool
    """Whether training replayed CUDA graphs."""
    channels_last: bool
    """Whether activations and weights were channels-last."""
