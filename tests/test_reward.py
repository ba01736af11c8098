"""The reward's terms, one at a time."""

import pytest

from hicenv.design.objectives import Reading, get_objectives, objective_values
from hicenv.design.reward import RewardWeights, reward

# A width-2-like point: a quarter of its own width's FP32 size, half the FP32 width-1 size.
M = {
    "failed": False,
    "accuracy_drift": {"1y": 0.80},
    "accuracy_drift_gdc": {"1y": 0.85},
    "model_size_bits": 1000,
    "fp32_size_bits": 4000,
    "reference_size_bits": 2000,
    "train_state_bits": 200,
    "endurance_fraction": 1e-6,
    "lifetime_wear": 3.0,
    "size_ratio": 0.5,
}


def test_terms():
    w = RewardWeights(size_weight=0.4, memory_weight=0.0, endurance_weight=1.0)
    # size against the FP32 width-1 reference (0.5), not the same width's FP32 (0.25)
    assert reward(M, w, "1y", endurance_budget=10.0) == pytest.approx(0.85 - 0.2)
    w_raw = RewardWeights(size_weight=0.4, compensate=False)
    assert reward(M, w_raw, "1y", 10.0) == pytest.approx(0.80 - 0.2)
    w_mem = RewardWeights(size_weight=0.0, memory_weight=1.0)
    assert reward(M, w_mem, "1y", 10.0) == pytest.approx(0.85 - 0.1)
    # lifetime wear 3.0, three times a budget of 1.0: excess 2
    w_end = RewardWeights(size_weight=0.0, endurance_weight=0.5)
    assert reward(M, w_end, "1y", 1.0) == pytest.approx(0.85 - 0.5 * 2)
    assert reward(M, w_end, "1y", 3.0) == pytest.approx(0.85)  # exactly at budget: no penalty
    fp32 = {k: v for k, v in M.items() if k != "lifetime_wear"}  # no devices: no wear term
    assert reward(fp32, w_end, "1y", 1.0) == pytest.approx(0.85)


def test_failed_run_and_objectives():
    failed = {**M, "failed": True, "accuracy_drift": None, "accuracy_drift_gdc": None}
    assert reward(failed, RewardWeights(failed_reward=-2.0), "1y", 1e-3) == -2.0
    default = get_objectives()
    assert objective_values(M, default, Reading("1y")) == pytest.approx((0.85, 0.5, 3.0))
    assert objective_values(M, default, Reading("1y", compensate=False))[0] == 0.80
    assert objective_values(failed, default, Reading("1y"))[0] == 0.0  # dominated, not dropped
    # train state against the same reference as size: 200 / 2000
    assert objective_values(M, get_objectives(["train_state_ratio"]), Reading()) == pytest.approx((0.1,))
    with pytest.raises(ValueError, match="size_weight"):
        RewardWeights(size_weight=-1)
