"""Study files: every bad key, type or range is one clear error."""
import pytest

from hicenv_agents.studyfile import StudySpec, load_study_file


def write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_shipped_study_files_load():
    quick = load_study_file("studies/quick.toml")
    assert quick.name == "quick" and quick.backend == "train" and quick.trials >= 5
    assert set(quick.design_space().names) == {"msb_bits", "lsb_bits", "width"}
    paper = load_study_file("studies/paper.toml")
    assert paper.include_fp32 and paper.get_budget().name == "full"
    assert {1.0, 1.5, 2.0} <= set(dict((k.name, k.values) for k in paper.design_space().knobs)["width"])


@pytest.mark.parametrize("text,match", [
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
])
def test_bad_study_files(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_study_file(write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ValueError, match="does not exist"):
        load_study_file("nowhere.toml")


def test_spec_round_trip():
    s = StudySpec(trials=3, space={"knobs": {"width": [1.0, 2.0]}}, budget={"epochs": 1, "depth": 8})
    assert StudySpec.from_dict(s.to_dict()) == s
