"""Device models, by name: the physics behind every weight's conductances.

:data:`DEVICE_MODELS` is the registry ``HICConfig.device_model`` is checked against
and :func:`device_model` builds from. Each model implements
:class:`~hicenv.sim.devices.base.DeviceModel`:

* ``pcm``: phase-change memory after Joshi et al. 2020 (:mod:`hicenv.sim.devices.pcm`),
  the default;
* ``ideal``: exact, drift-free, noise-free devices (:mod:`hicenv.sim.devices.ideal`).
"""

from __future__ import annotations

from hicenv.errors import InputError
from hicenv.sim.devices.base import DeviceModel
from hicenv.sim.devices.ideal import IdealDevice
from hicenv.sim.devices.params import PCMParams
from hicenv.sim.devices.pcm import PCMDevice

__all__ = ["DEVICE_MODELS", "DeviceModel", "PCMParams", "device_model"]

DEVICE_MODELS: dict[str, type[DeviceModel]] = {
    "pcm": PCMDevice,
    "ideal": IdealDevice,
}
"""Device models by name (``HICConfig.device_model``)."""


def device_model(name: str, params: PCMParams, noise: float = 1.0) -> DeviceModel:
    """The device model ``name`` with the design point's parameters and noise scale."""
    if name not in DEVICE_MODELS:
        raise InputError(f"unknown device model {name!r}; known: {', '.join(DEVICE_MODELS)}")
    return DEVICE_MODELS[name](params, noise)
