"""The scalar reward of one evaluated design point, and the search objectives.

    reward = accuracy(horizon)
             - size_weight      * model_size_bits / reference_size_bits   (= size_ratio)
             - memory_weight    * train_state_bits / reference_size_bits
             - endurance_weight * max(0, lifetime_wear / endurance_budget - 1)

where ``lifetime_wear`` is the most-written device's count projected to the deployment's
training and multiplied by its trainings per lifetime, over the endurance
(:mod:`hicenv.design.deployment`; the FP32 baseline wears nothing). Sizes are relative to one fixed reference,
the FP32 network at width 1 (:func:`hicenv.sim.metrics.reference_size_bits`), so a
wider network costs more: width trades against bits. A failed (diverged) run gets
``failed_reward``. Every weight is a ``gymnasium.make`` kwarg of the environment.
The multi-objective searches' objectives are registered in :mod:`hicenv.design.objectives`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from hicenv.errors import InputError

__all__ = ["RewardWeights", "reward", "horizon_accuracy", "wear"]


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward's terms."""

    size_weight: float = 0.5
    """Per unit of inference model size relative to the FP32 width-1 model (``size_ratio``)."""
    memory_weight: float = 0.0
    """Per unit of accumulator (training-only) memory relative to the FP32 width-1 model."""
    endurance_weight: float = 1.0
    """Per unit of relative excess of wear over the endurance budget."""
    compensate: bool = True
    """Read accuracy with global drift compensation."""
    failed_reward: float = -1.0
    """Reward of a run that diverged."""

    def __post_init__(self) -> None:
        for name in ("size_weight", "memory_weight", "endurance_weight", "failed_reward"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"{name} must be a finite number, got {v!r}")
            if name != "failed_reward" and v < 0:
                raise InputError(f"{name} must be >= 0, got {v}")
        if not isinstance(self.compensate, bool):
            raise InputError(f"compensate must be true or false, got {self.compensate!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def horizon_accuracy(metrics: dict, horizon: str, compensate: bool = True) -> float | None:
    """Accuracy after ``horizon`` of drift (None for a failed run)."""
    if metrics.get("failed"):
        return None
    return metrics["accuracy_drift_gdc" if compensate else "accuracy_drift"][horizon]


def wear(metrics: dict) -> float:
    """The lifetime's wear (``lifetime_wear``; 0 for the FP32 baseline, which has no devices)."""
    v = metrics.get("lifetime_wear")
    return 0.0 if v is None else float(v)


def reward(metrics: dict, weights: RewardWeights, horizon: str, endurance_budget: float) -> float:
    """The scalar reward (see the module docstring); ``metrics`` carry the hardware costs
    (:func:`hicenv.design.costs.with_costs`)."""
    acc = horizon_accuracy(metrics, horizon, weights.compensate)
    if acc is None:
        return weights.failed_reward
    ref = float(metrics["reference_size_bits"])
    excess = max(0.0, wear(metrics) / endurance_budget - 1.0)
    return (
        acc
        - weights.size_weight * float(metrics["size_ratio"])
        - weights.memory_weight * metrics["train_state_bits"] / ref
        - weights.endurance_weight * excess
    )
