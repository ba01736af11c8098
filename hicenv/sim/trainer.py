"""The proxy trainer: one design point and one budget in, measured metrics out.

:func:`evaluate` trains ResNet (HIC or the FP32 baseline) on one dataset with one
:class:`Budget`, then reads the trained devices at the drift horizons of
:data:`hicenv.sim.result.HORIZONS_S`, with and without global drift compensation.
A diverging run returns metrics with ``failed=True`` instead of raising, so a
search never dies of one bad point.
"""

from __future__ import annotations

import math
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hicenv import __version__
from hicenv.errors import InputError
from hicenv.sim.budget import BUDGETS, Budget, get_budget
from hicenv.sim.config import HICConfig
from hicenv.sim.data import Batches, Dataset, load_dataset
from hicenv.sim.fingerprint import sim_fingerprint
from hicenv.sim.hybrid import HybridWeights
from hicenv.sim.metrics import cycle_stats, model_size, reference_size_bits
from hicenv.sim.model import hic_layer_names, resnet
from hicenv.sim.result import CURVE_POINTS, HORIZONS_S, Result

MAX_SEED = 2**32
"""Seeds are in [0, MAX_SEED): what numpy's SeedSequence and every store accept."""

__all__ = [
    "Budget",
    "BUDGETS",
    "MAX_SEED",
    "get_budget",
    "evaluate",
    "build",
    "curve_ends",
    "train_step",
    "use_channels_last",
    "use_onednn",
]


def _resolve_device(device: str | torch.device | None) -> torch.device:
    """The torch device to train on (None: CUDA if there is one); an unknown or absent one is refused."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"unknown torch device {device!r} (e.g. cpu, cuda, cuda:1): {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"torch device {device!r}: this PyTorch sees no CUDA device")
    if dev.type not in ("cpu", "cuda", "mps", "xpu"):
        raise InputError(f"torch device {device!r}: hicenv trains on cpu or cuda (mps, xpu untested)")
    return dev


def _fixed_subset(n_total: int, n: int | None, salt: int) -> np.ndarray:
    """The first ``n`` of a permutation fixed by ``salt``: the same for every seed and point."""
    perm = np.random.default_rng(salt).permutation(n_total)
    return np.sort(perm[: n_total if n is None else min(n, n_total)])


@torch.inference_mode()
def _correct(model: nn.Module, batches: Batches) -> torch.Tensor:
    """Per-image correctness (bool) over a split, in its order."""
    model.eval()
    out = torch.cat([model(xb).argmax(1) == yb for xb, yb in batches])
    model.train()
    return out


def _accuracy(model: nn.Module, batches: Batches) -> float:
    return _correct(model, batches).float().mean().item()


def _provenance(device: torch.device) -> dict:
    d = {
        "sim_fingerprint": sim_fingerprint(),
        "version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, "
        f"{torch.get_num_threads()} torch threads",
        "device": str(device),
    }
    if device.type == "cuda":
        d["machine"] += ", " + torch.cuda.get_device_name(device)
    return d


def use_channels_last(width: float, device: torch.device) -> bool:
    """Channels-last activations and weights: about 30% faster convolutions on this
    CPU; on an H200 with CUDA graphs 1.4x (batch 128) to 3x (batch 1024) faster
    training steps (benchmarks/gpu_check.py). Not where oneDNN is off (:func:`use_onednn`)."""
    return device.type == "cuda" or (device.type == "cpu" and use_onednn(width, device))


def use_onednn(width: float, device: torch.device) -> bool:
    """Whether CPU convolutions may use oneDNN (mkldnn).

    Not below 8 channels in the first stage (width < 0.5): there oneDNN's 1x1
    convolution backward-weights kernel (torch 2.13, 2 threads) hung in a thread
    barrier, every time at 4 channels and sometimes at 6, in either memory format.
    Such tiny networks train on PyTorch's native kernels instead.
    """
    return device.type != "cpu" or round(16 * width) >= 8


def build(
    config: HICConfig,
    budget: Budget,
    in_channels: int,
    num_classes: int,
    device: torch.device,
    g_model: torch.Generator,
    g_dev: torch.Generator,
    channels_last: bool | None = None,
) -> tuple[nn.Module, HybridWeights | None, torch.optim.Optimizer]:
    """The network, its HIC weights (None for the baseline) and the digital optimiser.

    ``channels_last`` None picks :func:`use_channels_last`; benchmarks set it to measure it."""
    cl = use_channels_last(config.width, device) if channels_last is None else channels_last
    model = resnet(budget.depth, config.width, in_channels, num_classes, g_model)
    model = model.to(device, memory_format=torch.channels_last if cl else torch.contiguous_format)
    hw = None
    if not config.fp32:
        hw = HybridWeights.attach(model, hic_layer_names(model), config, g_dev, channels_last=cl)
    opt = torch.optim.SGD(
        model.parameters(),
        lr=budget.lr,
        momentum=budget.momentum,
        nesterov=budget.momentum > 0,
        weight_decay=budget.weight_decay,
        fused=True if device.type == "cuda" else None,
    )  # one kernel on CUDA
    return model, hw, opt


def graph_model(model: nn.Module, sample: torch.Tensor) -> nn.Module:
    """Capture the training forward and backward of ``model`` in CUDA graphs.

    ResNet-32 on a big GPU is bound by kernel launches, not arithmetic: a graph
    replays its few hundred kernels in one launch. Inputs must keep ``sample``'s
    shape (the trainer drops the last partial batch). Evaluation (``model.eval()``)
    runs eagerly. The capture's warm-up passes would move the batch-norm running
    statistics, so they are restored.
    """
    saved = {k: v.clone() for k, v in model.named_buffers()}
    graphed = torch.cuda.make_graphed_callables(model, (sample,))
    with torch.no_grad():
        for k, v in graphed.named_buffers():
            v.copy_(saved[k])
    return graphed


def train_step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    hw: HybridWeights | None,
    xb: torch.Tensor,
    yb: torch.Tensor,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step; for HIC the optimiser's update then goes through the devices.

    Returns the batch's loss and its count of correct predictions (tensors, so the
    caller decides when to synchronise)."""
    logits = model(xb)
    loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if hw is not None:
        hw.update()
    return loss.detach(), (logits.detach().argmax(1) == yb).sum()


def evaluate(
    config: HICConfig | dict,
    budget: str | Budget | dict = "proxy",
    seed: int = 0,
    dataset: str | Dataset = "embedded",
    data_root: str | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    on_epoch: Callable[[int, dict], None] | None = None,
    download: bool = False,
    cuda_graphs: bool | None = None,
    measure: Callable[[nn.Module, HybridWeights | None, Batches], dict] | None = None,
) -> Result:
    """Train one design point under one budget and return its metrics (:class:`Result`).

    ``on_epoch(epoch, {"train_loss": ..., "accuracy": ...})`` is called after each
    epoch (the test accuracy is measured only when it is given): the hook for
    pruners. It may raise to stop the run. ``progress`` shows a bar on a terminal.
    ``cuda_graphs`` (None: on for CUDA devices) replays each training forward and
    backward as one CUDA graph (:func:`graph_model`). ``seed`` is in [0, 2**32).
    ``measure(model, hybrid_weights, test_batches)``, called once after the standard
    measurements, measures the trained network further (e.g. several device draws per
    horizon: :mod:`hicenv_agents.experiments.noise`); its dict is the result's ``measured``.
    """
    config = HICConfig.from_dict(config) if isinstance(config, dict) else config
    budget = get_budget(budget)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < MAX_SEED:
        raise InputError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_root, download)
    dev = _resolve_device(device)

    with warnings.catch_warnings():  # flags() warns about Intel-GPU TF32 on every CPU build
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=use_onednn(config.width, dev)):
            graphs = dev.type == "cuda" if cuda_graphs is None else bool(cuda_graphs)
            if graphs and dev.type != "cuda":
                raise InputError(f"cuda_graphs needs a CUDA device, got {dev}")
            return _train_and_measure(config, budget, seed, ds, dev, progress, on_epoch, graphs, measure)


@dataclass
class _Splits:
    """The fixed training, test and drift-test subsets of one evaluation, as batches."""

    train: Batches
    test: Batches
    drift_test: Batches
    n_test: int
    n_drift: int


def _splits(ds: Dataset, budget: Budget, dev: torch.device, g_data: torch.Generator, cl: bool) -> _Splits:
    tr = _fixed_subset(len(ds.y_train), budget.train_images, salt=1)
    te = _fixed_subset(len(ds.y_test), budget.test_images, salt=2)
    n_drift = len(te) if budget.drift_test_images is None else min(budget.drift_test_images, len(te))
    train = Batches(
        ds.x_train[tr],
        ds.y_train[tr],
        budget.batch_size,
        dev,
        shuffle=True,
        augment=budget.augment,
        drop_last=len(tr) >= budget.batch_size,
        generator=g_data,
        channels_last=cl,
    )
    eval_bs = max(budget.batch_size, 256)
    test = Batches(ds.x_test[te], ds.y_test[te], eval_bs, dev, mean=train.mean, std=train.std, channels_last=cl)
    drift_test = Batches(
        ds.x_test[te[:n_drift]], ds.y_test[te[:n_drift]], eval_bs, dev, mean=train.mean, std=train.std, channels_last=cl
    )
    return _Splits(train, test, drift_test, len(te), n_drift)


def _train_and_measure(
    config: HICConfig,
    budget: Budget,
    seed: int,
    ds: Dataset,
    dev: torch.device,
    progress: bool,
    on_epoch,
    graphs: bool,
    measure=None,
) -> Result:
    """The body of :func:`evaluate`, under the convolution-kernel settings it picked."""
    # Independent streams from one seed: init, data order and augmentation, devices.
    s_model, s_data, s_dev = (int(s) for s in np.random.SeedSequence(seed).generate_state(3))
    g_model = torch.Generator().manual_seed(s_model)
    g_data = torch.Generator(dev).manual_seed(s_data)
    g_dev = torch.Generator(dev).manual_seed(s_dev)
    cl = use_channels_last(config.width, dev)
    splits = _splits(ds, budget, dev, g_data, cl)

    model, hw, opt = build(config, budget, ds.in_channels, ds.num_classes, dev, g_model, g_dev, channels_last=cl)
    hic_names = hic_layer_names(model)
    if graphs and splits.train.drop_last:
        model = graph_model(model, splits.train.x[: budget.batch_size].clone())  # draws nothing from g_data

    t_start = time.perf_counter()
    run = _train(model, opt, hw, budget, splits, config, dev, progress, on_epoch)
    train_seconds = time.perf_counter() - t_start

    t_eval = time.perf_counter()
    result: dict = {"failed": run.failed, "failure_reason": run.reason}
    result.update(
        _accuracies(model, hw, splits, budget)
        if not run.failed
        else dict(accuracy=None, accuracy_drift=None, accuracy_drift_gdc=None)
    )
    result.update(
        model_size(model, hic_names, config, reference_size_bits(budget.depth, ds.in_channels, ds.num_classes))
    )
    result.update(_wear(hw, hic_names))
    result.update(_wear_curve(run.wear, hw))
    images = run.steps * budget.batch_size
    result.update(
        train_loss=run.losses,
        epoch_accuracy=run.epoch_accuracy,
        learning_curve=_learning_curve(run),
        steps=run.steps,
        train_seconds=train_seconds,
        eval_seconds=time.perf_counter() - t_eval,
        images_per_second=images / train_seconds if train_seconds > 0 else None,
        horizons_seconds=dict(HORIZONS_S),
        config=config.to_dict(),
        budget=budget.to_dict(),
        dataset=ds.name,
        dataset_fingerprint=ds.fingerprint,
        in_channels=ds.in_channels,
        num_classes=ds.num_classes,
        image_size=int(ds.x_train.shape[-1]),
        train_images=len(splits.train.y),
        test_images=splits.n_test,
        drift_test_images=splits.n_drift,
        drift_draws=budget.drift_draws,
        focus_horizon=budget.focus_horizon,
        focus_draws=budget.focus_draws,
        seed=seed,
        cuda_graphs=graphs,
        channels_last=cl,
        **_provenance(dev),
    )
    if measure is not None and not run.failed:
        result["measured"] = measure(model, hw, splits.test)
    return result


@dataclass
class _Run:
    """What training left: per-epoch and per-step records, and whether it diverged."""

    losses: list[float]
    epoch_accuracy: list[float]
    step_loss: torch.Tensor
    step_correct: torch.Tensor
    wear: list[dict] = field(default_factory=list)
    """The devices' programming events (:meth:`HybridWeights.wear_now`) at each checkpoint."""
    steps: int = 0
    failed: bool = False
    reason: str | None = None


def _train(
    model, opt, hw, budget: Budget, splits: _Splits, config: HICConfig, dev: torch.device, progress: bool, on_epoch
) -> _Run:
    """Every epoch of SGD; stops at a non-finite epoch loss (the run has then failed)."""
    train = splits.train
    total_steps = budget.epochs * len(train)
    run = _Run([], [], torch.zeros(total_steps, device=dev), torch.zeros(total_steps, device=dev))
    checkpoints = set(curve_ends(total_steps)) if hw is not None else set()
    bar = _progress_bar(total_steps, progress, f"{'fp32' if config.fp32 else 'hic'} w{config.width:g}")
    for epoch in range(budget.epochs):
        loss_sum = torch.zeros((), device=dev)  # summed in step order: the epoch's mean, as ever
        for xb, yb in train:
            for group in opt.param_groups:
                group["lr"] = budget.lr_at(run.steps, total_steps)
            loss, correct = train_step(model, opt, hw, xb, yb, budget.label_smoothing)
            loss_sum += loss
            run.step_loss[run.steps] = loss
            run.step_correct[run.steps] = correct / yb.numel()
            run.steps += 1
            if run.steps in checkpoints:
                run.wear.append({"steps": run.steps, **hw.wear_now()})
            if bar is not None:
                bar.update(1)
        mean_loss = loss_sum.item() / max(len(train), 1)
        run.losses.append(mean_loss)
        if not math.isfinite(mean_loss):
            run.failed, run.reason = True, f"training loss diverged (mean {mean_loss}) in epoch {epoch + 1}"
            break
        if bar is not None:
            bar.set_postfix(epoch=epoch + 1, loss=f"{mean_loss:.3f}")
        if on_epoch is not None:
            run.epoch_accuracy.append(_accuracy(model, splits.test))
            on_epoch(epoch, {"train_loss": mean_loss, "accuracy": run.epoch_accuracy[-1]})
    if hw is not None and run.steps not in checkpoints:  # a run cut short: its last step too
        run.wear.append({"steps": run.steps, **hw.wear_now()})
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    if bar is not None:
        bar.close()
    return run


def curve_ends(steps: int) -> list[int]:
    """The last step of each of the ``CURVE_POINTS`` equal parts of a run of ``steps``
    (fewer parts if there are fewer steps): where the learning and wear curves are read."""
    return sorted({math.ceil(steps * (i + 1) / CURVE_POINTS) for i in range(CURVE_POINTS)} - {0})


def _learning_curve(run: _Run) -> dict[str, list[float]]:
    """The steps run, cut into ``CURVE_POINTS`` equal parts (fewer if there are fewer steps):
    the step at each part's end and the mean training loss and accuracy over it."""
    n = run.steps
    ends = curve_ends(n)
    loss, correct = run.step_loss[:n].double().cpu(), run.step_correct[:n].double().cpu()
    curve: dict[str, list[float]] = {"steps": [], "train_loss": [], "train_accuracy": []}
    start = 0
    for end in ends:
        curve["steps"].append(end)
        curve["train_loss"].append(loss[start:end].mean().item())
        curve["train_accuracy"].append(correct[start:end].mean().item())
        start = end
    return curve


def _accuracies(model: nn.Module, hw: HybridWeights | None, splits: _Splits, budget: Budget) -> dict:
    """Test accuracy right after training, and the drift subset's at every horizon,
    uncompensated and compensated (the drift subset is a prefix of the test subset),
    each horizon's the mean over ``budget.drift_draws`` device draws, the focus
    horizon's over ``budget.focus_draws`` (draw d is one state for every horizon that
    reads it; the first also gives t0)."""
    state = hw.sample_drift_state() if hw is not None else None
    if hw is not None:
        hw.load(hw.read_at(0.0, state))
    correct = _correct(model, splits.test)
    at_t0 = correct[: splits.n_drift].float().mean().item()
    drift = dict.fromkeys(HORIZONS_S, at_t0)
    gdc = dict(drift)
    if hw is not None:  # digital weights do not drift; compensation is 1 at t0
        timed = {h: t for h, t in HORIZONS_S.items() if t > 0}
        draws = {h: budget.focus_draws if h == budget.focus_horizon else budget.drift_draws for h in timed}
        drift.update(dict.fromkeys(timed, 0.0))
        gdc.update(dict.fromkeys(timed, 0.0))
        for d in range(max(draws.values())):
            if d:
                state = hw.sample_drift_state()
            for h, t in timed.items():
                if d < draws[h]:
                    drift[h] += _read_accuracy(model, hw, splits, t, state, False) / draws[h]
                    gdc[h] += _read_accuracy(model, hw, splits, t, state, True) / draws[h]
    return {"accuracy": correct.float().mean().item(), "accuracy_drift": drift, "accuracy_drift_gdc": gdc}


def _read_accuracy(model: nn.Module, hw: HybridWeights, splits: _Splits, t: float, state, compensate: bool) -> float:
    """The drift subset's accuracy with the devices read at ``t`` seconds under ``state``."""
    hw.load(hw.read_at(t, state, compensate=compensate))
    return _accuracy(model, splits.drift_test)


def _wear(hw: HybridWeights | None, hic_names: list[str]) -> dict:
    """Write-erase statistics and HIC state of the devices (zeros for the baseline)."""
    if hw is None:
        return dict(
            write_cycles=None,
            max_write_cycles=0,
            endurance_fraction=0.0,
            msb_saturations=0,
            acc_clips=0,
            acc_clip_fraction=0.0,
            acc_clipped_delta=0.0,
            saturated_codes=0,
            hic_state_bytes_per_weight=0.0,
        )
    return {
        **cycle_stats(hw.write_cycles(), hw.sizes, hic_names, hw.device_model.endurance_cycles),
        "msb_saturations": int(hw.saturations),
        "acc_clips": int(hw.acc_clips),
        "acc_clip_fraction": int(hw.acc_clips) / max(hw.updates * hw.n, 1),
        "acc_clipped_delta": float(hw.acc_clipped_delta),
        "saturated_codes": hw.saturated_codes(),
        "hic_state_bytes_per_weight": hw.state_bytes_per_weight(),
    }


def _wear_curve(points: list[dict], hw: HybridWeights | None) -> dict:
    """The wear trajectory (each :data:`HybridWeights.WEAR_KEYS` as a list over the
    checkpoints, with ``steps``) and the run's pulse totals by kind; null for the baseline.

    ``accumulator_updates`` is exact by construction: every update reads and writes
    every weight's accumulator once."""
    if hw is None:
        return {"wear_curve": None, "pulses": None}
    curve = {k: [p[k] for p in points] for k in ("steps", *HybridWeights.WEAR_KEYS)}
    last = points[-1] if points else dict.fromkeys(HybridWeights.WEAR_KEYS, 0)
    pulses = {k: int(last[k]) for k in ("binary_set", "binary_reset", "multilevel_reset", "multilevel_partial_set")}
    pulses.update(transfers=int(last["transfers"]), accumulator_updates=hw.updates * hw.n)
    return {"wear_curve": curve, "pulses": pulses}


def _progress_bar(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)
