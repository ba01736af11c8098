"""The README's measured figures are the stored files' and the files are the running code's.

A figure file names the simulator fingerprint it was made on; when the simulator changes,
this fails until the file is regenerated (the command is in the README beside the figure)
and the README quotes the new numbers.
"""

import re
from pathlib import Path

from hicenv.sim.fingerprint import sim_fingerprint

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _reproducibility_file() -> tuple[Path, str]:
    m = re.search(r"`(benchmarks/results/reproducibility-[\w-]+\.txt)`", README)
    assert m, "the README cites no reproducibility file"
    return ROOT / m.group(1), (ROOT / m.group(1)).read_text()


def test_the_readme_reproducibility_figures_are_the_stored_files():
    _, text = _reproducibility_file()
    quoted = re.search(
        r"gave accuracy ([\d.]+)% and final\s+training loss ([\d.]+) at 1 thread, ([\d.]+)% and ([\d.]+) at 2 threads",
        README,
    )
    assert quoted, "the README's reproducibility sentence changed shape"
    for threads, acc, loss in ((1, quoted[1], quoted[2]), (2, quoted[3], quoted[4])):
        stored = re.search(rf"threads {threads} run 0: accuracy ([\d.]+), train loss ([\d.]+)", text)
        assert f"{100 * float(stored[1]):.2f}" == acc and f"{float(stored[2]):.4f}" == loss, threads


def test_the_stored_reproducibility_file_is_of_the_running_simulator():
    path, text = _reproducibility_file()
    made = re.search(r"sim_fingerprint (\w+)", text.splitlines()[0])
    assert made, f"{path.name} records no simulator fingerprint"
    assert made[1] == sim_fingerprint(), (
        f"{path.name} was made on simulator {made[1]}, the code is {sim_fingerprint()}: rerun "
        "benchmarks/reproducibility.py and update the README"
    )
    assert made[1][:8] in README  # the README says which code its figures are of
