"""Faults a user's machine produces: links for outputs, a full device, a damaged cache,
a journal lock left by a killed process, two processes filling one study."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from hicenv.errors import InputError
from hicenv.output import write_atomically


def test_a_link_to_a_file_stays_a_link_and_its_target_is_replaced(tmp_path):
    (tmp_path / "real.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to("real.csv")
    write_atomically(tmp_path / "link.csv", lambda tmp: tmp.write_text("new\n"))
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "real.csv").read_text() == "new\n"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux's /proc")
def test_a_link_into_proc_like_dev_stdout_is_written_into_not_replaced(tmp_path):
    sink = open(tmp_path / "sink.txt", "w+b")
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{sink.fileno()}")  # what /dev/stdout is, to the shell's file
    write_atomically(link, lambda tmp: tmp.write_text("data\n"))
    sink.seek(0)
    assert link.is_symlink() and sink.read() == b"data\n"
    sink.close()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_one_line_naming_it():
    with pytest.raises(InputError, match=r"^cannot write /dev/full: No space left on device$"):
        write_atomically("/dev/full", lambda tmp: tmp.write_text("x" * 10000))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_the_cli_says_a_full_device_in_one_line_and_exit_2(capsys):
    from hicenv_agents.cli import main

    tiny = ["--budget", "smoke", "--budget.train-images", "32", "--budget.test-images", "16", "--budget.depth", "8"]
    code = main(["evaluate", *tiny, "--budget.drift-test-images", "8", "--cache", "none", "--out", "/dev/full"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "hicenv evaluate: error: cannot write /dev/full: No space left on device", err


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from hicenv_agents.search.journal import journal_lock
    journal_lock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(600)
    """
)


def _holder(path):
    p = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_a_journal_lock_of_a_killed_process_is_cleared_a_live_ones_is_not(tmp_path):
    from hicenv_agents.search.journal import clear_stale_lock

    journal = tmp_path / "s.log"
    journal.write_text("")
    live = _holder(journal)
    try:
        assert not clear_stale_lock(journal) and os.path.islink(f"{journal}.lock")  # its holder runs
    finally:
        live.kill()
        live.wait()
    assert clear_stale_lock(journal)  # killed (SIGKILL: no cleanup ran): the lock is stale at once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.log"]  # the lock and its owner file gone


def test_a_study_resumed_after_a_killed_lock_holder_does_not_wait_for_the_grace_period(tmp_path):
    from hicenv_agents.search.storage import resolve_storage

    journal = tmp_path / "s.log"
    resolve_storage(str(journal))  # a journal
    holder = _holder(journal)
    holder.kill()
    holder.wait()
    t = time.perf_counter()
    storage = resolve_storage(str(journal))
    storage.get_all_studies()  # reads under the lock
    assert time.perf_counter() - t < 20  # Optuna alone waits out its 30 s grace period
    assert not os.path.lexists(f"{journal}.lock")


TABLE_STUDY = "trials = 10\nbackend = 'table'\nsampler = 'random'\nseed = {seed}\n"


def test_two_processes_filling_one_study_stop_at_its_target(tmp_path):
    import optuna

    from hicenv_agents.search.optuna_study import point_of

    journal = tmp_path / "s.log"
    files = []
    for seed in (0, 1):
        f = tmp_path / f"s{seed}.toml"
        f.write_text(TABLE_STUDY.format(seed=seed))
        files.append(f)
    cmd = [sys.executable, "-m", "hicenv_agents.cli", "study"]
    args = ["--storage", str(journal), "--study-name", "shared", "--cache", "none"]
    procs = [subprocess.Popen([*cmd, str(f), *args], stderr=subprocess.PIPE, text=True) for f in files]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    from hicenv_agents.search.storage import resolve_storage

    study = optuna.load_study(study_name="shared", storage=resolve_storage(str(journal)))
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    distinct = {point_of(t) for t in done}
    assert 10 <= len(distinct) <= 11, errs  # before: 7 (the other's trials counted as barren)
