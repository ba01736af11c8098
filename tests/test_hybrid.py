"""HIC weights: codes, accumulator, carry and borrow, write counters, reads."""

import pytest
import torch
from torch import nn

from hicenv.sim.config import HICConfig
from hicenv.sim.hybrid import HybridWeights


def make(weights, gen_seed=0, **cfg):
    config = HICConfig(**{"noise": 0.0, **cfg})
    return HybridWeights(["w"], [torch.tensor(weights)], config, torch.Generator().manual_seed(gen_seed))


def push(hw, dw_delta):
    """What an optimiser step does: move the read weights by dw (in units of delta)."""
    hw.flat += torch.tensor(dw_delta) * hw.delta
    hw.update()


def test_zero_noise_reads_equal_codes_exactly():
    w = torch.randn(3, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    hw = HybridWeights(["w"], [w], HICConfig(noise=0.0, msb_bits=3, lsb_bits=5), torch.Generator().manual_seed(0))
    m, level = hw.codes()
    q = m * 2**5 + level
    assert torch.equal(hw.flat, q.float() * hw.delta)
    assert int(level.min()) >= 0 and int(level.max()) <= 31
    assert int(m.min()) >= -4 and int(m.max()) <= 3
    # the initial codes are the nearest to the initial weights
    assert torch.all((hw.flat - w.reshape(-1)).abs() <= hw.delta / 2 + 1e-7)
    push(hw, [0.0] * w.numel())
    assert torch.equal(hw.flat, q.float() * hw.delta)  # a zero update changes nothing


def test_delta_covers_the_initial_range_with_headroom():
    hw = make([0.5, -0.25, 0.125, 0.0], msb_bits=2, lsb_bits=2)
    # delta = headroom 2 * max|w| 0.5 / 2**(4-1)
    assert float(hw.layer_delta[0]) == 0.125
    m, level = hw.codes()
    assert (m * 4 + level).tolist() == [4, -2, 1, 0]


@pytest.mark.parametrize("sparse", [True, False], ids=["sparse", "dense"])
def test_hand_worked_updates_carry_borrow_saturation_and_counts(sparse):
    # 2 MSB bits (M in [-2, 1]), 2 LSB bits (L in 0..3), codes q in [-8, 7];
    # 4-bit accumulator over +-2 delta: 4 grid units per delta, chi in [-8, 7] units.
    hw = make([0.5, 0.125, -0.125, 0.0], msb_bits=2, lsb_bits=2, acc_bits=4, rounding="nearest")
    hw.sparse_transfer = sparse  # the CPU path transfers the k != 0 subset, the CUDA path all
    assert hw.acc_per_delta == 4

    def codes():
        return [int(v) for v in (hw.codes()[0] * 4 + hw.codes()[1])]

    assert codes() == [4, 1, -1, 0]

    push(hw, [-0.25, 0.0, 0.0, 0.0])  # chi = -1 unit: below one delta, no transfer
    assert codes() == [4, 1, -1, 0]
    assert hw.chi.tolist() == [-1, 0, 0, 0]
    assert hw.accumulator().tolist() == [-0.25, 0, 0, 0]

    push(hw, [-0.75, 0.0, 1.0, 0.0])
    # w0: chi -1 - 3 = -4 units = -1 delta -> q 4 -> 3: M 1 -> 0 (bit 0 flips), L 0 -> 3 (partial SET)
    # w2: q -1 -> 0: M -1 (0b11) -> 0 (0b00), both bits flip; L 3 -> 0 needs a RESET
    assert codes() == [3, 1, 0, 0]
    assert hw.chi.tolist() == [0, 0, 0, 0]
    assert hw.msb_flips.tolist() == [[1, 0, 1, 0], [0, 0, 1, 0]]
    assert hw.ml_sets.tolist() == [1, 0, 0, 0]
    assert hw.ml_resets.tolist() == [0, 0, 1, 0]

    push(hw, [1.0, 0.0, 0.0, 0.0])  # carry back: L 3 -> 0 (RESET), M 0 -> 1
    assert codes() == [4, 1, 0, 0]
    assert hw.msb_flips[:, 0].tolist() == [2, 0]
    assert hw.ml_resets.tolist() == [1, 0, 1, 0]

    # a huge step saturates the accumulator at 7 units: one level per step, 3 units left
    for expect in (5, 6, 7):
        push(hw, [5.0, 0.0, 0.0, 0.0])
        assert codes()[0] == expect
        assert int(hw.chi[0]) == 3
    assert int(hw.saturations) == 0
    push(hw, [5.0, 0.0, 0.0, 0.0])  # q would be 8: the code saturates at 7
    assert codes()[0] == 7
    assert int(hw.saturations) == 1
    assert hw.saturated_codes() == 1
    assert hw.ml_sets.tolist() == [4, 0, 0, 0]  # L 0 -> 1 -> 2 -> 3, and nothing at saturation
    # the most negative push saturates symmetrically, at -7 units: one level down, -3 left
    push(hw, [0.0, -5.0, 0.0, 0.0])
    assert codes()[1] == 0
    assert int(hw.chi[1]) == -3
    assert hw.msb_flips[:, 1].tolist() == [0, 0]
    assert int(hw.ml_resets[1]) == 1  # L 1 -> 0
    push(hw, [0.0, -5.0, 0.0, 0.0])  # and again: a borrow
    assert codes()[1] == -1
    assert int(hw.chi[1]) == -3
    assert hw.msb_flips[:, 1].tolist() == [1, 1]  # M 0 -> -1 = 0b11
    assert int(hw.ml_sets[1]) == 1  # L 0 -> 3


@pytest.mark.parametrize("acc_bits", [4, 8, 32], ids=["fixed4", "fixed8", "float"])
def test_zero_mean_large_updates_leave_codes_unbiased(acc_bits):
    # +-3 delta updates saturate the accumulator both ways every step. A range that
    # reaches one level further down than up (the old two's-complement clip) moved
    # codes by -0.5 levels a step on average; a symmetric one moves them by 0.
    n, steps = 10_000, 20
    hw = make([1.0] + [0.0] * (n - 1), msb_bits=4, lsb_bits=4, acc_bits=acc_bits, gen_seed=5)
    m, level = hw.codes()
    q0 = (m * 16 + level).float()
    g = torch.Generator().manual_seed(11)
    for _ in range(steps):
        sign = torch.randint(0, 2, (n,), generator=g).float() * 2 - 1
        push(hw, (3.0 * sign).tolist())
    m, level = hw.codes()
    shift = ((m * 16 + level).float() - q0)[1:]
    assert shift.abs().max() < 60  # no code reached the ends of its range
    # a random walk of +-1 (or +-2) levels: the mean over 10,000 weights has sd < 0.1
    assert abs(shift.mean().item()) < 0.3


def test_float_accumulator_keeps_small_updates_exactly():
    hw = make([0.5, 0.0], msb_bits=4, lsb_bits=4, acc_bits=32)
    for _ in range(8):
        push(hw, [0.125, -0.125])
    m, level = hw.codes()
    assert (m * 16 + level).tolist() == [64 + 1, -1]
    assert torch.allclose(hw.accumulator(), torch.zeros(2), atol=1e-6)


def test_float_accumulator_saturates_at_its_range():
    hw = make([0.5, 0.0], acc_bits=32, acc_range=2.0)
    push(hw, [10.0, 0.0])  # clipped to 2 deltas: two levels move
    m, level = hw.codes()
    assert int(m[0] * 16 + level[0]) == 66


def test_a_fixed_acc_range_caps_a_step_at_less_weight_the_more_bits():
    # delta = headroom 2 x max|w| 0.5 / 2**(bits-1): 1/128 at 8 bits, 1/32768 at 16. A step
    # asking for 1/128 of weight is 1 delta at 8 bits (moved whole) but 256 deltas at 16;
    # the fixed-point accumulator at +-2 deltas holds at most 32767/16384 deltas, so one
    # level moves (1/256 of the step), and the clip counters record the 254 deltas lost.
    step = 1 / 128
    for msb, lsb, acc_range, moved, clips in (
        (4, 4, 2.0, 1 / 128, 0),
        (8, 8, 2.0, 1 / 32768, 1),
        (8, 8, 512.0, 1 / 128, 0),
    ):
        hw = make([0.5, 0.0], msb_bits=msb, lsb_bits=lsb, acc_bits=16 if msb == 8 else 8, acc_range=acc_range)
        hw.flat[0] += step
        hw.update()
        assert float(hw.flat[0]) - 0.5 == pytest.approx(moved, rel=1e-6), (msb, acc_range)
        assert int(hw.acc_clips) == clips
    assert float(hw.acc_clipped_delta) == 0.0
    hw = make([0.5, 0.0], msb_bits=8, lsb_bits=8, acc_bits=16, acc_range=2.0)
    push(hw, [256.0, 0.0])
    assert float(hw.acc_clipped_delta) == pytest.approx(256 - 32767 / 16384)


@pytest.mark.parametrize("msb, lsb, moved", [(8, 8, 1 / 256), (6, 6, 1 / 256), (4, 4, 1 / 64)])
def test_the_auto_acc_range_caps_a_step_at_a_512th_of_the_code_range(msb, lsb, moved):
    # The code range is 2**bits deltas = 2 x headroom 2 x max|w| 0.5 = 2 in weight. A step
    # asking for 1/64 of weight is clipped to 2/512 = 1/256 of weight at 16 and 12 bits
    # (128 and 8 deltas of the float accumulator); at 8 bits the range's floor of 2
    # deltas (1/64 of weight) lets it through whole.
    hw = make([0.5, 0.0], msb_bits=msb, lsb_bits=lsb, acc_bits=32, acc_range="auto")
    hw.flat[0] += 1 / 64
    hw.update()
    assert float(hw.flat[0]) - 0.5 == pytest.approx(moved, rel=1e-6)
    assert int(hw.acc_clips) == (0 if msb == 4 else 1)


def test_stochastic_rounding_is_unbiased_and_nearest_is_not():
    n = 100_000
    w = [0.5] + [0.0] * (n - 1)
    # 0.3 grid units per step (acc 8 bits over +-2 delta: 64 units per delta)
    dw = 0.3 / 64
    hw = make(w, acc_bits=8, rounding="stochastic", gen_seed=7)
    push(hw, [dw] * n)
    mean = hw.chi.float().mean().item()
    se = (0.3 * 0.7 / n) ** 0.5
    assert abs(mean - 0.3) < 4 * se
    hw_n = make(w, acc_bits=8, rounding="nearest")
    push(hw_n, [dw] * n)
    assert hw_n.chi.float().abs().max().item() == 0  # nearest drops sub-grid updates


def test_updates_accumulate_in_expectation_over_many_steps():
    n = 20_000
    hw = make([0.5] + [0.0] * (n - 1), acc_bits=4, gen_seed=3)  # 4 units per delta
    for _ in range(40):
        push(hw, [0.05] * n)  # 0.2 units a step, 2 deltas in all
    m, level = hw.codes()
    q = (m * 16 + level).float() + hw.accumulator()
    assert q[1:].mean().item() == pytest.approx(2.0, abs=0.05)


def test_attach_makes_module_weights_views_of_the_flat_buffer():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Conv2d(3, 4, 1))
    names = ["0.weight", "1.weight"]
    before = [model[0].weight.detach().clone(), model[1].weight.detach().clone()]
    hw = HybridWeights.attach(model, names, HICConfig(noise=0.0), torch.Generator().manual_seed(0), channels_last=True)
    assert hw.n == 2 * 3 * 9 + 3 * 4
    for b, p in zip(before, (model[0].weight, model[1].weight)):
        assert p.shape == b.shape
        assert torch.all((p - b).abs() <= hw.layer_delta.max() / 2 + 1e-7)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    hw.flat.zero_()
    assert float(model[0].weight.detach().abs().sum()) == 0 and float(model[1].weight.detach().abs().sum()) == 0
    with pytest.raises(ValueError, match="no parameter"):
        HybridWeights.attach(model, ["2.weight"], HICConfig(), torch.Generator())


def test_read_noise_reaches_the_training_reads():
    w = torch.linspace(-1, 1, 10_000)
    hw = HybridWeights(["w"], [w], HICConfig(noise=1.0), torch.Generator().manual_seed(0))
    m, level = hw.codes()
    exact = (m * 16 + level).float() * hw.delta
    err = (hw.flat - exact) / hw.delta  # in levels
    assert 0.05 < err.std().item() < 1.5
    # two reads differ (fresh read noise), the stored codes do not change
    first = hw.flat.clone()
    push(hw, [0.0] * 10_000)
    assert not torch.equal(first, hw.flat)
    assert torch.equal(torch.stack(hw.codes()), torch.stack((m, level)))


def test_drift_reads_and_global_compensation():
    w = torch.linspace(-1, 1, 50_000)
    hw = HybridWeights(["w"], [w], HICConfig(noise=1.0), torch.Generator().manual_seed(0))
    m, level = hw.codes()
    exact = (m * 16 + level).float() * hw.delta
    state = hw.sample_drift_state()
    year = 365 * 86400.0
    err0 = (hw.read_at(0.0, state) - exact).abs().mean()
    err_y = (hw.read_at(year, state) - exact).abs().mean()
    err_gdc = (hw.read_at(year, state, compensate=True) - exact).abs().mean()
    assert err_y > 2 * err0  # the multi-level devices decay
    assert err_gdc < 0.5 * err_y  # one scale per layer undoes most of it
    # binary MSB bits survive the year: with L read in [0, 16) the MSB part is exact
    q_year = hw.read_at(year, state) / hw.delta
    assert torch.equal(torch.floor(q_year / 16), m.float())
    # with a threshold no SET device stays above after a year, every bit reads 0
    from hicenv.sim.devices import PCMParams, device_model

    hw.device_model = device_model("pcm", PCMParams(threshold_uS=24.9), hw.config.noise)
    assert not torch.equal(torch.floor(hw.read_at(year, state) / hw.delta / 16), m.float())


def test_ideal_drift_read_equals_codes():
    w = torch.linspace(-1, 1, 1000)
    hw = HybridWeights(["w"], [w], HICConfig(noise=0.0), torch.Generator().manual_seed(0))
    state = hw.sample_drift_state()
    assert torch.allclose(hw.read_at(0.0, state), hw.flat, rtol=0, atol=1e-5)


def test_dense_and_sparse_transfer_agree_over_a_random_run():
    w = torch.randn(2000, generator=torch.Generator().manual_seed(3)) * 0.1
    runs = []
    for sparse in (True, False):
        hw = HybridWeights(
            ["w"],
            [w.clone()],
            HICConfig(noise=0.0, msb_bits=3, lsb_bits=3, acc_bits=6),
            torch.Generator().manual_seed(0),
        )
        hw.sparse_transfer = sparse
        g = torch.Generator().manual_seed(1)
        for _ in range(30):
            hw.flat += (torch.randn(w.shape, generator=g) * 1.5 + 0.7) * hw.delta  # drifts up to saturation
            hw.update()
        runs.append(hw)
    a, b = runs
    assert int(a.msb_flips.sum()) > 100 and int(a.saturations) > 0  # the run exercised the transfer
    for name in ("q", "chi", "msb_flips", "ml_sets", "ml_resets", "saturations", "flat"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_counters_widen_before_int16_could_overflow():
    hw = make([0.5, -0.5], msb_bits=2, lsb_bits=2, acc_bits=4, rounding="nearest")
    assert hw.ml_sets.dtype == torch.int16
    hw.updates = 2**15 - 3
    hw.ml_sets.fill_(2**15 - 3)  # as if the devices had been set at every update so far
    for _ in range(4):
        push(hw, [0.0, 1.0])  # q -4 -> -3 -> -2 -> -1 -> 0: three partial SETs, then a RESET
    assert hw.ml_sets.dtype == torch.int32 and hw.msb_flips.dtype == torch.int32
    assert int(hw.ml_sets[1]) == 2**15  # past the int16 range, counted exactly
    assert int(hw.ml_resets[1]) == 1


def test_state_bytes_and_fp32_refusal():
    hw = make([0.5, 0.1, 0.2, 0.3], msb_bits=4)
    # int16 code + int16 accumulator + float32 conductance + 4 int16 bit counters + 2 int16
    assert hw.state_bytes_per_weight() == 2 + 2 + 4 + 4 * 2 + 2 * 2
    widest = make([0.5, 0.1], msb_bits=8, lsb_bits=8, acc_bits=32)  # float accumulator, most MSB devices
    assert widest.state_bytes_per_weight() <= 32
    with pytest.raises(ValueError, match="fp32"):
        make([0.5], fp32=True)


def test_differential_pair_hand_worked_levels_transfers_and_counts():
    # 2 MSB + 2 LSB bits, differential: balanced digits, M = floor(q / 4 + 1/2) and a
    # signed L in -2..1 held in a G+/G- pair with levels 0..2: L -1 -> (0, 1), 1 -> (1, 0).
    hw = make(
        [0.5, 0.125, -0.125, 0.0], msb_bits=2, lsb_bits=2, acc_bits=4, rounding="nearest", lsb_encoding="differential"
    )
    assert hw.g.shape == (8,) and hw.top == 2 and (hw.qmin, hw.qmax) == (-10, 5)  # 16 codes, shifted down by 2
    m, level = hw.codes()
    assert (m * 4 + level).tolist() == [4, 1, -1, 0]
    assert m.tolist() == [1, 0, 0, 0] and level.tolist() == [0, 1, -1, 0]  # small weights are all analog
    assert (hw.g * 2).tolist() == [0, 1, 0, 0, 0, 0, 1, 0]  # G+ block, then G- block
    assert torch.equal(hw.flat, (m * 4 + level).float() * hw.delta)  # ideal devices read exactly
    push(hw, [0.0, 0.0, 1.0, 0.0])  # w2: q -1 -> 0, L -1 -> 0: G- 1 -> 0 (a RESET), no bit flips
    assert (hw.g * 2).tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    assert hw.ml_resets.tolist() == [0, 0, 0, 0, 0, 0, 1, 0] and int(hw.ml_sets.sum()) == 0
    assert int(hw.msb_flips.sum()) == 0
    push(hw, [0.0, 1.0, 0.0, 0.0])  # w1: q 1 -> 2 = 1 * 4 - 2: M 0 -> 1, G+ 1 -> 0 (RESET), G- 0 -> 2 (SET)
    assert (hw.g * 2).tolist() == [0, 0, 0, 0, 0, 2, 0, 0]
    assert hw.ml_resets.tolist() == [0, 1, 0, 0, 0, 0, 1, 0]
    assert hw.ml_sets.tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert hw.msb_flips[:, 1].tolist() == [1, 0]
    for _ in range(4):  # one level a step, 2 -> 5; the fourth saturates at the shifted top, 5 = 1 * 4 + 1
        push(hw, [0.0, 9.0, 0.0, 0.0])
    assert int((hw.codes()[0] * 4 + hw.codes()[1])[1]) == 5 and int(hw.saturations) == 1


def test_sixteen_bit_differential_codes_fit():
    hw = make([0.5, -0.5, 0.0], msb_bits=8, lsb_bits=8, lsb_encoding="differential")
    assert hw.q.dtype == torch.int32 and hw.qmin == -(2**15) - 128  # past int16: stored wider
    m, level = hw.codes()
    assert (m * 256 + level).tolist() == [2**14, -(2**14), 0]


def _year_error(encoding: str) -> tuple[float, float]:
    """Mean weight error in levels after a year of drift, without and with compensation."""
    w = torch.linspace(-1, 1, 50_000)
    hw = HybridWeights(["w"], [w], HICConfig(noise=1.0, lsb_encoding=encoding), torch.Generator().manual_seed(0))
    m, level = hw.codes()
    exact = (m * 16 + level).float()
    state = hw.sample_drift_state()
    year = 365 * 86400.0
    raw = (hw.read_at(year, state) / hw.delta - exact).mean().item()
    gdc = (hw.read_at(year, state, compensate=True) / hw.delta - exact).mean().item()
    return raw, gdc


def test_differential_pair_removes_the_drift_bias_of_an_unsigned_level():
    raw_u, gdc_u = _year_error("unsigned")
    raw_d, gdc_d = _year_error("differential")
    assert raw_u < -2.0  # every unsigned level decays: a bias of levels on every weight
    assert abs(raw_d) < 0.1 * abs(raw_u)  # a pair shrinks towards the middle: no common bias
    assert abs(gdc_u) < 0.2 * abs(raw_u)  # compensation undoes most of the unsigned bias


def test_differential_pair_dense_and_sparse_agree_and_doubles_devices():
    w = torch.randn(2000, generator=torch.Generator().manual_seed(3)) * 0.1
    runs = []
    for sparse in (True, False):
        hw = HybridWeights(
            ["w"],
            [w.clone()],
            HICConfig(noise=0.0, msb_bits=3, lsb_bits=3, acc_bits=6, lsb_encoding="differential"),
            torch.Generator().manual_seed(0),
        )
        hw.sparse_transfer = sparse
        g = torch.Generator().manual_seed(1)
        for _ in range(30):
            hw.flat += (torch.randn(w.shape, generator=g) * 1.5 + 0.3) * hw.delta
            hw.update()
        runs.append(hw)
    a, b = runs
    assert int(a.ml_resets.sum()) > 100 and int(a.ml_sets.sum()) > 100
    for name in ("q", "chi", "g", "msb_flips", "ml_sets", "ml_resets", "saturations"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.ml_sets.shape == (2 * 2000,)
    # code + accumulator + 2 conductances + 3 bit counters + 2 x 2 pair counters
    assert a.state_bytes_per_weight() == 2 + 2 + 2 * 4 + 3 * 2 + 2 * 2 * 2


@pytest.mark.parametrize("sparse", [True, False])
def test_pulse_totals_split_binary_sets_from_resets_by_hand(sparse):
    # msb 2 + lsb 1: delta = 2 * 1.0 / 4 = 0.5, codes q = [2, 1, -1] = M * 2 + L with
    # M = [1, 0, -1] (bits 01, 00, 11) and L = [0, 1, 1].
    hw = make([1.0, 0.5, -0.5], msb_bits=2, lsb_bits=1, acc_bits=32)
    hw.sparse_transfer = sparse
    assert hw.q.tolist() == [2, 1, -1]
    hw._transfer(torch.tensor([0.0, 1.0, 1.0]))
    # q 1 -> 2: M 00 -> 01 (one SET), L 1 -> 0 (a RESET); q -1 -> 0: M 11 -> 00 (two RESETs), L 1 -> 0.
    assert hw.q.tolist() == [2, 2, 0]
    assert int(hw.binary_sets) == 1 and int(hw.binary_resets) == 2 and int(hw.transfers) == 2
    now = hw.wear_now()
    assert (now["binary_set"], now["binary_reset"]) == (1, 2)
    assert (now["multilevel_reset"], now["multilevel_partial_set"]) == (2, 0)
    assert now["max"] == 1 and now["binary_max"] == 1 and now["multilevel_resets_max"] == 1
    # 3 weights x (2 binary + 1 multi-level) devices; 3 binary flips and 2 RESETs in all
    assert now["mean"] == pytest.approx(5 / 9)
    # a zero transfer changes nothing
    hw._transfer(torch.zeros(3))
    assert hw.wear_now() == now
