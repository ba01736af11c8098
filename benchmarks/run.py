"""HIC training-step time over FP32 training-step time, measured in one run.

    python benchmarks/run.py            # ResNet-32, widths 1 and 2
    python benchmarks/run.py --quick    # width 1 only, fewer repeats

Both models train on the same batch of embedded Fashion-MNIST images on the same
machine; FP32 and HIC steps are timed in alternating blocks so that machine noise
hits both alike, and the ratio of medians is reported. HIC steps include read
noise, the accumulator, carries, write counters and reprogramming. The last line
printed is one JSON object with the figures and the machine.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

import hicenv
from hicenv.config import HICConfig
from hicenv.data import Batches, load_dataset
from hicenv.trainer import Budget, build, train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_times(config, batches, device, steps, warmup, seed=0):
    """Seconds per training step over ``steps`` steps after ``warmup`` untimed ones."""
    model, hw, opt = build(config, Budget(), 1, 10, device,
                           torch.Generator().manual_seed(seed), torch.Generator(device).manual_seed(seed))
    xb, yb = next(iter(batches))
    for _ in range(warmup):
        train_step(model, opt, hw, xb, yb)
    _sync(device)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        train_step(model, opt, hw, xb, yb)
        _sync(device)
        times.append(time.perf_counter() - t)
    return times


def hic_over_fp32(width, batches, device, blocks, steps, warmup):
    fp32, hic = [], []
    for _ in range(blocks):  # alternate, so drifts in machine load hit both
        fp32 += step_times(HICConfig(fp32=True, width=width), batches, device, steps, warmup)
        hic += step_times(HICConfig(msb_bits=4, lsb_bits=4, acc_bits=8, width=width), batches, device, steps, warmup)
    f, h = statistics.median(fp32), statistics.median(hic)
    return {"fp32_step_s": f, "hic_step_s": h, "ratio": h / f, "steps_each": len(fp32)}


def machine(device: torch.device) -> str:
    desc = f"{platform.machine()}, {torch.get_num_threads()} torch threads"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        desc = f"{model}, " + desc
    except (OSError, StopIteration):
        pass
    if device.type == "cuda":
        desc += ", " + torch.cuda.get_device_name(device)
    return desc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="width 1 only, fewer repeats")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    device = torch.device(args.device)
    ds = load_dataset("embedded")
    batches = Batches(ds.x_train[: args.batch_size], ds.y_train[: args.batch_size], args.batch_size, device)
    widths = [1.0] if args.quick else [1.0, 2.0]
    blocks, steps, warmup = (3, 5, 2) if args.quick else (5, 8, 3)
    results = {}
    for w in widths:
        r = hic_over_fp32(w, batches, device, blocks, steps, warmup)
        results[w] = r
        print(f"ResNet-32 width {w:g}, batch {args.batch_size}: FP32 {r['fp32_step_s'] * 1e3:.1f} ms, "
              f"HIC {r['hic_step_s'] * 1e3:.1f} ms, HIC/FP32 {r['ratio']:.3f} "
              f"(medians of {r['steps_each']} steps each)", flush=True)
    out = {
        "hic_over_fp32_step": {f"{w:g}": round(r["ratio"], 4) for w, r in results.items()},
        "fp32_step_ms": {f"{w:g}": round(r["fp32_step_s"] * 1e3, 2) for w, r in results.items()},
        "hic_step_ms": {f"{w:g}": round(r["hic_step_s"] * 1e3, 2) for w, r in results.items()},
        "batch_size": args.batch_size,
        "device": str(device),
        "machine": machine(device),
        "torch": torch.__version__,
        "hicenv": hicenv.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
