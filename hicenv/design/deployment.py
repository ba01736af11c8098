"""Wear over a stated deployment: one evaluation's write counts projected to in-field training.

A search evaluates a design with a short proxy training (``proxy``: 234 steps). A chip in
the field trains with a real recipe (by default the paper's: 160 epochs of CIFAR-10 at
batch 128, 62,400 steps) and does so :attr:`Deployment.trainings` times in its life. The
objective a designer can read is how much of the devices' endurance that lifetime uses,
and how many such trainings the most-written device survives.

The projection (:func:`project_writes`) scales the most-written device's count of the
evaluated run to the deployment's steps, linearly. Two rules were checked on runs 4x and
longer than the proxy runs they were fitted on (``studies/wear/REPORT.md``, made by
``hicenv wear report``):

* ``linear`` (the default): ``count(S) = count(s) * S / s``. It never underestimated the
  measured count of the six designs checked (1.01x to 2.6x at 4x the steps): growth is
  sublinear, so this is the conservative side of a wear budget;
* ``power``: ``count(S) = count(s) * (S / s) ** b``, ``b`` the log-log slope of the
  run's own write-count trajectory (``wear_curve``) over its second half. It
  underestimated five of the six designs (0.50x to 0.84x; 1.01x at 16 bits): within one run the learning rate
  decays, so the late slope is flatter than the growth from a longer run. It is kept
  for comparison (``rule="power"``), not used by default.

Either way the count is capped at the deployment's steps: a device changes state at most
once per update. Every projection reports its ``extrapolation`` (deployment steps over the
run's) and ``validated`` (whether that is within :data:`VALIDATED_FACTOR`, the longest
ratio checked). The default deployment is 267x the proxy: every default answer is an
extrapolation, which is said in these fields and in the CLI's summary rather than in a
warning on every evaluation (one a search would print thousands of times).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from hicenv.errors import InputError

__all__ = ["Deployment", "PAPER_STEPS", "VALIDATED_FACTOR", "growth_exponent", "project_writes", "wear_metrics"]

PAPER_STEPS = 160 * (50_000 // 128)
"""Steps of the paper's recipe: 160 epochs of CIFAR-10's 50,000 training images at batch
128, the last partial batch dropped (62,400; He et al. 2016's 64k iterations)."""

VALIDATED_FACTOR = 4.0
"""The longest run the projection was checked against, in multiples of the run it was
fitted on (``studies/wear/REPORT.md``). A deployment further out is extrapolation."""


@dataclass(frozen=True)
class Deployment:
    """The in-field training a chip does, and how often in its life."""

    steps: int = PAPER_STEPS
    """Training steps (mini-batches) of one in-field training; by default the paper's recipe.
    :meth:`of` derives it from an epoch count, a batch size and a dataset's image count."""
    trainings: int = 1000
    """Trainings per device lifetime: the wear objective counts all of them."""
    batch_size: int = 128
    """Images per step of the in-field training (the paper's 128): the energy of a step."""
    image_size: int = 32
    """Side in pixels of the in-field images (CIFAR-10's 32): the MACs of an image."""

    def __post_init__(self) -> None:
        for name in ("steps", "trainings", "batch_size", "image_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"Deployment.{name} must be an integer >= 1, got {v!r}")

    @classmethod
    def of(cls, epochs: int, batch_size: int, train_images: int, **fields) -> Deployment:
        """The deployment whose training is ``epochs`` passes over ``train_images`` at ``batch_size``
        (the last partial batch dropped, as the trainer does)."""
        for name, v in (("epochs", epochs), ("batch_size", batch_size), ("train_images", train_images)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"Deployment.of: {name} must be an integer >= 1, got {v!r}")
        steps = epochs * max(train_images // batch_size, 1)
        return cls(steps=steps, batch_size=batch_size, **fields)

    @classmethod
    def from_dict(cls, d: dict | Deployment | None) -> Deployment:
        """A deployment from its fields (a study file's ``[deployment]`` table, env kwargs)."""
        if d is None:
            return cls()
        if isinstance(d, Deployment):
            return d
        if not isinstance(d, dict):
            raise InputError(f"deployment must be a dict of Deployment fields, got {type(d).__name__}")
        from hicenv.sim.config import check_known_fields

        check_known_fields(cls, d)
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


def growth_exponent(curve: dict | None) -> float | None:
    """Log-log slope of the most-written device's count over the second half of a run's
    wear trajectory (its ``max`` against ``steps``), clipped to [0, 1]; None without one."""
    if not curve or len(curve.get("steps") or ()) < 2:
        return None
    steps, counts = curve["steps"], curve["max"]
    half = [(s, c) for s, c in zip(steps, counts) if s >= steps[-1] / 2 and c > 0]
    if len(half) < 2 or half[0][0] == half[-1][0]:
        return None
    (s0, c0), (s1, c1) = half[0], half[-1]
    return min(1.0, max(0.0, math.log(c1 / c0) / math.log(s1 / s0)))


def project_writes(
    max_writes: float, run_steps: int, deployment: Deployment, rule: str = "linear", curve: dict | None = None
) -> dict:
    """The most-written device's count over one deployment training, from a run of ``run_steps``.

    ``rule`` ``linear`` (the default) or ``power`` (needs the run's ``curve``; see the module
    docstring). Returns ``projected_writes``, the ``projection`` rule, its exponent, the
    ``extrapolation`` factor (deployment steps over the run's) and ``validated`` (that factor
    within :data:`VALIDATED_FACTOR`)."""
    if run_steps < 1:
        raise InputError(f"a wear projection needs a run of at least one step, got {run_steps}")
    if rule not in ("linear", "power"):
        raise InputError(f"projection rule must be 'linear' or 'power', got {rule!r}")
    b = 1.0 if rule == "linear" else growth_exponent(curve)
    if b is None:
        raise InputError("the power rule needs the run's write-count trajectory (wear_curve)")
    factor = deployment.steps / run_steps
    projected = min(float(deployment.steps), float(max_writes) * factor**b)
    return {
        "projected_writes": projected,
        "projection": rule,
        "growth_exponent": b,
        "extrapolation": factor,
        "validated": factor <= VALIDATED_FACTOR,
    }


def wear_metrics(metrics: dict, deployment: Deployment) -> dict:
    """Projected wear of one design's metrics: writes of the most-written device per deployment
    training, the endurance fraction of one training and of the lifetime, and the lifetime in
    trainings. Empty (None) for the FP32 baseline and where the run's steps are unknown."""
    keys = ("projected_writes", "projection", "growth_exponent", "extrapolation", "validated")
    empty = dict.fromkeys((*keys, "training_endurance_fraction", "lifetime_wear", "lifetime_trainings"))
    config = metrics.get("config") or {}
    steps, max_writes = metrics.get("steps"), metrics.get("max_write_cycles")
    if config.get("fp32") or not steps or max_writes is None:
        return empty
    endurance = float((config.get("pcm") or {}).get("endurance_cycles", 1e8))
    p = project_writes(max_writes, int(steps), deployment)
    per_training = p["projected_writes"] / endurance
    return {
        **p,
        "training_endurance_fraction": per_training,
        "lifetime_wear": per_training * deployment.trainings,
        "lifetime_trainings": math.inf if p["projected_writes"] == 0 else endurance / p["projected_writes"],
    }
