"""Image classification data: readers for the standard files and batches on the device.

Datasets by name (:func:`load_dataset`):

``embedded``
    A stratified real subset of Fashion-MNIST shipped inside the package
    (1,000 training and 300 test images per class; MIT licence, Zalando SE,
    notice in ``hicenv/_data/FASHION_MNIST_LICENSE``). Works offline.
``fashion-mnist``
    Full Fashion-MNIST from the four IDX files (``.gz`` or not) in ``root``,
    by default ``$HICENV_DATA/fashion-mnist`` or Debian's
    ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``).
``cifar10``
    CIFAR-10 from its ``cifar-10-batches-py`` folder (``root`` or its parent);
    ``download=True`` fetches the official archive and checks its MD5.
a path ending in ``.npz``
    Your own data: ``x`` (uint8, N x H x W or N x H x W x C), ``y`` (integer
    labels) and optionally ``x_test``, ``y_test``; without them a fixed 10% is
    held out.

Images are held as uint8 N x C x H x W; 28x28 Fashion-MNIST is zero-padded to 32x32
when batched. :class:`Batches` keeps a whole split on the training device,
normalises it once, and crops and flips whole batches with tensor operations
under a seeded generator (after airbench's loader).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hicenv.errors import InputError

__all__ = [
    "Dataset",
    "DATASETS",
    "load_dataset",
    "read_idx",
    "read_cifar10",
    "read_npz",
    "Batches",
    "make_embedded_subset",
]


EMBEDDED_FILE = "fashion_mnist_subset.npz"
FASHION_DEFAULT_DIRS = ("/usr/share/datasets/fashion-mnist",)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass
class Dataset:
    """A train/test split of uint8 images (N x C x H x W) and int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or x.ndim != 4:
                raise InputError(f"{self.name}: x_{split} must be uint8 N x C x H x W, got {x.dtype} {x.shape}")
            if len(x) != len(y) or len(x) == 0:
                raise InputError(f"{self.name}: {len(x)} {split} images but {len(y)} labels")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise InputError(f"{self.name}: train images {self.x_train.shape[1:]} but test {self.x_test.shape[1:]}")
        if min(self.y_train.min(), self.y_test.min()) < 0:
            raise InputError(f"{self.name}: labels must be >= 0")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the arrays (shapes, dtypes, bytes): the dataset's identity in every
        result key, so a changed file or reader never serves old results as current."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            h = hashlib.sha256()
            for a in (self.x_train, self.y_train, self.x_test, self.y_test):
                a = np.ascontiguousarray(a)
                h.update(f"{a.dtype.str}{a.shape}".encode())
                h.update(memoryview(a).cast("B"))
            cached = self.__dict__["_fingerprint"] = h.hexdigest()[:16]
        return cached

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])


# -- readers ---------------------------------------------------------------------------
def _open_maybe_gz(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"corrupted gzip file {path}: {e}") from None
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """One IDX file (the MNIST format), gzipped or not, as a uint8 array."""
    path = Path(path)
    raw = _open_maybe_gz(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise InputError(f"corrupted IDX file {path}: bad magic number (want unsigned-byte IDX)")
    ndim = raw[3]
    if not 1 <= ndim <= 4 or len(raw) < 4 + 4 * ndim:
        raise InputError(f"corrupted IDX file {path}: {ndim} dimensions")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(dims)):
        raise InputError(
            f"corrupted IDX file {path}: header says {dims} ({int(np.prod(dims))} bytes), body has {len(body)}"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    raise InputError(f"data folder {root} has no {stem}[.gz]")


def read_fashion_mnist(root: str | os.PathLike | None = None) -> Dataset:
    """Full Fashion-MNIST from the four IDX files in ``root``."""
    root = _resolve_root("fashion-mnist", root, FASHION_DEFAULT_DIRS)
    arrays = {k: read_idx(_find(root, stem)) for k, stem in _IDX_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1:
            raise InputError(f"corrupted Fashion-MNIST in {root}: {split} images {x.shape}, labels {y.shape}")
    return Dataset(
        "fashion-mnist",
        arrays["x_train"][:, None],
        arrays["y_train"].astype(np.int64),
        arrays["x_test"][:, None],
        arrays["y_test"].astype(np.int64),
    )


class _CifarUnpickler(pickle.Unpickler):
    """Only what CIFAR-10's batches contain: dicts, bytes, lists and numpy arrays."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles from Python 3 store bytes
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 batch")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = _CifarUnpickler(f, encoding="bytes").load()
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = np.asarray(d[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"corrupted CIFAR-10 batch {path}: {e}") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise InputError(f"corrupted CIFAR-10 batch {path}: data {data.shape}, {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10(root: str | os.PathLike | None = None, download: bool = False) -> Dataset:
    """CIFAR-10 from ``cifar-10-batches-py`` (``root`` itself or inside it)."""
    root = Path(root) if root is not None else _default_root("cifar10")
    folder = root if (root / "test_batch").exists() else root / "cifar-10-batches-py"
    if not (folder / "test_batch").exists():
        if not download:
            raise InputError(
                f"no CIFAR-10 in {root} (want cifar-10-batches-py/); pass download=True "
                "(CLI: --download) to fetch the official archive"
            )
        download_cifar10(root)
        folder = root / "cifar-10-batches-py"
    train = [
        _read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6) if (folder / f"data_batch_{i}").exists()
    ]
    if not train:
        raise InputError(f"CIFAR-10 folder {folder} has no data_batch_1..5")
    x_test, y_test = _read_cifar_batch(folder / "test_batch")
    return Dataset(
        "cifar10",
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
    )


def download_cifar10(root: str | os.PathLike, url: str = CIFAR10_URL, md5: str = CIFAR10_MD5) -> Path:
    """Fetch and unpack the official CIFAR-10 archive into ``root``, checking its MD5.

    The archive goes to a temporary file first: an interrupted or corrupted download
    leaves nothing behind.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        archive = Path(tmp) / "cifar-10-python.tar.gz"
        digest = hashlib.md5()
        with urllib.request.urlopen(url, timeout=60) as r, open(archive, "wb") as f:
            for chunk in iter(lambda: r.read(1 << 20), b""):
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != md5:
            raise InputError(f"CIFAR-10 archive from {url} has MD5 {digest.hexdigest()}, want {md5}")
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # refuse links and paths out of the folder
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python without PEP 706; the MD5 vouches for the archive
                tar.extractall(tmp)
        os.replace(Path(tmp) / "cifar-10-batches-py", root / "cifar-10-batches-py")
    return root / "cifar-10-batches-py"


_MAX_CHANNELS = 4


def _as_nchw(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Images as N x C x H x W, from N x H x W, N x H x W x C or N x C x H x W (C <= 4):
    the layout is read from which axis is small; a shape where both could be is refused."""
    if x.dtype != np.uint8:
        raise InputError(f"{path}: {key} must be uint8 images, got {x.dtype}")
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        last, first = x.shape[3] <= _MAX_CHANNELS, x.shape[1] <= _MAX_CHANNELS
        if last and not first:
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        if first and not last:
            return np.ascontiguousarray(x)
        raise InputError(
            f"{path}: {key} has shape {x.shape}: give N x H x W x C or N x C x H x W "
            f"with C <= {_MAX_CHANNELS} channels and images larger than {_MAX_CHANNELS} pixels"
        )
    raise InputError(f"{path}: {key} must be N x H x W, N x H x W x C or N x C x H x W, got shape {x.shape}")


def _labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"{path}: {key} must be a 1-D array of integer labels, got {y.dtype} {y.shape}")
    return y.astype(np.int64)


def read_npz(path: str | os.PathLike, name: str | None = None) -> Dataset:
    """A user's ``.npz``: ``x``, ``y`` and optionally ``x_test``, ``y_test``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"dataset file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # zipfile, pickle and format errors all mean a bad file
        raise InputError(f"corrupted dataset file {path}: {e}") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise InputError(f"{path}: missing array {key!r} (have {sorted(arrays)})")
    x, y = _as_nchw(arrays["x"], path, "x"), _labels(arrays["y"], path, "y")
    if len(x) != len(y):
        raise InputError(f"{path}: {len(x)} images in x but {len(y)} labels in y")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise InputError(f"{path}: give both x_test and y_test, or neither")
    if "x_test" in arrays:
        xt, yt = _as_nchw(arrays["x_test"], path, "x_test"), _labels(arrays["y_test"], path, "y_test")
    else:
        perm = np.random.default_rng(0).permutation(len(x))
        n_test = max(1, len(x) // 10)
        x, xt, y, yt = x[perm[n_test:]], x[perm[:n_test]], y[perm[n_test:]], y[perm[:n_test]]
    if xt.shape[1:] != x.shape[1:]:
        raise InputError(f"{path}: test images {xt.shape[1:]} differ from training images {x.shape[1:]} (C x H x W)")
    _check_classes(y, yt, path)
    return Dataset(name or path.stem, x, y, xt, yt)


def _check_classes(y: np.ndarray, yt: np.ndarray, path: Path) -> None:
    """Labels must be 0 .. K-1 with K >= 2 and every class in the training split."""
    if len(y) == 0 or len(yt) == 0:
        raise InputError(f"{path}: needs training and test images, got {len(y)} and {len(yt)}")
    lo = min(y.min(), yt.min())
    k = int(y.max()) + 1
    if lo < 0:
        raise InputError(f"{path}: labels must be 0 .. K-1, found {lo}")
    present = np.unique(y)
    if k < 2 or len(present) != k:
        missing = sorted(set(range(min(k, 10**6))) - set(present.tolist()))[:5]
        raise InputError(
            f"{path}: labels must be 0 .. K-1 with K >= 2 classes, each in the training split; "
            f"found {len(present)} distinct label(s) up to {k - 1}" + (f" (missing e.g. {missing})" if missing else "")
        )
    if yt.max() >= k:
        raise InputError(f"{path}: test label {int(yt.max())} is not among the training classes 0 .. {k - 1}")


def _default_root(name: str) -> Path:
    env = os.environ.get("HICENV_DATA")
    return Path(env) / name if env else Path.home() / ".cache" / "hicenv" / name


def _resolve_root(name: str, root, defaults) -> Path:
    if root is not None:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"{name} data folder {root} does not exist")
        return root
    candidates = [_default_root(name), *map(Path, defaults)]
    for c in candidates:
        if c.is_dir():
            return c
    raise InputError(f"no {name} data folder found; looked in {[str(c) for c in candidates]}; pass one")


def load_dataset(name: str = "embedded", root: str | os.PathLike | None = None, download: bool = False) -> Dataset:
    """A dataset by name (see the module docstring)."""
    if str(name).endswith(".npz"):
        return read_npz(name)
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)} or a path ending in .npz")
    return DATASETS[name](root, download)


def _embedded_path() -> Path:
    return Path(__file__).parents[1] / "_data" / EMBEDDED_FILE


DATASETS: dict[str, Callable[[str | os.PathLike | None, bool], Dataset]] = {
    "embedded": lambda root, download: read_npz(_embedded_path(), name="embedded"),
    "fashion-mnist": lambda root, download: read_fashion_mnist(root),
    "cifar10": read_cifar10,
}
"""Datasets by name, each a loader ``(root, download) -> Dataset``; a path ending in
``.npz`` works too (:func:`read_npz`)."""


def make_embedded_subset(
    src: str | os.PathLike, out: str | os.PathLike, n_train: int = 1000, n_test: int = 300, seed: int = 0
) -> Path:
    """Write the embedded subset: ``n_train``/``n_test`` images per class, drawn with ``seed``."""
    ds = read_fashion_mnist(src)
    rng = np.random.default_rng(seed)

    def pick(y: np.ndarray, k: int) -> np.ndarray:
        idx = [rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(10)]
        return rng.permutation(np.concatenate(idx))

    tr, te = pick(ds.y_train, n_train), pick(ds.y_test, n_test)
    out = Path(out)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        x=ds.x_train[tr, 0],
        y=ds.y_train[tr].astype(np.uint8),
        x_test=ds.x_test[te, 0],
        y_test=ds.y_test[te].astype(np.uint8),
    )
    os.replace(tmp, out)
    return out


# -- batches on the device ----------------------------------------------------------------
class Batches:
    """Mini-batches of one split, resident on ``device``, normalised once.

    ``augment`` crops (zero padding ``pad`` pixels) and flips whole batches with
    tensor ops; ``shuffle`` draws a new order per epoch. Both use ``generator``.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        device: torch.device | str = "cpu",
        mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
        size: int = 32,
        shuffle: bool = False,
        augment: bool = False,
        flip: bool = True,
        pad: int = 4,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
        channels_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(device)
        h, w = xt.shape[-2:]
        if h > size or w > size:
            raise InputError(f"images are {h}x{w}, larger than the network input {size}x{size}")
        xt = xt.float().div_(255)
        if mean is None:
            mean = xt.mean(dim=(0, 2, 3))
            std = xt.std(dim=(0, 2, 3)).clamp_min(1e-3)
        self.mean, self.std = mean.to(device), std.to(device)
        xt = (xt - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        self._black = (-self.mean / self.std).view(1, -1, 1, 1)
        if (h, w) != (size, size):
            xt = self._pad(xt, (size - h) // 2, (size - w) // 2, size, size)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.x = xt.contiguous(memory_format=self.memory_format)
        self.y = torch.as_tensor(y, dtype=torch.long, device=device)
        self.batch_size = batch_size
        self.shuffle, self.augment, self.flip, self.pad = shuffle, augment, flip, pad
        self.drop_last = drop_last
        self.gen = generator
        self.device = torch.device(device)

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _rand(self, *shape: int, high: int | None = None) -> torch.Tensor:
        if high is None:
            return torch.rand(shape, generator=self.gen, device=self.device)
        return torch.randint(high, shape, generator=self.gen, device=self.device)

    def _pad(self, x: torch.Tensor, top: int, left: int, h: int, w: int) -> torch.Tensor:
        """``x`` placed at (top, left) on an h x w canvas of black (normalised) pixels."""
        canvas = self._black.expand(len(x), -1, h, w).clone()
        canvas[:, :, top : top + x.shape[2], left : left + x.shape[3]] = x
        return canvas

    def _augment(self, xb: torch.Tensor) -> torch.Tensor:
        b, _, h, w = xb.shape
        p = self.pad
        if p > 0:
            xp = self._pad(xb, p, p, h + 2 * p, w + 2 * p)
            dy, dx = self._rand(b, high=2 * p + 1), self._rand(b, high=2 * p + 1)
            rows = (dy[:, None] + torch.arange(h, device=xb.device))[:, :, None]  # b x h x 1
            cols = (dx[:, None] + torch.arange(w, device=xb.device))[:, None, :]  # b x 1 x w
            bi = torch.arange(b, device=xb.device)[:, None, None]
            xb = xp[bi, :, rows, cols].permute(0, 3, 1, 2)  # (b, h, w, c) -> (b, c, h, w)
        if self.flip:
            xb = torch.where(self._rand(b)[:, None, None, None] < 0.5, xb.flip(3), xb)
        return xb.contiguous(memory_format=self.memory_format)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.gen, device=self.device) if self.shuffle else None
        for i in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:
                xb, yb = self.x[i : i + self.batch_size], self.y[i : i + self.batch_size]
            else:
                idx = order[i : i + self.batch_size]
                xb, yb = self.x[idx], self.y[idx]
            yield (self._augment(xb) if self.augment else xb), yb
