"""The design space: actions, Optuna suggestions, narrowing and validation."""

import numpy as np
import optuna
import pytest

from hicenv.design.space import DesignSpace, Knob
from hicenv.sim.config import HICConfig


def test_every_action_decodes_to_a_valid_config_and_back():
    space = DesignSpace.default()
    assert space.names == ("msb_bits", "lsb_bits", "acc_bits", "width", "lsb_encoding")
    assert space.nvec.tolist() == [8, 8, 6, 7, 2]
    n = 0
    for idx in np.ndindex(*space.nvec):
        cfg = space.decode(np.array(idx), noise=1.0)
        assert isinstance(cfg, HICConfig)
        assert space.encode(cfg).tolist() == list(idx)
        n += 1
    assert n == len(space) == 8 * 8 * 6 * 7 * 2


def test_points_enumerate_the_grid_in_action_order():
    space = (
        DesignSpace.default()
        .with_knob("msb_bits", [2, 4])
        .with_knob("width", [1, 2])
        .fix("lsb_bits", 4)
        .fix("acc_bits", 8)
        .fix("lsb_encoding", "unsigned")
    )
    pts = list(space.points())
    assert [(p.msb_bits, p.width) for p in pts] == [(2, 1.0), (2, 2.0), (4, 1.0), (4, 2.0)]
    assert all(p.lsb_bits == 4 and p.acc_bits == 8 for p in pts)


def test_narrowing_widening_and_fixing():
    s = DesignSpace.default().with_knob("width", low=1.0, high=3.0, step=0.5).fix("acc_bits", 16)
    assert s.knobs[2].name == "width" and s.knobs[2].values == (1.0, 1.5, 2.0, 2.5, 3.0)
    assert "acc_bits" not in s.names and dict(s.fixed)["acc_bits"] == 16
    assert s.decode(np.zeros(4, dtype=int)).acc_bits == 16
    s2 = s.with_knob("acc_bits", [8, 32])
    assert "acc_bits" in s2.names and "acc_bits" not in dict(s2.fixed)
    noisy = DesignSpace.default(noise_knob=True)
    assert noisy.searches_noise and noisy.names[-1] == "noise"


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: DesignSpace.default().with_knob("msb_bits", [8, 9]), "msb_bits \\+ lsb_bits"),
        (lambda: DesignSpace.default().with_knob("width", [0.0, 1.0]), "width"),
        (lambda: DesignSpace.default().with_knob("acc_bits", [1, 8]), "acc_bits"),
        (lambda: DesignSpace.default().with_knob("msb_bits", [1.5]), "integers"),
        (lambda: Knob("depth", (1, 2)), "unknown knob"),
        (lambda: DesignSpace.default().fix("colour", 1), "unknown fixed field"),
        (lambda: DesignSpace.default(horizon="2y"), "horizon"),
        (lambda: DesignSpace.from_dict({"knobs": {"width": [1]}, "budgett": "x"}), "unknown DesignSpace field"),
        (lambda: DesignSpace.from_dict({"knobs": {"width": {"low": 1, "high": 2}}}), "low, high and step"),
    ],
)
def test_bad_spaces_are_refused_with_the_field_named(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    "action,match",
    [
        ([0, 0, 0, 0], "shape"),
        ([0, 0, 0, 7, 0], "outside"),
        ([-1, 0, 0, 0, 0], "outside"),
        ([0.5, 0, 0, 0, 0], "integer"),
    ],
)
def test_bad_actions_name_the_problem(action, match):
    with pytest.raises(ValueError, match=match):
        DesignSpace.default().decode(np.array(action))


def test_optuna_suggestions_land_on_the_grid():
    space = DesignSpace.default(noise_knob=True)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        cfg = space.suggest(trial)
        space.encode(cfg)  # raises if off the grid
        seen.add(cfg.acc_bits)
        study.tell(trial, 0.0)
    assert len(seen) > 2
    dist = study.trials[0].distributions
    assert isinstance(dist["msb_bits"], optuna.distributions.IntDistribution)
    assert isinstance(dist["acc_bits"], optuna.distributions.IntDistribution)  # numeric, though uneven
    assert isinstance(dist["width"], optuna.distributions.FloatDistribution) and dist["width"].step == 0.25


def test_round_trip_through_a_study_file_dict():
    s = (
        DesignSpace.default()
        .with_knob("width", [1.0, 1.5])
        .fix("acc_bits", 8)
        .with_settings(device={"endurance_cycles": 1e6})
    )
    d = s.to_dict()
    assert DesignSpace.from_dict(d) == s
    s3 = DesignSpace.from_dict(
        {"knobs": {"width": {"low": 1, "high": 2, "step": 0.5}, "msb_bits": [2, 3]}, "fixed": {"lsb_bits": 4}}
    )
    assert s3.names == ("msb_bits", "width") and s3.nvec.tolist() == [2, 3]


def test_lsb_encoding_and_device_parameters_are_knobs():
    s = DesignSpace.default().fix("msb_bits", 4).fix("lsb_bits", 4).fix("acc_bits", 8).fix("width", 1.0)
    s = s.with_knob("device.endurance_cycles", [1e8, 1e6]).with_settings(device={"threshold_uS": 6.0})
    assert s.names == ("lsb_encoding", "device.endurance_cycles")  # HIC knobs first, then device knobs
    assert s.knobs[0].values == ("unsigned", "differential") and s.knobs[1].values == (1e6, 1e8)
    cfg = s.decode(np.array([1, 0]))
    assert cfg.lsb_encoding == "differential" and cfg.pcm.endurance_cycles == 1e6
    assert cfg.pcm.threshold_uS == 6.0  # the space's device setting holds under the knob
    assert s.encode(cfg).tolist() == [1, 0]
    assert DesignSpace.from_dict(s.to_dict()) == s
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {(c.lsb_encoding, c.pcm.endurance_cycles) for c in (s.suggest(study.ask()) for _ in range(40))}
    assert seen == {(e, n) for e in ("unsigned", "differential") for n in (1e6, 1e8)}
    with pytest.raises(ValueError, match="device.colour"):
        Knob("device.colour", (1.0,))
    with pytest.raises(ValueError, match="endurance_cycles must be > 0"):
        Knob("device.endurance_cycles", (0.0,))
    with pytest.raises(ValueError, match="lsb_encoding takes"):
        Knob("lsb_encoding", ("signed",))


def test_device_knobs_are_numeric_and_one_spanning_decades_is_searched_on_a_log_scale():
    endurance = Knob("device.endurance_cycles", [1e6, 1e7, 1e8, 1e9])
    g_max = Knob("device.g_max_uS", [20.0, 25.0, 30.0])
    assert not endurance.categorical and endurance.log and not g_max.categorical and not g_max.log
    s = DesignSpace.default().fix("msb_bits", 4).fix("lsb_bits", 4).fix("acc_bits", 8).fix("width", 1.0)
    s = s.fix("lsb_encoding", "unsigned")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = []
    for _ in range(400):
        trial = study.ask()
        cfg = s.with_knob("device.endurance_cycles", endurance.values).with_knob("device.g_max_uS", g_max.values)
        cfg = cfg.suggest(trial)
        drawn.append(cfg.pcm.endurance_cycles)
        study.tell(trial, 0.0)
    dist = study.trials[0].distributions
    assert dist["device.endurance_cycles"].log and dist["device.g_max_uS"].step == 5.0  # ordered, not categories
    # Each decade's cell is equally wide in log, so a uniform draw lands on each value about equally.
    counts = [drawn.count(v) for v in endurance.values]
    assert all(60 <= c <= 140 for c in counts), counts
