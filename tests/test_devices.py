"""PCM device physics against the fits of docs/hic.md (Joshi et al. 2020)."""

import math

import pytest
import torch

from hicenv.sim.devices import pcm as dev
from hicenv.sim.devices.params import PCMParams

P = PCMParams()
N = 100_000


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sigma_prog_matches_fit_at_ends_and_middle():
    g = torch.tensor([0.0, 0.5, 1.0])
    want_uS = [0.2635, -1.1731 * 0.25 + 1.9650 * 0.5 + 0.2635, -1.1731 + 1.9650 + 0.2635]
    assert torch.allclose(dev.sigma_prog(g, P) * 25.0, torch.tensor(want_uS), rtol=1e-6)


@pytest.mark.parametrize("g_t", [0.25, 0.5, 1.0])
def test_programming_noise_statistics_over_1e5_devices(g_t):
    target = torch.full((N,), g_t)
    g = dev.program(target, P, 1.0, gen())
    want = float(dev.sigma_prog(torch.tensor(g_t), P))
    assert abs(float((g - target).mean())) < 4 * want / math.sqrt(N)
    assert float((g - target).std()) == pytest.approx(want, rel=0.02)


def test_noise_scale_zero_programs_exactly_and_scales_linearly():
    target = torch.full((N,), 0.5)
    assert torch.equal(dev.program(target, P, 0.0, gen()), target)
    s1 = (dev.program(target, P, 1.0, gen(1)) - target).std()
    s2 = (dev.program(target, P, 2.0, gen(1)) - target).std()
    assert float(s2 / s1) == pytest.approx(2.0, rel=1e-4)


def _folded_normal_mean(mu, s):
    phi = 0.5 * (1 + math.erf(-mu / (s * math.sqrt(2))))
    return s * math.sqrt(2 / math.pi) * math.exp(-mu * mu / (2 * s * s)) + mu * (1 - 2 * phi)


@pytest.mark.parametrize("g_t", [0.01, 0.1, 0.5, 1.0])
def test_drift_exponent_statistics_over_1e5_devices(g_t):
    mu = min(max(-0.0155 * math.log(g_t) + 0.0244, 0.049), 0.1)
    s = min(max(-0.0125 * math.log(g_t) - 0.0059, 0.008), 0.045)
    nu = dev.sample_drift_nu(torch.full((N,), g_t), gen(2))
    assert float(nu.min()) >= 0
    assert float(nu.mean()) == pytest.approx(_folded_normal_mean(mu, s), rel=0.02)
    if mu / s > 4:  # folding is negligible: the spread is the fit's
        assert float(nu.std()) == pytest.approx(s, rel=0.02)


def test_device_with_known_exponent_follows_power_law():
    g0 = torch.tensor([0.8, 0.3])
    nu = torch.tensor([0.05, 0.1])
    ts = [0.0, 3600.0, 86400.0, 3.15e7]
    gs = torch.stack([dev.drift(g0, nu, t, P) for t in ts])
    assert torch.equal(gs[0], g0)  # t = 0 is the first read, at t0
    for t, g in zip(ts[1:], gs[1:]):
        want = g0 * ((t + P.t0_s) / P.t0_s) ** (-nu)
        assert torch.allclose(g, want, rtol=1e-6)
    # slope on log-log axes is -nu
    slope = torch.log(gs[3] / gs[1]) / math.log((ts[3] + P.t0_s) / (ts[1] + P.t0_s))
    assert torch.allclose(slope, -nu, atol=1e-5)
    with pytest.raises(ValueError, match="seconds"):
        dev.drift(g0, nu, -1.0, P)


@pytest.mark.parametrize("t", [0.0, 86400.0])
def test_read_noise_statistics(t):
    g_t = 0.5
    g = torch.full((N,), g_t)
    qs = dev.read_noise_q(g)
    r = dev.read(g, qs, t, P, 1.0, gen(3))
    tt = t + P.t0_s
    want = g_t * min(0.0088 / g_t**0.65, 0.2) * math.sqrt(math.log((tt + P.t_read_s) / (2 * P.t_read_s)))
    assert float((r - g).std()) == pytest.approx(want, rel=0.02)
    assert torch.equal(dev.read(g, qs, t, P, 0.0, gen(3)), g)


def test_read_noise_q_is_capped_and_zero_conductance_reads_zero():
    assert float(dev.read_noise_q(torch.tensor(0.0))) == pytest.approx(0.2)
    assert float(dev.read_noise_q(torch.tensor(1.0))) == pytest.approx(0.0088)
    z = torch.zeros(10)
    assert torch.equal(dev.read(z, dev.read_noise_q(z), 3600.0, P, 1.0, gen()), z)
    # programmed conductance never goes negative
    assert float(dev.program(torch.zeros(N), P, 5.0, gen()).min()) >= 0


def test_binary_devices_hold_their_bits_for_a_year_at_nominal_noise():
    bits = torch.arange(N) % 2
    target = dev.binary_target(bits, P)
    g = dev.program(target, P, 1.0, gen(4))
    nu = dev.sample_drift_nu(target, gen(5))
    year = 365 * 86400.0
    read = dev.threshold_read(dev.read(dev.drift(g, nu, year, P), dev.read_noise_q(target), year, P, 1.0, gen(6)), P)
    assert float((read != bits.bool()).float().mean()) < 1e-3
    # a threshold above SET after drift reads SETs wrong: the comparison is real
    high = PCMParams(threshold_uS=24.0)
    read_high = dev.threshold_read(dev.drift(g, nu, year, P), high)
    assert float((read_high != bits.bool()).float().mean()) > 0.4


def test_binary_drift_exponents_match_hic_md():
    target = dev.binary_target(torch.tensor([0, 1]), P)
    mu, _ = dev.drift_nu_stats(target)
    assert float(mu[0]) == pytest.approx(0.1)  # RESET drifts more
    assert float(mu[1]) == pytest.approx(0.049)  # SET about 0.05


def test_pcm_params_validation():
    with pytest.raises(ValueError, match="threshold_uS"):
        PCMParams(threshold_uS=30.0)
    with pytest.raises(ValueError, match="g_max_uS"):
        PCMParams(g_max_uS=0)
