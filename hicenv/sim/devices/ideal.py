"""An ideal device: programmed exactly, no drift, no read noise.

The reference that isolates the arithmetic of hybrid weights (quantisation, the
accumulator, carries) from device physics: training on it is deterministic given
the seed, and accuracy does not change with time after training. Binary devices
sit at 1 (SET) and 0 (RESET) and are read against 1/2. ``noise`` is ignored.
"""

from __future__ import annotations

import torch

from hicenv.sim.devices.base import DeviceModel

__all__ = ["IdealDevice"]


class IdealDevice(DeviceModel):
    """Every device holds exactly its target, for ever."""

    @property
    def reads_exactly(self) -> bool:
        return True

    def program(self, g_target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return g_target.clone()

    def read_noise_q(self, g_target: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(g_target)

    def read(self, g: torch.Tensor, q_s: torch.Tensor, t_s: float, generator: torch.Generator) -> torch.Tensor:
        return g

    def sample_drift_nu(self, g_target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.zeros_like(g_target)

    def drift(self, g_prog: torch.Tensor, nu: torch.Tensor, t_s: float) -> torch.Tensor:
        return g_prog

    def binary_target(self, bits: torch.Tensor) -> torch.Tensor:
        return bits.to(torch.float32)

    def threshold_read(self, g: torch.Tensor) -> torch.Tensor:
        return g > 0.5
