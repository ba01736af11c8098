"""Phase-change-memory (PCM) device physics as pure tensor functions.

Conductances are *normalised* to ``g_max`` (so 1.0 means ``g_max_uS`` microsiemens)
unless a name ends in ``_uS``. Times are in seconds. Every function works on
whole tensors on any torch device and draws randomness only from the
``torch.Generator`` it is given.

Fits (Joshi et al., "Accurate deep neural network inference using computational
phase-change memory", Nature Communications 11, 2473 (2020); the same numbers as
IBM aihwkit's ``PCMLikeNoiseModel``), every coefficient a field of
:class:`PCMParams` (defaults shown):

* programming noise: ``sigma_prog_uS = max(c2 gT^2 + c1 gT + c0, 0)`` with
  ``(c0, c1, c2) = (0.2635, 1.9650, -1.1731)`` uS for a target ``gT`` in [0, 1], at
  ``g_max = 25 uS`` (scaled with ``g_max``);
* drift: ``g(t) = g_prog * (t / t0) ** -nu``, ``nu ~ |N(mu_nu(gT), sigma_nu(gT))|``
  with ``mu_nu = clip(-0.0155 ln gT + 0.0244, 0.049, 0.1)`` and
  ``sigma_nu = clip(-0.0125 ln gT - 0.0059, 0.008, 0.045)``;
* 1/f read noise: ``sigma_read = |g(t)| Q_s sqrt(ln((t + t_r) / (2 t_r)))`` with
  ``Q_s = min(0.0088 / gT ** 0.65, 0.2)``.

The repository's ``docs/hic.md`` gives the sources and which values are our choices.

Binary (SET/RESET) devices use the same fits at their own target conductances and
are read by comparing with a threshold, so they err only when drift or noise carries
a conductance across it.

This module knows nothing of weights, layers or training.
"""

from __future__ import annotations

import math

import torch

from hicenv.errors import InputError
from hicenv.sim.devices.base import DeviceModel
from hicenv.sim.devices.params import PCMParams

__all__ = [
    "PCMParams",
    "PCMDevice",
    "sigma_prog",
    "drift_nu_stats",
    "sample_drift_nu",
    "program",
    "drift",
    "read_noise_q",
    "read",
    "binary_target",
    "threshold_read",
]

_DEFAULT = PCMParams()


def sigma_prog(g_target: torch.Tensor, params: PCMParams) -> torch.Tensor:
    """Programming-noise standard deviation (normalised) at a normalised target."""
    p = params
    s_uS = (p.prog_c0_uS + p.prog_c1_uS * g_target + p.prog_c2_uS * g_target * g_target).clamp_min(0.0)
    # The fit is in uS at its own g_max; it scales with g_max (as in aihwkit).
    return s_uS * (p.g_max_uS / p.prog_fit_g_max_uS) / p.g_max_uS


def drift_nu_stats(g_target: torch.Tensor, params: PCMParams = _DEFAULT) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and spread of the drift exponent at a normalised target conductance."""
    p = params
    log_g = torch.log(g_target.clamp_min(1e-6))
    mu = (p.nu_mu_slope * log_g + p.nu_mu_offset).clamp(p.nu_mu_min, p.nu_mu_max)
    sigma = (p.nu_sigma_slope * log_g + p.nu_sigma_offset).clamp(p.nu_sigma_min, p.nu_sigma_max)
    return mu, sigma


def sample_drift_nu(
    g_target: torch.Tensor, generator: torch.Generator | None = None, params: PCMParams = _DEFAULT
) -> torch.Tensor:
    """Per-device drift exponents drawn from ``|N(mu_nu, sigma_nu)|``."""
    mu, sigma = drift_nu_stats(g_target, params)
    z = torch.randn(g_target.shape, generator=generator, device=g_target.device, dtype=g_target.dtype)
    return (mu + sigma * z).abs()


def program(
    g_target: torch.Tensor,
    params: PCMParams,
    noise_scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Conductance a device lands at when programmed to ``g_target`` (clamped at 0)."""
    if noise_scale == 0:
        return g_target.clone()
    z = torch.randn(g_target.shape, generator=generator, device=g_target.device, dtype=g_target.dtype)
    return (g_target + noise_scale * sigma_prog(g_target, params) * z).clamp_min(0.0)


def drift(g_prog: torch.Tensor, nu: torch.Tensor, t_s: float, params: PCMParams) -> torch.Tensor:
    """Conductance ``t_s`` seconds after the first read at ``t0`` (power-law drift).

    ``t_s = 0`` is the conductance at ``t0``, as in aihwkit's inference time axis.
    """
    if t_s < 0:
        raise InputError(f"drift time must be >= 0 seconds, got {t_s}")
    if t_s == 0:
        return g_prog
    return g_prog * ((t_s + params.t0_s) / params.t0_s) ** (-nu)


def read_noise_q(g_target: torch.Tensor, params: PCMParams = _DEFAULT) -> torch.Tensor:
    """Relative 1/f read-noise amplitude ``Q_s`` at a normalised target conductance."""
    p = params
    return (p.read_q_coeff / g_target.abs().clamp_min(1e-3) ** p.read_q_exponent).clamp_max(p.read_q_max)


def read(
    g: torch.Tensor,
    q_s: torch.Tensor,
    t_s: float,
    params: PCMParams,
    noise_scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One read of conductances ``g`` (already drifted to ``t_s``) with 1/f noise.

    ``q_s`` is :func:`read_noise_q` of each device's target (precomputed: it only
    changes when the device is reprogrammed). ``t_s`` is measured from ``t0``.
    """
    if noise_scale == 0:
        return g
    t = t_s + params.t0_s
    scale = noise_scale * math.sqrt(math.log((t + params.t_read_s) / (2 * params.t_read_s)))
    z = torch.randn(g.shape, generator=generator, device=g.device, dtype=g.dtype)
    return (g + g.abs() * q_s * (scale * z)).clamp_min(0.0)


def binary_target(bits: torch.Tensor, params: PCMParams) -> torch.Tensor:
    """Normalised target conductance of binary devices storing ``bits`` (SET = 1)."""
    set_g = params.set_g_uS / params.g_max_uS
    reset_g = params.reset_g_uS / params.g_max_uS
    return torch.where(bits.bool(), set_g, reset_g).to(torch.float32)


def threshold_read(g: torch.Tensor, params: PCMParams) -> torch.Tensor:
    """Bits read from binary-device conductances (True above the read threshold)."""
    return g > params.threshold_uS / params.g_max_uS


class PCMDevice(DeviceModel):
    """The functions of this module as a :class:`~hicenv.sim.devices.base.DeviceModel`."""

    def program(self, g_target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return program(g_target, self.params, self.noise, generator)

    def read_noise_q(self, g_target: torch.Tensor) -> torch.Tensor:
        return read_noise_q(g_target, self.params)

    def read(self, g: torch.Tensor, q_s: torch.Tensor, t_s: float, generator: torch.Generator) -> torch.Tensor:
        return read(g, q_s, t_s, self.params, self.noise, generator)

    def sample_drift_nu(self, g_target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return sample_drift_nu(g_target, generator, self.params)

    def drift(self, g_prog: torch.Tensor, nu: torch.Tensor, t_s: float) -> torch.Tensor:
        return drift(g_prog, nu, t_s, self.params)

    def binary_target(self, bits: torch.Tensor) -> torch.Tensor:
        return binary_target(bits, self.params)

    def threshold_read(self, g: torch.Tensor) -> torch.Tensor:
        return threshold_read(g, self.params)
