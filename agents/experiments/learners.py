"""Which learner should HIC-Bench's surrogate be: candidates scored on held-out folds.

Every candidate learns one target from the bench's per-point rows (seeds averaged) and
predicts a mean and a standard deviation, the contract of
:class:`hicenv.design.surrogate.Surrogate`. :func:`score` splits the points into ``k``
folds at random, predicts each fold from a model of the others, and scores the pooled
held-out predictions, per target, on what a designer needs (:func:`fidelity`):

* ranking on the whole range, on the better half and on the top quartile of the truth
  (Spearman and Kendall): telling the collapsed designs from the working ones is easy,
  telling the good ones apart is the job;
* R² of the values;
* calibration: the share of held-out truths within one and two predicted standard
  deviations of the mean, and inside the predictive law's central intervals of one and two
  Gaussian sigmas (its own where the learner has one, the GPs'; goal: within 5 points of
  68% and 95%);
* the same ranking figures on the points run at several seeds only, whose truth (their
  seed mean) is the least noisy the bench has.

The candidates (:data:`LEARNERS`): the GP on the values (``gp``, the shipped learner of
the write cycles); the same GP fitted on the targets' normal scores and mapped back
through their empirical quantiles (``gp-rank``, the shipped learner of the accuracies);
a classifier of collapsed designs gating a GP fitted on the working ones (``gp-gate``);
gradient boosting with engineered inputs and quantile bands for its spread (``gbm``);
and ``gp-rank`` and ``gbm`` with their means averaged (``ensemble``). ``hicenv bench learners``
prints and stores the table; it trains nothing.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.design.surrogate import TARGETS, _features, _Model, _per_point, fidelity, load_bench
from hicenv.errors import InputError
from hicenv_agents.experiments.bench_report import OBJECTIVE

__all__ = ["LEARNERS", "COLLAPSED", "score", "main"]

COLLAPSED = 0.3
"""An accuracy below this is a collapsed design (chance on 10 classes is 0.1; working
designs of the bench score 0.6 or more): ``gp-gate``'s class boundary."""
DEFAULT_TARGETS = (OBJECTIVE, "accuracy", "accuracy_drift_1y", "log_max_write_cycles")


def _engineered(x: np.ndarray) -> np.ndarray:
    """The base features (:data:`hicenv.design.surrogate.FEATURES`) and three built from
    them: total bits, noise x LSB bits (noise acts on the multi-level device) and the
    accumulator's headroom over the weight (log2 acc bits minus log2 total bits)."""
    total = x[:, 0] + x[:, 1]
    return np.column_stack([x, total, x[:, 5] * x[:, 1], x[:, 2] - np.log2(total)])


class _GP:
    """The shipped surrogate's model of one target (:class:`hicenv.design.surrogate._Model`:
    its GP, on the values), on inputs standardised by the points it is fitted on."""

    ranked = False

    def __init__(self, seed: int):
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> _GP:
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-12
        self.model = _Model((x - self.mu) / self.sd, y, self.ranked, self.seed)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.model.predict((x - self.mu) / self.sd)[:2]

    def interval(self, x: np.ndarray, sigmas: float) -> tuple[np.ndarray, np.ndarray]:
        q = self.model.predict((x - self.mu) / self.sd, (-sigmas, sigmas))[2]
        return q[:, 0], q[:, 1]


class _RankGP(_GP):
    """The shipped accuracies' learner: the same GP on the targets' normal scores, mapped back
    (:class:`hicenv.design.surrogate.NormalScores`)."""

    ranked = True


class _GateGP:
    """P(collapsed) from a logistic regression on the engineered inputs; the value from a GP
    on the working points; a mixture of the two (the collapsed side: their mean and sd)."""

    def __init__(self, seed: int):
        self.gp = _GP(seed)

    def fit(self, x: np.ndarray, y: np.ndarray) -> _GateGP:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        low = y < COLLAPSED
        self.gp.fit(x[~low], y[~low])
        self.low = (y[low].mean(), y[low].std()) if low.sum() >= 2 else None
        if self.low is not None:
            self.clf = make_pipeline(StandardScaler(), PolynomialFeatures(2), LogisticRegression(C=1.0, max_iter=2000))
            self.clf.fit(_engineered(x), low)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m, s = self.gp.predict(x)
        if self.low is None:
            return m, s
        p = self.clf.predict_proba(_engineered(x))[:, 1]
        lm, ls = self.low
        mean = p * lm + (1 - p) * m
        var = p * (ls**2 + lm**2) + (1 - p) * (s**2 + m**2) - mean**2
        return mean, np.sqrt(np.maximum(var, 0.0))


class _GBM:
    """Gradient boosting (squared loss) on the engineered inputs for the mean; quantile
    boosters at 16% and 84% for the spread (half their gap is the standard deviation)."""

    def __init__(self, seed: int):
        self.seed = seed

    def _model(self, **kw):
        from sklearn.ensemble import GradientBoostingRegressor

        return GradientBoostingRegressor(
            n_estimators=300, learning_rate=0.05, max_depth=3, subsample=0.8, random_state=self.seed, **kw
        )

    def fit(self, x: np.ndarray, y: np.ndarray) -> _GBM:
        e = _engineered(x)
        self.models = [self._model().fit(e, y)] + [
            self._model(loss="quantile", alpha=a).fit(e, y) for a in (0.16, 0.84)
        ]
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = _engineered(x)
        m, lo, hi = (model.predict(e) for model in self.models)
        return m, np.maximum((hi - lo) / 2, 1e-6)


class _Ensemble:
    """``gp-rank`` and ``gbm``: their means averaged (a rank average would need the other
    points; on held-out folds the two orders agree closely), their spreads as a mixture's."""

    def __init__(self, seed: int):
        self.parts = [_RankGP(seed), _GBM(seed)]

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Ensemble:
        for p in self.parts:
            p.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = [p.predict(x) for p in self.parts]
        means = np.column_stack([o[0] for o in out])
        var = np.column_stack([o[1] ** 2 for o in out]).mean(1) + means.var(1)
        return means.mean(1), np.sqrt(var)


LEARNERS = {"gp": _GP, "gp-rank": _RankGP, "gp-gate": _GateGP, "gbm": _GBM, "ensemble": _Ensemble}
"""The candidates, by name: each ``cls(seed).fit(x, y).predict(x) -> (mean, sd)``."""


def _interval(model, x: np.ndarray, sigmas: float) -> tuple[np.ndarray, np.ndarray]:
    """A fitted learner's central predictive interval: its own where it has one (the GPs'),
    else the Gaussian's of its mean and sd."""
    if hasattr(model, "interval"):
        return model.interval(x, sigmas)
    m, s = model.predict(x)
    return m - sigmas * s, m + sigmas * s


def _held_out(learner: str, x: np.ndarray, y: np.ndarray, k: int, seed: int) -> tuple:
    """Every point's prediction by a model fitted on the other folds: mean, sd and the
    central intervals of 1 and 2 sigmas (``{1: (lo, hi), 2: (lo, hi)}``)."""
    fold = np.random.default_rng(seed).permutation(len(y)) % k
    mean, sd = np.zeros(len(y)), np.zeros(len(y))
    bands = {s: (np.zeros(len(y)), np.zeros(len(y))) for s in (1, 2)}
    for f in range(k):
        test = fold == f
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LEARNERS[learner](seed).fit(x[~test], y[~test])
            mean[test], sd[test] = model.predict(x[test])
            for s, (lo, hi) in bands.items():
                lo[test], hi[test] = _interval(model, x[test], s)
    return mean, sd, bands


def score(
    bench: str | os.PathLike | pd.DataFrame | None = None,
    learners: tuple[str, ...] = tuple(LEARNERS),
    targets: tuple[str, ...] = DEFAULT_TARGETS,
    k: int = 5,
    repeats: int = 3,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per learner, target and truth (``all`` points, or ``multi-seed`` points: run
    at 3 seeds or more, their seed mean), the :func:`fidelity` figures averaged over
    ``repeats`` random splits, with the lowest and highest whole-range and better-half
    Spearman of a split and the seconds a fit took (median)."""
    unknown = [x for x in learners if x not in LEARNERS] + [t for t in targets if t not in TARGETS]
    if unknown:
        raise InputError(f"unknown learner(s) or target(s) {unknown}: learners {list(LEARNERS)}, targets {TARGETS}")
    df = load_bench(bench)
    points = _per_point(df[~df["fp32"].astype(bool)])
    if len(points) < 4 * k:
        raise InputError(f"{k}-fold scoring needs {4 * k} HIC points or more, the bench has {len(points)}")
    x, multi = _features(points), points["seeds"].to_numpy() >= 3
    rows = []
    from tqdm.auto import tqdm

    jobs = [(lr, t) for lr in learners for t in targets]
    for lr, t in tqdm(jobs, desc="learners", disable=not progress):
        y = points[t].to_numpy()
        splits, seconds = {"all": [], "multi-seed": []}, []
        for r in range(repeats):
            t0 = time.perf_counter()
            mean, sd, bands = _held_out(lr, x, y, k, r)
            seconds.append((time.perf_counter() - t0) / k)
            splits["all"].append(fidelity(y, mean, sd, bands))
            if multi.sum() >= 8:
                multi_bands = {s: (lo[multi], hi[multi]) for s, (lo, hi) in bands.items()}
                splits["multi-seed"].append(fidelity(y[multi], mean[multi], sd[multi], multi_bands))
        for truth, figs in splits.items():
            if not figs:
                continue
            f = pd.DataFrame(figs)
            row = {"learner": lr, "target": t, "truth": truth, "repeats": repeats, **f.mean().to_dict()}
            for c in ("spearman", "half_spearman"):
                row[f"{c}_lo"], row[f"{c}_hi"] = f[c].min(), f[c].max()
            rows.append({**row, "fit_s": float(np.median(seconds))})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    from hicenv_agents.args import Parser, count_arg, out_file_arg

    ap = Parser(
        prog="hicenv bench learners",
        description="Score the surrogate's candidate learners on held-out folds of a compiled bench "
        "(ranking on the whole range, the better half and the top quartile; R²; calibration).",
    )
    ap.add_argument("--bench", default=None, help="a compiled bench (default: the shipped one)")
    ap.add_argument(
        "--learners",
        nargs="+",
        default=list(LEARNERS),
        choices=list(LEARNERS),
        metavar="NAME",
        help=f"candidates, of {', '.join(LEARNERS)} (default all)",
    )
    ap.add_argument(
        "--targets",
        nargs="+",
        default=list(DEFAULT_TARGETS),
        choices=list(TARGETS),
        metavar="TARGET",
        help=f"what to score, of {', '.join(TARGETS)} (default {' '.join(DEFAULT_TARGETS)})",
    )
    ap.add_argument("--folds", type=count_arg, default=5, help="k of k-fold (default 5)")
    ap.add_argument("--repeats", type=count_arg, default=3, help="random splits (default 3)")
    ap.add_argument("--out", type=out_file_arg(".csv"), default=None, help="also write the table here (a CSV)")
    a = ap.parse_args(argv)
    table = score(a.bench, tuple(a.learners), tuple(a.targets), a.folds, a.repeats, progress=True)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table.round(3).to_string(index=False))
    if a.out is not None:
        from hicenv.output import write_atomically

        write_atomically(Path(a.out), lambda tmp: table.to_csv(tmp, index=False))
        print(a.out)
    return 0
