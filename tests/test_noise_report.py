"""The noise decomposition (agents/experiments/noise_report.py) on hand-worked runs."""

import json

import numpy as np
import pytest

from hicenv_agents.experiments import noise_report


def _run(label: str, draws: list[list[int]], seed: int = 0) -> dict:
    bits = [np.packbits(np.array(d, dtype=np.uint8)).tobytes().hex() for d in draws]
    return {
        "set": "noise",
        "label": label,
        "seed": seed,
        "config": {},  # what every stored result holds (the runner's loader asks for them)
        "budget": {},
        "failed": False,
        "train_seconds": 50.0,
        "sim_fingerprint": "f",
        "machine": "test",
        "measured": {"images": len(draws[0]), "bits": bits, "draw_seconds": 0.004 * len(draws[0]), "horizon": "1y"},
    }


def test_components_split_one_run_into_its_draws_and_its_images_by_hand():
    # Draws [1,1,0,0] and [1,1,1,0]: accuracies 0.5 and 0.75, variance (ddof 1) 0.03125.
    # Per-image means p = [1, 1, .5, 0], var 0.229167, less each p's own sampling
    # variance (the draws' spread 0.125 / 2 draws = 0.0625): 0.166667, over 4 images.
    run = _run("a", [[1, 1, 0, 0], [1, 1, 1, 0]])
    c = noise_report.components({"a": [noise_report.correctness(run)]}, n=4, k=1)
    assert c["draw"] == pytest.approx(0.03125)
    assert c["images"] == pytest.approx((0.6875 / 3 - 0.0625) / 4)
    assert np.isnan(c["seed"]) and np.isnan(c["images_paired_difference"])
    assert noise_report.components({"a": [noise_report.correctness(run)]}, n=4, k=2)["draw"] == pytest.approx(0.015625)


def test_extra_seconds_count_eight_reads_everywhere_and_two_at_the_focus():
    # 1 ms an image: 500 images x 1 draw x 8 reads is the 4 s base.
    everywhere, focus = noise_report.extra_seconds(1000, 4, 0.001)
    assert everywhere == pytest.approx(8 * 4 - 4) and focus == pytest.approx(6 + 8 - 4)
    assert noise_report.extra_seconds(500, 1, 0.001) == (pytest.approx(0.0), pytest.approx(0.0))


def test_report_states_the_benchs_setting_and_the_variance_it_removes(tmp_path):
    rng = np.random.default_rng(0)
    rows = [_run(f"d{j}", (rng.random((8, 1000)) < 0.6 + 0.05 * j).astype(int).tolist()) for j in range(3)]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = noise_report.write_report(str(tmp_path), str(tmp_path / "REPORT.md")).read_text()
    assert "3 designs x seeds [0]" in text
    assert "**HIC-Bench v2's setting**: 1000 drift images and 4 draws" in text
    assert "| 1000 | 4 |" in text and "variance gone" in text
