"""The surrogate backend: HIC-Bench's stored results, fitted, for every point of a space.

HIC-Bench (``agents/experiments/bench.py``, shipped as ``hicenv/_data/bench.csv``)
holds ``proxy``-fidelity results over a space-filling sample of the default design
space. :class:`Surrogate` fits one Gaussian process per target (scikit-learn;
ARD Matern 5/2 kernel with length scales of at least half a standard deviation,
plus a linear kernel and white noise, on standardised features) and predicts a
mean and a standard deviation. An accuracy's GP is fitted on the accuracies' normal
scores (:class:`NormalScores`) and its Gaussian mapped back through their empirical
quantiles: the bench's accuracies are bimodal (collapsed designs near 0.1, working ones
at 0.6 to 0.86), and on the raw values the GP spends its fit on that gap, not on the
order of the working designs (``hicenv bench learners`` scores the choice on held-out
folds; ``studies/bench/REPORT.md`` gives its figures):

* features: ``msb_bits``, ``lsb_bits``, log2 of ``acc_bits`` (the float-32
  accumulator at 32 bits is the top of that scale), ``width``, ``lsb_encoding``
  (differential = 1) and ``noise``;
* targets (:data:`TARGETS`): accuracy right after training and at every drift
  horizon with and without compensation, and log10(1 + the most-written device's
  write cycles); seeds of one point are averaged first.

The FP32 baseline is interpolated in width between the bench's FP32 rows. A query
outside the range the bench covers is refused, naming the knob and the range. The
backend over it (:mod:`hicenv.design.backends.surrogate`) computes sizes exactly and
says which settings the bench holds.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.design.space import KNOBS
from hicenv.errors import InputError
from hicenv.output import read_table
from hicenv.rows import drift_columns

__all__ = [
    "SHIPPED_BENCH",
    "RANKED",
    "NormalScores",
    "FIDELITY",
    "fidelity",
    "fit_gp",
    "TARGETS",
    "LAW_SCORES",
    "FEATURES",
    "Surrogate",
    "load_bench",
    "bench_digest",
]

SHIPPED_BENCH = Path(__file__).parents[1] / "_data" / "bench.csv"
"""The compiled HIC-Bench (``python -m hicenv_agents.experiments.bench compile``)."""
SHIPPED_FIT = Path(__file__).parents[1] / "_data" / "bench_surrogate.json"
"""The surrogate's kernel hyperparameters fitted on the shipped bench (so loading it takes milliseconds)."""
TARGETS = ("accuracy", *drift_columns(), "log_max_write_cycles")
"""What the surrogate predicts: accuracies (fractions) and log10(1 + max write cycles)."""
LAW_SCORES = np.linspace(-3.0, 3.0, 13)
"""The standard normal scores at which :meth:`Surrogate.predict_law` gives each target's
predictive law, as its quantiles there (every half sd, 0.13% to 99.87%). A backend's answer
carries them as ``surrogate_law``; a front's certainty draws from them
(:func:`hicenv.design.pareto.front_certainty`). An accuracy's law is skewed, bimodal where
designs collapse (:class:`NormalScores`): no mean and sd describe it."""
FEATURES = ("msb_bits", "lsb_bits", "log2_acc_bits", "width", "differential", "noise")
"""The model's inputs, computed from a design point (:func:`_features`)."""
BENCH_DATASET = "embedded"
"""The dataset HIC-Bench's searchable rows are trained on (the embedded Fashion-MNIST subset)."""
RANKED = ("accuracy", *drift_columns())
"""The targets fitted on their normal scores (:class:`NormalScores`); the rest on their values."""
_REQUIRED = (*KNOBS, "fp32", "budget", "seed", "accuracy", *drift_columns(), "max_write_cycles")
_WARNED: set[str] = set()


def load_bench(source: str | os.PathLike | pd.DataFrame | None = None) -> pd.DataFrame:
    """The bench's successful rows (a compiled CSV or Parquet, or a DataFrame); a file
    that is missing, unreadable or lacks a column is refused with its path named."""
    if isinstance(source, pd.DataFrame):
        df, name = source.copy(), "DataFrame"
    elif source is not None and not isinstance(source, (str, os.PathLike)):
        raise InputError(f"bench must be a table's path or a DataFrame, got {type(source).__name__}")
    else:
        path = Path(SHIPPED_BENCH if source is None else source)
        if source is None and not path.is_file():
            raise InputError(
                f"the shipped HIC-Bench {path} is missing from this installation (reinstall hicenv), or "
                "pass bench=, a table made by 'hicenv bench compile'"
            )
        if path.is_dir():
            raise InputError(f"bench {path} is a folder, not a table (a CSV or Parquet of 'hicenv bench compile')")
        if not path.is_file():
            raise InputError(f"bench {path} does not exist")
        try:
            df = read_table(path)
        except Exception as e:  # pandas' and pyarrow's many parse errors
            raise InputError(f"bench {path} cannot be read as a table: {str(e).splitlines()[0]}") from None
        name = str(path)
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"bench {name} lacks column(s) {missing}: not a compiled HIC-Bench")
    _say_if_foreign(df, name)
    ok = ~df["failed"].astype(bool) if "failed" in df.columns else pd.Series(True, index=df.index)
    df = df[ok].copy()
    if df.empty:
        raise InputError(f"bench {name} has no successful rows")
    _check_numbers(df, name)
    df = df.reset_index(drop=True)
    df.attrs["source"] = name
    return df


_NUMERIC = tuple(c for c in _REQUIRED if c not in ("lsb_encoding", "fp32", "budget"))
_FRACTIONS = ("accuracy", *drift_columns())


def _check_numbers(df: pd.DataFrame, name: str) -> None:
    """Refuse a successful row whose number is missing or not a number (a torn file, a
    hand edit), or an accuracy outside [0, 1], naming the column and the first rows."""
    for c in _NUMERIC:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | (v.between(0, 1) == False if c in _FRACTIONS else False)  # noqa: E712
        if bad.any():
            rows = ", ".join(str(i + 2) for i in df.index[bad][:3])  # a CSV's lines (after its header)
            raise InputError(
                f"bench {name}: column {c} holds {int(bad.sum())} value(s) that are not "
                f"{'accuracies in [0, 1]' if c in _FRACTIONS else 'numbers'} (e.g. {str(df[c][bad].iloc[0])!r}; "
                f"line(s) {rows})"
            )
        df[c] = v


def _say_if_foreign(df: pd.DataFrame, name: str) -> None:
    from hicenv.sim.fingerprint import sim_fingerprint

    made = sorted({str(v) for v in df.get("sim_fingerprint", pd.Series(["unknown"])).dropna()})
    if made != [sim_fingerprint()] and name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(
            f"bench {name} was made by simulator code {', '.join(made)}, not the running "
            f"{sim_fingerprint()}: its numbers are that code's",
            stacklevel=4,
        )


def _features(rows: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [
            rows["msb_bits"].astype(float),
            rows["lsb_bits"].astype(float),
            np.log2(rows["acc_bits"].astype(float)),
            rows["width"].astype(float),
            (rows["lsb_encoding"] == "differential").astype(float),
            rows["noise"].astype(float),
        ]
    )


def _targets(rows: pd.DataFrame) -> np.ndarray:
    acc = rows[["accuracy", *drift_columns()]].astype(float).to_numpy()
    return np.column_stack([acc, np.log10(1 + rows["max_write_cycles"].astype(float).to_numpy())])


def _per_point(df: pd.DataFrame) -> pd.DataFrame:
    """One row per design point: the targets' mean over seeds, and how many seeds."""
    t = pd.DataFrame(_targets(df), columns=list(TARGETS), index=df.index)
    keyed = pd.concat([df[list(KNOBS)].reset_index(drop=True), t.reset_index(drop=True)], axis=1)
    out = keyed.groupby(list(KNOBS), sort=True, as_index=False).mean()
    out["seeds"] = keyed.groupby(list(KNOBS), sort=True).size().to_numpy()
    return out


class Surrogate:
    """Gaussian processes over the bench's HIC points, one per target; FP32 by width."""

    def __init__(
        self,
        bench: str | os.PathLike | pd.DataFrame | None = None,
        seed: int = 0,
        fitted: str | os.PathLike | dict | None = None,
    ) -> None:
        df = load_bench(bench)
        self.source = df.attrs["source"]
        fp32 = df["fp32"].astype(bool)
        self.points = _per_point(df[~fp32])
        if len(self.points) < 8:
            raise InputError(f"bench {self.source} has {len(self.points)} HIC points; the surrogate needs 8 or more")
        self.fp32 = _per_point(df[fp32]).sort_values("width") if fp32.any() else None
        self.budget = df["budget"].iloc[0]
        self.rows = df
        """The bench's successful rows, as loaded (the backend reads the settings they were made at)."""
        self.ranges = {k: self._range(k) for k in KNOBS}
        x = _features(self.points)
        self._mu, self._sd = x.mean(0), x.std(0) + 1e-12
        self.digest = _digest(self.points)
        theta = _fitted_theta(fitted, self.digest, bench)
        self.models = [self._fit(x, self.points[t].to_numpy(), t, seed, theta.get(t)) for t in TARGETS]
        self.memo: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        """Predictions made so far (:meth:`predict_law`'s), by design point: every backend on
        this surrogate shares them."""

    def theta(self) -> dict:
        """The fitted kernel hyperparameters (log scale) of each target, and the digest of
        the points they were fitted on: :meth:`save` writes them, ``fitted=`` reads them."""
        return {"digest": self.digest, "theta": {t: m.gp.kernel_.theta.tolist() for t, m in zip(TARGETS, self.models)}}

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`theta` as JSON (atomically)."""
        import json

        from hicenv.output import write_atomically

        return write_atomically(path, lambda tmp: tmp.write_text(json.dumps(self.theta(), indent=1) + "\n"))

    def _range(self, knob: str) -> tuple:
        values = self.points[knob]
        if knob == "lsb_encoding":
            return tuple(sorted(set(values)))
        return float(values.min()), float(values.max())

    def _fit(self, x: np.ndarray, y: np.ndarray, target: str, seed: int, theta: list | None = None) -> _Model:
        """One target's model on this bench's standardisation; with ``theta`` (stored
        hyperparameters) no optimisation: a Cholesky, milliseconds."""
        return _Model((x - self._mu) / self._sd, y, target in RANKED, seed, theta)

    def check(self, rows: pd.DataFrame) -> None:
        """Refuse a point outside what the bench covers, naming the knob and the range."""
        for knob, covered in self.ranges.items():
            values = rows[knob]
            if knob == "lsb_encoding":
                off = sorted(set(values) - set(covered))
            else:
                lo, hi = covered
                off = sorted({float(v) for v in values if not lo - 1e-9 <= float(v) <= hi + 1e-9})
            if off:
                raise InputError(f"{knob}={off} is outside bench {self.source} (it covers {_shown(covered)})")

    def predict(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of every target (columns in :data:`TARGETS` order)."""
        mean, sd, _ = self.predict_law(rows, ())
        return mean, sd

    def predict_law(self, rows: pd.DataFrame, scores=LAW_SCORES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, standard deviation (both (rows, targets)) and the quantiles at the standard
        normal ``scores`` ((rows, targets, scores)) of every target's predictive law, from one
        GP prediction. The quantile at score k is the value the GP's ``m + k s`` maps to
        (through :class:`NormalScores` for an accuracy: a monotone map keeps quantiles)."""
        self.check(rows)
        x = (_features(rows) - self._mu) / self._sd
        out = [m.predict(x, scores) for m in self.models]
        return tuple(np.stack([o[i] for o in out], axis=1) for i in range(3))

    def interval(self, rows: pd.DataFrame, sigmas: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Low and high ends of every target's central predictive interval of ``sigmas``
        Gaussian standard deviations (68.3% at 1, 95.4% at 2; columns in :data:`TARGETS`
        order). For an accuracy the law is skewed (a Gaussian over its normal scores), so
        this interval, not mean -+ sd, is the calibrated one (``studies/bench/REPORT.md``)."""
        _, _, q = self.predict_law(rows, (-sigmas, sigmas))
        return q[..., 0], q[..., 1]

    def predict_fp32(self, width: float) -> np.ndarray:
        """The FP32 baseline's targets at ``width``, interpolated between the bench's widths."""
        if self.fp32 is None:
            raise InputError(f"bench {self.source} holds no FP32 rows")
        lo, hi = self.fp32["width"].min(), self.fp32["width"].max()
        if not lo - 1e-9 <= width <= hi + 1e-9:
            raise InputError(f"width={width} is outside the FP32 rows of bench {self.source} ({lo:g} to {hi:g})")
        return np.array([np.interp(width, self.fp32["width"], self.fp32[t]) for t in TARGETS])

    def kfold(self, k: int = 5, seed: int = 0, repeats: int = 1) -> pd.DataFrame:
        """The :func:`fidelity` figures of each target on points the model was not fitted on:
        the points split into ``k`` folds at random, each predicted by a model of the others;
        ``repeats`` random splits (seeds ``seed``, ``seed + 1``, ...), their mean, and the
        lowest and highest Spearman (on 140 points one split's figure moves by 0.03)."""
        n = len(self.points)
        if n < 2 * k:
            raise InputError(f"{k}-fold needs {2 * k} points or more, the bench has {n}")
        splits = [self._one_kfold(k, seed + r) for r in range(repeats)]
        out = sum(splits) / repeats
        out["spearman_lo"] = np.min([s["spearman"] for s in splits], axis=0)
        out["spearman_hi"] = np.max([s["spearman"] for s in splits], axis=0)
        out["points"] = n
        return out[["points", "spearman", "spearman_lo", "spearman_hi", *FIDELITY[2:]]]

    def _one_kfold(self, k: int, seed: int) -> pd.DataFrame:
        fold = np.random.default_rng(seed).permutation(len(self.points)) % k
        x = _features(self.points)  # _fit standardises (with the whole bench's scale, as the model does)
        y = self.points[list(TARGETS)].to_numpy()
        mean, sd = np.zeros_like(y), np.zeros_like(y)
        bands = {s: (np.zeros_like(y), np.zeros_like(y)) for s in (1, 2)}
        for f in range(k):
            train, test = fold != f, fold == f
            for j, t in enumerate(TARGETS):
                model = self._fit(x[train], y[train, j], t, seed)
                z = (x[test] - self._mu) / self._sd
                mean[test, j], sd[test, j], q = model.predict(z, (-1, 1, -2, 2))  # one GP prediction
                for i, (lo, hi) in enumerate(bands.values()):
                    lo[test, j], hi[test, j] = q[:, 2 * i], q[:, 2 * i + 1]
        rows = [
            {
                "target": t,
                **fidelity(y[:, j], mean[:, j], sd[:, j], {s: (b[0][:, j], b[1][:, j]) for s, b in bands.items()}),
            }
            for j, t in enumerate(TARGETS)
        ]
        return pd.DataFrame(rows).set_index("target").drop(columns="points")


FIDELITY = (
    "points",
    "spearman",
    "kendall",
    "half_spearman",
    "half_kendall",
    "top_spearman",
    "top_kendall",
    "r2",
    "rmse",
    "within_1sd",
    "within_2sd",
    "in_1sigma_interval",
    "in_2sigma_interval",
)
"""What :func:`fidelity` reports, in order."""


def fidelity(y: np.ndarray, mean: np.ndarray, sd: np.ndarray, intervals: dict | None = None) -> dict:
    """Truths ``y`` (held out) against predicted ``mean`` and ``sd``: Spearman and Kendall on
    the whole range, on the better half (``half_``) and on the top quartile (``top_``) of
    ``y`` (higher is better, as for accuracies; NaN below 3 points), R², the root mean
    square error, the shares of ``y`` within 1 and 2 predicted standard deviations of the
    mean (a calibrated Gaussian: 0.68 and 0.95), and with ``intervals`` (``{1: (lo, hi),
    2: (lo, hi)}``, the predictive law's central intervals of 1 and 2 Gaussian sigmas) the
    shares inside each (a calibrated law: 0.683 and 0.954, whatever its shape; NaN without)."""
    y, mean, sd = (np.asarray(a, float) for a in (y, mean, sd))
    out: dict = {"points": len(y)}
    halves = (("", np.ones(len(y), bool)), ("half_", y >= np.median(y)), ("top_", y >= np.quantile(y, 0.75)))
    with warnings.catch_warnings():  # a constant subset (tied truths) has no rank correlation: NaN, said above
        warnings.simplefilter("ignore")
        ranks = [(name, _ranks(y[keep], mean[keep])) for name, keep in halves]
    for name, pair in ranks:
        out[f"{name}spearman"], out[f"{name}kendall"] = pair
    out["r2"] = float(1 - np.sum((y - mean) ** 2) / np.sum((y - y.mean()) ** 2))
    out["rmse"] = float(np.sqrt(np.mean((y - mean) ** 2)))
    z = np.abs(y - mean) / sd
    out["within_1sd"], out["within_2sd"] = float(np.mean(z <= 1)), float(np.mean(z <= 2))
    for k in (1, 2):
        lo, hi = (intervals or {}).get(k, (None, None))
        out[f"in_{k}sigma_interval"] = np.nan if lo is None else float(np.mean((y >= lo) & (y <= hi)))
    return out


def _ranks(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Spearman and Kendall of ``p`` against ``y``; NaN below 3 points or for constant input."""
    from scipy.stats import kendalltau, spearmanr

    if len(y) < 3:
        return np.nan, np.nan
    return float(spearmanr(y, p)[0]), float(kendalltau(y, p)[0])


def fit_gp(z: np.ndarray, y: np.ndarray, seed: int, theta: list | None = None):
    """The surrogate's Gaussian process fitted on standardised inputs ``z``; with ``theta``
    (stored log hyperparameters) the kernel is fixed and fitting is one Cholesky."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, DotProduct, Matern, WhiteKernel

    # A linear trend (extrapolates along a knob) plus smooth local structure; length scales
    # of at least 0.5 standard deviations, or a few levels per knob are memorised, not learned.
    matern = Matern(length_scale=np.ones(z.shape[1]), length_scale_bounds=(0.5, 1e3), nu=2.5)
    kernel = ConstantKernel(1.0) * matern + ConstantKernel(0.1) * DotProduct(1.0) + WhiteKernel(1e-2)
    if theta is not None:
        kernel = kernel.clone_with_theta(np.asarray(theta))
    gp = GaussianProcessRegressor(
        kernel,
        normalize_y=True,
        n_restarts_optimizer=2,
        random_state=seed,
        optimizer=None if theta is not None else "fmin_l_bfgs_b",
    )
    with warnings.catch_warnings():  # a length scale at its bound is a fact about the data, not an error
        warnings.simplefilter("ignore")
        return gp.fit(z, y)


class NormalScores:
    """A target's values mapped to normal scores, Phi^-1((rank - 1/2) / n), and back.

    ``back(m, s)`` takes a Gaussian N(m, s²) over the scores to the mean and standard
    deviation of its image through the empirical quantile function (linear between the
    sorted values, clamped at the lowest and highest: no prediction leaves the range the
    bench holds), by 21-point Gauss-Hermite quadrature. The image of a Gaussian is skewed
    where the values are sparse (between the collapsed and the working designs), so the
    mean and standard deviation are the moments of a skewed law, not its quantiles.
    """

    _NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(21)

    def __init__(self, y: np.ndarray):
        from scipy.stats import norm, rankdata

        y = np.asarray(y, float)
        self.scores = norm.ppf((rankdata(y) - 0.5) / len(y))
        """The values' normal scores (ties share the mean rank)."""
        self._z, self._y = np.sort(self.scores), np.sort(y)

    def quantile(self, score: np.ndarray) -> np.ndarray:
        """The value at normal score ``score`` (the empirical quantile function, clamped)."""
        return np.interp(score, self._z, self._y)

    def back(self, m: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the values for N(m, s²) over the scores."""
        v = self.quantile(m[:, None] + s[:, None] * self._NODES[None, :])
        w = self._WEIGHTS / self._WEIGHTS.sum()
        mean = v @ w
        return mean, np.sqrt(np.maximum(((v - mean[:, None]) ** 2) @ w, 0.0))


class _Model:
    """One target's GP (:func:`fit_gp`), on the values or on their :class:`NormalScores`."""

    def __init__(self, z: np.ndarray, y: np.ndarray, ranked: bool, seed: int, theta: list | None = None):
        self.scores = NormalScores(y) if ranked else None
        self.gp = fit_gp(z, y if self.scores is None else self.scores.scores, seed, theta)

    def predict(self, z: np.ndarray, scores=()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean and standard deviation of the predictive law, and its quantiles at the
        standard normal ``scores`` ((points, scores)): the GP's ``m + k s``, through the
        quantile map where the model is ranked (a monotone map keeps quantiles)."""
        m, s = self.gp.predict(z, return_std=True)
        q = m[:, None] + s[:, None] * np.asarray(scores, float)[None, :]
        if self.scores is None:
            return m, s, q
        return *self.scores.back(m, s), self.scores.quantile(q)


def bench_digest(bench=None) -> str:
    """The digest a :class:`Surrogate` of ``bench`` would have (its HIC points' targets,
    hashed), without fitting one."""
    df = load_bench(bench)
    return _digest(_per_point(df[~df["fp32"].astype(bool)]))


def _digest(points: pd.DataFrame) -> str:
    """What the fit depends on: the per-point targets, and which are fitted on normal scores, hashed."""
    import hashlib

    h = hashlib.sha256(pd.util.hash_pandas_object(points.round(12), index=False).values.tobytes())
    h.update(repr(RANKED).encode())
    return h.hexdigest()[:16]


def _fitted_theta(fitted, digest: str, bench) -> dict:
    """Stored hyperparameters for these points, or {} (fit afresh): ``fitted`` is a dict, a
    JSON file, or None for the shipped one beside the shipped bench."""
    import json

    if fitted is None:
        if bench is not None or not SHIPPED_FIT.is_file():
            return {}
        fitted = SHIPPED_FIT
    if not isinstance(fitted, dict):
        try:
            fitted = json.loads(Path(fitted).read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"surrogate fit {fitted} cannot be read: {e}") from None
    if fitted.get("digest") != digest:
        warnings.warn("the stored surrogate fit is of other bench points: fitting afresh", stacklevel=4)
        return {}
    return fitted.get("theta", {})


def _shown(covered) -> str:
    return ", ".join(covered) if isinstance(covered[0], str) else f"{covered[0]:g} to {covered[1]:g}"
