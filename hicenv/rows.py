"""Results as table rows: the one flattener every table, CSV, report and export uses.

A :class:`~hicenv.sim.result.Result` is nested (accuracy per horizon, write-cycle
statistics, the config); :func:`flatten` makes it one row, so a column has one name
everywhere (``accuracy_drift_gdc_1y``, ``device.endurance_cycles``, ...). It lives
outside :mod:`hicenv.sim`: how results are shown does not change what they are (nor
the simulator's fingerprint).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from hicenv.sim.result import CURVE_POINTS, HORIZONS_S, Result

__all__ = ["flatten", "metrics_frame", "drift_columns", "DEVICE_PREFIX", "BUDGET_PREFIX", "WRITE_CYCLE_PARTS"]

BUDGET_PREFIX = "budget."
"""Column prefix of the budget's fields (the column ``budget`` is its name)."""
DEVICE_PREFIX = "device."
"""Column (and knob) prefix of the device-physics fields (``HICConfig.pcm``)."""
WRITE_CYCLE_PARTS = ("total", "binary", "multilevel", "multilevel_resets", "multilevel_partial_sets")
"""The device groups of ``write_cycles`` that flatten to columns (``max``, ``mean``, ``p99_9`` each)."""
PULSE_KINDS = (
    "binary_set",
    "binary_reset",
    "multilevel_reset",
    "multilevel_partial_set",
    "transfers",
    "accumulator_updates",
)
"""The keys of ``pulses`` that flatten to ``pulses_<kind>`` columns."""
WEAR_CURVE_KEYS = ("steps", "max", "mean")
"""The parts of ``wear_curve`` that flatten to ``wear_<key>_<i>`` columns (the rest stays in the JSON)."""


def drift_columns() -> list[str]:
    """The flat columns of the accuracies at each horizon, uncompensated then compensated."""
    return [f"{kind}_{h}" for kind in ("accuracy_drift", "accuracy_drift_gdc") for h in HORIZONS_S]


_NESTED = {
    "accuracy_drift",
    "accuracy_drift_gdc",
    "horizons_seconds",
    "write_cycles",
    "train_loss",
    "epoch_accuracy",
    "learning_curve",
    "wear_curve",
    "measured",
    "pulses",
    "config",
    "budget",
}


def flatten(result: Result) -> dict[str, Any]:
    """One result as a flat row: the design point's fields, ``device.<field>``, ``budget``
    (its name) and ``budget.<field>``, every scalar metric, one column per horizon
    (``accuracy_drift_1y``, ``accuracy_drift_gdc_1y``), ``write_cycles_<part>_<stat>``,
    ``final_train_loss`` and the learning curve as ``curve_train_loss_<i>`` and
    ``curve_train_accuracy_<i>`` (i = 1 .. CURVE_POINTS), ``pulses_<kind>`` and the wear
    trajectory's ``wear_steps_<i>``, ``wear_max_<i>``, ``wear_mean_<i>``. A statistic the result does not hold
    (a surrogate's or a table's answer, the FP32 baseline's write cycles) is None, an empty cell,
    never a number; a scalar key a stored result lacks (made by an older hicenv) is left out."""
    cfg = dict(result["config"])
    row: dict[str, Any] = {k: v for k, v in cfg.items() if k != "pcm"}
    row.update({f"{DEVICE_PREFIX}{k}": v for k, v in (cfg.get("pcm") or {}).items()})
    budget = result["budget"]
    row["budget"] = budget.get("name")
    row.update({f"{BUDGET_PREFIX}{k}": v for k, v in budget.items() if k != "name"})
    row.update({k: v for k, v in result.items() if k not in _NESTED})
    for kind in ("accuracy_drift", "accuracy_drift_gdc"):
        for h in HORIZONS_S:
            row[f"{kind}_{h}"] = None if result.get(kind) is None else result[kind].get(h)
    wc = result.get("write_cycles") or {}
    for part in WRITE_CYCLE_PARTS:
        for stat in ("max", "mean", "p99_9"):
            row[f"write_cycles_{part}_{stat}"] = (wc.get(part) or {}).get(stat)  # unknown: empty, never 0
    losses = result.get("train_loss") or []
    row["final_train_loss"] = losses[-1] if losses else None
    pulses = result.get("pulses") or {}
    for kind in PULSE_KINDS:
        row[f"pulses_{kind}"] = pulses.get(kind)
    wear = result.get("wear_curve") or {}
    for key in WEAR_CURVE_KEYS:
        values = wear.get(key) or []
        for i in range(CURVE_POINTS):
            row[f"wear_{key}_{i + 1}"] = values[i] if i < len(values) else None
    curve = result.get("learning_curve") or {}
    for key in ("train_loss", "train_accuracy"):
        values = curve.get(key) or []
        for i in range(CURVE_POINTS):
            row[f"curve_{key}_{i + 1}"] = values[i] if i < len(values) else None
    return row


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    """Evaluations as a DataFrame, one row each (:func:`flatten`)."""
    return pd.DataFrame([flatten(m) for m in rows])
