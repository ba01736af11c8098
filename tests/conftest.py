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


def run_cli(*args, cwd=None, env=None, timeout=None):
    """``hicenv ARGS`` in this process, as :func:`subprocess.run` would report it (returncode,
    stdout, stderr): the CLI's ``main`` with its streams captured, warnings printed to its
    stderr as a fresh process would, ``cwd`` and ``env`` set for the call only. About 2 s of
    imports cheaper than a subprocess; a test of what needs a process (``python -m``, Ctrl-C,
    exit codes of the interpreter) starts one instead. ``timeout`` is accepted and unused."""
    import contextlib
    import io
    import os
    import subprocess
    import sys
    import traceback
    import warnings

    from hicenv_agents.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_env = os.getcwd(), dict(os.environ)
    argv = [str(a) for a in args]
    try:
        if cwd is not None:
            os.chdir(cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = lambda m, c, f, n, file=None, line=None: sys.stderr.write(
                warnings.formatwarning(m, c, f, n, line)
            )
            try:
                code = main(argv)
            except SystemExit as e:  # argparse: --help, bad flags
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Exception:  # a bug: the traceback a process would print, status 1
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(old_cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(old_env)
    return subprocess.CompletedProcess(["hicenv", *argv], code, out.getvalue(), err.getvalue())
