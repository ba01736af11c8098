"""The result type, the one flattener, the learning curve and the device-model seam."""

import re
from pathlib import Path

import pytest
import torch

from hicenv.fielddocs import field_docs
from hicenv.rows import drift_columns, flatten
from hicenv.sim.budget import Budget
from hicenv.sim.config import HICConfig
from hicenv.sim.data import load_dataset
from hicenv.sim.devices import DEVICE_MODELS, DeviceModel, device_model
from hicenv.sim.devices.params import PCMParams
from hicenv.sim.result import CURVE_POINTS, Result
from hicenv.sim.trainer import evaluate

TINY = Budget(name="tiny", train_images=256, epochs=1, test_images=128, drift_test_images=64, batch_size=32, depth=8)


@pytest.fixture(scope="module")
def embedded():
    return load_dataset("embedded")


@pytest.fixture(scope="module")
def hic(embedded):
    return evaluate(HICConfig(), TINY, seed=0, dataset=embedded)


def test_evaluate_returns_exactly_the_documented_fields(hic, embedded):
    docs = field_docs(Result)
    assert set(Result.__annotations__) == set(docs)  # every field has a docstring
    assert set(hic) == set(Result.__annotations__)
    fp32 = evaluate(HICConfig(fp32=True), TINY, seed=0, dataset=embedded)
    assert set(fp32) == set(Result.__annotations__)


def test_readme_metrics_table_names_every_field_and_no_other():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("<!-- metrics-table -->")[1].split("<!-- /metrics-table -->")[0]
    named = {
        n
        for line in section.splitlines()
        if line.startswith("| `")
        for n in re.findall(r"`([a-z0-9_]+)`", line.split("|")[1])
    }
    assert named == set(Result.__annotations__)


def test_flatten_names_columns_once_and_keeps_hand_checked_values(hic):
    row = flatten(hic)
    assert row["accuracy_drift_gdc_1y"] == hic["accuracy_drift_gdc"]["1y"]
    assert row["msb_bits"] == 4 and row["device.endurance_cycles"] == 1e8 and row["budget"] == "tiny"
    assert row["budget.batch_size"] == 32
    assert row["write_cycles_total_max"] == hic["max_write_cycles"]
    assert row["final_train_loss"] == hic["train_loss"][-1]
    assert set(drift_columns()) <= set(row)
    assert not any(isinstance(v, (dict, list)) for v in row.values())


def test_learning_curve_cuts_the_run_into_equal_parts(hic):
    curve = hic["learning_curve"]
    assert curve["steps"] == [1, 2, 3, 4, 5, 6, 7, 8]  # 8 steps in 8 parts: one step each
    assert len(curve["train_loss"]) == len(curve["train_accuracy"]) == CURVE_POINTS
    # the parts' mean losses average to the epoch's mean loss (equal parts)
    assert sum(curve["train_loss"]) / CURVE_POINTS == pytest.approx(hic["train_loss"][0], rel=1e-6)
    assert all(0 <= a <= 1 and (a * 32) == round(a * 32) for a in curve["train_accuracy"])


def test_the_ideal_device_trains_noise_free_and_does_not_drift(embedded):
    ideal = evaluate(HICConfig(device_model="ideal", noise=1.0), TINY, seed=3, dataset=embedded)
    quiet_pcm = evaluate(HICConfig(noise=0.0), TINY, seed=3, dataset=embedded)
    noisy_pcm = evaluate(HICConfig(noise=1.0), TINY, seed=3, dataset=embedded)
    # training on ideal devices is the noise-free PCM run, step for step, whatever the noise knob
    assert ideal["train_loss"] == quiet_pcm["train_loss"]
    assert ideal["learning_curve"] == quiet_pcm["learning_curve"]
    assert ideal["train_loss"] != noisy_pcm["train_loss"]
    # and nothing drifts: every horizon reads what t0 reads, with or without compensation
    assert (
        set(ideal["accuracy_drift"].values())
        == set(ideal["accuracy_drift_gdc"].values())
        == {ideal["accuracy_drift"]["0s"]}
    )


def test_device_models_are_a_registry_the_config_checks():
    assert {"pcm", "ideal"} <= set(DEVICE_MODELS)
    assert all(issubclass(m, DeviceModel) for m in DEVICE_MODELS.values())
    with pytest.raises(ValueError, match="device_model must be one of"):
        HICConfig(device_model="rram")
    d = device_model("ideal", PCMParams(), noise=5.0)
    g = torch.tensor([0.0, 0.25, 1.0])
    assert torch.equal(d.program(g, torch.Generator()), g)
    assert torch.equal(d.drift(g, d.sample_drift_nu(g, torch.Generator()), 1e9), g)
    assert torch.equal(d.threshold_read(d.binary_target(torch.tensor([0, 1]))), torch.tensor([False, True]))
