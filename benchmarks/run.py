"""hicenv's performance figures, measured in one run on one machine.

    python benchmarks/run.py            # everything this machine allows (~15 min on 2 CPU cores)
    python benchmarks/run.py --quick    # width 1, fewer repeats, no proxy run (~3 min)

1. HIC training step over FP32 training step (ResNet-32, widths 1 and 2, batch 128,
   read noise, accumulator, carries, counters and reprogramming included); the two
   models step in turn, ratio of medians. On CUDA also the HIC images per second at
   batch 128, 512 and 1024 (``hic_images_per_second``: the best of them).
2. The ``proxy`` budget evaluation, FP32 and HIC 4/4/8: seconds and accuracy.
3. Worker scaling: images per second of N processes training at once over that of
   one (CPU: one thread each, N = cores; CUDA: N = 4 sharing the GPU).
4. HIC state in bytes per weight for every bit split.

The last line printed is one JSON object with the figures and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from steps import FP32, HIC, hic_over_fp32, machine, worker_scaling

import hicenv
from hicenv.sim.config import HICConfig
from hicenv.sim.hybrid import HybridWeights
from hicenv.sim.trainer import evaluate


def state_bytes() -> dict:
    """Bytes of HIC state per weight for MSB splits 1-8 (LSB 16 - MSB capped at 8), both accumulators."""
    w = [torch.randn(64, 16, 3, 3)]
    out = {}
    for msb in range(1, 9):
        lsb = min(8, 16 - msb)
        for acc in (8, 32):
            hw = HybridWeights(["w"], w, HICConfig(msb_bits=msb, lsb_bits=lsb, acc_bits=acc), torch.Generator())
            out[f"{msb}/{lsb}/{'f32' if acc == 32 else acc}"] = hw.state_bytes_per_weight()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="width 1, fewer repeats, no proxy run")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    device = torch.device(args.device)
    out: dict = {
        "machine": machine(device),
        "device": str(device),
        "torch": torch.__version__,
        "hicenv": hicenv.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "batch_size": args.batch_size,
    }

    widths = [1.0] if args.quick else [1.0, 2.0]
    steps, warmup = (15, 3) if args.quick else (40, 3)
    ratios = {}
    for w in widths:
        r = hic_over_fp32(args.batch_size, device, steps, warmup, width=w)
        ratios[f"{w:g}"] = r
        print(
            f"ResNet-32 width {w:g}, batch {args.batch_size}: FP32 {r['fp32_step_ms']:.1f} ms, "
            f"HIC {r['hic_step_ms']:.1f} ms, HIC/FP32 {r['hic_over_fp32']:.3f} "
            f"(medians of {r['steps_each']} steps each)",
            flush=True,
        )
    out["hic_over_fp32_step"] = {w: r["hic_over_fp32"] for w, r in ratios.items()}
    out["steps"] = ratios
    if device.type == "cuda":  # small convolutions need big batches to fill a GPU: measure a few
        by_batch = {args.batch_size: ratios["1"]["hic_images_per_second"]}
        for bs in (512, 1024):
            if bs != args.batch_size:
                by_batch[bs] = hic_over_fp32(bs, device, steps, warmup)["hic_images_per_second"]
        out["hic_images_per_second_by_batch"] = {str(b): v for b, v in by_batch.items()}
        out["hic_images_per_second"] = max(by_batch.values())

    if not args.quick:
        proxy = {}
        for name, cfg in (("fp32", FP32), ("hic", HIC)):
            r = evaluate(cfg, "proxy", seed=0, device=device)
            proxy[name] = {
                "seconds": round(r["train_seconds"] + r["eval_seconds"], 1),
                "train_seconds": round(r["train_seconds"], 1),
                "eval_seconds": round(r["eval_seconds"], 1),
                "accuracy": r["accuracy"],
            }
            print(f"proxy budget, {name}: {proxy[name]}", flush=True)
        out["proxy"] = proxy

    if device.type == "cuda":
        n, threads, bs = 4, max(1, (os.cpu_count() or 4) // 4), args.batch_size
    else:
        n, threads, bs = os.cpu_count() or 1, 1, 32  # the proxy's batch
    sc_steps = 20 if args.quick else 40
    one = worker_scaling(1, bs, str(device), sc_steps, threads)
    many = worker_scaling(n, bs, str(device), sc_steps, threads)
    out["worker_scaling"] = {
        "workers": n,
        "threads_each": threads,
        "batch_size": bs,
        "one_images_per_second": round(one, 1),
        "n_images_per_second": round(many, 1),
        "speedup": round(many / one, 3),
        "efficiency": round(many / one / n, 3),
    }
    print(f"workers: 1 -> {one:.0f} img/s, {n} -> {many:.0f} img/s ({many / one / n:.2f} of linear)", flush=True)

    out["hic_state_bytes_per_weight"] = state_bytes()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
