"""The surrogate backend: HIC-Bench's fitted model (:class:`~hicenv.design.surrogate.Surrogate`)
for every point of the space the bench covers.

It varies the bench's knobs within their ranges, holds every other setting at the value
in the bench's columns (device model, rounding, accumulator range, code headroom, device
physics, budget, dataset), computes sizes and device counts exactly for any point
(:mod:`hicenv.design.sizes`) and the endurance fraction for any device endurance, and
predicts the rest with its predictive standard deviation (``surrogate_std``).
:meth:`SurrogateBackend.covered` precomputes every point of the space it is asked to
cover (one batched prediction), so a step is a dictionary lookup.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.design.backends.base import Backend, Declaration, held_settings
from hicenv.design.sizes import design_sizes
from hicenv.design.space import KNOBS, DesignSpace, point_key
from hicenv.design.surrogate import LAW_SCORES, SHIPPED_BENCH, TARGETS, Surrogate
from hicenv.errors import check_path
from hicenv.sim.config import HICConfig
from hicenv.sim.result import HORIZONS_S

__all__ = ["SurrogateBackend", "EXACT"]

EXACT = frozenset({"device.endurance_cycles"})
"""What the surrogate answers for any value: the endurance fraction is the predicted write
count over the device's endurance."""
_SIZE_METRICS = (
    "n_weights",
    "n_hic_weights",
    "n_hic_layers",
    "model_size_bits",
    "model_size_mb",
    "hic_size_bits",
    "digital_size_bits",
    "fp32_size_bits",
    "reference_size_bits",
    "size_ratio",
    "train_state_bits",
    "n_binary_devices",
    "n_multilevel_devices",
)
_METRICS = frozenset(
    {
        *_SIZE_METRICS,
        "accuracy",
        "accuracy_drift",
        "accuracy_drift_gdc",
        "max_write_cycles",
        "endurance_fraction",
        "steps",
        "failed",
        "failure_reason",
        "config",
        "budget",
    }
)
"""The metrics an answer holds (every other key of a Result is unknown to the surrogate)."""


def _knob_row(config: HICConfig) -> dict:
    """A design point's bench knobs (:data:`KNOBS`, in order): one row of the surrogate's input."""
    return {k: getattr(config, k) for k in KNOBS}


class SurrogateBackend(Backend):
    """The bench's surrogate as a backend (``backend="surrogate"``; ``bench=`` a compiled
    bench file or DataFrame, default the shipped one; ``budget=``, if given, must be the
    bench's). Answers carry ``surrogate_std``, each target's predictive standard deviation,
    and ``surrogate_law``, each target's predictive quantiles at
    :data:`~hicenv.design.surrogate.LAW_SCORES` (an accuracy's law is skewed: its sd is no
    Gaussian's)."""

    name = "surrogate"

    def __init__(self, bench=None, budget=None) -> None:
        self.surrogate = bench if isinstance(bench, Surrogate) else _loaded(bench)
        source = f"bench {self.surrogate.source}"
        self._declared = Declaration(
            knobs=frozenset(KNOBS),
            held=held_settings(self.surrogate.rows, KNOBS, source),
            exact=EXACT,
            metrics=_METRICS,
            source=source,
        )
        self.budget = self._declared.held.get("budget")  # the bench's fidelity (the observation reads it)
        if budget is not None:
            self._check_budget(budget, self._declared, "")
        self._answers = self.surrogate.memo
        steps = self.surrogate.rows["steps"].dropna() if "steps" in self.surrogate.rows else ()
        self.steps = int(steps.median()) if len(steps) else None
        """Training steps of the bench's runs (their budget's): what write counts are projected from."""

    def declaration(self) -> Declaration:
        return self._declared

    def check(self, config: HICConfig) -> None:
        if config.fp32:
            self.surrogate.predict_fp32(config.width)  # the FP32 rows' widths
        else:
            self.surrogate.check(pd.DataFrame([_knob_row(config)]))

    def covered(self, space: DesignSpace, exact: bool) -> tuple[DesignSpace, tuple | None]:
        self.check_request(space)  # a knob the bench does not vary would be dropped from the row
        points = pd.DataFrame([_knob_row(c) for c in space.points()]).drop_duplicates()
        if len(points) <= 100_000:  # one batched prediction: every step is then a lookup
            self._remember(points[[point_key(p) not in self._answers for p in points.itertuples(index=False)]])
        else:
            self.surrogate.check(points)
        return space, None

    def prepare(self, space: DesignSpace, noise_levels: tuple[float, ...]) -> None:
        """Predict every point of ``space`` at each noise level now (one batch a level), so
        that an env's every step, whatever its episode's noise, is a lookup."""
        if not space.searches_noise:
            for level in noise_levels:
                self.covered(space.fix("noise", float(level)), exact=True)

    def _remember(self, points: pd.DataFrame) -> None:
        if points.empty:
            return
        mean, sd, law = self.surrogate.predict_law(points)
        for i, key in enumerate(points.itertuples(index=False)):
            self._answers[point_key(key)] = (mean[i], sd[i], law[i])

    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        if config.fp32:
            mean = self.surrogate.predict_fp32(config.width)  # interpolated: no sd, no law (NaN)
            sd, law = np.full(len(TARGETS), np.nan), np.full((len(TARGETS), len(LAW_SCORES)), np.nan)
        else:
            row = _knob_row(config)
            key = point_key(row.values())
            if key not in self._answers:
                self._remember(pd.DataFrame([row]))
            mean, sd, law = self._answers[key]
        return self._metrics(config, mean, sd, law), "surrogate"

    def _metrics(self, config: HICConfig, mean: np.ndarray, sd: np.ndarray, law: np.ndarray) -> dict:
        pred = dict(zip(TARGETS, mean))
        acc = {t: float(np.clip(pred[t], 0.0, 1.0)) for t in TARGETS if t != "log_max_write_cycles"}
        cycles = 0 if config.fp32 else max(0, round(10 ** pred["log_max_write_cycles"] - 1))
        m = dict(
            design_sizes(
                config.width, config.fp32, config.msb_bits, config.lsb_bits, config.acc_bits, config.lsb_encoding
            )
        )
        m.update(
            accuracy=acc["accuracy"],
            accuracy_drift={h: acc[f"accuracy_drift_{h}"] for h in HORIZONS_S},
            accuracy_drift_gdc={h: acc[f"accuracy_drift_gdc_{h}"] for h in HORIZONS_S},
            max_write_cycles=cycles,
            endurance_fraction=cycles / config.pcm.endurance_cycles,
            steps=self.steps,
            failed=False,
            failure_reason=None,
            config=config.to_dict(),
            budget={"name": f"surrogate of {self.surrogate.budget}"},
            surrogate_std={t: float(s) for t, s in zip(TARGETS, sd)},
            # 5 decimals: a thousandth of a seed's sd, and a designs table stays readable
            surrogate_law={t: np.round(q, 5).tolist() for t, q in zip(TARGETS, law)},
        )
        return m


def _loaded(bench) -> Surrogate:
    """A surrogate of ``bench``; one per file (path and modification) in a process, so that
    every env, study and agent run on the shipped bench shares one fit."""
    if isinstance(bench, pd.DataFrame):
        return Surrogate(bench)
    if bench is not None:
        check_path(bench, "bench", "or a DataFrame")
    path = Path(SHIPPED_BENCH if bench is None else bench)
    stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
    return _loaded_file(None if bench is None else str(path.resolve()), stamp)


@cache
def _loaded_file(path: str | None, stamp) -> Surrogate:
    return Surrogate(path)
