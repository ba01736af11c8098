"""Regenerate tests/data/paper_tiny: the paper panel, really trained at a tiny budget,
and tests/data/paper_tiny_encodings: the bit splits under both LSB encodings.

    python tests/data/make_paper_tiny.py              # both, about 3 minutes on 2 CPU cores
    python tests/data/make_paper_tiny.py encodings    # the encodings only

ResNet-8 on a few hundred embedded images: the numbers mean nothing, but every
field the report reads is a real simulator output.
"""

import sys
from pathlib import Path

from hicenv.sim.budget import Budget
from hicenv_agents.experiments import paper

OUT = Path(__file__).parent / "paper_tiny"
ENCODINGS_OUT = Path(__file__).parent / "paper_tiny_encodings"
LONG = Budget(
    name="tiny-long",
    train_images=512,
    epochs=1,
    test_images=256,
    drift_test_images=128,
    batch_size=32,
    depth=8,
    lr=0.05,
    label_smoothing=0.1,
    augment=False,
)
PROXY = Budget(
    name="tiny-proxy",
    train_images=256,
    epochs=1,
    test_images=128,
    drift_test_images=64,
    batch_size=32,
    depth=8,
    lr=0.05,
    label_smoothing=0.1,
    augment=False,
)

if __name__ == "__main__":
    if sys.argv[1:] != ["encodings"]:
        paper.run(OUT, [0, 1], LONG, dataset="embedded", device="cpu", workers=2, proxy_budget=PROXY, threads=1)
    paper.run(
        ENCODINGS_OUT,
        [0, 1],
        LONG,
        dataset="embedded",
        device="cpu",
        workers=2,
        proxy_budget=None,
        threads=1,
        points=paper.POINT_SETS["encodings"],
    )
