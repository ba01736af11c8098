"""The surrogate's candidate learners and the figures they are chosen by (hicenv bench learners)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from hicenv.design.surrogate import RANKED, TARGETS, NormalScores, Surrogate, _features, fidelity
from hicenv.design.table import SHIPPED_TABLE
from hicenv.errors import InputError
from hicenv.rows import drift_columns
from hicenv_agents.experiments.learners import LEARNERS, main, score

OBJECTIVE = "accuracy_drift_gdc_1y"
pytestmark = pytest.mark.filterwarnings("ignore:bench .* was made by simulator code")  # the smoke table's own


@pytest.fixture(scope="module")
def bimodal() -> pd.DataFrame:
    """The smoke table's points with a smooth accuracy that collapses to 0.1 above 6 bits."""
    b = pd.read_csv(SHIPPED_TABLE).assign(budget="smoke")
    acc = 0.6 + 0.02 * b.msb_bits + 0.01 * b.lsb_bits + 0.02 * np.log2(b.acc_bits) - 0.05 * b.noise + 0.04 * b.width
    acc = acc.where(b.msb_bits + b.lsb_bits < 7, 0.1)
    return b.assign(**{c: acc for c in ["accuracy", *drift_columns()]})


def test_fidelity_figures_by_hand():
    y = np.arange(1.0, 13.0)
    mean = np.r_[y[:10], 12.0, 11.0]  # the top two swapped
    sd = np.r_[np.ones(10), 0.5, 1.0]  # |error| / sd: 0 ten times, then 2 and 1
    f = fidelity(y, mean, sd)
    d2 = 2.0  # Spearman: 1 - 6 sum(d^2) / (n (n^2 - 1)); two ranks off by one
    assert f["spearman"] == pytest.approx(1 - 6 * d2 / (12 * 143))
    assert f["half_spearman"] == pytest.approx(1 - 6 * d2 / (6 * 35))  # 7 to 12
    assert f["top_spearman"] == pytest.approx(1 - 6 * d2 / (3 * 8))  # 10 to 12 (y >= the 75th percentile, 9.25)
    assert f["top_kendall"] == pytest.approx(1 / 3)  # 2 of 3 pairs in order
    assert f["r2"] == pytest.approx(1 - 2 / 143)  # sum of squares about the mean 6.5: 143
    assert f["rmse"] == pytest.approx(np.sqrt(2 / 12))
    assert (f["within_1sd"], f["within_2sd"]) == (11 / 12, 1.0)
    assert np.isnan(f["in_1sigma_interval"]) and np.isnan(f["in_2sigma_interval"])  # no intervals given
    # 1 sigma: mean -+ 0.5, which misses the swapped 11 and 12; 2 sigma: y -+ 0.5, the last from 10.
    f = fidelity(y, mean, sd, {1: (mean - 0.5, mean + 0.5), 2: (np.r_[y[:11] - 0.5, 10.0], y + 0.5)})
    assert (f["in_1sigma_interval"], f["in_2sigma_interval"]) == (10 / 12, 1.0)


def test_normal_scores_by_hand():
    s = NormalScores(np.array([0.9, 0.1, 0.5]))
    z = norm.ppf(5 / 6)
    assert np.allclose(s.scores, [z, -z, 0.0])  # in the values' order, not sorted
    mean, sd = s.back(np.array([0.0, z / 2, 10.0, -10.0]), np.full(4, 1e-9))
    assert np.allclose(mean, [0.5, 0.7, 0.9, 0.1])  # linear between the values, clamped beyond them
    assert np.allclose(sd, 0, atol=1e-6)
    assert np.allclose(s.quantile(np.array([-z, 0.0, z / 2, 5.0])), [0.1, 0.5, 0.7, 0.9])
    wide_mean, wide_sd = s.back(np.array([0.0]), np.array([1.0]))
    assert wide_mean[0] == pytest.approx(0.5)  # symmetric values, symmetric map
    assert 0.2 < wide_sd[0] < 0.4  # the map's slope is 0.4 / z ~ 0.41; clamping shrinks it


def test_the_accuracies_and_only_they_are_fitted_on_normal_scores(bimodal):
    model = Surrogate(bimodal)
    ranked = {t for t, m in zip(TARGETS, model.models) if m.scores is not None}
    assert ranked == set(RANKED) and "log_max_write_cycles" not in ranked
    mean, _ = model.predict(bimodal[~bimodal["fp32"].astype(bool)])
    acc = bimodal[OBJECTIVE]
    j = TARGETS.index(OBJECTIVE)
    assert acc.min() - 1e-9 <= mean[:, j].min() and mean[:, j].max() <= acc.max() + 1e-9  # never off the bench's range


def test_every_learner_learns_a_bimodal_bench(bimodal):
    table = score(bimodal, targets=(OBJECTIVE,), k=4, repeats=1)
    assert set(table["learner"]) == set(LEARNERS)
    assert (table.loc[table["truth"] == "all", "spearman"] > 0.8).all()  # ties at 0.1 cap it near 0.93
    assert table[["within_1sd", "within_2sd", "in_1sigma_interval", "in_2sigma_interval"]].stack().between(0, 1).all()


def test_a_ranked_models_interval_is_its_gps_band_through_the_quantile_map(bimodal):
    model = Surrogate(bimodal)
    j = TARGETS.index(OBJECTIVE)
    rows = bimodal[~bimodal["fp32"].astype(bool)].head(5)
    lo, hi = model.interval(rows, sigmas=1.0)
    x = (_features(rows) - model._mu) / model._sd
    m, s = model.models[j].gp.predict(x, return_std=True)
    scores = model.models[j].scores
    assert np.allclose(lo[:, j], scores.quantile(m - s)) and np.allclose(hi[:, j], scores.quantile(m + s))
    lo2, hi2 = model.interval(rows, sigmas=2.0)
    assert (lo2 <= lo + 1e-12).all() and (hi2 >= hi - 1e-12).all()  # the 2-sigma interval holds the 1-sigma one
    w = TARGETS.index("log_max_write_cycles")  # on its values: the Gaussian's band
    m, s = model.models[w].gp.predict(x, return_std=True)
    assert np.allclose(lo[:, w], m - s) and np.allclose(hi[:, w], m + s)


def test_unknown_learners_and_small_benches_are_refused(bimodal):
    with pytest.raises(InputError, match="unknown learner"):
        score(bimodal, learners=("svm",))
    with pytest.raises(InputError, match="needs 20 HIC points"):
        score(bimodal.iloc[:15], k=5)


def test_the_command_writes_its_table(tmp_path, bimodal, capsys):
    bench = tmp_path / "bench.csv"
    bimodal.to_csv(bench, index=False)
    out = tmp_path / "learners.csv"
    args = ["--bench", str(bench), "--learners", "gbm", "--targets", OBJECTIVE, "--folds", "4", "--repeats", "1"]
    assert main([*args, "--out", str(out)]) == 0
    assert pd.read_csv(out)["learner"].tolist() == ["gbm"]
    assert "half_spearman" in capsys.readouterr().out
