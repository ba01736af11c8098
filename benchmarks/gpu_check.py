"""One short GPU check: the CUDA path against the CPU, then GPU throughput, in one go.

    python benchmarks/gpu_check.py                 # on a machine with CUDA, about 3 minutes
    python benchmarks/gpu_check.py --device cpu    # dry run of the script itself

1. Correctness: the hand-worked HIC update sequence (ideal devices) gives the same
   codes, accumulator and write counters on the device as on the CPU; with noise on,
   read-noise and programming-noise statistics over 10^5 devices agree within 2%;
   a tiny training run finishes and learns.
2. Throughput of ResNet-32 width 1, HIC 4/4/8 and FP32, per batch size and memory
   format: median step time over timed steps after warm-up (CUDA events after a
   synchronise), images per second, HIC/FP32 ratio. Each lever is measured, not
   assumed (small convolutions on big GPUs surprise: see PITFALLS).

The last line printed is one JSON object with every figure and the machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import hicenv
from hicenv.config import HICConfig
from hicenv.data import Batches, load_dataset
from hicenv.devices import PCMParams, read, read_noise_q, sigma_prog, program
from hicenv.hybrid import HybridWeights
from hicenv.trainer import Budget, build, evaluate, train_step


def hand_sequence(device: str) -> dict:
    """The sequence of tests/test_hybrid.py's hand-worked test, on ``device``."""
    w = torch.tensor([0.5, 0.125, -0.125, 0.0], device=device)
    cfg = HICConfig(msb_bits=2, lsb_bits=2, acc_bits=4, rounding="nearest", noise=0.0)
    hw = HybridWeights(["w"], [w], cfg, torch.Generator(device).manual_seed(0))
    for dw in ([-0.25, 0, 0, 0], [-0.75, 0, 1.0, 0], [1.0, 0, 0, 0], [5.0, 0, 0, 0], [5.0, 0, 0, 0],
               [5.0, 0, 0, 0], [5.0, 0, 0, 0], [0, -5.0, 0, 0]):
        hw.flat += torch.tensor(dw, device=device) * hw.delta
        hw.update()
    m, level = hw.codes()
    return {"codes": (m * 4 + level).tolist(), "chi": hw.chi.tolist(), "flips": hw.msb_flips.tolist(),
            "sets": hw.ml_sets.tolist(), "resets": hw.ml_resets.tolist(), "saturations": int(hw.saturations)}


def noise_stats(device: str) -> dict:
    p = PCMParams()
    g = torch.full((100_000,), 0.5, device=device)
    gen = torch.Generator(device).manual_seed(0)
    prog = (program(g, p, 1.0, gen) - g).std().item() / sigma_prog(torch.tensor(0.5), p).item()
    r = read(g, read_noise_q(g), 3600.0, p, 1.0, gen)
    return {"prog_std_over_fit": prog, "read_std": (r - g).std().item()}


def check(device: str) -> dict:
    cpu, dev = hand_sequence("cpu"), hand_sequence(device)
    assert cpu == dev, f"hand-worked sequence differs on {device}: {dev} vs {cpu}"
    ns_cpu, ns_dev = noise_stats("cpu"), noise_stats(device)
    assert abs(ns_dev["prog_std_over_fit"] - 1) < 0.02, ns_dev
    assert abs(ns_dev["read_std"] / ns_cpu["read_std"] - 1) < 0.02, (ns_dev, ns_cpu)
    t = time.perf_counter()
    tiny = Budget(name="tiny", train_images=2048, epochs=2, test_images=512, drift_test_images=256,
                  batch_size=64, depth=8, lr=0.05)
    r = evaluate(HICConfig(), tiny, seed=0, device=device)
    assert not r["failed"] and r["accuracy"] > 0.4, r["accuracy"]
    return {"hand_sequence_equal": True, "noise_stats": ns_dev, "tiny_accuracy": r["accuracy"],
            "tiny_seconds": time.perf_counter() - t}


def step_ms(config, batch, device, channels_last, steps, warmup) -> float:
    model, hw, opt = build(config, Budget(), 1, 10, device, torch.Generator().manual_seed(0),
                           torch.Generator(device).manual_seed(0), channels_last=channels_last)
    xb, yb = next(iter(batch))
    if channels_last:
        xb = xb.contiguous(memory_format=torch.channels_last)
    for _ in range(warmup):
        train_step(model, opt, hw, xb, yb)
    times = []
    for _ in range(steps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(device)
            start.record()
            train_step(model, opt, hw, xb, yb)
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            train_step(model, opt, hw, xb, yb)
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batches", default="128,256,512")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    device = torch.device(args.device)
    out = {"device": str(device), "torch": torch.__version__, "hicenv": hicenv.__version__}
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    out["check"] = check(args.device)
    print("correctness:", json.dumps(out["check"]), flush=True)
    ds = load_dataset("embedded")
    rows = []
    for bs in [int(b) for b in args.batches.split(",")]:
        batch = Batches(ds.x_train[:bs], ds.y_train[:bs], bs, device)
        for cl in (False, True):
            f = step_ms(HICConfig(fp32=True), batch, device, cl, args.steps, 5)
            h = step_ms(HICConfig(4, 4, 8), batch, device, cl, args.steps, 5)
            row = {"batch": bs, "channels_last": cl, "fp32_ms": round(f, 3), "hic_ms": round(h, 3),
                   "hic_over_fp32": round(h / f, 4), "hic_images_per_second": round(bs / h * 1e3)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    best = max(rows, key=lambda r: r["hic_images_per_second"])
    out.update(throughput=rows, hic_images_per_second=best["hic_images_per_second"], best=best)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
