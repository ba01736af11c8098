"""Dominance and hypervolume on hand-worked examples."""

import json

import numpy as np
import pandas as pd
import pytest

from hicenv.design.pareto import front, hypervolume, non_dominated


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
    df = pd.DataFrame(
        {
            "horizon_accuracy": [0.9, 0.8, 0.85, 0.7, 0.95],
            "size_ratio": [0.5, 0.2, 0.5, 0.3, 0.1],
            "lifetime_wear": [0.1, 0.1, 0.1, 0.1, 0.1],
            "failed": [False, False, False, False, True],
        }
    )
    fr = front(df)
    assert sorted(fr["horizon_accuracy"].tolist()) == [0.8, 0.9]  # failed and dominated rows dropped


def _table_with_real_sizes() -> pd.DataFrame:
    """A lookup table over bits x width whose sizes are computed (ResNet-32, 1 channel)
    and whose accuracy grows with width and bits, as trained networks' does."""
    from hicenv.rows import metrics_frame
    from hicenv.sim.config import HICConfig
    from hicenv.sim.fingerprint import sim_fingerprint
    from hicenv.sim.metrics import model_size, reference_size_bits
    from hicenv.sim.model import hic_layer_names, resnet

    ref = reference_size_bits(32, 1, 10)
    rows = []
    for width in (0.5, 1.0, 2.0):
        net = resnet(32, width, in_channels=1)
        for msb, lsb in ((2, 2), (2, 4), (4, 2), (4, 4)):
            cfg = HICConfig(msb_bits=msb, lsb_bits=lsb, width=width)
            acc = 0.70 + 0.05 * np.log2(width / 0.5) + 0.01 * (msb + lsb)
            m = {
                **model_size(net, hic_layer_names(net), cfg, ref),
                "accuracy": acc,
                "failed": False,
                "accuracy_drift": {h: acc for h in ("0s", "1h", "1d", "1mo", "1y")},
                "accuracy_drift_gdc": {h: acc for h in ("0s", "1h", "1d", "1mo", "1y")},
                "endurance_fraction": 1e-7,
                "max_write_cycles": 10,
                "steps": 234,
                "config": cfg.to_dict(),
                "budget": {"name": "hand"},
                "seed": 0,
                "dataset": "embedded",
                "sim_fingerprint": sim_fingerprint(),
            }
            rows.append(m)
    return metrics_frame(rows)


def test_a_search_over_width_and_bits_finds_a_front_of_several_widths(tmp_path):
    # Wider is more accurate and larger: the front must trade width against bits. With
    # size measured against the same width's FP32 model (the old size_ratio) every
    # width had the same size at the same bits and the widest network dominated.
    from hicenv.design.table import LookupTable
    from hicenv_agents.search.optuna_study import pareto_of, run_study
    from hicenv_agents.search.studyfile import StudySpec

    path = tmp_path / "t.csv"
    _table_with_real_sizes().to_csv(path, index=False)
    assert len(LookupTable(path)) == 12
    spec = StudySpec(
        name="w",
        trials=12,
        sampler="grid",
        backend="table",
        table=str(path),
        noise=1.0,
        space={"knobs": {"msb_bits": [2, 4], "lsb_bits": [2, 4], "width": [0.5, 1.0, 2.0]}},
    )
    front_df, everything = pareto_of(run_study(spec, cache=None))
    assert everything["width"].nunique() == 3
    assert front_df["width"].nunique() >= 2, front_df[["width", "msb_bits", "size_ratio", "horizon_accuracy"]]


def test_repeated_designs_are_one_design_with_counts_and_seed_spread():
    from hicenv.design.pareto import distinct

    df = pd.DataFrame(
        {
            "msb_bits": [4, 4, 4, 2, 2],
            "width": [1.0, 1.0, 1.0, 0.5, 0.5],
            "seed": [0, 0, 1, 0, 0],  # design A: seed 0 twice (a re-proposal), seed 1 once
            "horizon_accuracy": [0.80, 0.80, 0.84, 0.70, 0.70],
            "size_ratio": [0.5, 0.5, 0.5, 0.1, 0.1],
            "lifetime_wear": [0.1, 0.1, 0.3, 0.1, 0.1],
            "trial": [0, 1, 2, 3, 4],
        }
    )
    d = distinct(df)
    assert d["trial"].tolist() == [0, 3]  # first evaluation of each, in order
    assert d["evaluations"].tolist() == [3, 2] and d["seeds"].tolist() == [2, 1]
    # A: the mean over its two seeds (0.80 and 0.84), their sample std 0.02*sqrt(2)
    assert d.loc[0, "horizon_accuracy"] == pytest.approx(0.82)
    assert d.loc[0, "horizon_accuracy_std"] == pytest.approx(0.04 / np.sqrt(2))
    assert d.loc[0, "lifetime_wear"] == pytest.approx(0.2) and np.isnan(d.loc[1, "size_ratio_std"])
    fr = front(df)
    assert len(fr) == 2 and fr["evaluations"].sum() == 5  # two designs on the front, not five rows


def test_front_probability_is_the_normal_tail_for_one_uncertain_rival():
    # A = (0, 0) exact; B = (1 + sd z, 0) with sd 1. B is on the front when its first value
    # falls below A's (z < -1: Phi(-1) = 0.159); A is, unless B dominates it (z >= -1: 0.841).
    from hicenv.design.pareto import front_probability

    p = front_probability(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]]), draws=4000)
    assert p[1] == pytest.approx(0.1587, abs=0.02) and p[0] == pytest.approx(0.8413, abs=0.02)
    exact = front_probability(np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), 0.0, draws=10)
    assert exact.tolist() == [1.0, 1.0, 0.0]  # no noise: the front itself


def _designs(rows):
    cols = ["msb_bits", "seed", "horizon_accuracy", "size_ratio", "lifetime_wear"]
    return pd.DataFrame(rows, columns=cols)


def test_front_certainty_with_exact_objectives_only_is_the_front_itself():
    from hicenv.design.pareto import front_certainty

    d = pd.DataFrame({"msb_bits": [1, 2, 3], "size_ratio": [0.1, 0.2, 0.3], "area_mm2": [3.0, 2.0, 4.0]})
    c = front_certainty(d, ["size_ratio", "area_mm2"], draws=20)
    assert c["on_front"].tolist() == [True, True, False] and c["p_front"].tolist() == [1.0, 1.0, 0.0]


def test_front_certainty_reads_replicates_and_pools_their_sd_for_one_seed_designs():
    from hicenv.design.pareto import _seed_sd, distinct, front_certainty, front_summary

    # A: two seeds 0.80, 0.82 (sd 0.01414, of the mean 0.01); B: one seed, 0.805 at the same
    # size and wear: within noise of A. C: far below both (0.50): never on the front.
    d = _designs(
        [
            [1, 0, 0.80, 0.5, 0.1],
            [1, 1, 0.82, 0.5, 0.1],
            [2, 0, 0.805, 0.5, 0.1],
            [3, 0, 0.50, 0.5, 0.1],
        ]
    )
    sd = _seed_sd(distinct(d, ["horizon_accuracy"]), "horizon_accuracy")
    assert sd == pytest.approx([0.01, 0.01414, 0.01414], abs=1e-4)
    c = front_certainty(d, ["horizon_accuracy", "size_ratio", "lifetime_wear"], draws=2000)
    assert c["on_front"].tolist() == [True, False, False]
    p = dict(zip(c["msb_bits"], c["p_front"]))
    assert 0.2 < p[2] < 0.8 and 0.2 < p[1] < 0.8 and p[3] == 0.0
    assert "1 on the Pareto front (0 of them at P >= 0.95), 1 more indistinguishable" in front_summary(c)


def test_front_certainty_without_replicates_or_predictive_std_is_unknown_not_zero():
    from hicenv.design.pareto import front_certainty, front_summary

    d = _designs([[1, 0, 0.8, 0.5, 0.1], [2, 0, 0.7, 0.4, 0.1]])
    c = front_certainty(d, ["horizon_accuracy", "size_ratio"])
    assert c["on_front"].all() and c["p_front"].isna().all()
    assert "unknown" in front_summary(c)


def test_front_certainty_uses_the_surrogates_std_with_the_delta_method_for_wear():
    import math

    from hicenv.design.objectives import OBJECTIVES
    from hicenv.design.pareto import _surrogate_answer, with_p_front

    d = pd.DataFrame(
        {
            "msb_bits": [1, 2],
            "horizon": ["1y", "1y"],
            "lifetime_wear": [0.2, 0.1],
            "surrogate_std": [
                {"accuracy_drift_gdc_1y": 0.03, "log_max_write_cycles": 0.1},
                '{"accuracy_drift_gdc_1y": 0.01, "log_max_write_cycles": 0.2}',  # as a CSV holds it
            ],
        }
    )
    sd = lambda name: _surrogate_answer(d, "surrogate_std", OBJECTIVES[name].surrogate_sd)  # noqa: E731
    assert sd("horizon_accuracy").tolist() == [0.03, 0.01]
    assert sd("lifetime_wear") == pytest.approx([0.2 * math.log(10) * 0.1, 0.1 * math.log(10) * 0.2])
    assert sd("train_energy_j") is None
    cert = pd.DataFrame({"msb_bits": [2, 1], "p_front": [0.25, 0.75]})
    assert with_p_front(d[["msb_bits"]], cert)["p_front"].tolist() == [0.75, 0.25]


def _lawful(accuracy_laws, sd=None):
    """Two designs of one size: their horizon accuracies known by a law each (quantiles at
    LAW_SCORES) or, without one, by ``sd`` (the law's mean and sd, as a surrogate gives them)."""
    laws = [np.asarray(q, float) for q in accuracy_laws]
    rows = {"msb_bits": list(range(1, len(laws) + 1)), "horizon": ["1y"] * len(laws), "size_ratio": [0.5] * len(laws)}
    rows["horizon_accuracy"] = [float(q.mean()) for q in laws]
    if sd is None:
        rows["surrogate_law"] = [{"accuracy_drift_gdc_1y": q.tolist()} for q in laws]
    else:
        rows["surrogate_std"] = [{"accuracy_drift_gdc_1y": s} for s in sd]
    return pd.DataFrame(rows)


def test_front_certainty_draws_a_bimodal_law_as_it_is_not_as_a_gaussian_of_its_sd():
    from hicenv.design.pareto import front_certainty
    from hicenv.design.surrogate import LAW_SCORES

    # A collapses (0.1) below the median score and works (0.85) from it on; between the
    # scores -0.5 and 0 its law rises linearly. B sits at 0.8. A beats B where its draw
    # passes 0.8: 0.1 + (z + 0.5) / 0.5 * 0.75 > 0.8, z > -1/30: P = 1 - Phi(-1/30) = 0.513.
    collapse = [0.1] * 6 + [0.85] * 7
    assert LAW_SCORES[5:7].tolist() == [-0.5, 0.0]
    objectives = ["horizon_accuracy", "size_ratio"]
    c = front_certainty(_lawful([collapse, [0.8] * 13]), objectives, draws=4000)
    assert c["p_front"].tolist() == pytest.approx([0.513, 0.487], abs=0.025)
    # Its mean 0.504 and sd 0.374 as a Gaussian: P(A > 0.8) = 1 - Phi(0.79) = 0.21, far from it.
    g = front_certainty(_lawful([collapse, [0.8] * 13], sd=[np.std(collapse), 0.0]), objectives, draws=4000)
    assert g["p_front"].tolist() == pytest.approx([0.214, 0.786], abs=0.025)
    # An FP32 baseline beside them (interpolated by the surrogate: no law, NaN) leaves both as they were.
    with_fp32 = _lawful([collapse, [0.8] * 13, [np.nan] * 13])
    with_fp32.loc[2, ["size_ratio", "horizon_accuracy"]] = [1.0, 0.9]
    c3 = front_certainty(with_fp32, objectives, draws=4000)
    assert c3["p_front"][:2].tolist() == pytest.approx([0.513, 0.487], abs=0.025)


def test_a_wear_objectives_law_is_its_value_scaled_by_each_quantiles_write_count():
    from hicenv.design.objectives import OBJECTIVES

    law = {"log_max_write_cycles": [2.0, 3.0]}  # 99 and 999 writes
    row = {"lifetime_wear": 0.2, "max_write_cycles": 99}
    assert OBJECTIVES["lifetime_wear"].surrogate_law(law, row) == pytest.approx([0.2, 0.2 * 999 / 99])
    assert OBJECTIVES["lifetime_wear"].surrogate_law(law, {**row, "max_write_cycles": 0}) == [0.2, 0.2]
    assert OBJECTIVES["size_ratio"].surrogate_law(law, row) is None


def test_a_designs_csv_holds_the_surrogates_answers_as_json_so_its_front_reads_back(tmp_path):
    from hicenv.design.pareto import front_certainty, write_csv

    d = _lawful([[0.1] * 6 + [0.85] * 7, [0.8] * 13])
    again = pd.read_csv(write_csv(d, tmp_path / "d.csv"))
    assert json.loads(again["surrogate_law"][0]) == d["surrogate_law"][0]  # not Python's repr
    objectives = ["horizon_accuracy", "size_ratio"]
    assert front_certainty(again, objectives)["p_front"].tolist() == front_certainty(d, objectives)["p_front"].tolist()
