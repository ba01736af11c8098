"""The ``hicenv`` command line: on top of everything it calls.

``hicenv evaluate`` trains one design point under one budget and prints its metrics;
its flags are built from the config dataclasses (``HICConfig``, ``PCMParams``,
``Budget``), so a new field is a new flag. Bad input (:class:`hicenv.errors.InputError`:
a point outside the space, an unknown dataset, a missing or corrupted data file)
prints one error line and exits with status 2; any other error is a bug and shows
its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import sys
import warnings
from functools import partial
from pathlib import Path

from hicenv.errors import InputError
from hicenv_agents import sigint
from hicenv_agents.args import Parser as _Parser
from hicenv_agents.args import count_arg, device_arg, out_file_arg, out_folder_arg

__all__ = ["main"]


def _jsonable(x):
    """Metrics as strict JSON: non-finite floats become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


_HELP = {
    "evaluate": "train one design point and print its metrics",
    "table": "evaluate a grid of design points into a lookup table",
    "study": "run (or resume) an Optuna study from a study file",
    "paper": "the paper's experiment: train its panel (run) or write its report (report)",
    "bench": "HIC-Bench: generate it (run), compile the stored results (compile), write its report (report), "
    "score the surrogate's candidate learners (learners)",
    "wear": "wear growth: train the projection's validation runs (run), write its validation table (report)",
    "accumulator": "the accumulator's per-step cap above 13 bits: train its runs (run), write its table (report)",
    "noise": "the objective's noise by source (seed, device draw, test images): train its runs, decompose them",
    "worker": "join a stored study from another process or machine",
    "pareto": "export the Pareto front of a stored study (CSV, PNG)",
    "rl": "train a stable-baselines3 agent (or the random baseline) on the environment",
    "compare": "agents at the same evaluation budget: hypervolume curves",
}
"""Each command's one-line help (``hicenv --help`` lists them without building the commands)."""


def _add_evaluate(sub) -> None:
    from hicenv.design.costs import CostModel
    from hicenv.design.deployment import Deployment
    from hicenv.sim.budget import Budget
    from hicenv.sim.config import HICConfig
    from hicenv.sim.devices import PCMParams

    p = sub.add_parser(
        "evaluate",
        help=_HELP["evaluate"],
        description="Train one HIC design point (or the FP32 baseline) and print its metrics. "
        "The design point's flags are HICConfig's fields, --device.<field> the device "
        "physics (PCMParams), --budget.<field> override the budget preset's fields.",
    )
    _add_dataclass_flags(p.add_argument_group("design point (hicenv.HICConfig)"), HICConfig, "", skip=("pcm",))
    p.add_argument("--budget", default="proxy", help="budget preset: smoke, proxy or full (default proxy)")
    p.add_argument(
        "--dataset", default="embedded", help="embedded, fashion-mnist, cifar10 or a .npz file (default embedded)"
    )
    p.add_argument("--data-dir", default=None, help="folder of the dataset's files")
    p.add_argument("--download", action="store_true", help="fetch CIFAR-10 if it is not in --data-dir")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--device", default=None, type=device_arg, help="torch device (default: cuda if available, else cpu)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (keys in the README)")
    p.add_argument("--out", default=None, help="also write the JSON metrics to this file")
    p.add_argument(
        "--cache",
        default="none",
        help="result cache file (default none: evaluate trains afresh; 'default' is the cache the envs, "
        "studies and tables share, ~/.cache/hicenv/results.sqlite)",
    )
    _add_dataclass_flags(p.add_argument_group("device physics (hicenv.PCMParams)"), PCMParams, "device.")
    _add_dataclass_flags(p.add_argument_group("budget overrides (hicenv.Budget)"), Budget, "budget.", skip=("name",))
    _add_dataclass_flags(
        p.add_argument_group("deployment that wear and training energy are projected to (docs/costs.md)"),
        Deployment,
        "deployment.",
    )
    _add_dataclass_flags(p.add_argument_group("costs per action (docs/costs.md)"), CostModel, "costs.")
    p.set_defaults(func=_evaluate)


def _parse_bool(text: str) -> bool:
    t = str(text).lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_optional_int(text: str) -> int | None:
    return None if str(text).lower() == "none" else int(text)


def _parse_float_or_word(text: str) -> float | str:
    """A number, or a word the field takes (``acc_range`` ``auto``): the dataclass validates it."""
    try:
        return float(text)
    except ValueError:
        return str(text)


_CACHE_HELP = "result cache file (default ~/.cache/hicenv/results.sqlite; none: no cache)"

_FLAG_TYPES = {
    "int": int,
    "float": float,
    "str": str,
    "str | None": str,
    "bool": _parse_bool,
    "int | None": _parse_optional_int,
    "float | str": _parse_float_or_word,
}
"""Field annotation -> how its flag's text is read."""


def _add_dataclass_flags(group, cls, prefix: str, skip: tuple = ()) -> None:
    """One ``--<prefix><field>`` flag per field of dataclass ``cls``: its type from the
    annotation, its help from the field's docstring (first sentence) and default. Unset
    flags stay None and keep the dataclass default; the dataclass validates values."""
    from dataclasses import MISSING, fields

    from hicenv.fielddocs import field_docs

    docs = field_docs(cls)
    for f in fields(cls):
        if f.name in skip:
            continue
        kind = _FLAG_TYPES[str(f.type)]
        default = f.default if f.default is not MISSING else f.default_factory()
        shown = f"{default:g}" if isinstance(default, float) else default
        first = re.split(r"\.\s+(?=[A-Z])", docs.get(f.name, ""))[0].rstrip(".")
        text = f"{first} (default {shown})".replace("%", "%%")
        extra = dict(nargs="?", const=True) if kind is _parse_bool else {}
        group.add_argument(
            f"--{prefix}{f.name.replace('_', '-')}",
            dest=f"{prefix}{f.name}",
            type=kind,
            default=None,
            metavar=f.name.upper() if kind is str else "X",
            help=text,
            **extra,
        )


def _dataclass_values(args, cls, prefix: str, skip: tuple = ()) -> dict:
    """The fields of ``cls`` set on the command line (see :func:`_add_dataclass_flags`)."""
    from dataclasses import fields

    values = {f.name: getattr(args, f"{prefix}{f.name}") for f in fields(cls) if f.name not in skip}
    return {k: v for k, v in values.items() if v is not None}


def _evaluate(args) -> int:
    if args.out:  # before training, not after; JSON, whatever the name says
        from hicenv.output import check_output

        check_output(args.out, "--out (the JSON metrics)", (".json",))
    from hicenv.sim.budget import Budget, get_budget
    from hicenv.sim.config import HICConfig
    from hicenv.sim.devices import PCMParams

    config = HICConfig(
        **_dataclass_values(args, HICConfig, "", skip=("pcm",)),
        pcm=PCMParams(**_dataclass_values(args, PCMParams, "device.")),
    )
    budget = get_budget(args.budget)
    changes = _dataclass_values(args, Budget, "budget.", skip=("name",))
    if changes:
        budget = budget.replace(name=f"{budget.name}+" + ",".join(f"{k}={v}" for k, v in changes.items()), **changes)
    from hicenv.design.backends import check_fits
    from hicenv.design.backends.train import check_dataset

    check_fits(config, budget.depth)
    if not args.download:  # a download makes the folder
        check_dataset(args.dataset, args.data_dir)
    from hicenv.design.costs import CostModel, with_costs
    from hicenv.design.deployment import Deployment

    deployment = Deployment(**_dataclass_values(args, Deployment, "deployment."))
    cost_model = CostModel(**_dataclass_values(args, CostModel, "costs."))
    from hicenv.design.cache import cached_evaluate, resolve_cache

    metrics, _ = cached_evaluate(
        config,
        budget,
        args.seed,
        args.dataset,
        resolve_cache(args.cache),
        data_root=args.data_dir,
        device=args.device,
        progress=not args.json and sys.stderr.isatty(),
        download=args.download,
    )
    metrics = with_costs(metrics, deployment, cost_model)
    text = json.dumps(_jsonable(metrics), indent=None if args.json else 2)
    if args.out:
        from hicenv.output import write_atomically

        write_atomically(args.out, lambda tmp: tmp.write_text(text + "\n"))
    if args.json:
        print(text)
    else:
        print(_summary(metrics))
    return 0


def _add_table(sub) -> None:
    p = sub.add_parser(
        "table",
        help=_HELP["table"],
        description="Evaluate every point of a grid (the shipped coarse grid by default) "
        "and write the lookup table the environment's table backend reads.",
    )
    p.add_argument("--budget", default="smoke", help="budget preset (default smoke)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument(
        "--out",
        required=True,
        help="table file, .csv or .parquet (hicenv/_data/smoke_table.csv in a checkout regenerates the shipped one)",
    )
    p.add_argument("--cache", default="default", help=_CACHE_HELP)
    p.add_argument("--space", default=None, help="JSON file of a DesignSpace dict (default: the shipped grid)")
    p.set_defaults(func=_table)


def _table(args) -> int:
    from hicenv.design.space import DesignSpace
    from hicenv.design.table import SHIPPED_GRID, make_table
    from hicenv.output import check_output

    check_output(args.out, "--out", (".csv", ".parquet"))

    space = SHIPPED_GRID
    if args.space:
        try:
            space = DesignSpace.from_dict(json.loads(Path(args.space).read_text()))
        except OSError as e:
            raise InputError(f"--space {args.space}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise InputError(f"--space {args.space} is not JSON: {e}") from None
    out = make_table(space, args.budget, args.seed, args.out, cache=args.cache, progress=sys.stderr.isatty())
    print(out)
    return 0


def _add_study(sub) -> None:
    p = sub.add_parser(
        "study",
        help=_HELP["study"],
        description="Run an Optuna study over the design space, or resume it from its storage.",
    )
    p.add_argument("file", help="study file (TOML), e.g. studies/quick.toml")
    p.add_argument(
        "--storage",
        default=None,
        help="none (in memory), a .log journal file, sqlite:///FILE or postgresql://USER:PW@HOST/DB",
    )
    p.add_argument("--study-name", default=None, help="study name (default: the file's name key or stem)")
    p.add_argument(
        "--trials", type=int, default=None, help="distinct design points the study should hold (default: the file's)"
    )
    p.add_argument("--out", default=None, help="write the Pareto front (CSV) here")
    p.add_argument("--all", default=None, help="write every finished trial (CSV) here")
    p.add_argument("--plot", default=None, help="write the Pareto plot (PNG) here")
    p.add_argument("--device", default=None, type=device_arg, help="torch device")
    p.add_argument("--cache", default="default", help=_CACHE_HELP)
    p.set_defaults(func=_study)


_PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _default_output(path: str | None, default: str, overwrite: bool, flag: str = "--out") -> str:
    """An output the user named is written; the default name is never silently replaced."""
    if path is not None:
        return path
    if Path(default).exists() and not overwrite:
        raise InputError(f"{default} exists (the default output): name another with {flag}, or --overwrite")
    return default


def _numbered_output(path: str | None, stem: str, suffix: str = ".csv") -> str:
    """An output the user named, else ``<stem>_<n><suffix>`` here, a new number each run: a
    rerun, or another algorithm, never meets an earlier run's file."""
    from hicenv.output import numbered_path

    return path if path is not None else str(numbered_path(".", stem, suffix))


def _warn_if_long(backend: str, budget, designs: int) -> None:
    """Before live training, say how long it would take when that is more than ten minutes."""
    if backend != "train":
        return
    from hicenv.sim.budget import get_budget

    b = get_budget("proxy" if budget is None else budget)
    # About 8 ms an image-epoch on 2 CPU cores at the proxy recipe (61 s for 7,500 images).
    seconds = designs * (b.train_images or 60_000) * b.epochs * 0.008
    if seconds > 600:
        print(
            f"note: up to {designs} live trainings at budget {b.name}: about {seconds / 3600:.1f} h on two CPU "
            "cores (fewer if the result cache holds some); --backend surrogate answers in seconds",
            file=sys.stderr,
            flush=True,
        )


def _check_exports(out, all_path, plot) -> None:
    """Refuse unwritable export paths, and a table named as another format, before any
    trial runs."""
    from hicenv.output import check_output

    for flag, path in (("--out", out), ("--all", all_path)):
        if path:
            check_output(path, flag, (".csv", ".parquet"))
    if plot:
        check_output(plot, "--plot", _PLOT_SUFFIXES)


def _say_done(study) -> None:
    """A summary line on stderr (data goes to stdout or files): what the study now holds."""
    import optuna

    from hicenv_agents.search.optuna_study import front_size, point_of

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    points = {point_of(t) for t in done}  # re-proposed points are one design
    best = (
        f"{front_size(study)} on the Pareto front"
        if len(study.directions) > 1
        else (f"best {study.best_value:.4g}" if done else "no best yet")
    )
    print(
        f"study {study.study_name}: {len(done)} finished trials of {len(points)} distinct designs, {best}",
        file=sys.stderr,
        flush=True,
    )


def _export(study, out, all_path, plot) -> None:
    from hicenv.design.pareto import plot_front, write_csv
    from hicenv_agents.search.optuna_study import objective_names, pareto_of

    if not (out or all_path or plot):
        return
    from hicenv.design.pareto import distinct, front_certainty, front_summary, with_p_front

    front, everything = pareto_of(study)
    if out:
        names = objective_names(study)
        feasible = everything[everything["feasible"]] if "feasible" in everything else everything
        certainty = front_certainty(feasible if len(feasible) else everything, names)
        write_csv(with_p_front(front, certainty), out)
        print(
            f"Pareto front: {len(front)} of {len(distinct(everything))} distinct designs "
            f"({len(everything)} trials) -> {out}; {front_summary(certainty)}"
        )
    if all_path:
        write_csv(everything, all_path)
    if plot:
        plot_front(everything, plot, title=f"study {study.study_name}", objectives=objective_names(study))


def _study(args) -> int:
    from dataclasses import replace

    from hicenv_agents.search.optuna_study import run_study
    from hicenv_agents.search.studyfile import load_study_file

    _check_exports(args.out, args.all, args.plot)
    spec = load_study_file(args.file)
    if args.trials is not None:
        spec = replace(spec, trials=args.trials)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = run_study(spec, args.storage, args.study_name, args.device, progress=sys.stderr.isatty(), cache=args.cache)
    _export(study, args.out, args.all, args.plot)
    _say_done(study)
    return 0


def _add_worker(sub) -> None:
    p = sub.add_parser("worker", help=_HELP["worker"])
    p.add_argument("--storage", required=True, help="the study's storage URL")
    p.add_argument("--study-name", required=True, help="the study's name")
    p.add_argument(
        "--trials",
        type=int,
        default=10,
        help="design points new to the study this worker evaluates (on a grid: trials)",
    )
    p.add_argument(
        "--device", default=None, type=device_arg, help="torch device (default: one GPU per worker when several)"
    )
    p.add_argument("--cache", default="default", help=_CACHE_HELP)
    p.set_defaults(func=_worker)


def _worker(args) -> int:
    import optuna

    from hicenv_agents.search.optuna_study import run_worker

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_worker(args.storage, args.study_name, args.trials, args.device, progress=sys.stderr.isatty(), cache=args.cache)
    return 0


def _add_pareto(sub) -> None:
    p = sub.add_parser("pareto", help=_HELP["pareto"])
    p.add_argument("--storage", required=True, help="the study's storage URL")
    p.add_argument("--study-name", required=True, help="the study's name")
    p.add_argument("--out", default="pareto.csv", help="front CSV (default pareto.csv)")
    p.add_argument("--all", default=None, help="also every finished trial (CSV)")
    p.add_argument("--plot", default=None, help="Pareto plot (PNG)")
    p.set_defaults(func=_pareto)


def _pareto(args) -> int:
    import optuna

    from hicenv_agents.search.storage import resolve_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _check_exports(args.out, args.all, args.plot)
    storage = resolve_storage(args.storage, must_exist=True)
    try:
        study = optuna.load_study(study_name=args.study_name, storage=storage)
    except KeyError:
        raise InputError(f"no study {args.study_name!r} in that storage") from None
    _export(study, args.out, args.all, args.plot)
    return 0


def _add_env_args(p) -> None:
    from hicenv.design.backends import BACKENDS

    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="surrogate",
        help="surrogate (HIC-Bench's, any point of the default space, milliseconds; the default), "
        "train (the simulator, about a minute a design) or table (a lookup table)",
    )
    p.add_argument("--bench", default=None, help="surrogate backend: a compiled bench (default: the shipped one)")
    p.add_argument("--table", default=None, help="table backend: a lookup table (default: the shipped smoke table)")
    p.add_argument("--budget", default=None, help="train backend: budget preset (default proxy)")
    p.add_argument("--dataset", default=None, help="train backend: a dataset name or a .npz file")
    p.add_argument("--cache", default=None, help="train backend: result cache file (default: the shared one)")
    from hicenv.design.objectives import DEFAULT_OBJECTIVES, OBJECTIVES

    p.add_argument(
        "--objectives",
        default=None,
        help=f"comma-separated objectives of the front and its hypervolume, of: {', '.join(OBJECTIVES)} "
        f"(default {','.join(DEFAULT_OBJECTIVES)})",
    )


def _add_rl(sub) -> None:
    p = sub.add_parser("rl", help=_HELP["rl"])
    from hicenv_agents.search.rl import ALGOS

    p.add_argument(
        "--algo",
        choices=[*ALGOS, "random"],
        default="ppo",
        help="a stable-baselines3 algorithm, or random search (default ppo)",
    )
    p.add_argument("--timesteps", type=count_arg, default=2000, help="environment steps (random: episodes)")
    p.add_argument("--n-envs", type=count_arg, default=1, help="environments in SubprocVecEnv workers")
    p.add_argument("--seed", type=int, default=0, help="seed of the agent and the environments")
    p.add_argument(
        "--out",
        default=None,
        help="every evaluated design (CSV; default designs-<algo>_<n>.csv, n one past the highest there, "
        "so no run replaces another's)",
    )
    p.add_argument("--logdir", default=None, type=out_folder_arg, help="TensorBoard log folder")
    p.add_argument("--save", default=None, type=out_file_arg(), help="save the trained model here (.zip)")
    _add_env_args(p)
    p.set_defaults(func=_rl)


def _rl(args) -> int:
    from hicenv_agents.search.rl import env_kwargs_from, run_random, run_rl

    args.out = _numbered_output(args.out, f"designs-{args.algo}")
    _check_exports(args.out, None, None)
    kw = env_kwargs_from(args)
    _warn_if_long(args.backend, kw.get("budget"), args.timesteps)  # at most one design a step
    if args.algo == "random":
        run = run_random(args.timesteps, args.seed, kw, out=args.out, logdir=args.logdir)
    else:
        run = run_rl(
            args.algo, args.timesteps, args.n_envs, args.seed, kw, args.logdir, args.save, args.out, progress=False
        )
    from hicenv.design.objectives import DEFAULT_OBJECTIVES
    from hicenv.design.pareto import distinct, front_certainty, front_summary

    d = run.designs
    print(
        f"{args.algo}: {len(d)} evaluations of {len(distinct(d))} distinct designs, "
        f"{front_summary(front_certainty(d, kw.get('objectives') or DEFAULT_OBJECTIVES))}, "
        f"in {run.seconds:.1f} s -> {args.out}"
    )
    return 0


def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help=_HELP["compare"])
    from hicenv_agents.search.compare import AGENTS, DEFAULT_AGENTS

    p.add_argument(
        "--agents",
        default=",".join(DEFAULT_AGENTS),
        help=f"comma-separated, of: {', '.join(AGENTS)} (default {','.join(DEFAULT_AGENTS)})",
    )
    p.add_argument("--evaluations", type=count_arg, default=50, help="designs each agent evaluates per seed")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--out", default=None, help="hypervolume curves (CSV; default compare.csv, not overwritten)")
    p.add_argument("--plot", default=None, help="plot (PNG; default compare.png, not overwritten)")
    p.add_argument("--overwrite", action="store_true", help="replace existing default outputs")
    p.add_argument(
        "--store",
        default=None,
        type=out_folder_arg,
        help="folder that keeps each agent-seed run as it ends; a rerun continues from it",
    )
    p.add_argument("--workers", type=count_arg, default=1, help="processes running agent-seed runs side by side")
    _add_env_args(p)
    p.set_defaults(func=_compare)


def _compare(args) -> int:
    import optuna

    from hicenv_agents.search.compare import compare
    from hicenv_agents.search.rl import env_kwargs_from

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise InputError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    args.out = _default_output(args.out, "compare.csv", args.overwrite)
    args.plot = _default_output(args.plot, "compare.png", args.overwrite, "--plot")
    _check_exports(args.out, None, args.plot)
    agents = [a.strip() for a in args.agents.split(",")]
    kw = env_kwargs_from(args)
    _warn_if_long(args.backend, kw.get("budget"), args.evaluations * len(seeds) * len(agents))
    df = compare(
        agents,
        args.evaluations,
        seeds,
        kw,
        args.out,
        args.plot,
        store=args.store,
        say=lambda line: print(line, file=sys.stderr, flush=True),
        workers=args.workers,
    )
    last = df[df["evaluations"] == df["evaluations"].max()].groupby("agent", sort=False)["hypervolume"]
    for agent, hv in last:
        print(
            f"{agent:>7}: hypervolume after {df['evaluations'].max()} evaluations: "
            f"median {hv.median():.4f} (interquartile {hv.quantile(0.25):.4f} to {hv.quantile(0.75):.4f})"
        )
    return 0


def _add_paper(sub) -> None:
    p = sub.add_parser(
        "paper",
        help=_HELP["paper"],
        description="The paper's experiment (studies/paper/README.md): 'hicenv paper run' trains "
        "the panel, resumably; 'hicenv paper report' writes REPORT.md from stored results. "
        "'hicenv paper run --help' and 'hicenv paper report --help' list their options.",
    )
    p.add_argument("action", choices=["run", "report"], help="run or report")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the action's options (see hicenv paper run --help)")
    p.set_defaults(func=_paper)


def _paper(args) -> int:
    if args.action == "run":
        from hicenv_agents.experiments.paper import main as run_main

        return run_main(args.rest)
    from hicenv_agents.experiments.paper_report import main as report_main

    return report_main(args.rest)


def _experiment_main(name: str, rest: list[str]) -> int:
    return importlib.import_module(f"hicenv_agents.experiments.{name}").main(rest)


def _bench_main(rest: list[str]) -> int:
    """``hicenv bench ...``: ``report`` and ``learners`` go to their own parsers, the rest to the bench's."""
    if rest[:1] in (["report"], ["learners"]):
        name = {"report": "bench_report", "learners": "learners"}[rest[0]]
        return importlib.import_module(f"hicenv_agents.experiments.{name}").main(rest[1:])
    from hicenv_agents.experiments.bench import main as bench_main

    return bench_main(rest)


def _summary(m: dict) -> str:
    from hicenv.design.deployment import VALIDATED_FACTOR

    cfg = m["config"]
    name = (
        "FP32 baseline"
        if cfg["fp32"]
        else (f"HIC {cfg['msb_bits']}+{cfg['lsb_bits']} bits, acc {cfg['acc_bits']}, noise {cfg['noise']:g}")
    )
    lines = [f"{name}, width {cfg['width']:g}, budget {m['budget']['name']}, {m['dataset']}, seed {m['seed']}"]
    if m["failed"]:
        lines.append(f"  FAILED: {m['failure_reason']}")
    else:
        lines.append(f"  accuracy          {m['accuracy']:.4f}")
        lines.append("  after drift       " + "  ".join(f"{h} {a:.4f}" for h, a in m["accuracy_drift"].items()))
        lines.append("  with compensation " + "  ".join(f"{h} {a:.4f}" for h, a in m["accuracy_drift_gdc"].items()))
    lines.append(
        f"  model size        {m['model_size_mb']:.3f} MB ({m['size_ratio']:.3f} of the FP32 width-1 model, "
        f"{m['reference_size_bits'] / 8e6:.3f} MB)"
    )
    lines.append(f"  write cycles      max {m['max_write_cycles']} ({m['endurance_fraction']:.2e} of endurance)")
    if m.get("projected_writes") is not None:
        lines.append(
            f"  per deployment    {m['projected_writes']:.4g} writes of the most-written device a training "
            f"({m['projection']}, {m['extrapolation']:.0f}x the run, "
            f"{'within' if m['validated'] else 'beyond'} the {VALIDATED_FACTOR:.0f}x validated); "
            f"lifetime wear {m['lifetime_wear']:.3g}, "
            f"{m['lifetime_trainings']:.3g} trainings"
        )
    lines.append(
        f"  hardware          area {m['area_mm2']:.3g} mm^2, inference {m['inference_energy_j'] * 1e6:.3g} uJ/image, "
        f"training {m['train_energy_j']:.4g} J (docs/costs.md)"
    )
    b = m["budget"]
    lines.append(
        f"  training          {m['train_images']} images x {b.get('epochs', 1)} epochs, {m['steps']} steps "
        f"(what the budget became on this dataset), test {m['test_images']} images"
    )
    lines.append(
        f"  time              {m['train_seconds']:.1f} s, {m['images_per_second']:.0f} images/s on {m['device']}"
    )
    return "\n".join(lines)


_COMMANDS = {
    "evaluate": _add_evaluate,
    "study": _add_study,
    "worker": _add_worker,
    "pareto": _add_pareto,
    "rl": _add_rl,
    "compare": _add_compare,
    "table": _add_table,
    "paper": _add_paper,
}
"""Commands by name, each adding its parser to the subparsers."""


_PASS_THROUGH = {
    "bench": _bench_main,
    **{name: partial(_experiment_main, name) for name in ("wear", "accumulator", "noise")},
}
"""Commands whose whole argument list goes to their own parser (so ``--help`` reaches it)."""


def main(argv: list[str] | None = None) -> int:
    """The ``hicenv`` command; Ctrl-C at any moment (imports included) exits 130 without a
    traceback, even where some library swallowed the interrupt (:mod:`hicenv_agents.sigint`)."""
    sigint.forget()
    sigint.install()
    warnings.formatwarning = _one_line_warning
    try:
        code = _main(argv)
    except KeyboardInterrupt:
        code = 130
    if code == 130 or sigint.seen():
        print("hicenv: interrupted", file=sys.stderr)
        return 130
    return code


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as one line on stderr (a user of the command needs what, not where)."""
    return f"{category.__name__}: {' '.join(str(message).split())}\n"


def _main(argv: list[str] | None) -> int:
    parser = _Parser(prog="hicenv", description="Design-space exploration for hybrid in-memory computing training.")
    from hicenv import __version__

    parser.add_argument("--version", action="version", version=f"hicenv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    # Only the command being run is built (evaluate's flags import torch): --version and
    # --help answer at once.
    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if not w.startswith("-")), None)
    if words[:1] and words[0] in _PASS_THROUGH:  # their own parsers answer --help and bad options
        try:
            return _PASS_THROUGH[words[0]](list(words[1:]))
        except InputError as e:
            print(f"hicenv {words[0]}: error: {e}", file=sys.stderr)
            return 2
    for name in _HELP:  # a pass-through command is listed here; its own parser answered above
        if name == command and name in _COMMANDS:
            _COMMANDS[name](sub)
        else:
            sub.add_parser(name, help=_HELP[name])
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as e:  # bad input: one line; any other exception is a bug and keeps its traceback
        print(f"hicenv {args.command}: error: {e}", file=sys.stderr)
        return 2


def run_as_main() -> None:
    """``python -m hicenv`` and ``python -m hicenv_agents.cli``: exit with :func:`main`'s status.

    After Ctrl-C, CPython's ``-m`` path would turn 130 into death by SIGINT when the
    KeyboardInterrupt crossed C code that runs Python (an import in torch does): it keeps
    a flag that the interrupt was unhandled even though :func:`main` handled it. So an
    interrupted run leaves at once (streams flushed; every trial is stored by then)."""
    code = main()
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


if __name__ == "__main__":
    run_as_main()
