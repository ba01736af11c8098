"""Fixtures shared by several test files."""

import gzip
from pathlib import Path

import numpy as np
import pytest


def write_idx(path: Path, arr: np.ndarray, gz: bool = True) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(raw)


@pytest.fixture
def fashion_dir(tmp_path):
    """A Fashion-MNIST folder of 50 training and 20 test images (random pixels), gzipped and not."""
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (50, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(50) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (20, 28, 28)), gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(20) % 10, gz=False)
    return tmp_path
