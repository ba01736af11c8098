"""Hybrid weights: MSB bits in binary PCM, LSB level in one multi-level PCM device.

Each weight of a layer is ``w = delta * q`` with the integer code
``q = M * 2**lsb_bits + L`` (two's complement over ``msb_bits + lsb_bits``):
``M`` is signed, one binary device per bit; ``L`` is a level held in multi-level
devices read as an analog value: ``L`` in ``0 .. 2**lsb_bits - 1`` in one device
(``lsb_encoding = "unsigned"``, ``M = floor(q / 2**lsb_bits)``), or ``L`` in
``-2**(lsb_bits-1) .. 2**(lsb_bits-1) - 1`` in a G+/G- pair (``"differential"``,
``M = floor(q / 2**lsb_bits + 1/2)``: balanced digits, so a small weight is all
analog and drift shrinks it towards zero; the code range is then shifted down by
``2**(lsb_bits-1)``). Training updates pass through a
per-weight accumulator ``chi`` (``acc_bits`` fixed point, or float 32) in units of
``delta``; whole ``delta`` steps are transferred into ``L`` and carry into ``M``
exactly like binary addition, and ``M`` saturates at its range.

All the weights of all HIC layers live in one flat float buffer, and every update
is a handful of whole-tensor operations over it: no Python loop over weights.
The model's weight parameters are views into that buffer, so the forward pass sees
the weights as read from the devices and the backward pass is straight-through.

Choices the paper leaves open (``docs/hic.md`` marks them [our choice]):

* training-time reads happen at ``t0`` after programming: no drift during training
  (a proxy run lasts minutes; busy devices are reprogrammed all the time);
* binary MSB devices are read exactly during training: at nominal noise both SET
  (25 uS) and RESET (0.1 uS) sit more than 15 sigma from the 5 uS threshold.
  At inference their analog state is drawn and drifted, and read by threshold;
* a multi-level re-programming lands at the new target with fresh programming
  noise; a decrease of a device's target needs a RESET (a write-erase cycle), an
  increase is a partial SET. Both are counted, apart, per device (both devices of a
  differential pair);
* counters start after the initial programming of the devices.

This module knows HIC, not ResNet: it binds to any named parameters of a module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hicenv.errors import InputError
from hicenv.sim.config import HICConfig
from hicenv.sim.devices import device_model

__all__ = ["HybridWeights", "DriftState"]


@dataclass
class DriftState:
    """Analog state of every device at the end of training, drawn once per evaluation."""

    nu_ml: torch.Tensor
    """Drift exponents of the multi-level devices (P * N,), P devices per weight."""
    g_ref_ml: torch.Tensor
    """Per-layer summed multi-level conductance at t0: the drift-compensation reference."""
    g_bits: torch.Tensor
    """Programmed conductances of the binary devices (msb_bits, N), normalised."""
    nu_bits: torch.Tensor
    """Drift exponents of the binary devices (msb_bits, N)."""
    qs_bits: torch.Tensor
    """Read-noise amplitudes of the binary devices (msb_bits, N)."""


class HybridWeights:
    """The HIC state of a set of weight tensors, in flat buffers on one device."""

    def __init__(
        self,
        names: list[str],
        weights: list[torch.Tensor],
        config: HICConfig,
        generator: torch.Generator,
        channels_last: bool = False,
    ) -> None:
        if config.fp32:
            raise InputError("HybridWeights needs a HIC config, got the fp32 baseline")
        if not weights:
            raise InputError("HybridWeights needs at least one weight tensor")
        self.config = config
        self.device_model = device_model(config.device_model, config.pcm, config.noise)
        self.gen = generator
        self.names = list(names)
        self.shapes = [tuple(w.shape) for w in weights]
        self.sizes = [w.numel() for w in weights]
        # 4-D weights may be stored O x H x W x I, so their views are channels-last.
        self.channels_last = [channels_last and w.dim() == 4 for w in weights]
        device = weights[0].device
        self.device = device
        n = sum(self.sizes)
        self.n = n

        nb = config.msb_bits + config.lsb_bits
        self.base = 2**config.lsb_bits  # levels per MSB step
        self.pairs = config.devices_per_lsb
        self.half = 2 ** (config.lsb_bits - 1)
        self.offset = self.half if self.pairs == 2 else 0  # M = floor((q + offset) / base)
        self.qmin = float(-(2 ** (nb - 1)) - self.offset)
        self.qmax = float(2 ** (nb - 1) - 1 - self.offset)
        # Multi-level devices: P per weight, stored device-major (P * N,). Each device
        # holds a whole level in 0..top, at normalised conductance level / top.
        self.top = float(self.half if self.pairs == 2 else self.base - 1)

        w0 = torch.cat(
            [
                (w.detach().permute(0, 2, 3, 1) if cl else w.detach()).reshape(-1).float()
                for w, cl in zip(weights, self.channels_last)
            ]
        )
        amax = torch.stack([w.detach().abs().max().float() for w in weights]).clamp_min(1e-12)
        self.layer_delta = config.code_headroom * amax / 2 ** (nb - 1)
        sizes = torch.tensor(self.sizes, device=device)
        self.layer_id = torch.repeat_interleave(torch.arange(len(weights), device=device, dtype=torch.int32), sizes)
        self.delta = self.layer_delta[self.layer_id]

        q = torch.round(w0 / self.delta).clamp_(self.qmin, self.qmax)
        # int16 codes, except the one split whose shifted range leaves int16 (16 bits, differential)
        self.q = q.to(torch.int16 if self.qmin >= -(2**15) else torch.int32)
        if config.float_accumulator:
            self.chi = torch.zeros(n, device=device, dtype=torch.float32)
            self.acc_per_delta = 1.0
        else:
            # Fixed point: 2**(acc_bits-1) grid steps span acc_range deltas.
            self.chi = torch.zeros(n, device=device, dtype=torch.int16)
            self.acc_per_delta = 2 ** (config.acc_bits - 1) / config.acc_range_deltas
            # Symmetric: the most negative two's-complement value is left out, so a
            # saturated accumulator moves codes as far down as up.
            self.acc_hi = float(2 ** (config.acc_bits - 1) - 1)
            self.acc_lo = -self.acc_hi
        _, level = self._split(q)
        self.g = self.device_model.program(self._targets(level), generator)
        # Q_s depends on the level only: a table instead of a power per device and read.
        self._qs_table = self.device_model.read_noise_q(torch.arange(int(self.top) + 1, device=device) / self.top)

        # A device changes state at most once per update, so int16 counters cannot
        # overflow before update 32,767; they widen to int32 there (exact either way).
        # This keeps the state at <= 32 bytes/weight for every split of 16 bits.
        self.updates = 0
        self.msb_flips = torch.zeros(config.msb_bits, n, device=device, dtype=torch.int16)
        self.ml_sets = torch.zeros(self.pairs * n, device=device, dtype=torch.int16)
        self.ml_resets = torch.zeros(self.pairs * n, device=device, dtype=torch.int16)
        # Transfer on the k != 0 subset (CPU) or over all weights (CUDA): see _transfer.
        self.sparse_transfer = device.type == "cpu"
        self.saturations = torch.zeros((), device=device, dtype=torch.int64)
        # Weight-updates whose accumulator sum left its range and was clipped (the per-step
        # cap of acc_range), and the update they lost, in units of delta.
        self.acc_clips = torch.zeros((), device=device, dtype=torch.int64)
        self.acc_clipped_delta = torch.zeros((), device=device, dtype=torch.float64)
        # Totals by pulse kind, for energy: binary SETs (0 -> 1) and RESETs (1 -> 0), and
        # transfers (weights whose code changed in an update).
        self.binary_sets = torch.zeros((), device=device, dtype=torch.int64)
        self.binary_resets = torch.zeros((), device=device, dtype=torch.int64)
        self.transfers = torch.zeros((), device=device, dtype=torch.int64)
        self._shifts = torch.arange(config.msb_bits, device=device, dtype=torch.int32).unsqueeze(1)

        self.flat = torch.empty(n, device=device, dtype=torch.float32)
        self._w_read = torch.empty_like(self.flat)
        self._refresh()

    # -- binding to a module ---------------------------------------------------------
    @classmethod
    def attach(
        cls,
        module: nn.Module,
        names: list[str],
        config: HICConfig,
        generator: torch.Generator,
        channels_last: bool = False,
    ) -> HybridWeights:
        """Replace the named parameters of ``module`` by views into one HIC buffer."""
        params = dict(module.named_parameters())
        missing = [n for n in names if n not in params]
        if missing:
            raise InputError(f"no parameter(s) {missing} in the module")
        hw = cls(names, [params[n] for n in names], config, generator, channels_last)
        for name, view in zip(names, hw.views()):
            owner, _, attr = name.rpartition(".")
            setattr(module.get_submodule(owner), attr, nn.Parameter(view))
        return hw

    def views(self) -> list[torch.Tensor]:
        """Per-layer views of the flat buffer, in the shapes of the original weights."""
        out = []
        for v, s, cl in zip(self.flat.split(self.sizes), self.shapes, self.channels_last):
            out.append(v.view(s[0], s[2], s[3], s[1]).permute(0, 3, 1, 2) if cl else v.view(s))
        return out

    # -- codes -----------------------------------------------------------------------
    def _split(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float codes -> (M, L) as floats: M signed; L in [0, 2**lsb_bits - 1] (unsigned)
        or [-2**(lsb_bits-1), 2**(lsb_bits-1) - 1] (differential)."""
        m = torch.floor((q + self.offset) / self.base)
        return m, q - m * self.base

    def _bits(self, m: torch.Tensor) -> torch.Tensor:
        """The msb_bits two's-complement bits of int32 ``m``, one row per binary device (bit 0 first)."""
        return (m.unsqueeze(0) >> self._shifts) & 1

    def codes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored (M, L) of every weight, as int tensors."""
        m, level = self._split(self.q.float())
        return m.to(torch.int32), level.to(torch.int32)

    def accumulator(self) -> torch.Tensor:
        """Accumulator contents in units of ``delta`` (float)."""
        return self.chi.float() / self.acc_per_delta

    # -- multi-level devices -------------------------------------------------------------
    def _device_levels(self, level: torch.Tensor) -> torch.Tensor:
        """Whole levels of the multi-level devices (P * N,) that hold LSB levels ``level`` (N,)."""
        if self.pairs == 1:
            return level
        return torch.cat([level.clamp_min(0), (-level).clamp_min(0)])  # G+ holds L > 0, G- holds L < 0

    def _targets(self, level: torch.Tensor) -> torch.Tensor:
        """Normalised target conductances (P * N,) of LSB levels ``level`` (N,)."""
        return self._device_levels(level) / self.top

    def _lsb_value(self, g: torch.Tensor) -> torch.Tensor:
        """The LSB level (N,) that device conductances ``g`` (P * N,) represent, as a float."""
        if self.pairs == 1:
            return g * self.top
        pos, neg = g.view(2, -1)
        return (pos - neg) * self.top

    # -- training --------------------------------------------------------------------
    def _read_levels(self, m: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Codes as seen by a training-time read (at t0, read noise included)."""
        if self.device_model.reads_exactly:
            return m * self.base + level  # the devices hold their targets exactly
        g = self.device_model.read(self.g, self._qs(level), 0.0, self.gen)
        return m * self.base + self._lsb_value(g)

    def _qs(self, level: torch.Tensor) -> torch.Tensor:
        """Read-noise amplitude of each multi-level device (P * N,) holding LSB levels ``level``."""
        return self._qs_table[self._device_levels(level).long()]

    def _refresh(self) -> None:
        m, level = self._split(self.q.float())
        self.flat.copy_(self._read_levels(m, level) * self.delta)
        self._w_read.copy_(self.flat)

    @torch.no_grad()
    def update(self) -> None:
        """Apply the optimiser's change to ``flat`` through the accumulator and devices.

        Call after ``optimizer.step()``: the desired update is what the optimiser
        wrote into the flat buffer minus the weights it last read.
        """
        dw = (self.flat - self._w_read).div_(self.delta)  # in units of delta
        cfg = self.config
        if cfg.float_accumulator:
            chi = self.chi.add_(dw)
            r = cfg.acc_range_deltas
            self._count_clips(chi, -r, r, 1.0)
            chi.clamp_(-r, r)
            k = torch.trunc(chi)
            chi.sub_(k)
        else:
            x = self.chi.float().add_(dw.mul_(self.acc_per_delta))
            if cfg.rounding == "stochastic":
                x.add_(torch.rand(x.shape, generator=self.gen, device=x.device)).floor_()
            else:
                x.round_()
            self._count_clips(x, self.acc_lo, self.acc_hi, self.acc_per_delta)
            x.clamp_(self.acc_lo, self.acc_hi)
            k = torch.trunc(x / self.acc_per_delta)
            self.chi.copy_(x.sub_(k * self.acc_per_delta))
        self.updates += 1
        if self.updates == 2**15 - 1 and self.ml_sets.dtype == torch.int16:
            self._widen_counters()
        self._transfer(k)
        self._refresh()

    def _count_clips(self, x: torch.Tensor, lo: float, hi: float, per_delta: float) -> None:
        """Count the accumulator sums outside ``[lo, hi]`` and the update they lose."""
        excess = (x - hi).clamp_(min=0) + (lo - x).clamp_(min=0)
        self.acc_clips += (excess > 0).sum()
        self.acc_clipped_delta += excess.sum(dtype=torch.float64) / per_delta

    def _widen_counters(self) -> None:
        self.msb_flips = self.msb_flips.int()
        self.ml_sets = self.ml_sets.int()
        self.ml_resets = self.ml_resets.int()

    def _transfer(self, k: torch.Tensor) -> None:
        """Add ``k`` level steps to each code: carry, borrow, saturate, count, reprogram.

        With ``sparse_transfer`` (CPU) only the weights with ``k != 0`` are touched:
        after the first steps of training they are a small fraction, and every device
        op below scales with their number. Otherwise (CUDA) all weights are, ``k == 0``
        changing nothing: no host sync for the subset's size, and capturable in a graph.
        """
        if self.sparse_transfer:
            sel = k.nonzero().squeeze(1)
            if sel.numel() == 0:
                return
        else:
            sel = slice(None)
        q_old = self.q[sel].float()
        q_new = q_old + k[sel]
        self.saturations += ((q_new < self.qmin) | (q_new > self.qmax)).sum()
        q_new.clamp_(self.qmin, self.qmax)
        m_old, l_old = self._split(q_old)
        m_new, l_new = self._split(q_new)
        d_old = self._device_levels(l_old).view(self.pairs, -1)
        d_new = self._device_levels(l_new).view(self.pairs, -1)
        sets, resets, g = (t.view(self.pairs, -1) for t in (self.ml_sets, self.ml_resets, self.g))
        sets[:, sel] += d_new > d_old
        resets[:, sel] += d_new < d_old
        m_new_int = m_new.to(torch.int32)
        flips = self._bits(m_old.to(torch.int32) ^ m_new_int)
        self.msb_flips[:, sel] += flips.to(self.msb_flips.dtype)
        n_sets = (flips & self._bits(m_new_int)).sum()
        self.binary_sets += n_sets
        self.binary_resets += flips.sum() - n_sets
        self.transfers += (q_new != q_old).sum()
        reprog = self.device_model.program(d_new / self.top, self.gen)
        g[:, sel] = torch.where(d_new != d_old, reprog, g[:, sel])
        self.q[sel] = q_new.to(self.q.dtype)

    # -- inference after training --------------------------------------------------------
    @torch.no_grad()
    def sample_drift_state(self) -> DriftState:
        """Draw every device's drift exponent (and the binary devices' analog state)."""
        m, level = self._split(self.q.float())
        d = self.device_model
        nu_ml = d.sample_drift_nu(self._targets(level), self.gen)
        g_ref = d.read(self.g, self._qs(level), 0.0, self.gen)
        bits = self._bits(m.to(torch.int32))
        g_bits_target = d.binary_target(bits)
        return DriftState(
            nu_ml=nu_ml,
            g_ref_ml=self._layer_sum(g_ref),
            g_bits=d.program(g_bits_target, self.gen),
            nu_bits=d.sample_drift_nu(g_bits_target, self.gen),
            qs_bits=d.read_noise_q(g_bits_target),
        )

    def _layer_sum(self, x: torch.Tensor) -> torch.Tensor:
        """Per-layer sums of a per-weight (N,) or per-device (P * N,) tensor (both devices of a pair)."""
        x = x.view(-1, self.n).sum(0)
        return torch.zeros(len(self.sizes), device=x.device, dtype=x.dtype).index_add_(0, self.layer_id, x)

    @torch.no_grad()
    def read_at(self, t_s: float, state: DriftState, compensate: bool = False) -> torch.Tensor:
        """Weights read ``t_s`` seconds after training (flat), drift and read noise included.

        ``compensate`` applies global drift compensation: one scale per layer on the
        multi-level devices' output, the ratio of the summed conductance of a
        calibration read (all-ones input) right after programming to that at ``t_s``
        (Joshi et al. 2020); with a differential pair, over both devices (their total
        conductance, which drift lowers like one device's). Binary devices are
        thresholded and need none.
        """
        _, level = self._split(self.q.float())
        d = self.device_model
        g = d.read(d.drift(self.g, state.nu_ml, t_s), self._qs(level), t_s, self.gen)
        if compensate:
            alpha = state.g_ref_ml / self._layer_sum(g).clamp_min(1e-12)
            g = (g.view(self.pairs, -1) * alpha[self.layer_id]).reshape(-1)
        g_bits = d.read(d.drift(state.g_bits, state.nu_bits, t_s), state.qs_bits, t_s, self.gen)
        bits = d.threshold_read(g_bits).to(torch.int32)
        unsigned = (bits << self._shifts).sum(0)
        half = 2 ** (self.config.msb_bits - 1)
        m_read = torch.where(unsigned >= half, unsigned - 2 * half, unsigned).float()
        return (m_read * self.base + self._lsb_value(g)) * self.delta

    def load(self, flat: torch.Tensor) -> None:
        """Put weights (e.g. from :meth:`read_at`) into the model's buffer."""
        self.flat.copy_(flat)

    # -- reports -----------------------------------------------------------------------
    def write_cycles(self) -> dict[str, torch.Tensor]:
        """Per-device programming events so far: ``binary`` (msb_bits, N) and the
        multi-level ones (P * N,), device-major (a differential pair's G+ block, then G-)."""
        return {
            "binary": self.msb_flips,
            "multilevel_resets": self.ml_resets,
            "multilevel_partial_sets": self.ml_sets,
            "multilevel": self.ml_resets + self.ml_sets,
        }

    WEAR_KEYS = (
        "max",
        "mean",
        "binary_max",
        "multilevel_max",
        "multilevel_resets_max",
        "multilevel_partial_sets_max",
        "binary_set",
        "binary_reset",
        "multilevel_reset",
        "multilevel_partial_set",
        "transfers",
    )
    """What :meth:`wear_now` reports: per-device extremes and the mean over every device,
    then totals by pulse kind over all devices, then transfers."""

    @torch.no_grad()
    def wear_now(self) -> dict[str, float]:
        """Programming events so far, in one host read (:data:`WEAR_KEYS`): the most-written
        device (all, binary, multi-level and its two parts), the mean over every device, and
        the total pulses by kind (binary SET and RESET, multi-level RESET and partial SET)."""
        b, resets, sets = self.msb_flips.long(), self.ml_resets.long(), self.ml_sets.long()
        ml = resets + sets
        n_devices = b.numel() + ml.numel()
        values = torch.stack(
            [
                torch.maximum(b.max(), ml.max()),
                b.sum() + ml.sum(),  # divided into the mean below, in float64 on the host
                b.max(),
                ml.max(),
                resets.max(),
                sets.max(),
                self.binary_sets,
                self.binary_resets,
                resets.sum(),
                sets.sum(),
                self.transfers,
            ]
        ).tolist()
        values[1] /= n_devices
        return dict(zip(self.WEAR_KEYS, values))

    def saturated_codes(self) -> int:
        """Weights whose code sits at either end of its range now."""
        q = self.q.float()
        return int(((q <= self.qmin) | (q >= self.qmax)).sum())

    def state_bytes_per_weight(self) -> float:
        """Bytes of HIC state per weight: codes, accumulator, conductances, counters.

        Drift exponents are not state during training: they are drawn per evaluation
        (:meth:`sample_drift_state`, 4 + 12 * msb_bits bytes per weight while it lasts).
        """
        tensors = [self.q, self.chi, self.g, self.msb_flips, self.ml_sets, self.ml_resets]  # totals: scalars
        return sum(t.numel() * t.element_size() for t in tensors) / self.n
