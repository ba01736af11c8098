"""A design point: the HIC hyperparameters of one training run.

The point is a flat, frozen dataclass so it can key a cache and be written into
every result. Validation happens here, once, with messages that name the field
and its allowed range; the CLI, the environment and the studies all rely on it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from hicenv.errors import InputError
from hicenv.sim.devices import DEVICE_MODELS, PCMParams

__all__ = ["HICConfig", "MAX_TOTAL_BITS", "FLOAT_ACC_BITS", "LSB_ENCODINGS", "check_known_fields"]

MAX_TOTAL_BITS = 16
"""Upper bound on ``msb_bits + lsb_bits`` (codes are stored as int16)."""
AUTO = "auto"
"""``acc_range`` scaled with the total bits (:attr:`HICConfig.acc_range_deltas`)."""
FLOAT_ACC_BITS = 32
"""``acc_bits`` value that selects the float-32 accumulator (the reference)."""
_ACC_BITS_RANGE = (2, 16)
_ROUNDINGS = ("stochastic", "nearest")
LSB_ENCODINGS = ("unsigned", "differential")
"""How the multi-level part of a weight is stored (see :class:`HICConfig.lsb_encoding`)."""


def check_known_fields(cls, d: dict) -> None:
    """Refuse keys of ``d`` that are not fields of dataclass ``cls``, naming them."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise InputError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(known)}")


@dataclass(frozen=True)
class HICConfig:
    """One HIC design point. ``fp32=True`` is the digital baseline (bits unused)."""

    msb_bits: int = 4
    """Bits of the signed MSB part ``M``, one binary PCM device per bit (1..15)."""
    lsb_bits: int = 4
    """Bits of the unsigned LSB level ``L``, held in one multi-level PCM device (1..15)."""
    acc_bits: int = 8
    """Accumulator bits (2..16, fixed point), or 32 for the float-32 reference."""
    width: float = 1.0
    """Width multiplier of ResNet-32: 16/32/64 channels times it (16 * width whole)."""
    noise: float = 1.0
    """Scale of the programming noise and the 1/f read noise (0 none, 1 nominal PCM).

    It does not scale drift: the drift exponents keep their mean and their device-to-device
    spread at every ``noise``, so at 0 a year of drift still costs accuracy without
    compensation. The ideal device (exact, no drift, no noise) is ``device_model="ideal"``."""
    fp32: bool = False
    """Train the same network digitally in float 32: the baseline, no devices."""
    rounding: str = "stochastic"
    """Accumulator rounding: ``stochastic`` (unbiased) or ``nearest``."""
    lsb_encoding: str = "unsigned"
    """How the LSB level ``L`` is held in multi-level PCM [our choice; the paper is silent].

    ``unsigned``: ``L`` in ``0 .. 2**lsb_bits - 1`` in one device. Drift lowers every
    conductance, so it biases every weight downwards (compensation is essential).
    ``differential``: a signed ``L`` in ``-2**(lsb_bits-1) .. 2**(lsb_bits-1) - 1`` in a
    G+/G- pair, with balanced digits (``M`` rounds ``q / 2**lsb_bits`` to nearest), so
    that a small weight lies wholly in the pair and drift shrinks it towards zero
    instead of biasing it; each device is programmed, drifted, read and counted for
    endurance. Twice the multi-level devices; the code range shifts down by
    ``2**(lsb_bits-1)``."""
    acc_range: float | str = 2.0
    """Accumulator range in units of ``delta`` [our choice]: it saturates symmetrically,
    at +-acc_range (float) or +-(2**(acc_bits-1) - 1) grid units, one unit inside
    +-acc_range (fixed point), so zero-mean updates move codes without bias.

    It bounds how many levels one step can move (``acc_range`` for the float
    accumulator, ``ceil(acc_range) - 1`` for fixed point), so it also clips large
    early updates. ``delta`` halves with every extra bit, so a fixed range caps a step
    at less weight the more bits: at 2 deltas, 16-bit designs clip most updates and lose
    about 10 points at the proxy budget (``studies/accumulator/REPORT.md``).
    ``"auto"``: ``max(2, 2**(total_bits - 9))`` deltas, a step of at most 1/512 of
    the code range (:attr:`acc_range_deltas`). A fixed-point accumulator's grid step is
    ``acc_range / 2**(acc_bits-1)`` deltas, so a wider range costs resolution. HIC-Bench v2
    is made at ``"auto"``; the default stays 2 (what the shipped bench and its surrogate
    hold) until v2 ships, and becomes ``"auto"`` with it."""
    code_headroom: float = 2.0
    """Per-layer step ``delta`` = headroom * max|w_init| / 2**(bits-1) [our choice]:
    the code range covers the initial weights twice over, room to grow."""
    device_model: str = "pcm"
    """Device model of the weights' devices, by name in ``hicenv.sim.devices.DEVICE_MODELS``:
    ``pcm`` (phase-change memory, Joshi et al. 2020) or ``ideal`` (exact, no drift, no noise)."""
    pcm: PCMParams = field(default_factory=PCMParams)
    """Device physics parameters (see :mod:`hicenv.sim.devices.params`)."""

    def __post_init__(self) -> None:
        for name in ("msb_bits", "lsb_bits", "acc_bits"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"{name} must be an integer, got {v!r}")
        if not 1 <= self.msb_bits <= MAX_TOTAL_BITS - 1:
            raise InputError(f"msb_bits must be in [1, {MAX_TOTAL_BITS - 1}], got {self.msb_bits}")
        if not 1 <= self.lsb_bits <= MAX_TOTAL_BITS - 1:
            raise InputError(f"lsb_bits must be in [1, {MAX_TOTAL_BITS - 1}], got {self.lsb_bits}")
        if self.msb_bits + self.lsb_bits > MAX_TOTAL_BITS:
            raise InputError(
                f"msb_bits + lsb_bits must be <= {MAX_TOTAL_BITS}, got "
                f"{self.msb_bits} + {self.lsb_bits} = {self.msb_bits + self.lsb_bits}"
            )
        lo, hi = _ACC_BITS_RANGE
        if not (lo <= self.acc_bits <= hi or self.acc_bits == FLOAT_ACC_BITS):
            raise InputError(
                f"acc_bits must be in [{lo}, {hi}] or {FLOAT_ACC_BITS} (float-32 accumulator), got {self.acc_bits}"
            )
        if not (isinstance(self.width, (int, float)) and math.isfinite(self.width) and self.width > 0):
            raise InputError(f"width must be > 0 (a multiple of 1/16), got {self.width!r}")
        if abs(self.width * 16 - round(self.width * 16)) > 1e-9:
            raise InputError(
                f"width must give whole channel counts (16 * width an integer, e.g. 1, 1.5, 2), got {self.width}"
            )
        if not (isinstance(self.noise, (int, float)) and math.isfinite(self.noise) and self.noise >= 0):
            raise InputError(f"noise must be >= 0 (0 ideal devices, 1 nominal PCM), got {self.noise!r}")
        if self.rounding not in _ROUNDINGS:
            raise InputError(f"rounding must be one of {_ROUNDINGS}, got {self.rounding!r}")
        if not isinstance(self.pcm, PCMParams):
            raise InputError(f"pcm must be a PCMParams (device physics), got {type(self.pcm).__name__}")
        if self.device_model not in DEVICE_MODELS:
            raise InputError(f"device_model must be one of {tuple(DEVICE_MODELS)}, got {self.device_model!r}")
        if self.lsb_encoding not in LSB_ENCODINGS:
            raise InputError(f"lsb_encoding must be one of {LSB_ENCODINGS}, got {self.lsb_encoding!r}")
        if self.acc_range != AUTO and not (
            isinstance(self.acc_range, (int, float))
            and not isinstance(self.acc_range, bool)
            and math.isfinite(self.acc_range)
            and self.acc_range >= 2
        ):
            raise InputError(
                "acc_range must be >= 2 (units of delta, so a +1 transfer is reachable) or 'auto' "
                f"(scaled with the total bits), got {self.acc_range!r}"
            )
        if not self.code_headroom > 0:
            raise InputError(f"code_headroom must be > 0, got {self.code_headroom}")
        # Canonical form: keep width a float so equal points hash equally.
        object.__setattr__(self, "width", float(self.width))
        object.__setattr__(self, "noise", float(self.noise))
        if self.acc_range != AUTO:
            object.__setattr__(self, "acc_range", float(self.acc_range))

    @property
    def total_bits(self) -> int:
        """Bits per HIC weight in the inference model (32 for the baseline)."""
        return 32 if self.fp32 else self.msb_bits + self.lsb_bits

    @property
    def acc_range_deltas(self) -> float:
        """The accumulator range in deltas: ``acc_range``, or for ``"auto"``
        ``max(2, 2**(total_bits - 9))``, which caps a step at 1/512 of the code range."""
        if self.acc_range == AUTO:
            return float(max(2, 2 ** (self.total_bits - 9)))
        return float(self.acc_range)

    @property
    def float_accumulator(self) -> bool:
        return self.acc_bits == FLOAT_ACC_BITS

    @property
    def devices_per_lsb(self) -> int:
        """Multi-level devices per HIC weight: 1 (unsigned) or 2 (differential pair)."""
        return 2 if self.lsb_encoding == "differential" else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> HICConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error that names them."""
        check_known_fields(cls, d)
        d = dict(d)
        if isinstance(d.get("pcm"), dict):
            d["pcm"] = PCMParams.from_dict(d["pcm"])
        return cls(**d)

    def replace(self, **changes) -> HICConfig:
        return replace(self, **changes)
