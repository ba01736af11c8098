"""Study files: one TOML table that names a whole search.

Keys (all optional but ``trials``; unknown keys are an error)::

    name = "quick"            # study name (default: the file's stem)
    trials = 20               # distinct design points the study holds after this run (re-proposals are free)
    sampler = "tpe"           # tpe, nsga2, gp, random, grid
    seed = 0                  # sampler seed
    mode = "multi"            # multi: the objectives below; reward: the env's scalar
    objectives = ["horizon_accuracy", "size_ratio", "endurance_fraction"]  # multi: registered objectives
    pruner = "none"           # reward mode only: none, median, halving
    backend = "surrogate"     # surrogate (HIC-Bench's, the default), train (the simulator) or table (lookup);
                              # a setting the backend holds at another value is refused before the study starts
    table = "..."             # lookup table (table backend; default: the shipped smoke table, for tests)
    bench = "..."             # compiled HIC-Bench (surrogate backend; default: the shipped one)
    budget = "proxy"          # train backend: budget preset, or a table of Budget fields (default proxy)
    dataset = "embedded"
    noise = 1.0               # device noise when it is not a knob
    train_seed = 0            # training seed of every trial
    include_fp32 = false      # enqueue the FP32 baseline at each width of the space

    [space]                   # hicenv.DesignSpace.from_dict
    knobs = { width = [1.0, 1.5, 2.0], msb_bits = { low = 2, high = 4, step = 1 },
              lsb_encoding = ["unsigned", "differential"], "device.endurance_cycles" = [1e6, 1e8] }
    fixed = { acc_bits = 8 }
    endurance_budget = 1.0    # the lifetime's wear (deployment below) over the endurance, at most
    horizon = "1y"

    [device]                  # hicenv.PCMParams: the device physics of every trial
    endurance_cycles = 1e8    # any field; "device.<field>" knobs in [space] search one

    [deployment]              # hicenv.design.deployment.Deployment: what wear is projected to
    steps = 62400             # steps of one in-field training (default: the paper's recipe)
    trainings = 1000          # trainings per device lifetime

    [costs]                   # hicenv.design.costs.CostModel: costs per action (docs/costs.md)
    pcm_cell_um2 = 0.036

    [reward]                  # hicenv.design.reward.RewardWeights (reward mode)
    size_weight = 0.5
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hicenv.design.backends import BACKENDS
from hicenv.design.objectives import DEFAULT_OBJECTIVES, Objective, get_objectives
from hicenv.design.reward import RewardWeights
from hicenv.design.space import DesignSpace
from hicenv.errors import InputError, check_exists, check_seed
from hicenv.sim.budget import Budget, get_budget
from hicenv.sim.config import check_known_fields
from hicenv_agents.search.samplers import PRUNERS, SAMPLERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["StudySpec", "load_study_file", "MODES"]

MODES = ("multi", "reward")
"""``multi``: the study's ``objectives`` (default accuracy, size, wear); ``reward``: the environment's scalar."""


@dataclass(frozen=True)
class StudySpec:
    """Everything a study needs; stored in the study's user attributes so workers can join."""

    name: str = "hicenv"
    trials: int = 20
    sampler: str = "tpe"
    seed: int = 0
    mode: str = "multi"
    objectives: list = field(default_factory=lambda: list(DEFAULT_OBJECTIVES))
    pruner: str = "none"
    backend: str = "surrogate"
    table: str | None = None
    bench: str | None = None
    budget: Any = None
    dataset: str = "embedded"
    noise: float = 1.0
    train_seed: int = 0
    include_fp32: bool = False
    space: dict = field(default_factory=dict)
    device: dict = field(default_factory=dict)
    deployment: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)
    reward: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        def need(cond, msg):
            if not cond:
                raise InputError(msg)

        need(isinstance(self.name, str) and self.name, f"name must be a non-empty string, got {self.name!r}")
        need(
            isinstance(self.trials, int) and not isinstance(self.trials, bool) and self.trials >= 0,
            f"trials must be an integer >= 0, got {self.trials!r}",
        )
        need(self.sampler in SAMPLERS, f"sampler must be one of {tuple(SAMPLERS)}, got {self.sampler!r}")
        check_seed(self.seed, "seed")
        need(self.mode in MODES, f"mode must be one of {MODES}, got {self.mode!r}")
        need(self.pruner in PRUNERS, f"pruner must be one of {tuple(PRUNERS)}, got {self.pruner!r}")
        need(
            self.pruner == "none" or self.mode == "reward",
            "pruner needs mode = 'reward' (Optuna does not prune multi-objective studies)",
        )
        need(self.backend in BACKENDS, f"backend must be one of {tuple(BACKENDS)}, got {self.backend!r}")
        need(
            isinstance(self.noise, (int, float))
            and not isinstance(self.noise, bool)
            and math.isfinite(self.noise)
            and self.noise >= 0,
            f"noise must be a finite number >= 0, got {self.noise!r}",
        )
        check_seed(self.train_seed, "train_seed")
        need(
            isinstance(self.dataset, str) and self.dataset,
            f"dataset must be a name or a .npz path, got {self.dataset!r}",
        )
        need(isinstance(self.include_fp32, bool), f"include_fp32 must be true or false, got {self.include_fp32!r}")
        need(isinstance(self.space, dict), f"[space] must be a table, got {self.space!r}")
        need(isinstance(self.reward, dict), f"[reward] must be a table, got {self.reward!r}")
        need(isinstance(self.device, dict), f"[device] must be a table, got {self.device!r}")
        need("device" not in self.space, "device physics goes in its own [device] table, not in [space]")
        for table in ("deployment", "costs"):
            need(isinstance(getattr(self, table), dict), f"[{table}] must be a table, got {getattr(self, table)!r}")
            need(table not in self.space, f"the {table} goes in its own [{table}] table, not in [space]")
        # Validate the parts by building them: their errors name the field.
        self.design_space()
        self.reward_weights()
        self.get_budget()
        self.get_objectives()

    def design_space(self) -> DesignSpace:
        """The space searched: the [space] table, or in table mode the part of the
        lookup table's grid it asks for (noise fixed at ``noise`` unless a knob)."""
        d = dict(self.space)
        d.setdefault("dataset", self.dataset)
        d.update(device=self.device, deployment=self.deployment, costs=self.costs)
        space = DesignSpace.from_dict(d)
        if self.backend == "table":
            from hicenv.design.table import LookupTable

            noise_knob = "noise" in dict(self.space.get("knobs", {}))
            space, levels = LookupTable(self.table).search_space(space, noise_knob, exact="knobs" in self.space)
            if not noise_knob and self.noise not in levels:
                raise InputError(f"noise = {self.noise} is not in the lookup table (levels {list(levels)})")
        return space

    def get_objectives(self) -> tuple[Objective, ...]:
        """The registered objectives of a multi-objective study (``objectives``, in order)."""
        if not isinstance(self.objectives, (list, tuple)):
            raise InputError(f"objectives must be a list of names, got {self.objectives!r}")
        return get_objectives(list(self.objectives))

    def reward_weights(self) -> RewardWeights:
        check_known_fields(RewardWeights, self.reward)
        return RewardWeights(**self.reward)

    def get_budget(self) -> Budget:
        """The training budget (the train backend's; ``proxy`` unless the file names one)."""
        return get_budget("proxy" if self.budget is None else self.budget)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StudySpec:
        check_known_fields(cls, d)
        return cls(**d)


def load_study_file(path: str | Path) -> StudySpec:
    """Read and validate a study file; every error is a ``ValueError`` naming the key."""
    path = Path(path)
    check_exists(path, "study file")
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"study file {path} is not UTF-8 text (byte {e.start}): TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"study file {path} is not valid TOML: {e}") from None
    d.setdefault("name", path.stem)
    try:
        return StudySpec.from_dict(d)
    except TypeError as e:  # a wrong type deep inside a dataclass
        raise InputError(f"study file {path}: {e}") from None
