"""The backend contract: a backend answers only what it declares, and refuses the rest up front.

Each setting class (device model, rounding, device physics, accumulator range) is asked of
the surrogate and of a lookup table through ``gymnasium.make``, and of the surrogate through
a study file and the CLI: each must be refused before any work with one line naming the
setting, the value asked and the value held. The train backend answers every one of them.
"""

import dataclasses

import gymnasium
import pandas as pd
import pytest

import hicenv  # noqa: F401  (registers the environments)
from hicenv.design.backends import BACKENDS, TableBackend, make_backend
from hicenv.design.backends.base import held_settings
from hicenv.design.space import DesignSpace
from hicenv.errors import InputError

ENV = "hicenv/HICDesign-v0"
ASKED = {
    "model": (dict(space=DesignSpace.default().fix("device_model", "ideal")), "device_model='ideal'", "'pcm'"),
    "rounding": (dict(space=DesignSpace.default().fix("rounding", "nearest")), "rounding='nearest'", "'stochastic'"),
    "physics": (dict(device={"nu_mu_min": 0.3, "nu_mu_max": 0.5}), "device.nu_mu_min=0.3", "0.049"),
    "accumulator range": (dict(space=DesignSpace.default().fix("acc_range", 4.0)), "acc_range=4.0", "2.0"),
}
"""Setting class -> (env kwargs, what the refusal names as asked, the value it names as held)."""


@pytest.mark.parametrize("setting", list(ASKED))
def test_the_surrogate_refuses_a_setting_its_bench_holds_at_another_value(setting):
    kwargs, asked, held = ASKED[setting]
    with pytest.raises(InputError) as e:
        gymnasium.make(ENV, **kwargs)
    message = str(e.value)
    assert "\n" not in message and asked in message and held in message and "backend='train'" in message


def _table_space(**fixed) -> DesignSpace:
    """A space inside the shipped smoke table's grid, with ``fixed`` settings."""
    space = DesignSpace.from_dict({"knobs": {"msb_bits": [2, 4], "lsb_bits": [2, 4], "acc_bits": [8]}})
    for name, value in fixed.items():
        space = space.fix(name, value)
    return space.fix("width", 1.0).fix("lsb_encoding", "unsigned")


@pytest.mark.parametrize(
    "kwargs, asked",
    [
        (dict(space=_table_space(device_model="ideal")), "device_model='ideal'"),
        (dict(space=_table_space(rounding="nearest")), "rounding='nearest'"),
        (dict(space=_table_space(), device={"read_q_coeff": 0.0}), "device.read_q_coeff=0.0"),
        (dict(space=_table_space(acc_range=3.0)), "acc_range=3.0"),
    ],
)
def test_a_lookup_table_refuses_a_setting_it_holds_at_another_value(kwargs, asked):
    with pytest.raises(InputError, match=rf"{asked!s}: backend 'table' answers only"):
        gymnasium.make(ENV, backend="table", noise=1.0, **kwargs)
    gymnasium.make(ENV, backend="table", noise=1.0, space=_table_space()).reset(seed=0)  # the held values pass


@pytest.mark.parametrize("setting", list(ASKED))
def test_the_train_backend_answers_every_setting(setting):
    kwargs, _, _ = ASKED[setting]
    space = kwargs.get("space", DesignSpace.default())
    if "device" in kwargs:
        space = space.with_settings(device=kwargs["device"])
    make_backend("train", cache="none").check_request(space, "smoke")  # nothing refused


def test_the_endurance_is_exact_on_the_surrogate_and_a_table():
    # The endurance fraction is the write count over the endurance, so any endurance is answered.
    for backend, space in (("surrogate", DesignSpace.default()), ("table", _table_space())):
        fractions = []
        for cycles in (1e6, 1e8):
            env = gymnasium.make(ENV, backend=backend, space=space, noise=1.0, device={"endurance_cycles": cycles})
            env.reset(seed=0)
            *_, info = env.step(env.action_space.sample() * 0)
            fractions.append(info["endurance_fraction"])
        assert fractions[0] == pytest.approx(100 * fractions[1]) and fractions[1] > 0


def test_a_budget_other_than_the_benchs_is_refused_at_make():
    with pytest.raises(InputError, match=r"budget='smoke': backend 'surrogate' answers at 'proxy'"):
        gymnasium.make(ENV, budget="smoke")


def test_an_option_of_another_backend_is_refused_not_swallowed():
    with pytest.raises(InputError, match=r"backend 'surrogate' takes no option table=.*an option of backend 'table'"):
        gymnasium.make(ENV, table="t.csv")
    with pytest.raises(InputError, match=r"takes no option data_root="):
        make_backend("surrogate", data_root="/data")
    with pytest.raises(InputError, match="backend must be one of"):
        make_backend("trian")
    make_backend("surrogate", cache="none")  # "no cache" holds everywhere


def test_held_settings_are_read_from_the_tables_own_columns():
    table = TableBackend()
    held = table.declaration().held
    assert held["device_model"] == "pcm" and held["rounding"] == "stochastic" and held["budget"].name == "smoke"
    assert held["device.endurance_cycles"] == 1e8 and held["dataset"] == "embedded"
    # A column with two values is not a held setting: the backend would mix them unasked.
    df = table.table.df.assign(rounding=["stochastic", "nearest"] * (len(table.table.df) // 2))
    with pytest.raises(InputError, match="several values of rounding"):
        held_settings(df, ("msb_bits", "lsb_bits", "acc_bits", "width", "lsb_encoding", "noise"), "t.csv")


def test_every_backend_declares_what_it_answers():
    # The contract is abstract: a backend must declare itself (an ABC refuses one that does not).
    for cls in BACKENDS.values():
        assert not getattr(cls, "__abstractmethods__", None)
    with pytest.raises(TypeError):

        class Silent(BACKENDS["train"].__mro__[1]):  # Backend, without declaration/__call__
            pass

        Silent()


def _write(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "extra, named",
    [
        ('[space]\nfixed = { device_model = "ideal" }\n', "device_model='ideal'"),
        ("[device]\nnu_mu_max = 0.5\n", "device.nu_mu_max=0.5"),
    ],
)
def test_a_study_file_the_surrogate_cannot_answer_is_refused_before_the_study_exists(tmp_path, capsys, extra, named):
    from hicenv_agents.cli import main

    study = _write(tmp_path / "s.toml", f"trials = 3\n{extra}")
    storage = tmp_path / "s.log"
    assert main(["study", str(study), "--storage", str(storage), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and "backend='train'" in err and len(err.splitlines()) == 1
    assert not storage.exists() and not (tmp_path / "p.csv").exists()


def test_a_two_objective_study_runs_on_the_surrogate_and_writes_a_two_objective_front(tmp_path, capsys):
    from hicenv_agents.cli import main

    study = _write(tmp_path / "two.toml", 'trials = 30\nobjectives = ["horizon_accuracy", "size_ratio"]\n')
    out = tmp_path / "front.csv"
    assert main(["study", str(study), "--out", str(out)]) == 0
    front = pd.read_csv(out)
    # Non-dominated in the two objectives alone: no row is at least as accurate and as small as another.
    v = front[["horizon_accuracy", "size_ratio"]].to_numpy()
    for i in range(len(v)):
        others = [j for j in range(len(v)) if j != i]
        assert not any(v[j, 0] >= v[i, 0] and v[j, 1] <= v[i, 1] and (v[j] != v[i]).any() for j in others)
    # A 3-objective front of the same trials would keep designs that only wear less.
    assert front["size_ratio"].is_monotonic_increasing and front["horizon_accuracy"].is_monotonic_increasing


def test_an_objective_the_backend_cannot_answer_is_refused_before_the_study_exists(tmp_path, capsys, monkeypatch):
    from hicenv.design import objectives
    from hicenv_agents.cli import main

    # One registry entry is a new objective; the surrogate does not know saturations.
    saturations = dataclasses.replace(
        objectives.OBJECTIVES["size_ratio"], name="saturations", needs=("msb_saturations",)
    )
    monkeypatch.setitem(objectives.OBJECTIVES, "saturations", saturations)
    study = _write(tmp_path / "sat.toml", 'trials = 3\nobjectives = ["horizon_accuracy", "saturations"]\n')
    storage = tmp_path / "sat.log"
    assert main(["study", str(study), "--storage", str(storage)]) == 2
    err = capsys.readouterr().err
    assert "objective 'saturations' needs ['msb_saturations']" in err and not storage.exists()
    study = _write(tmp_path / "bad.toml", 'trials = 3\nobjectives = ["accuracy", "sizes"]\n')
    assert main(["study", str(study)]) == 2
    assert "unknown objective(s) ['sizes']" in capsys.readouterr().err


def test_a_surrogate_study_csv_holds_no_fabricated_statistic(tmp_path):
    from hicenv_agents.cli import main

    study = _write(tmp_path / "q.toml", "trials = 12\n")
    every = tmp_path / "all.csv"
    assert main(["study", str(study), "--all", str(every)]) == 0
    df = pd.read_csv(every)
    # The bench holds the most-written device's count, not per-part statistics nor learning curves.
    assert df["max_write_cycles"].notna().all() and (df["max_write_cycles"] > 0).all()
    unknown = [
        c for c in df.columns if c.startswith(("write_cycles_", "curve_", "msb_saturations", "pulses_", "wear_"))
    ]
    assert unknown and all(df[c].isna().all() for c in unknown), [c for c in unknown if df[c].notna().any()]
    # What it knows of its runs: their steps (the bench's budget), from which wear is projected
    assert (df["steps"] == 234).all() and (df["projection"] == "linear").all()
    assert df["train_energy_programming_j"].isna().all() and (df["train_energy_bound_j"] > 0).all()
