"""The paper experiment: its runner (resumable, deadline) and the report generator.

The report is generated from tests/data/paper_tiny, the real panel trained at a
tiny budget (tests/data/make_paper_tiny.py): every field is a simulator output.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from hicenv.sim.budget import Budget
from hicenv_agents.experiments import paper
from hicenv_agents.experiments.paper_claims import ReportError
from hicenv_agents.experiments.paper_report import write_report

TINY = Path(__file__).parent / "data" / "paper_tiny"
TINY_ENCODINGS = Path(__file__).parent / "data" / "paper_tiny_encodings"


def _rows():
    return paper.load_results(TINY)


def _write(rows, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "results.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return folder


def test_panel_covers_the_issue_grid():
    labels = {p["label"] for p in paper.PANEL}
    for w in ("1", "1.5", "2"):
        assert f"fp32 w{w}" in labels
        for split in ("4/4/8", "3/5/8", "2/6/8", "4/4/16", "4/4/f32"):
            assert f"hic {split} w{w}" in labels
    assert len(paper.PANEL) >= 12
    order = paper.tasks([0, 1], paper.LONG_BUDGETS["full-2ep"])
    assert [t["seed"] for t in order[: 2 * len(paper.PANEL)]] == [0] * 2 * len(paper.PANEL)  # seed 0 first


def test_report_answers_every_claim_from_the_stored_results(tmp_path):
    report = write_report([TINY], tmp_path).read_text()
    for heading in ("Claim 1", "Claim 2", "Claim 3", "Claim 4", "Proxy fidelity", "Limits"):
        assert f"## {heading}" in report, heading
    rows = [r for r in _rows() if r["budget_name"] == "tiny-long"]
    base = [r["accuracy"] for r in rows if r["label"] == "fp32 w1"]
    # the baseline figure is the mean and sd of the stored runs, not a constant
    assert f"**{100 * np.mean(base):.2f} ± {100 * np.std(base, ddof=1):.2f} %**" in report
    # claim 4 names the most-written device of any single run, and the worst point's mean apart
    hic = [r for r in rows if not r["config"].get("fp32")]
    assert f"written **{max(r['max_write_cycles'] for r in hic)} times**" in report
    worst_mean = max(
        np.mean([r["max_write_cycles"] for r in hic if r["label"] == lab]) for lab in {r["label"] for r in hic}
    )
    assert re.search(rf"the most is hic [^:]+: {worst_mean:.0f} ± \d+", report)
    # the extrapolation uses this data's steps: 160 epochs of 512 images at batch 32 over the 1-epoch run
    assert "(160× the steps, an extrapolation)" in report
    assert "- Seeds: 2 per point" in report  # counted, not written down
    assert re.search(r"\| tiny-proxy \| 18 \| 2 \| 256 \(8\) \| -?\d\.\d\d ± \d\.\d\d \|", report)
    for png in ("claims_size.png", "drift.png", "write_cycles.png", "proxy_fidelity.png"):
        assert (tmp_path / png).stat().st_size > 10_000, png
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 1 + len(_rows())


def test_report_answers_claim_3_under_both_encodings(tmp_path):
    report = write_report([TINY, TINY_ENCODINGS], tmp_path).read_text()
    section = report.split("## Claim 3 under both LSB encodings")[1].split("## Claim 4")[0]
    rows = paper.load_results(TINY_ENCODINGS)
    assert {r["config"]["lsb_encoding"] for r in rows} == {"unsigned", "differential"}
    for split in ("4/4", "3/5", "2/6"):
        for enc in ("unsigned", "differential"):
            g = [
                r
                for r in rows
                if r["config"]["lsb_encoding"] == enc
                and f"{r['config']['msb_bits']}/{r['config']['lsb_bits']}" == split
            ]
            loss = [r["accuracy_drift"]["0s"] - r["accuracy_drift"]["1y"] for r in g]
            # the table's figure is the mean and sd of the stored runs
            assert f"| {split} | {enc} | {len(g)} |" in section
            assert f"{100 * np.mean(loss):.2f} ± {100 * np.std(loss, ddof=1):.2f}" in section
    assert (tmp_path / "encodings.png").stat().st_size > 10_000
    assert "Not run" in write_report([TINY], tmp_path / "panel_only").read_text()


@pytest.mark.parametrize(
    "damage, claim",
    [
        (lambda r: r if r["label"] != "fp32 w1" else None, "claims 1-2"),
        (lambda r: r if not r["label"].endswith("w2") else None, "claim 1"),
        (
            lambda r: {**r, "accuracy_drift_gdc": {k: v for k, v in r["accuracy_drift_gdc"].items() if k != "1y"}},
            "claim 3",
        ),
        (
            lambda r: {**r, "write_cycles": None, "max_write_cycles": None} if not r["config"].get("fp32") else r,
            "claim 4",
        ),
        (lambda r: r if r["budget_name"] != "tiny-proxy" or r["label"].endswith("w1") else None, "proxy fidelity"),
    ],
)
def test_a_missing_figure_fails_the_report_and_names_its_claim(tmp_path, damage, claim):
    rows = [d for d in (damage(r) for r in _rows()) if d is not None]
    with pytest.raises(ReportError, match=claim):
        write_report([_write(rows, tmp_path / "in")], tmp_path / "out")
    assert not (tmp_path / "out" / "REPORT.md").exists()


def test_runner_stores_each_result_once_and_resumes(tmp_path, capsys):
    budget = Budget(name="t", train_images=64, epochs=1, test_images=32, drift_test_images=16, batch_size=32, depth=8)
    points = paper.PANEL[:2]
    out = tmp_path / "res"
    assert (
        paper.run(out, [0], budget, dataset="embedded", device="cpu", proxy_budget=None, points=points, threads=1) == 0
    )
    rows = paper.load_results(out)
    assert sorted(r["label"] for r in rows) == sorted(p["label"] for p in points)
    assert all(r["budget_name"] == "t" and r["seed"] == 0 and not r["failed"] for r in rows)
    with open(next(out.glob("*.jsonl")), "a") as f:
        f.write('{"torn": ')  # a crash mid-write leaves a partial line: skipped, not fatal
    capsys.readouterr()
    assert paper.run(out, [0], budget, dataset="embedded", device="cpu", proxy_budget=None, points=points) == 0
    assert "0 runs to do (2 stored)" in capsys.readouterr().out
    assert len(paper.load_results(out)) == 2


def test_runner_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown long budget"):
        paper.run(tmp_path, [0], "fortnight")
    with pytest.raises(ValueError, match="workers"):
        paper.run(tmp_path, [0], workers=0)


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\tZ" not in next(line for line in status.splitlines() if line.startswith("State:"))


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from Linux /proc")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_the_runners_end_stops_the_workers_too_even_by_sigkill(tmp_path, sig):
    import signal
    import subprocess
    import sys
    import time

    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hicenv_agents.experiments.paper",
            "--out",
            str(tmp_path),
            "--device",
            "cpu",
            "--workers",
            "2",
            "--threads",
            "1",
            "--proxy-candidates",
            "--seeds",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children_file = Path(f"/proc/{runner.pid}/task/{runner.pid}/children")
    workers: list[int] = []
    for _ in range(300):  # wait until both workers run (torch import takes seconds)
        time.sleep(0.1)
        pids = [int(p) for p in children_file.read_text().split()] if children_file.exists() else []
        workers = [p for p in pids if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text(errors="ignore")]
        if len(workers) == 2:
            break
    assert len(workers) == 2, "the runner did not start its workers"
    runner.send_signal(getattr(signal, sig))  # SIGKILL: no handler runs; the workers must see it
    assert runner.wait(timeout=60) != 0
    for _ in range(600):  # a worker still importing (seconds on a loaded machine) ends once it runs
        if not any(_alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)  # gone, not left training as orphans
