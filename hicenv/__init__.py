"""hicenv: design-space exploration for hybrid in-memory computing (HIC) training.

The public surface is small; heavy modules (torch, and later Optuna and
stable-baselines3) load only when first used.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["HICConfig", "PCMParams", "Budget", "BUDGETS", "evaluate", "load_dataset", "__version__"]

_LAZY = {
    "HICConfig": "hicenv.config",
    "PCMParams": "hicenv.devices",
    "Budget": "hicenv.trainer",
    "BUDGETS": "hicenv.trainer",
    "evaluate": "hicenv.trainer",
    "load_dataset": "hicenv.data",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hicenv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
