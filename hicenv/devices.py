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
from dataclasses import asdict, dataclass, fields

import torch

__all__ = [
    "PCMParams",
    "sigma_prog",
    "drift_nu_stats",
    "sample_drift_nu",
    "program",
    "drift",
    "read_noise_q",
    "read",
    "binary_target",
    "threshold_read",
    "HORIZONS_S",
]

#: Inference horizons after training (name -> seconds) at which accuracy is reported.
HORIZONS_S: dict[str, float] = {
    "0s": 0.0,
    "1h": 3600.0,
    "1d": 86400.0,
    "1mo": 30 * 86400.0,
    "1y": 365 * 86400.0,
}

@dataclass(frozen=True)
class PCMParams:
    """Physical parameters of the PCM devices (Joshi et al. 2020 unless marked)."""

    g_max_uS: float = 25.0
    """Maximum conductance in microsiemens; all conductances are normalised to it."""
    t0_s: float = 20.0
    """Drift reference time in seconds (the first read after programming)."""
    t_read_s: float = 250e-9
    """Read duration in seconds, the lower cut-off of the 1/f noise integral."""
    set_g_uS: float = 25.0
    """Target conductance of a binary device in the SET state, uS [our choice: g_max]."""
    reset_g_uS: float = 0.1
    """Target conductance of a binary device in the RESET state, uS [our choice].

    At 0.1 uS the drift fit gives nu = 0.1 for RESET and 0.049 for SET, the
    values published for binary PCM (``docs/hic.md``)."""
    threshold_uS: float = 5.0
    """Read threshold of binary devices in uS [our choice].

    A SET device (25 uS, nu about 0.05) stays above 5 uS for far longer than a
    year; at 12.5 uS (half of g_max) half of them would cross within a year."""
    endurance_cycles: float = 1e8
    """Write-erase cycles a device survives (published PCM: 1e6 to 1e9)."""
    prog_c0_uS: float = 0.2635
    """Programming-noise fit, constant term: sigma_prog in uS at a target of 0."""
    prog_c1_uS: float = 1.9650
    """Programming-noise fit, linear term in the normalised target gT (uS)."""
    prog_c2_uS: float = -1.1731
    """Programming-noise fit, quadratic term in gT (uS)."""
    prog_fit_g_max_uS: float = 25.0
    """g_max at which the programming-noise fit was made; sigma_prog scales with g_max / it."""
    nu_mu_slope: float = -0.0155
    """Drift-exponent mean: slope in ln gT."""
    nu_mu_offset: float = 0.0244
    """Drift-exponent mean: value at gT = 1."""
    nu_mu_min: float = 0.049
    """Drift-exponent mean: lower clip."""
    nu_mu_max: float = 0.1
    """Drift-exponent mean: upper clip."""
    nu_sigma_slope: float = -0.0125
    """Drift-exponent spread (device to device): slope in ln gT."""
    nu_sigma_offset: float = -0.0059
    """Drift-exponent spread: value at gT = 1."""
    nu_sigma_min: float = 0.008
    """Drift-exponent spread: lower clip."""
    nu_sigma_max: float = 0.045
    """Drift-exponent spread: upper clip."""
    read_q_coeff: float = 0.0088
    """1/f read noise: Q_s = read_q_coeff / gT ** read_q_exponent, at most read_q_max."""
    read_q_exponent: float = 0.65
    """1/f read noise: exponent of gT in Q_s."""
    read_q_max: float = 0.2
    """1/f read noise: upper clip of Q_s."""

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"PCMParams.{f.name} must be a finite number, got {v!r}")
            object.__setattr__(self, f.name, float(v))  # canonical: 1e8 and 100000000 key alike
        for name in ("g_max_uS", "t0_s", "t_read_s", "set_g_uS", "threshold_uS", "endurance_cycles",
                     "prog_fit_g_max_uS", "read_q_exponent", "read_q_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"PCMParams.{name} must be > 0, got {getattr(self, name)!r}")
        for lo, hi in (("nu_mu_min", "nu_mu_max"), ("nu_sigma_min", "nu_sigma_max")):
            if not 0 <= getattr(self, lo) <= getattr(self, hi):
                raise ValueError(f"PCMParams needs 0 <= {lo} <= {hi}, got {getattr(self, lo)}, {getattr(self, hi)}")
        if self.read_q_coeff < 0:
            raise ValueError(f"PCMParams.read_q_coeff must be >= 0, got {self.read_q_coeff}")
        if not 0 <= self.reset_g_uS < self.threshold_uS < self.set_g_uS:
            raise ValueError(
                "PCMParams needs 0 <= reset_g_uS < threshold_uS < set_g_uS, got "
                f"{self.reset_g_uS}, {self.threshold_uS}, {self.set_g_uS}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PCMParams":
        """Fields by name; an unknown key is an error that names it and the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown PCMParams field(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


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


def sample_drift_nu(g_target: torch.Tensor, generator: torch.Generator | None = None,
                    params: PCMParams = _DEFAULT) -> torch.Tensor:
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
        raise ValueError(f"drift time must be >= 0 seconds, got {t_s}")
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
