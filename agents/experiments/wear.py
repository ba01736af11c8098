"""How device wear grows with training: the runs that fit and validate wear projections.

A few designs spanning the bit splits (:data:`DESIGNS`) are trained with the proxy's
recipe at four lengths (:data:`RUNGS`): the proxy itself (234 steps on the embedded
7,500 images), 30,000 images (4x), all 60,000 Fashion-MNIST images once (8x) and twice
(16x, on three designs). Every result carries its write-count trajectory
(``wear_curve``), so a projection fitted on the proxy's trajectory is checked against
runs 4x to 16x longer (:mod:`hicenv.design.wear`; the table in
``studies/wear/REPORT.md``, written by ``hicenv wear report``).

The runs go through the experiments' runner (:mod:`hicenv_agents.experiments.runner`):
one JSON line per finished run under ``studies/wear/results``, a rerun continues.
"""

from __future__ import annotations

import sys

from hicenv.errors import InputError
from hicenv.sim.budget import BUDGETS, Budget
from hicenv_agents.args import Parser
from hicenv_agents.experiments.runner import add_run_options, check_results_arg, run_tasks

__all__ = ["DESIGNS", "RUNGS", "tasks", "main"]

_PROXY = BUDGETS["proxy"]
RUNGS: dict[str, Budget] = {
    "proxy": _PROXY,
    "wear-30k": _PROXY.replace(name="wear-30k", train_images=30_000, test_images=2000),
    "wear-60k": _PROXY.replace(name="wear-60k", train_images=None, test_images=2000),
    "wear-60k-2ep": _PROXY.replace(name="wear-60k-2ep", train_images=None, epochs=2, test_images=2000),
}
"""The proxy's recipe (batch 32, one-cycle SGD) at 1x, 4x, 8x and 16x its steps. Only
the data and the length change; the upper rungs test on 2,000 images (accuracy is not
what they measure)."""

DESIGNS: dict[str, dict] = {
    "2/2/6": {"msb_bits": 2, "lsb_bits": 2, "acc_bits": 6},
    "4/4/8": {"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8},
    "2/6/8": {"msb_bits": 2, "lsb_bits": 6, "acc_bits": 8},
    "6/6/12": {"msb_bits": 6, "lsb_bits": 6, "acc_bits": 12},
    "8/8/16": {"msb_bits": 8, "lsb_bits": 8, "acc_bits": 16},
    "4/4/8 diff": {"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8, "lsb_encoding": "differential"},
}
"""MSB/LSB/accumulator bits from 4 to 16 total bits, and one differential pair; width 1,
nominal noise, seed 0."""
LONGEST = ("2/2/6", "4/4/8", "8/8/16")
"""The designs also run at the 16x rung (two hours of one core each)."""


def tasks(data_root: str | None) -> list[dict]:
    """Every run: the proxy rung on the embedded data, the upper rungs (with ``data_root``,
    the full Fashion-MNIST folder) on all of it; shortest first, so a partial set fits."""
    from hicenv.sim.data import load_dataset
    from hicenv.sim.fingerprint import sim_fingerprint

    embedded = load_dataset("embedded").fingerprint
    full = load_dataset("fashion-mnist", data_root).fingerprint if data_root else None
    out = []
    for rung, budget in RUNGS.items():
        if rung != "proxy" and full is None:
            continue
        for label, config in DESIGNS.items():
            if rung == "wear-60k-2ep" and label not in LONGEST:
                continue
            out.append(
                {
                    "label": label,
                    "config": config,
                    "set": "wear",
                    "kind": "proxy" if rung == "proxy" else "long",
                    "budget": budget.to_dict(),
                    "budget_name": rung,
                    "seed": 0,
                    "sim_fingerprint": sim_fingerprint(),
                    "dataset_fingerprint": embedded if rung == "proxy" else full,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = Parser(
        prog="hicenv wear",
        description="Wear growth: train the validation runs (run; resumable) or write the projection's "
        "validation table (report).",
    )
    ap.add_argument("action", choices=["run", "report"])
    ap.add_argument("--results", default="studies/wear/results", help="folder of result files")
    ap.add_argument("--out", default="studies/wear/REPORT.md", help="report: where it goes")
    ap.add_argument("--data-root", default=None, help="run: the full Fashion-MNIST folder (the upper rungs)")
    add_run_options(ap, "run: ", device=False, stored=False)
    a = ap.parse_args(argv)
    check_results_arg(a.results, a.action, a.out)
    if a.action == "report":
        from hicenv_agents.experiments.wear_report import write_report

        path = write_report(a.results, a.out)
        print(f"-> {path}")
        return 0
    if a.data_root is None:
        raise InputError("hicenv wear run trains on the full Fashion-MNIST: give its folder with --data-root")
    left = run_tasks(
        a.results,
        tasks(a.data_root),
        data_root=a.data_root,
        workers=a.workers,
        threads=a.threads,
        deadline_s=a.deadline,
    )
    return 0 if left == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
