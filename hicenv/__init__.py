"""hicenv: design-space exploration for hybrid in-memory computing (HIC) training.

The public surface is small; heavy modules (torch, and later Optuna and
stable-baselines3) load only when first used.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = [
    "HICConfig",
    "PCMParams",
    "Budget",
    "BUDGETS",
    "evaluate",
    "load_dataset",
    "DesignSpace",
    "ResultCache",
    "LookupTable",
    "__version__",
]

_LAZY = {
    "HICConfig": "hicenv.sim.config",
    "PCMParams": "hicenv.sim.devices",
    "Budget": "hicenv.sim.budget",
    "BUDGETS": "hicenv.sim.budget",
    "evaluate": "hicenv.sim.trainer",
    "load_dataset": "hicenv.sim.data",
    "DesignSpace": "hicenv.design.space",
    "ResultCache": "hicenv.design.cache",
    "LookupTable": "hicenv.design.table",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hicenv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


def _register_envs() -> None:
    try:  # the simulator runs without Gymnasium (e.g. a bare GPU box); the envs need it
        from gymnasium.envs.registration import register, registry
    except ImportError:
        return

    for env_id, entry in (
        ("hicenv/HICDesign-v0", "hicenv.design.env:HICDesignEnv"),
        ("hicenv/HICDesignSeq-v0", "hicenv.design.env:HICDesignSeqEnv"),
        ("hicenv/HICDesignFlat-v0", "hicenv.design.env:HICDesignFlatEnv"),
    ):
        if env_id not in registry:
            register(id=env_id, entry_point=entry)


_register_envs()
