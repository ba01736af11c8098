"""Distinct: a study's sampler proposes only points the study does not hold, and draws an
unevenly spaced numeric knob among its values while the study stores it as a number."""

import collections

import optuna
import pytest

from hicenv.design.space import DesignSpace, Knob
from hicenv_agents.search.distinct import Distinct
from hicenv_agents.search.optuna_study import REPEAT_ATTR, point_of, run_study
from hicenv_agents.search.samplers import make_sampler
from hicenv_agents.search.studyfile import StudySpec

SMALL = {"knobs": {"msb_bits": [2, 3, 4], "lsb_bits": [2, 3, 4], "acc_bits": [4, 8, 32]}}  # 27 points


@pytest.fixture(autouse=True)
def _quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random"])
def test_a_study_that_covers_a_small_space_evaluates_each_point_in_one_trial(sampler):
    # Bare (seed 0), TPE took 106 trials for the 27 points; NSGA-II and random stopped at 21 and
    # 25 after 30 and 28 trials in a row that found no new point.
    study = run_study(StudySpec(name="s", trials=27, sampler=sampler, seed=0, space=SMALL))
    points = [point_of(t) for t in study.trials]
    assert len(points) == 27 and len(set(points)) == 27
    assert not any(REPEAT_ATTR in t.user_attrs for t in study.trials)


def test_the_bare_sampler_re_proposes_so_the_test_above_can_fail():
    space = StudySpec(space=SMALL).design_space()
    study = optuna.create_study(sampler=make_sampler("tpe", 0, space, distinct=False))
    for _ in range(27):
        trial = study.ask()
        study.tell(trial, float(sum(space.suggest_values(trial).values())))
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) < 27


def test_a_space_with_every_point_held_gets_a_held_point_and_no_error():
    space = DesignSpace.default().fix("msb_bits", 4).fix("lsb_bits", 4).fix("width", 1.0)
    space = space.fix("lsb_encoding", "unsigned").with_knob("acc_bits", [8, 16])  # 2 points
    study = optuna.create_study(sampler=Distinct(optuna.samplers.TPESampler(seed=0), space, seed=0))
    seen = []
    for _ in range(3):
        trial = study.ask()
        seen.append(space.suggest(trial).acc_bits)
        study.tell(trial, 0.0)
    assert sorted(seen[:2]) == [8, 16] and seen[2] in (8, 16)


def test_a_queued_point_is_held_and_a_fixed_trial_keeps_its_values():
    space = StudySpec(space=SMALL).design_space()
    study = optuna.create_study(sampler=make_sampler("random", 0, space))
    study.enqueue_trial({"msb_bits": 2, "lsb_bits": 2, "acc_bits": 4})
    first = study.ask()
    assert space.suggest_values(first) == {"msb_bits": 2, "lsb_bits": 2, "acc_bits": 4}
    study.tell(first, 0.0)
    others = []
    for _ in range(26):
        trial = study.ask()
        others.append(tuple(space.suggest_values(trial).values()))
        study.tell(trial, 0.0)
    assert (2, 2, 4) not in others and len(set(others)) == 26


def test_an_uneven_numeric_knob_is_stored_as_a_number_and_drawn_evenly_among_its_values():
    space = DesignSpace.default()
    study = optuna.create_study(sampler=make_sampler("random", 0, space))
    drawn = []
    for _ in range(300):
        trial = study.ask()
        drawn.append(space.suggest(trial).acc_bits)
        study.tell(trial, 0.0)
    dist = study.trials[0].distributions["acc_bits"]
    assert isinstance(dist, optuna.distributions.IntDistribution) and (dist.low, dist.high) == (4, 32)
    counts = collections.Counter(drawn)
    # About 50 each. A plain draw of 4..32 snapped to the nearest value (ties low) would give
    # 4 two of the 29 integers (4, 5: about 21 of 300) and 16 ten (15-24: about 103).
    assert set(counts) == {4, 6, 8, 12, 16, 32} and all(30 <= c <= 70 for c in counts.values()), counts


def test_a_plain_sampler_on_the_numeric_range_lands_on_the_values_in_proportion_to_their_cells():
    space = DesignSpace.default()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = []
    for _ in range(300):
        trial = study.ask()
        config = space.suggest(trial)
        space.encode(config)  # on the grid
        drawn.append(config.acc_bits)
        study.tell(trial, 0.0)
    counts = collections.Counter(drawn)
    assert counts[16] > 75 and counts[4] < 35, counts  # the bias Distinct avoids (above)


def test_which_knobs_are_snapped():
    assert Knob("acc_bits", (4, 6, 8, 12, 16, 32)).snapped  # uneven
    assert Knob("device.endurance_cycles", (1e6, 1e7, 1e8, 1e9)).snapped  # log
    assert not Knob.range("msb_bits", 1, 8, 1).snapped and not Knob.range("width", 0.5, 2.0, 0.25).snapped
    assert not Knob("lsb_encoding", ("unsigned", "differential")).snapped and not Knob("acc_bits", (8,)).snapped
