"""The surrogate backend, on the shipped smoke table standing in for a compiled bench."""

import warnings

import gymnasium
import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

import hicenv  # noqa: F401  (registers the environments)
import hicenv.errors
from hicenv.design.backends import SurrogateBackend
from hicenv.design.space import KNOBS, point_key
from hicenv.design.surrogate import TARGETS, Surrogate, load_bench
from hicenv.design.table import SHIPPED_TABLE
from hicenv.rows import drift_columns
from hicenv.sim.config import HICConfig


@pytest.fixture(scope="module")
def bench() -> pd.DataFrame:
    return pd.read_csv(SHIPPED_TABLE).assign(budget="smoke")


@pytest.fixture(scope="module")
def smooth(bench) -> pd.DataFrame:
    """The table's points with accuracies a known smooth function of the knobs."""
    acc = (
        0.3
        + 0.05 * bench["msb_bits"]
        + 0.03 * bench["lsb_bits"]
        + 0.04 * np.log2(bench["acc_bits"])
        - 0.1 * bench["noise"]
        + 0.08 * bench["width"]
    )
    out = bench.copy()
    for c in ["accuracy", *drift_columns()]:
        out[c] = acc - (0.02 if "_1y" in c else 0.0)
    return out


@pytest.fixture(scope="module")
def fitted(bench) -> Surrogate:
    return Surrogate(bench)


def test_held_out_points_of_a_smooth_bench_are_ranked_right(smooth):
    fidelity = Surrogate(smooth).kfold(k=4, repeats=2)
    assert fidelity.loc["accuracy_drift_gdc_1y", "spearman"] > 0.95
    assert set(fidelity.index) == set(TARGETS)
    one, other = (Surrogate(smooth).kfold(k=4, seed=s) for s in (0, 1))
    spearman = fidelity["spearman"]  # two splits: their mean, their lowest and highest
    assert np.allclose(spearman, (one["spearman"] + other["spearman"]) / 2)
    assert np.allclose(fidelity["spearman_lo"], np.minimum(one["spearman"], other["spearman"]))
    assert np.allclose(fidelity["spearman_hi"], np.maximum(one["spearman"], other["spearman"]))


def _config_of(row) -> HICConfig:
    """The design point of a bench row (HICConfig takes Python numbers, not numpy's)."""
    return HICConfig(
        msb_bits=int(row["msb_bits"]),
        lsb_bits=int(row["lsb_bits"]),
        acc_bits=int(row["acc_bits"]),
        width=float(row["width"]),
        noise=float(row["noise"]),
    )


def test_sizes_are_computed_exactly(bench, fitted):
    backend = SurrogateBackend(fitted)
    row = bench.iloc[5]
    config = _config_of(row)
    m, source = backend(config, 0)
    assert source == "surrogate"
    for k in ("model_size_bits", "size_ratio", "train_state_bits", "n_binary_devices", "reference_size_bits"):
        assert m[k] == pytest.approx(row[k]), k  # what the trainer measured for this point
    assert m["endurance_fraction"] == m["max_write_cycles"] / 1e8
    assert set(m["surrogate_std"]) == set(TARGETS) and all(s >= 0 for s in m["surrogate_std"].values())


def test_an_answer_carries_each_targets_law_as_the_quantiles_its_gp_band_maps_to(bench, fitted):
    from hicenv.design.surrogate import LAW_SCORES

    backend = SurrogateBackend(fitted)
    row = bench.iloc[5]
    config = _config_of(row)
    law = backend(config, 0)[0]["surrogate_law"]
    assert set(law) == set(TARGETS) and all(len(q) == len(LAW_SCORES) for q in law.values())
    assert all(np.all(np.diff(q) >= 0) for q in law.values())  # quantiles rise with the score
    point = pd.DataFrame([{k: row[k] for k in KNOBS}])
    lo, hi = fitted.interval(point, sigmas=1.0)  # the same law at -1 and +1 sd
    one = list(LAW_SCORES).index(-1.0), list(LAW_SCORES).index(1.0)
    for j, t in enumerate(TARGETS):
        assert (law[t][one[0]], law[t][one[1]]) == pytest.approx((lo[0, j], hi[0, j]), abs=1e-5), t
    m, sd = fitted.predict(point)
    wear = TARGETS.index("log_max_write_cycles")  # a Gaussian: the law is m + k sd
    assert law["log_max_write_cycles"] == pytest.approx(m[0, wear] + LAW_SCORES * sd[0, wear], abs=1e-5)
    fp32 = SurrogateBackend()(HICConfig(fp32=True, width=1.0), 0)[0]  # the shipped bench's FP32 rows
    assert np.isnan(fp32["surrogate_law"]["accuracy"]).all()  # interpolated between widths: no law, as no sd


SPACE = {
    "knobs": {"msb_bits": [2, 3, 4], "lsb_bits": [2, 3, 4, 5, 6], "acc_bits": [4, 8, 32], "width": [0.5, 0.75, 1.0]}
}
"""Inside what the smoke table covers, with points it does not hold (msb 3, width 0.75)."""


def test_a_covered_space_is_answered_from_memory(fitted, monkeypatch):
    env = gymnasium.make("hicenv/HICDesign-v0", backend="surrogate", bench=fitted, space=SPACE, noise=1.0)
    monkeypatch.setattr(fitted, "predict", lambda rows: (_ for _ in ()).throw(AssertionError("predicted again")))
    env.reset(seed=0)
    for _ in range(5):
        env.step(env.action_space.sample())
        env.reset()


def test_every_step_is_a_lookup_whatever_the_episodes_noise(fitted, monkeypatch):
    # The env draws each episode's noise; it once precomputed only the space's own level, so
    # two steps in three predicted afresh and paid for a ResNet build: 8 ms a step, not 0.2.
    levels = sorted(set(fitted.points["noise"]))
    env = gymnasium.make("hicenv/HICDesign-v0", backend="surrogate", bench=fitted, space=SPACE, noise=levels)
    monkeypatch.setattr(fitted, "predict", lambda rows: (_ for _ in ()).throw(AssertionError("predicted again")))
    env.reset(seed=0)
    seen = set()
    for _ in range(40):
        seen.add(env.step(env.action_space.sample())[4]["config"]["noise"])
        env.reset()
    assert seen == set(levels) and len(levels) > 1


def test_checkers_pass_with_the_surrogate(bench):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gymnasium.make("hicenv/HICDesign-v0", backend="surrogate", bench=bench, space=SPACE, noise=1.0)
        check_env(env.unwrapped)


def test_a_point_off_the_bench_names_the_knob_and_range(fitted):
    backend = SurrogateBackend(fitted)
    with pytest.raises(ValueError, match=r"msb_bits=\[8.0\] is outside bench .* covers 2 to 4"):
        backend(HICConfig(msb_bits=8, lsb_bits=4), 0)
    with pytest.raises(ValueError, match="lsb_encoding=\\['differential'\\]"):
        backend(HICConfig(msb_bits=2, lsb_bits=4, lsb_encoding="differential"), 0)
    with pytest.raises(ValueError, match=r"msb_bits=\[8.0\] is outside bench"):  # check: the same, before a search
        backend.check(HICConfig(msb_bits=8, lsb_bits=4))
    with pytest.raises(ValueError, match="holds no FP32 rows"):
        backend.check(HICConfig(fp32=True))
    backend.check(HICConfig(msb_bits=2, lsb_bits=4))  # a covered point passes


def test_bad_bench_files_are_refused_with_their_path(tmp_path, bench):
    with pytest.raises(ValueError, match="does not exist"):
        load_bench(tmp_path / "none.csv")
    torn = tmp_path / "torn.parquet"
    torn.write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match=f"{torn}.*cannot be read"):
        load_bench(torn)
    partial = tmp_path / "partial.csv"
    bench.drop(columns=["accuracy_drift_gdc_1y"]).to_csv(partial, index=False)
    with pytest.raises(ValueError, match=f"{partial} lacks column.*accuracy_drift_gdc_1y"):
        load_bench(partial)


def test_a_bench_of_other_code_warns_and_loads(tmp_path, bench):
    foreign = tmp_path / "foreign.csv"
    bench.assign(sim_fingerprint="0123456789abcdef").to_csv(foreign, index=False)
    with pytest.warns(UserWarning, match="made by simulator code 0123456789abcdef"):
        assert len(load_bench(foreign)) == len(bench)


def test_a_stored_fit_is_reused_and_a_stale_one_refitted(tmp_path, bench, fitted):
    path = fitted.save(tmp_path / "fit.json")
    again = Surrogate(bench, fitted=path)
    x = bench.iloc[:7]
    assert np.allclose(again.predict(x)[0], fitted.predict(x)[0])
    with pytest.warns(UserWarning, match="other bench points"):
        Surrogate(bench.iloc[:-3], fitted=path)


def test_a_budget_or_dataset_the_bench_was_not_made_with_is_refused_not_ignored(fitted):
    from hicenv.design.space import DesignSpace

    # The stand-in bench is the smoke table's: its budget is smoke, its dataset the embedded subset.
    with pytest.raises(hicenv.errors.InputError, match=r"budget='proxy': .* answers at 'smoke'"):
        SurrogateBackend(fitted, budget="proxy")
    backend = SurrogateBackend(fitted, budget="smoke")
    assert backend.budget.name == "smoke"
    with pytest.raises(hicenv.errors.InputError, match=r"dataset='cifar10': .* only dataset='embedded'"):
        backend.check_request(DesignSpace(dataset="cifar10"))
    backend.check_request(DesignSpace(dataset="embedded"))


def _knob_rows(space):
    return [
        [getattr(c, k) for k in ("msb_bits", "lsb_bits", "acc_bits", "width", "lsb_encoding", "noise")]
        for c in space.points()
    ]


def test_the_shipped_bench_is_fitted_once_per_process_and_answers_the_default_space():
    from hicenv.design.space import DesignSpace

    a, b = SurrogateBackend(), SurrogateBackend()
    assert a.surrogate is b.surrogate and a.budget.name == "proxy"
    space, levels = a.covered(DesignSpace.default(), exact=True)
    # Every point is predicted (the memo is the process's: other tests may have added others).
    assert levels is None and all(point_key(k) in a._answers for k in _knob_rows(space))


def test_a_missing_shipped_bench_says_so_and_what_to_do(monkeypatch, tmp_path):
    from hicenv.design import surrogate

    monkeypatch.setattr(surrogate, "SHIPPED_BENCH", tmp_path / "bench.csv")
    with pytest.raises(hicenv.errors.InputError, match=r"bench.csv is missing from this installation .*bench="):
        load_bench()


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda df: df.assign(accuracy=df["accuracy"].where(df.index != 3, float("nan"))), "column accuracy"),
        (
            lambda df: df.astype({"msb_bits": object}).assign(msb_bits=["x"] + list(df["msb_bits"][1:])),
            "column msb_bits",
        ),
        (lambda df: df.assign(accuracy=df["accuracy"].where(df.index != 0, 7.5)), "accuracies in [0, 1]"),
    ],
)
def test_a_damaged_bench_csv_is_refused_naming_the_file_and_column(tmp_path, damage, says):
    from hicenv.design.surrogate import SHIPPED_BENCH, load_bench

    df = damage(pd.read_csv(SHIPPED_BENCH).assign(failed=False))
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    import re

    with pytest.raises(ValueError, match=re.escape(says)) as e:
        load_bench(path)
    assert str(path) in str(e.value)


def test_a_bench_that_is_not_a_path_or_is_a_folder_is_named_so(tmp_path):
    from hicenv.design.surrogate import load_bench

    with pytest.raises(ValueError, match="a table's path or a DataFrame, got int"):
        load_bench(5)
    with pytest.raises(ValueError, match="is a folder, not a table"):
        load_bench(tmp_path)
