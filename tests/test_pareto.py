"""Dominance and hypervolume on hand-worked examples."""
import numpy as np
import pandas as pd
import pytest

from hicenv.pareto import front, hypervolume, non_dominated


def test_non_dominated_by_hand():
    v = np.array([[1, 2], [2, 1], [2, 2], [0, 3], [1, 2]])
    # (2,2) is dominated by (1,2); the duplicate (1,2)s do not dominate each other
    assert non_dominated(v).tolist() == [True, True, False, True, True]


def test_hypervolume_by_hand():
    assert hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), [3, 3]) == pytest.approx(3.0)
    assert hypervolume(np.array([[0.0, 0.0, 0.0]]), [1, 2, 3]) == pytest.approx(6.0)
    # two boxes [0,1]x[0,2]x[0,2] and [0,2]x[0,1]x[0,2] inside ref (2,2,2): 4 + 4 - 2
    assert hypervolume(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), [2, 2, 2]) == pytest.approx(6.0)
    assert hypervolume(np.array([[3.0, 0.0]]), [2, 2]) == 0.0  # outside the reference
    pts = np.random.default_rng(0).random((30, 3))
    mc = np.random.default_rng(1).random((200_000, 3))
    dominated = (pts[None, :, :] <= mc[:, None, :]).all(-1).any(-1).mean()
    assert hypervolume(pts, [1, 1, 1]) == pytest.approx(dominated, abs=0.01)  # Monte Carlo check


def test_front_of_a_designs_table():
    df = pd.DataFrame({
        "horizon_accuracy": [0.9, 0.8, 0.85, 0.7, 0.95],
        "size_ratio": [0.5, 0.2, 0.5, 0.3, 0.1],
        "endurance_fraction": [1e-7, 1e-7, 1e-7, 1e-7, 1e-7],
        "failed": [False, False, False, False, True],
    })
    fr = front(df)
    assert sorted(fr["horizon_accuracy"].tolist()) == [0.8, 0.9]  # failed and dominated rows dropped
