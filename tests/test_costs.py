"""Hardware costs: hand-worked MACs, areas, energies, the published check, wear projections."""

import math

import pytest

from hicenv.design.costs import CostModel, _inference_pj, _programming_pj, area, device_counts, network_macs
from hicenv.design.deployment import PAPER_STEPS, VALIDATED_FACTOR, Deployment, growth_exponent, project_writes
from hicenv.errors import InputError
from hicenv.sim.config import HICConfig


def test_macs_of_resnet8_on_8x8_images_by_hand():
    m = network_macs(1.0, 8, 1, 10, 8)
    # stage 1 (8x8, 16 ch): two 3x3 convs of 64 * 16 * 144; stage 2 (4x4): 16 * 32 * 144 + 16 * 32 * 288
    # + a 1x1 shortcut 16 * 32 * 16; stage 3 (2x2): 4 * 64 * 288 + 4 * 64 * 576 + 4 * 64 * 32.
    hic = 2 * 147_456 + 73_728 + 147_456 + 8_192 + 73_728 + 147_456 + 8_192
    assert m["hic_macs"] == hic == 753_664
    assert m["digital_macs"] == 64 * 16 * 9 + 64 * 10  # first conv on 1 channel, last linear layer


def test_area_by_hand_and_a_differential_pair_costs_a_device():
    model = CostModel()
    unsigned = device_counts(HICConfig(msb_bits=4, lsb_bits=4, acc_bits=8), 1000, 100)
    a = area(unsigned, model)
    assert a["area_pcm_mm2"] == pytest.approx(5000 * 0.036e-6)
    assert a["area_accumulator_mm2"] == pytest.approx(8000 * 0.127e-6)
    assert a["area_digital_mm2"] == pytest.approx(3200 * 0.127e-6)
    assert a["inference_area_mm2"] == pytest.approx(a["area_mm2"] - a["area_accumulator_mm2"])
    pair = area(
        device_counts(HICConfig(msb_bits=4, lsb_bits=4, acc_bits=8, lsb_encoding="differential"), 1000, 100), model
    )
    assert pair["area_mm2"] - a["area_mm2"] == pytest.approx(1000 * 0.036e-6)  # one more device per weight


def test_energy_per_mac_against_le_gallo_2023_as_docs_costs_works_it():
    # four devices per weight (3 binary + 1 multi-level), one MAC: 4 x (0.05 + (2 + 0.1) / 256) pJ
    config = HICConfig(msb_bits=3, lsb_bits=4)
    e = _inference_pj(config, {"hic_macs": 1, "digital_macs": 0, "hic_params": 1, "digital_params": 0}, CostModel())
    per_mac = e["crossbar"] + e["adc"]
    assert per_mac == pytest.approx(4 * (0.05 + 2.1 / 256))
    tops_per_watt = 2 / per_mac  # 2 operations a MAC; 1 / pJ = 1e12 operations per joule
    assert tops_per_watt == pytest.approx(8.59, abs=0.01)
    assert abs(tops_per_watt / 9.76 - 1) < 0.15  # the one-phase figure of Le Gallo et al. 2023


def test_programming_energy_by_hand():
    pulses = {"binary_set": 10, "binary_reset": 20, "multilevel_reset": 3, "multilevel_partial_set": 7}
    # 10 x 10 + 20 x 10 + 3 x (10 + 5 x 5) + 7 x 5
    assert _programming_pj(pulses, CostModel()) == pytest.approx(440.0)
    flips = {"binary_flips": 30, "multilevel_reset": 3, "multilevel_partial_set": 7}
    # split unknown: the mean of SET and RESET (exact when equal); a multi-level RESET is 16 + 5 x 5
    assert _programming_pj(flips, CostModel(set_pj=4.0, reset_pj=16.0)) == pytest.approx(30 * 10 + 3 * 41 + 35)


def test_projection_rules_cap_and_validated_range():
    curve = {"steps": [10, 20, 40, 80], "max": [1, 2, 4, 8]}
    assert growth_exponent(curve) == pytest.approx(1.0)
    curve = {"steps": [25, 50, 75, 100], "max": [5, 7, 8.66, 10]}
    assert growth_exponent(curve) == pytest.approx(math.log(10 / 7) / math.log(2))
    d = Deployment(steps=1600)
    p = project_writes(10, 100, d)
    assert p["projected_writes"] == pytest.approx(160) and p["projection"] == "linear"  # the default
    assert p["extrapolation"] == 16 and p["validated"] is (16 <= VALIDATED_FACTOR)
    sqrt_curve = {"steps": [50, 100], "max": [10 / math.sqrt(2), 10]}
    p = project_writes(10, 100, d, "power", sqrt_curve)
    assert p["projection"] == "power" and p["projected_writes"] == pytest.approx(40)  # 10 x 16^0.5
    assert project_writes(100, 100, d)["projected_writes"] == 1600  # at most once per step
    with pytest.raises(InputError, match="wear_curve"):
        project_writes(10, 100, d, "power")
    assert project_writes(1, 100, Deployment(steps=int(100 * VALIDATED_FACTOR)))["validated"] is True
    assert project_writes(1, 100, Deployment(steps=int(100 * VALIDATED_FACTOR) + 1))["validated"] is False


def test_deployment_of_a_recipe_and_bad_fields():
    assert Deployment().steps == PAPER_STEPS == 160 * 390
    assert Deployment.of(epochs=2, batch_size=32, train_images=60_000).steps == 3750
    with pytest.raises(InputError, match="trainings"):
        Deployment(trainings=0)
    with pytest.raises(InputError, match="epochs"):
        Deployment.of(epochs=0, batch_size=128, train_images=50_000)
    with pytest.raises(InputError, match="colour"):
        Deployment.from_dict({"colour": 1})
    with pytest.raises(InputError, match="adc_pj"):
        CostModel(adc_pj=-1.0)


def test_some_bench_designs_infeasible_at_1e6_cycles_and_the_paper_recipe_none_at_1e12():
    from hicenv.design.deployment import wear_metrics
    from hicenv.design.surrogate import load_bench

    rows = load_bench()
    rows = rows[~rows["fp32"].astype(bool)]
    deployment = Deployment()

    def wear(row, endurance):
        config = {"fp32": False, "pcm": {"endurance_cycles": endurance}}
        metrics = {"config": config, "steps": int(row.steps), "max_write_cycles": int(row.max_write_cycles)}
        return wear_metrics(metrics, deployment)["lifetime_wear"]

    at_1e6 = [wear(r, 1e6) for r in rows.itertuples()]
    at_1e12 = [wear(r, 1e12) for r in rows.itertuples()]
    infeasible = sum(w > 1.0 for w in at_1e6)
    assert 0 < infeasible < len(rows)
    assert max(at_1e12) < 1.0


def test_readme_costs_table_names_every_cost_key_and_no_other():
    import re
    from pathlib import Path

    from hicenv.design.costs import hardware_costs

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("<!-- costs-table -->")[1].split("<!-- /costs-table -->")[0]
    named = {
        n
        for line in section.splitlines()
        if line.startswith("| `")
        for n in re.findall(r"`([a-z0-9_]+)`", line.split("|")[1])
    }
    metrics = {"config": HICConfig().to_dict(), "steps": 100, "max_write_cycles": 10}
    keys = set(hardware_costs(metrics, Deployment(), CostModel()))
    assert named == keys
