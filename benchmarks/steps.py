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
from pathlib import Path

import torch

from hicenv.sim.budget import Budget
from hicenv.sim.config import HICConfig
from hicenv.sim.data import Batches, load_dataset
from hicenv.sim.trainer import build, graph_model, train_step, use_channels_last

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


class Stepper:
    """One model, optimiser and batch, ready to time training steps.

    ``channels_last`` and ``graphs`` None: what the trainer picks on this device;
    ``amp``: bf16 autocast."""

    def __init__(
        self,
        config: HICConfig,
        batch_size: int,
        device: torch.device,
        channels_last: bool | None = None,
        graphs: bool | None = None,
        amp: bool = False,
        seed: int = 0,
    ) -> None:
        if channels_last is None:
            channels_last = use_channels_last(config.width, device)
        if graphs is None:
            graphs = device.type == "cuda"
        self.device, self.amp = device, amp
        self.model, self.hw, self.opt = build(
            config,
            Budget(),
            1,
            10,
            device,
            torch.Generator().manual_seed(seed),
            torch.Generator(device).manual_seed(seed),
            channels_last=channels_last,
        )
        self.xb, self.yb = batch(batch_size, device, channels_last)
        if graphs:
            with _autocast(device, amp):
                self.model = graph_model(self.model, self.xb)

    def step(self) -> float:
        """Seconds of one training step."""
        with _autocast(self.device, self.amp):
            _sync(self.device)
            if self.device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                train_step(self.model, self.opt, self.hw, self.xb, self.yb)
                end.record()
                torch.cuda.synchronize(self.device)
                return start.elapsed_time(end) / 1e3
            t = time.perf_counter()
            train_step(self.model, self.opt, self.hw, self.xb, self.yb)
            return time.perf_counter() - t


def hic_over_fp32(batch_size: int, device: torch.device, steps: int, warmup: int, width: float = 1.0, **levers) -> dict:
    """Median FP32 and HIC step times and their ratio. The two models step in turn,
    one step each, so that drifts in machine load (shared machines) hit both alike."""
    fp32 = Stepper(FP32.replace(width=width), batch_size, device, **levers)
    hic = Stepper(HIC.replace(width=width), batch_size, device, **levers)
    for _ in range(warmup):
        fp32.step(), hic.step()
    times = [(fp32.step(), hic.step()) for _ in range(steps)]
    f, h = statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)
    return {
        "fp32_step_ms": round(f * 1e3, 3),
        "hic_step_ms": round(h * 1e3, 3),
        "hic_over_fp32": round(h / f, 4),
        "median_of_step_ratios": round(statistics.median(t[1] / t[0] for t in times), 4),
        "hic_images_per_second": round(batch_size / h),
        "fp32_images_per_second": round(batch_size / f),
        "steps_each": steps,
    }


def _scaling_worker(rank, barrier, results, config, batch_size, device, steps, threads, levers):
    torch.set_num_threads(threads)
    s = Stepper(config, batch_size, torch.device(device), seed=rank, **levers)
    for _ in range(3):
        s.step()
    barrier.wait()
    t0 = time.time()
    for _ in range(steps):
        train_step(s.model, s.opt, s.hw, s.xb, s.yb)
    _sync(s.device)
    results.put((t0, time.time(), steps * batch_size))


def worker_scaling(
    n_workers: int, batch_size: int, device: str, steps: int, threads: int, config: HICConfig = HIC, **levers
) -> float:
    """Images per second of ``n_workers`` processes training HIC at once (all of them
    together, from the first start to the last finish), each with ``threads`` threads."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(n_workers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_scaling_worker, args=(i, barrier, results, config, batch_size, device, steps, threads, levers)
        )
        for i in range(n_workers)
    ]
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


def emit(figures: dict, out: str | None, code: Path) -> None:
    """A benchmark's last line: one JSON object of ``figures`` with the machine and the
    revision of ``code`` (the checkout whose hicenv ran); also written to ``out``."""
    import json
    import subprocess

    rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=code, capture_output=True, text=True).stdout
    text = json.dumps({"machine": machine(torch.device("cpu")), "revision": rev.strip(), **figures})
    if out:
        Path(out).write_text(text + "\n")
    print(text)
