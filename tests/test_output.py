"""Output paths: written atomically, to the path given and nowhere else."""

import os
import subprocess
import sys

import pytest

from hicenv.output import check_output, write_atomically


def hicenv(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "hicenv_agents.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def test_a_regular_file_is_replaced_and_no_temporary_file_is_left(tmp_path):
    target = tmp_path / "f.csv"
    target.write_text("old")
    write_atomically(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"]


def test_a_planted_link_at_the_old_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "f.tmp.csv").symlink_to(victim)  # the name the old writer used
    write_atomically(tmp_path / "f.csv", lambda tmp: tmp.write_text("data"))
    assert victim.read_text() == "keep me" and (tmp_path / "f.csv").read_text() == "data"


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    # like /dev/null or /dev/stdout (the old writer renamed a regular file over /dev/null
    # as root): a FIFO here, so that a regression cannot damage the machine's devices
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_atomically(fifo, lambda tmp: tmp.write_text("streamed"))
    reader.join(10)
    assert got == ["streamed"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_failed_writer_leaves_the_old_file(tmp_path):
    target = tmp_path / "f.csv"
    target.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(target, broken)
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: d / "nodir" / "x.csv", "folder .*nodir does not exist"),
        (lambda d: d, "is a folder"),
    ],
)
def test_unwritable_paths_are_refused_naming_them(tmp_path, make, match):
    with pytest.raises(ValueError, match=match):
        check_output(make(tmp_path))


def test_dash_streams_to_standard_output(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hicenv.output import write_atomically; write_atomically('-', lambda tmp: tmp.write_text('hello'))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert p.returncode == 0 and p.stdout == "hello" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, flag",
    [
        (["evaluate", "--budget", "smoke", "--out", "nodir/x.json"], "--out"),
        (["table", "--out", "o.txt"], "--out"),
        (["table"], "--out"),
        (["study", "STUDY", "--plot", "front"], "--plot"),
        (["compare", "--out", "nodir/c.csv"], "--out"),
        (["rl", "--algo", "random", "--out", "nodir/d.csv"], "--out"),
    ],
)
def test_outputs_are_checked_before_any_work(tmp_path, args, flag):
    study = tmp_path / "s.toml"
    study.write_text('trials = 1\nbackend = "table"\nnoise = 1.0\n')
    args = [str(study) if a == "STUDY" else a for a in args]
    p = subprocess.run(
        [sys.executable, "-m", "hicenv_agents.cli", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert p.returncode == 2 and flag in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["s.toml"]  # nothing written, nothing trained


def test_two_writers_to_one_path_both_finish_and_leave_one_whole_file(tmp_path):
    import threading

    from hicenv.output import write_atomically

    target = tmp_path / "front.csv"
    errors = []

    def writer(k: int) -> None:
        try:
            for i in range(25):
                text = f"writer {k} write {i}\n" * 200
                write_atomically(target, lambda tmp, text=text: tmp.write_text(text))
        except Exception as e:  # the old fixed temporary name raised FileNotFoundError here
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lines = target.read_text().splitlines()
    assert len(lines) == 200 and len(set(lines)) == 1  # one writer's whole file, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["front.csv"]  # no temporary file left


def test_written_files_get_the_mode_open_would_give_and_keep_an_existing_mode(tmp_path):
    import os
    import stat

    from hicenv.output import write_atomically

    old = os.umask(0o022)
    try:
        fresh = write_atomically(tmp_path / "a.txt", lambda t: t.write_text("x"))
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not mkstemp's private 0600
        kept = tmp_path / "b.txt"
        kept.write_text("old")
        kept.chmod(0o640)
        write_atomically(kept, lambda t: t.write_text("new"))
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"
    finally:
        os.umask(old)


def test_parquet_without_pyarrow_is_refused_before_work_naming_the_extra(tmp_path, monkeypatch):
    import importlib.util

    import pandas as pd

    from hicenv.output import read_table, write_table

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a))
    with pytest.raises(ValueError, match=r"pip install 'hicenv\[parquet\]'"):
        check_output(tmp_path / "t.parquet")
    with pytest.raises(ValueError, match=r"hicenv\[parquet\]"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    (tmp_path / "r.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match=r"hicenv\[parquet\]"):
        read_table(tmp_path / "r.parquet")
    assert not (tmp_path / "t.parquet").exists()
