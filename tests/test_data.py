"""Dataset readers on small files written here, and batches on the device."""

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from hicenv.sim import data
from hicenv.sim.data import Batches, load_dataset, read_cifar10, read_idx, read_npz


def write_cifar(root: Path, n_batches=2, n=12):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, n_batches + 1)] + ["test_batch"]:
        d = {
            b"batch_label": name.encode(),
            b"labels": list(rng.integers(0, 10, n)),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"x.png"] * n,
        }
        with open(folder / name, "wb") as f:
            pickle.dump(d, f, protocol=2)
    return folder


def test_fashion_mnist_from_idx_files(fashion_dir):
    ds = load_dataset("fashion-mnist", fashion_dir)
    assert ds.x_train.shape == (50, 1, 28, 28) and ds.x_test.shape == (20, 1, 28, 28)
    assert ds.y_train.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert ds.num_classes == 10 and ds.in_channels == 1


def test_corrupted_and_missing_idx_files_are_refused(fashion_dir, tmp_path_factory):
    p = fashion_dir / "train-labels-idx1-ubyte.gz"
    raw = gzip.open(p).read()
    gzip.open(p, "wb").write(raw[:-3])  # truncated body
    with pytest.raises(ValueError, match="corrupted IDX file"):
        load_dataset("fashion-mnist", fashion_dir)
    p.write_bytes(b"\x1f\x8bnot gzip at all")
    with pytest.raises(ValueError, match="corrupted gzip"):
        read_idx(p)
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(ValueError, match="has no train-images"):
        load_dataset("fashion-mnist", empty)
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset("fashion-mnist", empty / "nowhere")


def test_cifar10_reader_on_a_small_file_in_the_standard_format(tmp_path):
    folder = write_cifar(tmp_path)
    for root in (tmp_path, folder):
        ds = read_cifar10(root)
        assert ds.x_train.shape == (24, 3, 32, 32) and ds.x_test.shape == (12, 3, 32, 32)
    # the first image's red plane is the first 1024 bytes, row-major
    with open(folder / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"][0]
    assert np.array_equal(ds.x_train[0, 0].reshape(-1), raw[:1024])
    assert np.array_equal(ds.x_train[0, 2].reshape(-1), raw[2048:])


def test_cifar10_refuses_missing_corrupted_and_malicious_files(tmp_path):
    with pytest.raises(ValueError, match="download=True"):
        read_cifar10(tmp_path)
    folder = write_cifar(tmp_path)
    (folder / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="corrupted CIFAR-10 batch"):
        read_cifar10(tmp_path)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(os.getcwd, f)  # a pickle that names a function is never loaded
    with pytest.raises(ValueError, match="refusing"):
        read_cifar10(tmp_path)


def test_npz_user_data_in_every_layout(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    y = np.arange(40) % 4
    np.savez(tmp_path / "hwc.npz", x=x, y=y, x_test=x[:8], y_test=y[:8])
    ds = load_dataset(str(tmp_path / "hwc.npz"))
    assert ds.x_train.shape == (40, 3, 16, 16) and ds.name == "hwc"
    assert np.array_equal(ds.x_train[5, 1], x[5, :, :, 1])
    np.savez(tmp_path / "gray.npz", x=x[..., 0], y=y)  # no test split: 10% held out
    ds = read_npz(tmp_path / "gray.npz")
    assert len(ds.x_train) == 36 and len(ds.x_test) == 4 and ds.in_channels == 1
    np.savez(tmp_path / "float.npz", x=x.astype(np.float32), y=y)
    with pytest.raises(ValueError, match="uint8"):
        read_npz(tmp_path / "float.npz")
    np.savez(tmp_path / "nolabels.npz", x=x)
    with pytest.raises(ValueError, match="missing array 'y'"):
        read_npz(tmp_path / "nolabels.npz")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ValueError, match="corrupted dataset file"):
        read_npz(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="does not exist"):
        read_npz(tmp_path / "missing.npz")


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")


def test_embedded_subset_is_real_stratified_and_small():
    path = Path(data.__file__).parents[1] / "_data" / data.EMBEDDED_FILE
    assert path.stat().st_size <= 6_000_000
    assert (path.parent / "FASHION_MNIST_LICENSE").read_text().count("Zalando SE") >= 1
    ds = load_dataset("embedded")
    assert ds.x_train.shape == (10_000, 1, 28, 28) and ds.x_test.shape == (3_000, 1, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [1000] * 10
    assert np.bincount(ds.y_test).tolist() == [300] * 10
    # real images: dark background, varied content, no duplicated training image
    assert ds.x_train[:, :, 0, 0].mean() < 10 and ds.x_train.std() > 50
    assert len(np.unique(ds.x_train.reshape(len(ds.x_train), -1)[:500], axis=0)) == 500


def test_batches_pad_normalise_and_cover_the_split():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (10, 1, 28, 28), dtype=np.uint8)
    y = np.arange(10)
    b = Batches(x, y, 4, "cpu")
    assert len(b) == 3
    xs, ys = zip(*b)
    assert [len(v) for v in ys] == [4, 4, 2] and torch.cat(ys).tolist() == list(range(10))
    assert xs[0].shape == (4, 1, 32, 32)
    # the 2-pixel border is a black pixel, normalised
    black = float(-b.mean[0] / b.std[0])
    assert torch.allclose(xs[0][:, :, :2, :], torch.full_like(xs[0][:, :, :2, :], black))
    inner = xs[0][:, :, 2:30, 2:30]
    assert torch.allclose(inner * b.std[0] + b.mean[0], torch.from_numpy(x[:4]).float() / 255, atol=1e-5)


def test_augmentation_crops_and_flips_whole_batches_reproducibly():
    x = np.zeros((64, 1, 8, 8), dtype=np.uint8)
    x[:, :, 0, 0] = 255  # one bright pixel in the corner
    y = np.zeros(64)

    def run(seed):
        b = Batches(
            x,
            y,
            64,
            "cpu",
            mean=torch.zeros(1),
            std=torch.ones(1),
            size=8,
            augment=True,
            pad=2,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )
        return next(iter(b))[0]

    a, a2, c = run(0), run(0), run(1)
    assert torch.equal(a, a2) and not torch.equal(a, c)
    assert a.shape == (64, 1, 8, 8)
    # the bright pixel moves (crop), sometimes off the image, sometimes to the right half (flip)
    pos = a[:, 0].flatten(1).argmax(1)
    bright = a[:, 0].flatten(1).max(1).values > 0.5
    cols = pos % 8
    assert bright.sum() < 64 and bright.sum() > 10
    assert (cols[bright] >= 4).any() and (cols[bright] < 4).any()
    assert len(set(pos[bright].tolist())) > 3


def test_cifar10_download_checks_md5_and_leaves_nothing_on_failure(tmp_path):
    """The download path, against a local archive (tests never touch the network)."""
    import hashlib
    import tarfile

    src = tmp_path / "src"
    write_cifar(src)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    url = archive.as_uri()
    bad_root = tmp_path / "bad"
    with pytest.raises(ValueError, match="MD5"):
        data.download_cifar10(bad_root, url=url, md5="0" * 32)
    assert list(bad_root.iterdir()) == []  # nothing half-written
    root = tmp_path / "data"
    data.download_cifar10(root, url=url, md5=md5)
    ds = read_cifar10(root)
    assert ds.x_train.shape == (24, 3, 32, 32)
