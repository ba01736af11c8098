"""The device-model seam: what :mod:`hicenv.sim.hybrid` asks of a memory device.

Conductances are normalised to the model's maximum (1.0 is ``g_max``); times are
seconds after the first read at ``t0``. Every method works on whole tensors on any
torch device and draws randomness only from the ``torch.Generator`` it is given.

A device model is built from the design point's device parameters
(:class:`hicenv.sim.devices.pcm.PCMParams`, ``HICConfig.pcm``) and its noise scale
(``HICConfig.noise``); a model may ignore parameters it has no use for. To add one,
subclass :class:`DeviceModel` in a new module and add it to
``hicenv.sim.devices.DEVICE_MODELS``; ``HICConfig.device_model`` then accepts its name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from hicenv.sim.devices.params import PCMParams

__all__ = ["DeviceModel"]


class DeviceModel(ABC):
    """Programming, drift and read of multi-level and binary devices."""

    def __init__(self, params: PCMParams, noise: float = 1.0) -> None:
        self.params = params
        """Device parameters (the design point's ``pcm``)."""
        self.noise = float(noise)
        """Scale on the stochastic parts (0: none)."""

    @property
    def endurance_cycles(self) -> float:
        """Write-erase cycles a device survives."""
        return self.params.endurance_cycles

    @property
    def reads_exactly(self) -> bool:
        """Whether a read at ``t0`` returns the programmed targets exactly (no programming
        or read noise): training then reads the stored levels without arithmetic."""
        return self.noise == 0

    @abstractmethod
    def program(self, g_target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Conductance devices land at when programmed to ``g_target``."""

    @abstractmethod
    def read_noise_q(self, g_target: torch.Tensor) -> torch.Tensor:
        """Per-device read-noise amplitude at a target (fixed until reprogrammed)."""

    @abstractmethod
    def read(self, g: torch.Tensor, q_s: torch.Tensor, t_s: float, generator: torch.Generator) -> torch.Tensor:
        """One read at ``t_s`` of conductances ``g`` already drifted to ``t_s``."""

    @abstractmethod
    def sample_drift_nu(self, g_target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Per-device drift exponents for devices programmed to ``g_target``."""

    @abstractmethod
    def drift(self, g_prog: torch.Tensor, nu: torch.Tensor, t_s: float) -> torch.Tensor:
        """Conductance ``t_s`` seconds after ``t0`` of devices at ``g_prog`` then."""

    @abstractmethod
    def binary_target(self, bits: torch.Tensor) -> torch.Tensor:
        """Target conductance of binary devices storing ``bits`` (1 = SET)."""

    @abstractmethod
    def threshold_read(self, g: torch.Tensor) -> torch.Tensor:
        """Bits read from binary-device conductances (True = 1)."""
