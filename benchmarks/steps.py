"""Timing helpers shared by run.py and gpu_check.py: training steps and worker scaling.

Every figure is a median over timed steps after untimed warm-up ones; on CUDA each
step is timed between a synchronise and CUDA events. Levers (memory format, CUDA
graphs, bf16 autocast) are arguments, so each one is measured rather than assumed.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import statistics
import time

import torch

from hicenv.config import HICConfig
from hicenv.data import Batches, load_dataset
from hicenv.trainer import Budget, build, graph_model, train_step, use_channels_last

FP32 = HICConfig(fp32=True)
HIC = HICConfig(msb_bits=4, lsb_bits=4, acc_bits=8)


def batch(batch_size: int, device: torch.device, channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of embedded Fashion-MNIST images (repeated if needed), on ``device``."""
    ds = load_dataset("embedded")
    idx = torch.arange(batch_size) % len(ds.y_train)
    b = Batches(ds.x_train[idx.numpy()], ds.y_train[idx.numpy()], batch_size, device, channels_last=channels_last)
    return next(iter(b))


def _autocast(device: torch.device, amp: bool):
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_seconds(config: HICConfig, batch_size: int, device: torch.device, steps: int, warmup: int,
                 channels_last: bool | None = None, graphs: bool | None = None, amp: bool = False,
                 seed: int = 0) -> list[float]:
    """Seconds of each of ``steps`` training steps (one batch, ResNet-32) after ``warmup`` ones.

    ``channels_last`` and ``graphs`` None: what the trainer picks on this device."""
    if channels_last is None:
        channels_last = use_channels_last(config.width, device)
    if graphs is None:
        graphs = device.type == "cuda"
    model, hw, opt = build(config, Budget(), 1, 10, device, torch.Generator().manual_seed(seed),
                           torch.Generator(device).manual_seed(seed), channels_last=channels_last)
    xb, yb = batch(batch_size, device, channels_last)
    with _autocast(device, amp):
        if graphs:
            model = graph_model(model, xb)
        for _ in range(warmup):
            train_step(model, opt, hw, xb, yb)
        times = []
        for _ in range(steps):
            _sync(device)
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                train_step(model, opt, hw, xb, yb)
                end.record()
                torch.cuda.synchronize(device)
                times.append(start.elapsed_time(end) / 1e3)
            else:
                t = time.perf_counter()
                train_step(model, opt, hw, xb, yb)
                times.append(time.perf_counter() - t)
    return times


def hic_over_fp32(batch_size: int, device: torch.device, blocks: int, steps: int, warmup: int,
                  width: float = 1.0, **levers) -> dict:
    """Median FP32 and HIC step times, measured in alternating blocks so that drifts
    in machine load hit both alike, and their ratio."""
    fp32, hic = [], []
    for _ in range(blocks):
        fp32 += step_seconds(FP32.replace(width=width), batch_size, device, steps, warmup, **levers)
        hic += step_seconds(HIC.replace(width=width), batch_size, device, steps, warmup, **levers)
    f, h = statistics.median(fp32), statistics.median(hic)
    return {"fp32_step_ms": round(f * 1e3, 3), "hic_step_ms": round(h * 1e3, 3), "hic_over_fp32": round(h / f, 4),
            "hic_images_per_second": round(batch_size / h), "fp32_images_per_second": round(batch_size / f),
            "steps_each": len(fp32)}


def _scaling_worker(rank, barrier, results, config, batch_size, device, steps, threads, levers):
    torch.set_num_threads(threads)
    dev = torch.device(device)
    cl = levers.get("channels_last")
    cl = use_channels_last(config.width, dev) if cl is None else cl
    model, hw, opt = build(config, Budget(), 1, 10, dev, torch.Generator().manual_seed(rank),
                           torch.Generator(dev).manual_seed(rank), channels_last=cl)
    xb, yb = batch(batch_size, dev, cl)
    if levers.get("graphs", dev.type == "cuda"):
        model = graph_model(model, xb)
    for _ in range(3):
        train_step(model, opt, hw, xb, yb)
    _sync(dev)
    barrier.wait()
    t0 = time.time()
    for _ in range(steps):
        train_step(model, opt, hw, xb, yb)
    _sync(dev)
    results.put((t0, time.time(), steps * batch_size))


def worker_scaling(n_workers: int, batch_size: int, device: str, steps: int, threads: int,
                   config: HICConfig = HIC, **levers) -> float:
    """Images per second of ``n_workers`` processes training HIC at once (all of them
    together, from the first start to the last finish), each with ``threads`` threads."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(n_workers), ctx.Queue()
    procs = [ctx.Process(target=_scaling_worker,
                         args=(i, barrier, results, config, batch_size, device, steps, threads, levers))
             for i in range(n_workers)]
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return sum(g[2] for g in got) / (max(g[1] for g in got) - min(g[0] for g in got))


def machine(device: torch.device) -> str:
    import platform

    desc = f"{platform.machine()}, {torch.get_num_threads()} torch threads"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        desc = f"{model} ({mp.cpu_count()} cores), " + desc
    except (OSError, StopIteration):
        pass
    if device.type == "cuda":
        desc += ", " + torch.cuda.get_device_name(device)
    return desc
