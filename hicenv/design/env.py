"""Gymnasium environments over the HIC design space.

``hicenv/HICDesign-v0`` picks a whole design point in one step;
``hicenv/HICDesignSeq-v0`` picks it one knob per step. Both are registered when
``hicenv`` is imported. The class docstrings are the specification.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from hicenv.design.backends import backend_options, cache_option, make_backend
from hicenv.design.cache import MACHINE_KEYS
from hicenv.design.costs import with_costs
from hicenv.design.objectives import Reading, get_objectives, objective_values
from hicenv.design.reward import RewardWeights, reward
from hicenv.design.space import DesignSpace
from hicenv.errors import InputError, check_seed
from hicenv.sim.devices import PCMParams
from hicenv.sim.result import Result

__all__ = ["HICDesignEnv", "HICDesignSeqEnv"]

_OBS_CONTEXT = ("noise", "endurance_budget", "fidelity")
_NOT_DETERMINED = (*MACHINE_KEYS, "cuda_graphs", "channels_last")
"""Metrics the seed and the action do not determine: the machine's, the moment's, and the
kernel settings the device picked."""
_INFO_KEYS = (
    *(k for k in Result.__annotations__ if k not in _NOT_DETERMINED),
    "surrogate_std",
    "surrogate_law",
    "config",
    "action",
    "reward",
    "objectives",
)
"""The keys of every step's final ``info``, whatever the backend: a metric the backend does
not hold (a table's learning curve, the surrogate's write cycles per part) is None."""


class _DesignBase(gym.Env):
    """What both environments share: context, backends, reward."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}  # one design a frame; fps matters to video recorders only

    def __init__(
        self,
        space: DesignSpace | dict | None = None,
        backend: str = "surrogate",
        budget: Any = None,
        dataset: str | None = None,
        data_root: str | None = None,
        table: Any = None,
        bench: Any = None,
        noise: float | Sequence[float] | None = None,
        size_weight: float = 0.5,
        memory_weight: float = 0.0,
        endurance_weight: float = 1.0,
        endurance_budget: float | None = None,
        deployment: Any = None,
        costs: Any = None,
        horizon: str | None = None,
        compensate: bool = True,
        failed_reward: float = -1.0,
        train_seed: int | None = 0,
        cache: Any = "default",
        device: PCMParams | dict | None = None,
        torch_device: str | None = None,
        objectives: Sequence[str] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and not isinstance(render_mode, str):
            raise InputError(
                f"render_mode must be None or a mode name ({self.metadata['render_modes']}), got {render_mode!r}"
            )
        # A mode the env lacks is Gymnasium's to warn about (gymnasium.make does), not an error:
        # SB3's PPO("MlpPolicy", id) and make_vec_env ask for "rgb_array" and fall back only on
        # TypeError. Such a mode is dropped: render_mode is None and render() draws nothing.
        self.render_mode = render_mode if render_mode in self.metadata["render_modes"] else None
        self._last_info: dict = {}
        if isinstance(device, str):
            raise InputError(
                f"device= is the PCM device model (PCMParams or a dict of its fields), got {device!r}; "
                "the torch device is torch_device="
            )
        space = self._space(space, dataset, endurance_budget, device, deployment, costs, horizon)
        self.backend = backend
        self._backend = make_backend(backend, **self._backend_options(backend, space, locals()))
        self.objectives = get_objectives(objectives)
        # Before any work: a setting the backend holds at another value is refused, not answered.
        self._backend.check_request(space, budget, self.objectives)
        self.table = getattr(self._backend, "table", None)
        self.budget = self._backend.budget
        # The action space is what the backend covers (a table: its grid, narrowed by fixed fields).
        self.space, held_noise = self._backend.covered(space, exact=self._space_given)
        if held_noise is not None and not space.searches_noise:
            noise = held_noise if noise is None else noise
            levels = [noise] if isinstance(noise, (int, float)) else list(noise)
            off = [v for v in levels if not any(abs(float(v) - t) < 1e-9 for t in held_noise)]
            if off:
                raise InputError(f"noise level(s) {off} are not in the lookup table (levels {list(held_noise)})")
        space = self.space
        self.weights = RewardWeights(size_weight, memory_weight, endurance_weight, compensate, failed_reward)
        check_seed(train_seed, "train_seed", allow_none=True)
        self.train_seed = train_seed

        # Device noise: the episode's context unless the space searches it.
        if space.searches_noise:
            self.noise_levels = None
        else:
            if noise is None:
                noise = (0.5, 1.0, 1.5)
            levels = list(noise) if hasattr(noise, "__iter__") and not isinstance(noise, str) else [noise]
            number = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)  # noqa: E731
            if not levels or not all(number(v) and math.isfinite(v) and v >= 0 for v in levels):
                raise InputError(f"noise must be a number >= 0 or a list of them, got {noise!r}")
            levels = [float(v) for v in levels]
            self.noise_levels = tuple(sorted(set(levels)))
            self._backend.prepare(self.space, self.noise_levels)  # the surrogate: every step a lookup
        self._context_obs = self._fixed_context()
        self._noise = None
        self._done = True
        self.last_evaluation: dict = {}

    @staticmethod
    def _backend_options(backend: str, space: DesignSpace, given: dict) -> dict:
        """The kwargs meant for the backend, as given: a backend refuses an option it does not
        take (``table=`` with the surrogate), so only those set reach it. The train backend
        gets the space's dataset; ``cache=None`` (no cache) is passed as ``"none"``."""
        options = {
            "budget": given["budget"],
            "data_root": given["data_root"],
            "table": given["table"],
            "bench": given["bench"],
            "device": given["torch_device"],
            "cache": cache_option(given["cache"]),
        }
        if "dataset" in backend_options(backend):
            options["dataset"] = space.dataset
        return options

    def _space(self, space, dataset, endurance_budget, device, deployment, costs, horizon) -> DesignSpace:
        """The space as given (a dict is read), with the settings passed as keywords."""
        if isinstance(space, dict):
            space = DesignSpace.from_dict(space)
        elif space is not None and not isinstance(space, DesignSpace):
            raise InputError(
                f"space must be a DesignSpace, a dict of one or None, got {type(space).__name__} {space!r}"
            )
        self._space_given = space is not None  # lookup mode: the given space exactly, else the table's grid
        space = space or DesignSpace.default()
        settings = {
            k: v
            for k, v in dict(
                dataset=dataset,
                endurance_budget=endurance_budget,
                device=device,
                deployment=deployment,
                costs=costs,
                horizon=horizon,
            ).items()
            if v is not None
        }
        return space.with_settings(**settings)

    # -- context -----------------------------------------------------------------------
    def _fixed_context(self) -> tuple[float, float]:
        eb = min(max((math.log10(self.space.endurance_budget) + 9) / 9, 0.0), 1.0)
        if self.budget is None:
            fidelity = 0.0
        else:
            passes = (self.budget.train_images or 60_000) * self.budget.epochs
            fidelity = min(max(math.log10(passes) / 7, 0.0), 1.0)
        return eb, fidelity

    def _noise_obs(self) -> float:
        if self.noise_levels is None or len(self.noise_levels) == 1:
            return 0.0
        lo, hi = self.noise_levels[0], self.noise_levels[-1]
        return (self._noise - lo) / (hi - lo)

    def _context(self) -> np.ndarray:
        return np.array([self._noise_obs(), *self._context_obs], dtype=np.float32)

    def _start(self, seed: int | None) -> None:
        super().reset(seed=seed)
        if self.noise_levels is not None:
            self._noise = float(self.noise_levels[int(self.np_random.integers(len(self.noise_levels)))])
        self._seed = self.train_seed if self.train_seed is not None else int(self.np_random.integers(2**31 - 1))
        self._done = False

    # -- evaluation --------------------------------------------------------------------
    def _evaluate(self, action) -> tuple[float, dict]:
        context = {} if self.noise_levels is None else {"noise": self._noise}
        config = self.space.decode(action, **context)
        metrics, source = self._backend(config, self._seed)
        metrics = copy.deepcopy(metrics)  # never hand out the table's or cache's objects
        metrics = with_costs(metrics, self.space.deployment, self.space.costs)
        # What the seed and the action do not determine (wall-clock, where it came from)
        # stays out of info, so that a step is reproducible; it is kept here instead.
        self.last_evaluation = {
            "source": source,
            "cached": source == "cache",
            **{k: metrics.pop(k, None) for k in _NOT_DETERMINED},
        }
        r = reward(metrics, self.weights, self.space.horizon, self.space.endurance_budget)
        info = dict.fromkeys(_INFO_KEYS)  # one schema for every backend
        values = objective_values(metrics, self.objectives, Reading(self.space.horizon, self.weights.compensate))
        info.update(
            metrics,
            config=config.to_dict(),
            action=np.asarray(action).tolist(),
            reward=r,
            objectives={o.name: v for o, v in zip(self.objectives, values)},
        )
        info["failed"] = bool(metrics.get("failed", False))
        self._last_info = info
        return float(r), info

    def render(self) -> str | None:
        """``ansi``: the last design point evaluated and its metrics, as text (None before any)."""
        if self.render_mode != "ansi":
            return None
        if not self._last_info:
            return "no design evaluated yet\n"
        m, cfg = self._last_info, self._last_info["config"]
        design = (
            "FP32 baseline"
            if cfg["fp32"]
            else (
                f"HIC {cfg['msb_bits']}+{cfg['lsb_bits']} bits ({cfg['lsb_encoding']} LSB), acc {cfg['acc_bits']}, "
                f"noise {cfg['noise']:g}"
            )
        )
        lines = [f"{design}, width {cfg['width']:g}: reward {m['reward']:.4f}"]
        if m["failed"]:
            lines.append(f"  failed: {m.get('failure_reason')}")
        else:
            h = self.space.horizon
            lines.append(
                f"  accuracy {m['accuracy']:.4f}; after {h}: {m['accuracy_drift'][h]:.4f}, "
                f"compensated {m['accuracy_drift_gdc'][h]:.4f}"
            )
        lines.append(
            f"  size {m['size_ratio']:.3f} of the FP32 width-1 model, area {m['area_mm2']:.3g} mm^2; "
            f"most-written device {m['max_write_cycles']} cycles in the run"
        )
        if m.get("projected_writes") is not None:
            lines.append(
                f"  per deployment training {m['projected_writes']:.4g} writes ({m['projection']}); "
                f"lifetime wear {m['lifetime_wear']:.3g} of endurance, {m['lifetime_trainings']:.3g} trainings"
            )
        return "\n".join(lines) + "\n"

    def _check_running(self) -> None:
        if self._done:
            raise ResetNeeded("the episode has ended (or never started): call reset() before step()")

    def _discrete_action(self, action) -> int:
        """A ``Discrete`` action as an int; anything else is refused, naming the range."""
        a = np.asarray(action)
        if a.shape != () or not np.issubdtype(a.dtype, np.integer) or not self.action_space.contains(int(a)):
            raise InputError(f"action must be an integer in [0, {self.action_space.n - 1}], got {action!r}")
        return int(a)


class HICDesignEnv(_DesignBase):
    """Choose one HIC design point per episode; the reward prices accuracy against size and wear.

    ## Description

    Each episode is one training run of ResNet-32 under hybrid in-memory computing
    (Joshi et al., arXiv 2102.05271): the agent picks the bit split between binary
    and multi-level PCM devices, the accumulator precision and the width multiplier;
    the environment answers with the design's metrics and ends the episode. By default
    the answer is HIC-Bench's surrogate (``backend="surrogate"``: Gaussian processes
    fitted on ``proxy``-budget training runs of a space-filling sample of this space,
    see ``studies/bench/REPORT.md`` for how well they rank points); ``backend="train"``
    trains the network on the PCM simulator instead, ``backend="table"`` looks the
    point up in a table of evaluated points.

    ## Action Space

    ``MultiDiscrete(space.nvec)``: one index per knob of the design space, from 0,
    in the order ``msb_bits, lsb_bits, acc_bits, width, lsb_encoding`` (then
    ``noise`` and ``device.<field>`` knobs when the space searches them). With the
    default space:

    | index | knob         | values                        |
    |-------|--------------|-------------------------------|
    | 0     | msb_bits     | 1, 2, ..., 8                  |
    | 1     | lsb_bits     | 1, 2, ..., 8                  |
    | 2     | acc_bits     | 4, 6, 8, 12, 16, 32 (float)   |
    | 3     | width        | 0.5, 0.75, ..., 2.0           |
    | 4     | lsb_encoding | unsigned, differential        |

    In lookup mode without ``space=`` the knobs and values are those the table
    covers (the shipped table: unsigned only, so ``lsb_encoding`` is fixed there);
    with ``space=`` they are the space's, every value of which the table must hold.

    ## Observation Space

    ``Box(0, 1, (3,), float32)``: the episode's context.

    | index | meaning                                                            | min | max |
    |-------|--------------------------------------------------------------------|-----|-----|
    | 0     | device noise, scaled over the episode's noise levels (0 if fixed or a knob) | 0 | 1 |
    | 1     | endurance budget, ``(log10(budget) + 9) / 9``                      | 0   | 1   |
    | 2     | training fidelity, ``log10(images x epochs) / 7`` (surrogate: its bench's; table: 0) | 0 | 1 |

    ## Rewards

    ``accuracy(horizon) - size_weight * size_ratio - memory_weight * train_state_bits/size_ref
    - endurance_weight * max(0, lifetime_wear / endurance_budget - 1)``;
    accuracy at the drift horizon, with global drift compensation when ``compensate``;
    ``lifetime_wear`` is the most-written device's count projected to ``deployment``'s
    training (``hicenv.design.deployment``), times its trainings, over the endurance;
    ``size_ratio`` is the model size over ``size_ref``, the FP32 network at width 1
    (``reference_size_bits``), so width costs size.
    A diverging training run gives ``failed_reward`` and ``info["failed"] = True``.

    ## Starting State

    ``reset`` draws the episode's device noise uniformly from ``noise`` (unless the
    space searches it) and, when ``train_seed`` is None, the training seed; both from
    ``np_random``.

    ## Episode End

    Terminated after the one step. Never truncated. A step after the end raises
    ``gymnasium.error.ResetNeeded``.

    ## Arguments

    | kwarg | type | default | meaning |
    |-------|------|---------|---------|
    | space | DesignSpace or dict | ``DesignSpace.default()`` | knobs, fixed fields, episode settings |
    | backend | str | ``"surrogate"`` | ``"surrogate"`` (HIC-Bench's), ``"train"`` (the simulator), ``"table"`` |
    | budget | str, dict or Budget | ``"proxy"`` | training budget (train backend; the surrogate's is its bench's) |
    | dataset | str | space's (``"embedded"``) | dataset name or ``.npz`` path |
    | data_root | str | None | folder of the dataset's files |
    | table | path or DataFrame | shipped smoke table (for tests) | lookup table (table backend) |
    | bench | path or DataFrame | shipped HIC-Bench | compiled bench (surrogate backend) |
    | noise | float or list | ``(0.5, 1.0, 1.5)`` (table: its levels) | device-noise levels drawn per episode |
    | size_weight | float | 0.5 | weight of relative model size |
    | memory_weight | float | 0.0 | weight of relative accumulator memory |
    | endurance_weight | float | 1.0 | weight of wear beyond the budget |
    | endurance_budget | float | 1.0 | allowed fraction of endurance over the lifetime (``lifetime_wear``) |
    | deployment | Deployment or dict | paper's recipe, 1000 trainings | in-field training wear is projected to |
    | costs | CostModel or dict | ``CostModel()`` | costs per action of area and energy (``docs/costs.md``) |
    | horizon | str | ``"1y"`` | drift horizon: 0s, 1h, 1d, 1mo, 1y |
    | compensate | bool | True | accuracy with global drift compensation |
    | failed_reward | float | -1.0 | reward of a diverged run |
    | train_seed | int or None | 0 | training seed; None draws one per episode |
    | cache | path, "default" or None | ``"default"`` | shared SQLite result cache |
    | device | PCMParams or dict | ``PCMParams()`` | device physics (``docs/hic.md``); fields by name |
    | torch_device | str | None | torch device (cuda if available) |
    | objectives | list of str | accuracy, size, wear | registered objectives, in ``info["objectives"]`` |
    | render_mode | str or None | None | ``"ansi"``: ``render()`` returns the last design and its metrics as text |

    >>> import gymnasium, hicenv
    >>> env = gymnasium.make("hicenv/HICDesign-v0")  # HIC-Bench's surrogate
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (3,)
    >>> obs, r, terminated, truncated, info = env.step(env.action_space.sample())
    >>> terminated, truncated, "accuracy" in info
    (True, False, True)

    ## Info

    ``step``'s info holds every metric of the evaluation (see the README) that the
    seed and the action determine, the decoded ``config``, the ``action`` and the
    ``reward``, so two steps from one seed give equal infos. What they do not
    determine (wall-clock seconds, machine, ``source``: train, cache or table, and
    ``cached``) is in ``env.unwrapped.last_evaluation``. The keys are the same with
    every backend: a metric the backend does not hold is None (a table and the
    surrogate hold no learning curve and no per-part write cycles; ``surrogate_std``,
    each target's predictive standard deviation, and ``surrogate_law``, its quantiles at
    ``hicenv.design.surrogate.LAW_SCORES``, are the surrogate's alone).
    Every backend's answer carries the hardware costs (``hicenv.design.costs``): device
    counts, ``area_mm2`` by component, ``inference_energy_j`` per image and
    ``train_energy_j`` per deployment training by component, and the projected wear
    (``projected_writes``, ``lifetime_wear``, ``lifetime_trainings``).
    ``info["objectives"]`` holds the value of each of ``objectives`` (by name), for
    multi-objective agents; the reward is the scalar above either way.

    ## What a backend answers

    A backend answers only what it was made for. At ``make``, every setting the request
    fixes (the space's fixed fields and defaults, ``device=`` physics, ``dataset``,
    ``budget``, ``objectives``) is held against the backend's declaration
    (``hicenv.design.backends.base``): the surrogate and a table vary their knobs and hold
    every other setting at the value their data were made at (device model ``pcm``,
    stochastic rounding, the nominal PCM physics, their budget and dataset), so
    ``space=DesignSpace.default().fix("device_model", "ideal")`` or
    ``device={"nu_mu_max": 0.5}`` there raises ``InputError`` naming the setting, the value
    asked and the value held; ``backend="train"`` answers everything. The device's
    endurance is exact everywhere (it only divides the write count).

    ## Version History

    * v0: initial version.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.action_space = spaces.MultiDiscrete(self.space.nvec)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(_OBS_CONTEXT),), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._start(seed)
        return self._context(), {"noise": self._noise}

    def step(self, action):
        self._check_running()
        a = np.asarray(action)
        if a.shape != self.action_space.shape:
            raise InputError(
                f"action must have shape {self.action_space.shape} (knobs {list(self.space.names)}), got {a.shape}"
            )
        if not np.issubdtype(a.dtype, np.integer):
            if not (np.issubdtype(a.dtype, np.floating) and np.all(np.mod(a, 1) == 0)):
                raise InputError(f"action must hold integer indices, got {a.tolist()}")
            a = a.astype(np.int64)
        if not self.action_space.contains(a.astype(self.action_space.dtype)):
            raise InputError(
                f"action {a.tolist()} is outside MultiDiscrete({self.space.nvec.tolist()}) "
                f"(knobs {list(self.space.names)})"
            )
        r, info = self._evaluate(a)
        self._done = True
        return self._context(), r, True, False, info


class HICDesignSeqEnv(_DesignBase):
    """The same design, one knob per step, for agents that need a ``Discrete`` action (DQN).

    ## Description

    Step ``i`` chooses the value of knob ``i`` (the order of ``HICDesign-v0``'s
    action: ``msb_bits, lsb_bits, acc_bits, width, lsb_encoding``, then ``noise``
    and device knobs when searched); after the last knob the point
    is evaluated exactly as in ``HICDesign-v0`` and the episode ends.

    ## Action Space

    ``Discrete(max(space.nvec))``: the value index of the current knob. Knobs differ
    in size: ``env.unwrapped.action_masks()`` marks the indices the current knob has
    (the per-step mask sb3-contrib's MaskablePPO reads), and the step's info
    ``action_mask`` holds the next step's. An agent that ignores the mask and picks an
    index past the knob's last value gets one of the knob's values drawn uniformly
    (from the env's ``np_random``): a uniformly random policy then picks every value
    of every knob equally often (clamping to the last value would pick it twice or
    more as often as the others).

    ## Observation Space

    ``Box(0, 1, (3 + n_knobs,), float32)``: the context of ``HICDesign-v0`` (indices
    0-2), then for each knob ``(index + 1) / n_values`` once chosen and 0 before.

    ## Rewards

    0 until the last step; then the reward of ``HICDesign-v0``.

    ## Starting State

    As ``HICDesign-v0``, with no knob chosen.

    ## Episode End

    Terminated after ``n_knobs`` steps. Never truncated. A step after the end raises
    ``gymnasium.error.ResetNeeded``.

    ## Arguments

    Those of ``HICDesign-v0``.

    >>> import gymnasium, hicenv
    >>> env = gymnasium.make("hicenv/HICDesignSeq-v0")
    >>> obs, info = env.reset(seed=0)
    >>> done = False
    >>> while not done:
    ...     obs, r, done, truncated, info = env.step(0)
    >>> info["config"]["msb_bits"] == min(env.unwrapped.space.knobs[0].values)
    True

    ## Info

    ``{"action_mask": ...}`` (the next knob's valid indices) until the last step;
    then that of ``HICDesign-v0``. ``reset``'s info holds the first knob's mask too.

    ## Version History

    * v0: initial version.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        n = len(self.space.knobs)
        self.action_space = spaces.Discrete(int(self.space.nvec.max()))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(_OBS_CONTEXT) + n,), dtype=np.float32)
        self._choices: list[int] = []

    def _obs(self) -> np.ndarray:
        chosen = np.zeros(len(self.space.knobs), dtype=np.float32)
        for i, c in enumerate(self._choices):
            chosen[i] = (c + 1) / self.space.nvec[i]
        return np.concatenate([self._context(), chosen]).astype(np.float32)

    def action_masks(self) -> np.ndarray:
        """The indices the current knob has (True), of ``Discrete(max(space.nvec))``."""
        knob = min(len(self._choices), len(self.space.knobs) - 1)
        return np.arange(self.action_space.n) < self.space.nvec[knob]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._start(seed)
        self._choices = []
        return self._obs(), {"noise": self._noise, "action_mask": self.action_masks()}

    def step(self, action):
        self._check_running()
        a = self._discrete_action(action)
        n = int(self.space.nvec[len(self._choices)])
        self._choices.append(a if a < n else int(self.np_random.integers(n)))
        if len(self._choices) < len(self.space.knobs):
            return self._obs(), 0.0, False, False, {"action_mask": self.action_masks()}
        r, info = self._evaluate(np.array(self._choices))
        self._done = True
        return self._obs(), r, True, False, info


class HICDesignFlatEnv(HICDesignEnv):
    """``HICDesign-v0`` with one ``Discrete`` action that indexes the whole design space.

    For single-file agents written for ``Discrete`` actions (CleanRL's ``ppo.py`` and
    ``dqn.py`` assert one): only the env id changes. A policy over the flat index sees no
    structure between knobs (a ``MultiDiscrete`` head, as in ``HICDesign-v0``, shares
    what it learns about a knob across the others' values), so it suits small spaces and
    baselines; the default space has 5,376 points.

    ## Description

    As ``HICDesign-v0``: one step, one design point, its reward.

    ## Action Space

    ``Discrete(prod(space.nvec))``: action ``a`` is the point whose ``HICDesign-v0``
    action is ``numpy.unravel_index(a, space.nvec)`` (C order: the last knob,
    ``lsb_encoding`` in the default space, varies fastest). ``env.unwrapped.flat_action(
    multi)`` maps a ``HICDesign-v0`` action to its index.

    ## Observation Space

    That of ``HICDesign-v0``: ``Box(0, 1, (3,), float32)``, the episode's context.

    ## Rewards

    Those of ``HICDesign-v0``.

    ## Starting State

    As ``HICDesign-v0``.

    ## Episode End

    Terminated after the one step. Never truncated. A step after the end raises
    ``gymnasium.error.ResetNeeded``.

    ## Arguments

    Those of ``HICDesign-v0``.

    >>> import gymnasium, hicenv
    >>> env = gymnasium.make("hicenv/HICDesignFlat-v0")
    >>> env.action_space
    Discrete(5376)
    >>> obs, info = env.reset(seed=0)
    >>> obs, r, terminated, truncated, info = env.step(0)
    >>> info["action"]  # the first point of every knob
    [0, 0, 0, 0, 0]

    ## Info

    That of ``HICDesign-v0`` (``info["action"]`` is the ``MultiDiscrete`` action).

    ## Version History

    * v0: initial version.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.action_space = spaces.Discrete(int(np.prod(self.space.nvec)))

    def flat_action(self, multi) -> int:
        """The flat index of a ``HICDesign-v0`` action."""
        return int(np.ravel_multi_index(tuple(np.asarray(multi, dtype=np.int64)), self.space.nvec))

    def step(self, action):
        self._check_running()
        a = self._discrete_action(action)
        r, info = self._evaluate(np.array(np.unravel_index(a, self.space.nvec), dtype=np.int64))
        self._done = True
        return self._context(), r, True, False, info
