"""ResNet of He et al. 2016 and the model-size accounting."""

import pytest
import torch

from hicenv.sim.config import HICConfig
from hicenv.sim.metrics import model_size, reference_size_bits
from hicenv.sim.model import digital_param_names, hic_layer_names, resnet


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_resnet32_width1_has_0_46M_parameters():
    m = resnet(32, 1.0, in_channels=1)
    assert n_params(m) == 466_618  # docs/hic.md's count: option-B shortcuts, BN and bias
    assert len(hic_layer_names(m)) == 30 + 2  # block convolutions and two projections
    assert "conv1.weight" not in hic_layer_names(m)
    assert {"conv1.weight", "fc.weight", "fc.bias"} <= set(digital_param_names(m))


def test_width_multiplies_channels_and_depth_sets_blocks():
    m = resnet(32, 1.5, in_channels=3)
    assert m.conv1.out_channels == 24 and m.fc.in_features == 96
    m8 = resnet(8, 1.0, in_channels=1)
    assert len(m8.layer1) == 1 and len(hic_layer_names(m8)) == 6 + 2
    x = torch.randn(2, 1, 32, 32)
    assert m8(x).shape == (2, 10)
    assert resnet(8, 1.0, in_channels=1, num_classes=7)(torch.randn(1, 1, 28, 28)).shape == (1, 7)


@pytest.mark.parametrize("depth,width", [(30, 1.0), (32, 1.03), (32, 0.0), (32, -1.0)])
def test_bad_shapes_are_refused(depth, width):
    with pytest.raises(ValueError):
        resnet(depth, width)


def test_same_generator_same_weights():
    a = resnet(8, 1.0, generator=torch.Generator().manual_seed(3))
    b = resnet(8, 1.0, generator=torch.Generator().manual_seed(3))
    c = resnet(8, 1.0, generator=torch.Generator().manual_seed(4))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_model_size_of_resnet32_hic_4_4_equals_the_hand_count():
    m = resnet(32, 1.0, in_channels=1)
    ref = reference_size_bits(32, 1, 10)
    assert ref == 466_618 * 32  # the FP32 ResNet-32 at width 1: the reference of every size_ratio
    s = model_size(m, hic_layer_names(m), HICConfig(msb_bits=4, lsb_bits=4, acc_bits=8), ref)
    # By hand: convolution weights 144 (first) + 5*2*2304 + (4608 + 9*9216) + (18432 + 9*36864)
    # + 512 + 2048 (projections) = 463,504, of which all but the first 144 are HIC: 463,360.
    # Digital: 144 + fc 650 + batch norm 2 * (16*11 + 32*11 + 64*11) = 2,464 -> 3,258.
    assert s["n_hic_weights"] == 463_360
    assert s["n_weights"] - s["n_hic_weights"] == 3_258
    assert s["hic_size_bits"] == 463_360 * 8 + 32 * 32  # 8 bits a weight, one delta a layer
    assert s["digital_size_bits"] == 3_258 * 32
    assert s["model_size_bits"] == 3_812_160
    assert s["fp32_size_bits"] == 466_618 * 32
    assert s["train_state_bits"] == 463_360 * 8
    assert s["n_binary_devices"] == 4 * 463_360 and s["n_multilevel_devices"] == 463_360
    assert s["model_size_mb"] == pytest.approx(3_812_160 / 8e6)
    assert s["size_ratio"] == 3_812_160 / (466_618 * 32)
    base = model_size(m, hic_layer_names(m), HICConfig(fp32=True), ref)
    assert base["model_size_bits"] == base["fp32_size_bits"] and base["size_ratio"] == 1.0
    assert base["n_binary_devices"] == 0 and base["train_state_bits"] == 0


def test_size_ratio_sees_width_at_the_same_bits():
    # The reference is the FP32 network at width 1, not at the design's own width:
    # a width-2 model at the same bits is about 4x as large (convolutions grow as width^2).
    ref = reference_size_bits(32, 1, 10)
    sizes = {}
    for w in (1.0, 2.0):
        m = resnet(32, w, in_channels=1)
        sizes[w] = model_size(m, hic_layer_names(m), HICConfig(msb_bits=4, lsb_bits=4, width=w), ref)
    assert sizes[1.0]["reference_size_bits"] == sizes[2.0]["reference_size_bits"] == ref
    assert 3.9 <= sizes[2.0]["size_ratio"] / sizes[1.0]["size_ratio"] <= 4.1
    # the same-width FP32 size is still there, under its own name
    assert sizes[2.0]["model_size_bits"] / sizes[2.0]["fp32_size_bits"] == pytest.approx(0.25, abs=0.01)


def test_differential_encoding_doubles_multilevel_devices_not_size():
    m = resnet(8, 1.0, in_channels=1)
    ref = reference_size_bits(8, 1, 10)
    u = model_size(m, hic_layer_names(m), HICConfig(), ref)
    d = model_size(m, hic_layer_names(m), HICConfig(lsb_encoding="differential"), ref)
    assert d["n_multilevel_devices"] == 2 * u["n_multilevel_devices"]
    assert d["model_size_bits"] == u["model_size_bits"]
