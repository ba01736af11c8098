"""The experiments' runner: tasks in, one JSON line per finished result out.

A task is a design point (``config``), a ``budget`` (a dict), a ``seed`` and its
``kind`` (``proxy``: trained on the embedded subset, as searches do; ``long``: on
the dataset given), plus names (``label``, ``set``, ``budget_name``) and optionally
``measure`` (``module:function``, :func:`hicenv.sim.trainer.evaluate`'s ``measure``). :func:`run_tasks`
trains them in several processes sharing one device and appends each result, as
soon as it is done, to a file per worker: a crash or a deadline loses at most the
runs in flight, and a rerun skips what is stored (:func:`task_key`: what determines
a result, never a name). The paper (:mod:`hicenv_agents.experiments.paper`) and the
bench (:mod:`hicenv_agents.experiments.bench`) make the tasks.

It needs hicenv's simulator alone (no Gymnasium, Optuna or SB3), so that it runs on
a bare GPU machine.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hicenv.errors import InputError, check_count, check_exists
from hicenv_agents.args import Parser, count_arg, device_arg, folder_arg, seconds_arg

__all__ = ["task_key", "load_results", "unique_results", "stored_keys", "run_tasks"]


def task_key(r: dict) -> str:
    """What determines a task's result: the full design point, the full budget, the
    dataset's content, the seed and the simulator's code (labels and budget names are
    only names). A result of other simulator code is not the task's: it is run again."""
    from hicenv.design.cache import cache_key
    from hicenv.sim.config import HICConfig

    config = HICConfig.from_dict(r["config"]).to_dict()
    return cache_key(config, r["budget"], r.get("dataset_fingerprint"), r["seed"], r.get("sim_fingerprint") or "none")


def stored_keys(folders, quiet: bool = False) -> set:
    """Keys of the finished results in ``folders``."""
    return {task_key(r) for folder in folders for r in load_results(folder, quiet) if not r.get("failed")}


RESULT_KEYS = ("config", "budget", "seed")
"""What every stored result holds (:func:`task_key` reads them)."""


def load_results(folder: str | os.PathLike, quiet: bool = False, required: tuple[str, ...] = RESULT_KEYS) -> list[dict]:
    """Every result line in ``folder``'s ``*.jsonl`` files: a JSON object holding the
    ``required`` keys. A torn last line (a crash mid-write: no newline) is skipped, its
    task reruns. Any other line is damage: skipped and named on stderr (``path:line``)
    unless ``quiet``; a file with no result at all (random bytes, another tool's JSON)
    is refused with an :class:`~hicenv.errors.InputError` naming it."""
    rows = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = text.splitlines()
        if lines and not text.endswith("\n"):
            lines.pop()  # torn: the writer ends every line with a newline
        found, damaged = _results_in(lines, required)
        if damaged and not found:
            raise InputError(
                f"{path} holds no results ({len(damaged)} line(s), none a JSON object with "
                f"{', '.join(required)}): not a results file; move it out of {folder}"
            )
        for i in damaged if not quiet else ():
            print(f"{path}:{i + 1}: not a result (damaged line), skipped", file=sys.stderr, flush=True)
        rows += found
    return rows


def _results_in(lines: list[str], required: tuple[str, ...]) -> tuple[list[dict], list[int]]:
    """The result objects among ``lines``, and the indices of the lines that are not."""
    found, damaged = [], []
    for i, line in enumerate(lines):
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            r = None
        if isinstance(r, dict) and all(k in r for k in required):
            found.append(r)
        elif line.strip():
            damaged.append(i)
    return found, damaged


def unique_results(rows: list[dict]) -> tuple[list[dict], int]:
    """One result per run (:func:`task_key`; the first stored), and how many duplicates
    were dropped: a run stored twice (two workers, a resumed kill) counts once."""
    seen, out = set(), []
    for r in rows:
        key = task_key(r)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out, len(rows) - len(out)


def _claim(out: str | os.PathLike, key: str):
    """An exclusive lock on the run ``key`` (``<out>/.running/<key>.lock``), held while it
    trains, or None where another process holds it: a run is trained once however many
    runners share the folder. The kernel drops the lock when its holder dies."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locks, as before
        return open(os.devnull)
    folder = Path(out) / ".running"
    folder.mkdir(parents=True, exist_ok=True)
    f = open(folder / f"{key}.lock", "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def _running_elsewhere(out, key: str) -> bool:
    """Whether another process holds the run's lock (:func:`_claim`) now."""
    if not (Path(out) / ".running" / f"{key}.lock").exists():
        return False
    lock = _claim(out, key)
    if lock is not None:
        lock.close()
    return lock is None


def _die_with_parent(parent: int) -> None:
    """End this worker when the runner (pid ``parent``) dies, even by SIGKILL (which no
    handler sees): Linux's parent-death signal, and a watchdog thread (any POSIX) for when
    the parent changes."""
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _resolve(name: str):
    """The function a task's ``measure`` names, as ``module:function``."""
    import importlib

    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _worker(
    rank: int, todo, out: str, device: str, dataset: str, data_root: str | None, threads: int, parent: int
) -> None:
    _die_with_parent(parent)  # first: the runner may be killed while torch loads
    import torch

    torch.set_num_threads(threads)
    data: dict = {}
    path = Path(out) / f"results-{os.uname().nodename}-{os.getpid()}-w{rank}.jsonl"
    while True:
        try:
            task = todo.get_nowait()
        except queue.Empty:
            return
        key = task_key(task)
        lock = _claim(out, key)
        if lock is None or key in stored_keys([out], quiet=True):  # training elsewhere, or finished meanwhile
            print(f"[w{rank}] {task['label']} seed {task['seed']}: done or running elsewhere", flush=True)
            if lock is not None:
                lock.close()
            continue
        with lock:
            _run_one(task, rank, path, data, dataset, data_root, device)


def _run_one(task: dict, rank: int, path: Path, data: dict, dataset: str, data_root, device: str) -> None:
    """Train one task and append its result to ``path`` (fsync'd before the next)."""
    from hicenv.sim.data import load_dataset
    from hicenv.sim.trainer import evaluate

    name, kind = task["budget_name"], task["kind"]
    if kind not in data:  # the proxy trains on the embedded subset, as searches do
        data[kind] = load_dataset("embedded") if kind == "proxy" else load_dataset(dataset, data_root)
    t = time.perf_counter()
    try:
        measure = _resolve(task["measure"]) if task.get("measure") else None
        r = evaluate(
            task["config"], task["budget"], seed=task["seed"], dataset=data[kind], device=device, measure=measure
        )
    except Exception as e:  # one broken point must not stop the panel
        r = {
            "failed": True,
            "failure_reason": f"{type(e).__name__}: {e}",
            "config": task["config"],
            "seed": task["seed"],
            "budget": {"name": name},
        }
    r.update({k: task[k] for k in _NAMES if k in task}, wall_seconds=time.perf_counter() - t, worker=rank)
    with open(path, "a") as f:
        f.write(json.dumps(r) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(
        f"[w{rank}] {task['label']} {name} seed {task['seed']}: acc {r.get('accuracy')} in {r['wall_seconds']:.1f} s",
        flush=True,
    )


_STARTING = {"now": False, "pending": None}


def _exit_on_sigterm(signum, frame):
    if _STARTING["now"]:  # a worker is being launched: stop once every one is tracked
        _STARTING["pending"] = signum
        return
    raise SystemExit(128 + signum)


def _start_all(procs) -> None:
    """Start the workers; a SIGTERM in the middle of ``start()`` waits until every one is
    tracked, or a launched worker its parent does not know of would train on as an orphan."""
    _STARTING.update(now=True, pending=None)
    try:
        for p in procs:
            p.start()
    finally:
        _STARTING["now"] = False
    if _STARTING["pending"] is not None:
        raise SystemExit(128 + _STARTING["pending"])


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


_NAMES = ("label", "budget_name", "kind", "set")
"""Task fields copied into its result: names, not determinants."""


def run_tasks(
    out: str | os.PathLike,
    tasks: list[dict],
    dataset: str = "fashion-mnist",
    data_root: str | None = None,
    device: str | None = None,
    workers: int = 1,
    deadline_s: float | None = None,
    threads: int | None = None,
    stored: list[str | os.PathLike] = (),
) -> int:
    """Train every task whose result is not in ``out`` or the ``stored`` folders, in
    ``workers`` processes; returns how many are left. At ``deadline_s`` seconds the
    workers stop: finished results are on disk, runs in flight are rerun later."""
    check_count(workers, "workers")
    Path(out).mkdir(parents=True, exist_ok=True)
    done = stored_keys([out, *stored])
    todo, busy = [], []
    for t in tasks:  # one key a task: stored, running elsewhere, or to do
        key = task_key(t)
        if key not in done:
            (busy if _running_elsewhere(out, key) else todo).append(t)
    elsewhere = f", {len(busy)} running elsewhere" if busy else ""
    print(
        f"{len(todo)} runs to do ({len(tasks) - len(todo) - len(busy)} stored{elsewhere}) with {workers} worker(s)",
        flush=True,
    )
    if not todo:
        return len(busy)
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    ctx = mp.get_context("spawn")  # CUDA cannot be forked
    q = ctx.Queue()
    for t in todo:
        q.put(t)
    procs = [
        ctx.Process(
            target=_worker, args=(i, q, str(out), device, dataset, data_root, threads, os.getpid()), daemon=True
        )
        for i in range(workers)
    ]
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if _main_thread() else None
    try:
        _start_all(procs)
        t_end = None if deadline_s is None else time.monotonic() + deadline_s
        for p in procs:
            p.join(None if t_end is None else max(0.0, t_end - time.monotonic()))
    finally:  # a deadline, Ctrl-C or SIGTERM stops the workers too: no orphans left training
        if previous is not None:  # a second SIGTERM (e.g. from `timeout`) must not cut this cleanup short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Tasks no worker took may sit in the queue's feeder thread, blocked on a full pipe
        # nobody reads: without this the process hung at exit after SIGTERM or a deadline.
        q.cancel_join_thread()
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
            elif p.exitcode:
                print(f"a worker exited with code {p.exitcode}", file=sys.stderr, flush=True)
        q.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    finished = stored_keys([out])
    left = sum(task_key(t) not in finished for t in todo + busy)
    print(f"{len(todo) - left} runs finished, {left} left", flush=True)
    return left


def add_run_options(ap, scope: str = "", device: bool = True, stored: bool = True) -> None:
    """The runner's options (``--workers``, ``--threads``, ``--deadline``, and ``--device``,
    ``--stored`` where asked), each checked when parsed: a bad value is one line, exit 2,
    before any work. ``scope`` prefixes their help (e.g. ``"run: "``)."""
    ap.add_argument("--workers", type=count_arg, default=1, help=f"{scope}processes training side by side")
    ap.add_argument("--threads", type=count_arg, default=None, help=f"{scope}torch threads per worker")
    ap.add_argument("--deadline", type=seconds_arg, default=None, help=f"{scope}stop after this many seconds")
    if device:
        ap.add_argument("--device", type=device_arg, default=None, help=f"{scope}torch device (default: cuda if any)")
    if stored:
        ap.add_argument(
            "--stored",
            type=folder_arg,
            action="append",
            default=[],
            help=f"{scope}a folder of results not to redo (repeatable)",
        )


def check_results_arg(folder: str, action: str, report: str) -> None:
    """``--results`` and ``--out`` checked before any work: ``run`` writes into the folder
    ``--results``; ``report`` reads it and writes the Markdown file ``--out``."""
    from hicenv.output import check_folder, check_output

    if action == "run":
        check_folder(folder, "--results")
        return
    check_exists(folder, "--results", folder=True)
    check_output(report, "--out", (".md",))


def experiment_main(argv, name: str, description: str, tasks: Callable[[], list[dict]], report) -> int:
    """The ``hicenv <name> run|report`` command of an experiment trained on the embedded
    data: ``run`` trains ``tasks()`` into ``studies/<name>/results`` (resumable),
    ``report(results, out)`` writes ``studies/<name>/REPORT.md`` and returns its path."""

    ap = Parser(prog=f"hicenv {name}", description=description)
    ap.add_argument("action", choices=["run", "report"])
    ap.add_argument("--results", default=f"studies/{name}/results", help="folder of result files")
    ap.add_argument("--out", default=f"studies/{name}/REPORT.md", help="report: where it goes")
    add_run_options(ap, "run: ", device=False, stored=False)
    a = ap.parse_args(argv)
    check_results_arg(a.results, a.action, a.out)
    if a.action == "report":
        print(f"-> {report(a.results, a.out)}")
        return 0
    left = run_tasks(
        a.results, tasks(), dataset="embedded", workers=a.workers, threads=a.threads, deadline_s=a.deadline
    )
    return 0 if left == 0 else 3


def make_task(p: dict, budget, seed: int, kind: str, dataset_fingerprint: str, **extra) -> dict:
    """One task: point ``p`` (``label``, ``config``, ``set``) under ``budget`` (a
    :class:`~hicenv.sim.budget.Budget`) at ``seed``, stamped with today's simulator
    fingerprint and the data's; ``extra`` fields (e.g. ``measure``) are added."""
    from hicenv.sim.fingerprint import sim_fingerprint

    return {
        "label": p["label"],
        "config": p["config"],
        "set": p["set"],
        "kind": kind,
        "budget": budget.to_dict(),
        "budget_name": budget.name,
        "seed": seed,
        "sim_fingerprint": sim_fingerprint(),
        "dataset_fingerprint": dataset_fingerprint,
        **extra,
    }
