"""Study files: every bad key, type or range is one clear error."""

from dataclasses import replace
from pathlib import Path

import pytest

from hicenv.design.space import DesignSpace
from hicenv_agents.search.studyfile import StudySpec, load_study_file

STUDIES = Path(__file__).resolve().parents[1] / "studies"  # not the working directory


def write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_shipped_study_files_load():
    quick = load_study_file(STUDIES / "quick.toml")
    assert quick.name == "quick" and quick.backend == "surrogate" and quick.trials >= 100
    assert quick.design_space().names == DesignSpace.default().names  # the whole default space
    live = load_study_file(STUDIES / "quick-train.toml")
    assert live.backend == "train" and set(live.design_space().names) == {"msb_bits", "lsb_bits", "width"}
    paper = load_study_file(STUDIES / "paper.toml")
    assert paper.include_fp32 and paper.get_budget().name == "full"
    assert {1.0, 1.5, 2.0} <= set(dict((k.name, k.values) for k in paper.design_space().knobs)["width"])


@pytest.mark.parametrize(
    "text,match",
    [
        ("trials = 3\ncolour = 1\n", "unknown StudySpec field"),
        ("trials = 'three'\n", "trials"),
        ("trials = 3\nsampler = 'cmaes'\n", "sampler"),
        ("trials = 3\n[space]\nknobs = { msb_bits = [0, 2] }\n", "msb_bits"),
        ("trials = 3\n[space]\nknobs = { width = [0.0] }\n", "width"),
        ("trials = 3\n[space]\nknobs = { depth = [8] }\n", "unknown knob"),
        ("trials = 3\n[space]\nendurance = 1\n", "unknown DesignSpace field"),
        ("trials = 3\n[budget]\nepoch = 1\n", "unknown Budget field"),
        ("trials = 3\nmode = 'multi'\npruner = 'median'\n", "pruner needs mode"),
        ("trials = 3\n[reward]\nsize = 1\n", "unknown RewardWeights field"),
        ("trials = [\n", "not valid TOML"),
        ("trials = 3\ntrain_seed = 99999999999999999999\n", "train_seed"),
        ("trials = 3\ntrain_seed = -1\n", "train_seed"),
        ("trials = 3\nnoise = inf\n", "noise must be a finite number"),
        ("trials = 3\nnoise = nan\n", "noise must be a finite number"),
        ("trials = 3\n[space]\nknobs = {}\n", "knobs must name at least one knob"),
        ("trials = 3\n[device]\nendurance_cycles = 0\n", "endurance_cycles must be > 0"),
        ("trials = 3\n[device]\ncolour = 1\n", "unknown PCMParams field"),
        ('trials = 3\n[space]\nknobs = { "device.colour" = [1] }\n', "device.colour"),
        ('trials = 3\n[space]\nknobs = { lsb_encoding = ["signed"] }\n', "lsb_encoding"),
        ('trials = 3\n[space]\nbudget = "smoke"\n', "unknown DesignSpace field"),
        (
            'trials = 3\nbackend = "table"\nnoise = 1.0\n[space]\nknobs = { width = [3.0] }\n',
            r"width=\[3.0\] is not in lookup table",
        ),
        (
            'trials = 3\nbackend = "table"\nnoise = 1.0\n[space]\n'
            "knobs = { width = [1.0] }\nfixed = { acc_bits = 6 }\n",
            r"acc_bits=\[6\] is not in lookup table",
        ),
    ],
)
def test_bad_study_files(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_study_file(write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ValueError, match="does not exist"):
        load_study_file("nowhere.toml")


def test_spec_round_trip():
    s = StudySpec(trials=3, backend="train", space={"knobs": {"width": [1.0, 2.0]}}, budget={"epochs": 1, "depth": 8})
    assert StudySpec.from_dict(s.to_dict()) == s


def test_a_surrogate_study_refuses_a_budget_or_dataset_its_bench_was_not_made_with(tmp_path):
    from hicenv_agents.search.optuna_study import run_study

    storage = tmp_path / "s.log"
    with pytest.raises(ValueError, match=r"budget='smoke': backend 'surrogate' answers at 'proxy'"):
        run_study(StudySpec(trials=3, budget="smoke"), str(storage))
    with pytest.raises(ValueError, match=r"dataset='cifar10': backend 'surrogate' answers only dataset='embedded'"):
        run_study(StudySpec(trials=3, dataset="cifar10"), str(storage))
    assert not storage.exists()  # refused before the study was made
    assert StudySpec(trials=3, budget="proxy").get_budget().name == "proxy"  # the bench's own: accepted


def test_a_study_file_searches_device_physics_and_the_lsb_encoding(tmp_path):
    from hicenv_agents.search.optuna_study import designs_frame, run_study

    spec = load_study_file(STUDIES / "device.toml")
    assert spec.design_space().names == ("lsb_encoding", "device.endurance_cycles")
    tiny = {
        "name": "tiny",
        "train_images": 64,
        "epochs": 1,
        "test_images": 32,
        "drift_test_images": 16,
        "batch_size": 32,
        "depth": 8,
    }
    df = designs_frame(run_study(replace(spec, budget=tiny), cache=tmp_path / "c.sqlite"))
    assert sorted(zip(df["lsb_encoding"], df["device.endurance_cycles"])) == [
        ("differential", 1e6),
        ("differential", 1e8),
        ("unsigned", 1e6),
        ("unsigned", 1e8),
    ]
    for _, g in df.groupby("lsb_encoding"):
        by = g.set_index("device.endurance_cycles")["endurance_fraction"]
        assert by[1e6] == pytest.approx(100 * by[1e8])  # same training, a 100x less enduring device
    assert (
        df.loc[df["lsb_encoding"] == "differential", "n_multilevel_devices"]
        == 2 * df.loc[df["lsb_encoding"] == "unsigned", "n_multilevel_devices"].iloc[0]
    ).all()


def test_study_file_choices_are_the_registries(monkeypatch):
    import optuna

    from hicenv_agents.search import samplers
    from hicenv_agents.search.studyfile import StudySpec

    with pytest.raises(ValueError, match="sampler must be one of .*'grid'"):
        StudySpec(sampler="annealing")
    monkeypatch.setitem(samplers.SAMPLERS, "annealing", lambda seed, space: optuna.samplers.RandomSampler(seed))
    assert StudySpec(sampler="annealing").sampler == "annealing"  # one registry entry: a valid study file
    with pytest.raises(ValueError, match="backend must be one of \\('train', 'table'"):
        StudySpec(backend="oracle")
