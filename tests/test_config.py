"""Design-point validation: every bad field is named with its range."""

import pytest

from hicenv.sim.config import HICConfig


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"msb_bits": -1}, "msb_bits"),
        ({"lsb_bits": 0}, "lsb_bits"),
        ({"msb_bits": 10, "lsb_bits": 7}, "msb_bits \\+ lsb_bits"),
        ({"acc_bits": 1}, "acc_bits"),
        ({"acc_bits": 20}, "acc_bits"),
        ({"width": 0}, "width"),
        ({"width": -2.0}, "width"),
        ({"width": 1.01}, "width"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"rounding": "up"}, "rounding"),
        ({"msb_bits": 4.0}, "msb_bits"),
        ({"acc_range": 1.5}, "acc_range"),
        ({"acc_range": float("inf")}, "acc_range"),
        ({"acc_range": "wide"}, "acc_range"),
        ({"acc_range": True}, "acc_range"),
    ],
)
def test_out_of_space_points_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HICConfig(**kwargs)


def test_round_trip_and_hashing():
    c = HICConfig(msb_bits=3, lsb_bits=5, acc_bits=16, width=2, noise=0.5)
    assert HICConfig.from_dict(c.to_dict()) == c
    assert hash(c) == hash(HICConfig(msb_bits=3, lsb_bits=5, acc_bits=16, width=2.0, noise=0.5))
    assert c.total_bits == 8 and HICConfig(fp32=True).total_bits == 32
    assert HICConfig(acc_bits=32).float_accumulator
    with pytest.raises(ValueError, match="unknown HICConfig field"):
        HICConfig.from_dict({"msb": 4})


@pytest.mark.parametrize("msb, lsb, deltas", [(2, 2, 2.0), (4, 5, 2.0), (5, 5, 2.0), (6, 6, 8.0), (8, 8, 128.0)])
def test_the_auto_accumulator_range_doubles_with_each_bit_above_nine(msb, lsb, deltas):
    assert HICConfig(msb_bits=msb, lsb_bits=lsb, acc_range="auto").acc_range_deltas == deltas
    assert HICConfig(msb_bits=msb, lsb_bits=lsb, acc_range=3).acc_range_deltas == 3.0  # a number is kept
    c = HICConfig(msb_bits=msb, lsb_bits=lsb, acc_range="auto")
    assert HICConfig.from_dict(c.to_dict()) == c and c.to_dict()["acc_range"] == "auto"
