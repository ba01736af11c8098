"""Physical parameters of the memory devices, one validated field each.

Used by every device model (:mod:`hicenv.sim.devices`); the coefficients are the
phase-change-memory fits of :mod:`hicenv.sim.devices.pcm` (Joshi et al. 2020), and
``docs/hic.md`` gives their sources and which values are our choices.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from hicenv.errors import InputError

__all__ = ["PCMParams"]


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
                raise InputError(f"PCMParams.{f.name} must be a finite number, got {v!r}")
            object.__setattr__(self, f.name, float(v))  # canonical: 1e8 and 100000000 key alike
        for name in (
            "g_max_uS",
            "t0_s",
            "t_read_s",
            "set_g_uS",
            "threshold_uS",
            "endurance_cycles",
            "prog_fit_g_max_uS",
            "read_q_exponent",
            "read_q_max",
        ):
            if not getattr(self, name) > 0:
                raise InputError(f"PCMParams.{name} must be > 0, got {getattr(self, name)!r}")
        for lo, hi in (("nu_mu_min", "nu_mu_max"), ("nu_sigma_min", "nu_sigma_max")):
            if not 0 <= getattr(self, lo) <= getattr(self, hi):
                raise InputError(f"PCMParams needs 0 <= {lo} <= {hi}, got {getattr(self, lo)}, {getattr(self, hi)}")
        if self.read_q_coeff < 0:
            raise InputError(f"PCMParams.read_q_coeff must be >= 0, got {self.read_q_coeff}")
        if not 0 <= self.reset_g_uS < self.threshold_uS < self.set_g_uS:
            raise InputError(
                "PCMParams needs 0 <= reset_g_uS < threshold_uS < set_g_uS, got "
                f"{self.reset_g_uS}, {self.threshold_uS}, {self.set_g_uS}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PCMParams:
        """Fields by name; an unknown key is an error that names it and the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown PCMParams field(s) {unknown}; known: {sorted(known)}")
        return cls(**d)
