"""Bad input to the bench, paper, experiment, compare and rl tools and the Python API, case by case.

Each CLI case must exit with status 2 and one error line naming the problem, print
no traceback, and leave the folder it ran in as it was (nothing made, changed or
trained): a bad option, output path or results file is refused before any work.
Each API case must raise :class:`~hicenv.errors.InputError` in one line when the
object is made, and create nothing. The fixtures (a file where a folder belongs,
random bytes where results belong, ...) are made in a fresh folder per case.
"""

import contextlib
import io
import re

import numpy as np
import pytest

from hicenv.errors import InputError
from hicenv_agents.cli import main

RUNS = {  # the resumable runners and the run options each takes
    "bench run": ("workers", "threads", "deadline", "device"),
    "paper run": ("workers", "threads", "deadline", "device"),
    "wear run": ("workers", "threads", "deadline"),
    "accumulator run": ("workers", "threads", "deadline"),
    "noise run": ("workers", "threads", "deadline"),
}
BAD_RUN_VALUES = {
    "workers": ["0", "-1", "x", "1.5"],
    "threads": ["0", "-1", "x"],
    "deadline": ["0", "-5", "nan", "inf", "x"],
    "device": ["bogus", "cuda:7"],
}


def _run_option_cases() -> list:
    cases = []
    for command, options in RUNS.items():
        for option in options:
            for value in BAD_RUN_VALUES[option]:
                cases.append(([*command.split(), f"--{option}", value], f"argument --{option}"))
    return cases


FOLDER_OUTPUTS = [  # a file where a folder goes, and a folder under a file
    ("bench run --out {}", "--out"),
    ("bench report --out {}", "--out"),
    ("paper run --out {}", "--out"),
    ("paper report --out {}", "--out"),
    ("compare --agents random --evaluations 2 --seeds 0 --store {}", "--store"),
    ("rl --algo random --timesteps 2 --logdir {}", "--logdir"),
    ("wear run --results {}", "--results"),
    ("accumulator run --results {}", "--results"),
    ("noise run --results {}", "--results"),
]


def _folder_output_cases() -> list:
    cases = []
    for line, flag in FOLDER_OUTPUTS:
        for bad, why in (("afile", "is a file, not a folder"), ("afile/sub", "afile is a file, not a folder")):
            cases.append((line.format(bad).split(), f"{flag}.*{why}"))
    return cases


FILE_OUTPUTS = [
    ("wear report --results adir --out {}", "--out", ["adir", "nodir/r.md", "r.txt"]),
    ("accumulator report --results adir --out {}", "--out", ["adir", "nodir/r.md", "r.txt"]),
    ("noise report --results adir --out {}", "--out", ["adir", "nodir/r.md", "r.txt"]),
    ("bench tasks --out {}", "--out", ["adir", "nodir/t.json", "t.txt"]),
    ("bench compile --results rnd --out {}", "", ["adir", "nodir/b.csv"]),
    ("compare --agents random --evaluations 2 --seeds 0 --out {} --plot p.png", "--out", ["c.txt", "adir"]),
    ("compare --agents random --evaluations 2 --seeds 0 --out c.csv --plot {}", "--plot", ["p.txt", "adir"]),
    ("rl --algo random --timesteps 2 --out {}", "--out", ["d.txt", "adir", "nodir/d.csv"]),
    ("rl --algo ppo --timesteps 2 --out d.csv --save {}", "--save", ["adir", "nodir/m.zip"]),
    ("evaluate --out {}", "--out", ["o.parquet", "o.csv", "adir", "nodir/m.json"]),
]


def _file_output_cases() -> list:
    why = {"adir": "folder", "nodir": "does not exist", "txt": "write to", "parquet": "write to", "csv": "write to"}
    cases = []
    for line, flag, values in FILE_OUTPUTS:
        for v in values:
            key = "adir" if v == "adir" else "nodir" if v.startswith("nodir") else v.rsplit(".", 1)[1]
            cases.append((line.format(v).split(), f"{re.escape(flag)}.*{why[key]}" if flag else why[key]))
    return cases


DAMAGED = {"rnd": "random bytes", "arr": "a JSON array", "foreign": "another tool's JSON objects"}


def _damaged_results_cases() -> list:
    cases = []
    for folder in DAMAGED:
        for line in (
            "bench report --out rep --results {}",
            "paper report --out rep --results {}",
            "bench run --points 1 --out {}",
            "wear report --out r.md --results {}",
            "noise report --out r.md --results {}",
            "accumulator report --out r.md --results {}",
        ):
            cases.append((line.format(folder).split(), rf"{folder}/\S+\.jsonl holds no results"))
    for folder in ("rnd", "arr"):
        line = "compare --agents random --evaluations 2 --seeds 0 --out c.csv --plot c.png --store {}"
        cases.append((line.format(folder).split(), rf"{folder}/\S+\.jsonl holds no results"))
    return cases


OTHER_CASES = [
    (["compare", "--evaluations", "0"], "argument --evaluations"),
    (["compare", "--evaluations", "-1"], "argument --evaluations"),
    (["compare", "--evaluations", "x"], "argument --evaluations"),
    (["compare", "--workers", "0"], "argument --workers"),
    (["compare", "--workers", "x"], "argument --workers"),
    (["compare", "--seeds", "a,b"], "--seeds"),
    (["rl", "--timesteps", "0"], "argument --timesteps"),
    (["rl", "--timesteps", "-1"], "argument --timesteps"),
    (["rl", "--timesteps", "x"], "argument --timesteps"),
    (["rl", "--n-envs", "0"], "argument --n-envs"),
    (["rl", "--n-envs", "x"], "argument --n-envs"),
    (["study", "quick.toml", "--device", "bogus", "--storage", "s.log"], "argument --device"),
    (["study", "quick.toml", "--device", "cuda:3", "--storage", "s.log"], "argument --device"),
    (["evaluate", "--device", "cuda:9"], "argument --device"),
    (["evaluate", "--device", "5"], "argument --device"),
    (["worker", "--storage", "s.log", "--study-name", "x", "--device", "bogus"], "argument --device"),
    (["study", "seed.toml", "--storage", "s.log"], "seed must be an integer in \\[0, 2\\*\\*32\\)"),
    (["study", "bigseed.toml", "--storage", "s.log"], "seed must be an integer in \\[0, 2\\*\\*32\\)"),
    (["study", "strseed.toml", "--storage", "s.log"], "seed must be an integer"),
    (["study", "wide.toml", "--storage", "s.log"], "width=\\[9.0\\] is outside bench"),
    (["study", "noisy.toml", "--storage", "s.log"], "noise=\\[5.0\\] is outside bench"),
    (["study", "latin1.toml", "--storage", "s.log"], "latin1.toml is not UTF-8"),
    (["study", "adir", "--storage", "s.log"], "study file adir is not a file"),
    (["evaluate", "--dataset", "bad.npz"], "bad.npz is not a .npz archive"),
    (["evaluate", "--dataset", "renamed.npz"], "renamed.npz is not a .npz archive"),
    (["evaluate", "--dataset", "dir.npz"], "dir.npz is not a file"),
    (["evaluate", "--dataset", "fashion-mnist", "--data-dir", "afile"], "data_root afile is not a folder"),
    (["bench", "--help-me"], "unrecognized arguments|invalid choice|required"),
    (["paper", "report", "--out", "afile"], "--out.*is a file"),
    # Refused on their dataset, budget or seed: no result cache is left behind (item 8).
    (["table", "--seed", "-1", "--out", "t.csv"], "seed must be an integer"),
    (["table", "--budget", "huge", "--out", "t.csv"], "unknown budget 'huge'"),
    (["rl", "--algo", "random", "--timesteps", "2", "--backend", "train", "--seed", "-1"], "seed must be"),
    (["rl", "--algo", "random", "--timesteps", "2", "--backend", "train", "--dataset", "imagenet"], "unknown dataset"),
    (["rl", "--algo", "random", "--timesteps", "2", "--backend", "train", "--budget", "huge"], "unknown budget"),
    (["compare", "--agents", "random", "--seeds", "-1", "--backend", "train"], "seed must be"),
    (["compare", "--agents", "random", "--backend", "train", "--dataset", "imagenet"], "unknown dataset"),
    (["compare", "--agents", "random", "--backend", "train", "--budget", "huge"], "unknown budget"),
]

TINY = ["--budget", "smoke", "--budget.train-images", "32", "--budget.test-images", "16"]

CASES = _run_option_cases() + _folder_output_cases() + _file_output_cases() + _damaged_results_cases() + OTHER_CASES


def _fixtures(tmp_path):
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "dir.npz").mkdir()
    for name, body in {
        "rnd": bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)),
        "arr": b"[1, 2]\n",
        "foreign": b'{"key": "k", "hypervolume": [1.0]}\n{"op_code": 0}\n',
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "results-x.jsonl").write_bytes(body)
    (tmp_path / "bad.npz").write_bytes(b"\x8f random \x00 bytes" * 10)
    np.save(tmp_path / "renamed.npy", np.zeros(3))
    (tmp_path / "renamed.npy").rename(tmp_path / "renamed.npz")
    studies = {
        "quick.toml": "trials = 1\n",
        "seed.toml": "trials = 1\nseed = -1\n",
        "bigseed.toml": f"trials = 1\nseed = {2**32}\n",
        "strseed.toml": "trials = 1\nseed = 'x'\n",
        "wide.toml": "trials = 1\n[space]\nknobs = { width = [0.5, 9.0] }\n",
        "noisy.toml": "trials = 1\nnoise = 5.0\n",
    }
    for name, body in studies.items():
        (tmp_path / name).write_text(body)
    (tmp_path / "latin1.toml").write_bytes("trials = 1\nname = 'caf\xe9'\n".encode("latin-1"))


def _snapshot(root) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _run(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse refuses before the command's own checks
            code = e.code
    return code, err.getvalue()


def test_there_are_at_least_150_new_cases():
    assert len(CASES) + len(API_CASES) >= 150


@pytest.mark.parametrize("argv,match", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_tool_input_is_one_line_exit_2_and_changes_nothing(argv, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HICENV_CACHE", str(tmp_path / "cache.sqlite"))
    _fixtures(tmp_path)
    before = _snapshot(tmp_path)
    extra = TINY if argv[0] == "evaluate" else []
    code, text = _run([*argv, *extra])
    errors = [line for line in text.splitlines() if "error:" in line]
    assert code == 2, text
    assert "Traceback" not in text and len(errors) == 1, text
    assert re.search(match, errors[0]), text
    assert _snapshot(tmp_path) == before  # nothing made (no cache, no study, no results), nothing changed


def _damaged_table(tmp_path, change) -> str:
    import pandas as pd

    from hicenv.design.table import SHIPPED_TABLE

    df = pd.read_csv(SHIPPED_TABLE)
    change(df)
    df.to_csv(tmp_path / "t.csv", index=False)
    return str(tmp_path / "t.csv")


def _set(column, value, row=3):
    def change(df):
        df[column] = df[column].astype(object)
        df.loc[row, column] = value

    return change


def _space():
    from hicenv.design.space import DesignSpace

    return DesignSpace.default()


# Each API case: prepare(tmp) makes the case's files and returns the call that must refuse.
def _now(call):
    return lambda tmp: call


def _env(**kwargs):
    import gymnasium

    import hicenv  # noqa: F401

    return _now(lambda: gymnasium.make("hicenv/HICDesign-v0", **kwargs))


def _damaged_cache(tmp):
    from hicenv.design.cache import ResultCache

    path = tmp / "c.sqlite"
    cache = ResultCache(path)
    for i in range(200):
        cache.put({"width": 1.0 + i}, {"name": "x"}, "d", i, {"accuracy": 0.5, "pad": "x" * 500})
    cache._connect().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cache._connect().close()
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)))
    return lambda: ResultCache(path)


def _cache_at(make_path):
    def prepare(tmp):
        from hicenv.design.cache import ResultCache

        path = make_path(tmp)
        return lambda: ResultCache(path)

    return prepare


def _table(change):
    def prepare(tmp):
        from hicenv.design.table import LookupTable

        path = _damaged_table(tmp, change)
        return lambda: LookupTable(path)

    return prepare


def _bytes(path):
    path.write_bytes(b"\x00\x01 not sqlite " * 100)
    return path


API_CASES = [
    ("with_knob duplicate", _now(lambda: _space().with_knob("msb_bits", [2, 2])), "lists 2 twice"),
    (
        "with_knob values and range",
        _now(lambda: _space().with_knob("msb_bits", [2, 3], low=1, high=4, step=1)),
        "not both",
    ),
    ("with_knob name 5", _now(lambda: _space().with_knob(5, [1, 2])), "name must be a string"),
    ("with_knob nothing", _now(lambda: _space().with_knob("msb_bits")), "low, high and step"),
    ("with_knob strings", _now(lambda: _space().with_knob("width", ["1", "2"])), "takes numbers"),
    ("from_dict 5", _now(lambda: type(_space()).from_dict(5)), "a design space is a dict"),
    ("from_dict list", _now(lambda: type(_space()).from_dict([1])), "a design space is a dict"),
    ("space=5", _env(space=5), "space must be a DesignSpace"),
    ("space=list", _env(space=[1, 2]), "space must be a DesignSpace"),
    ("space=str", _env(space="big"), "space must be a DesignSpace"),
    ("noise=high", _env(noise="high"), "noise must be a number"),
    ("noise=True", _env(noise=True), "noise must be a number"),
    ("noise=[1, x]", _env(noise=[1.0, "x"]), "noise must be a number"),
    ("noise=[]", _env(noise=[]), "noise must be a number"),
    ("noise=[None]", _env(noise=[None]), "noise must be a number"),
    ("table=5", _env(backend="table", table=5), "table must be a file's path"),
    ("table=folder", lambda tmp: _env(backend="table", table=str(tmp))(tmp), "is not a file"),
    ("bench=5", _env(bench=5), "bench must be a file's path"),
    ("bench=list", _env(bench=[1]), "bench must be a file's path"),
    ("cache=5", _env(backend="train", cache=5), "cache must be a file's path"),
    ("torch_device bogus", _env(backend="train", torch_device="bogus"), "torch_device='bogus' is not a torch device"),
    ("torch_device cuda:3", _env(backend="train", torch_device="cuda:3"), "CUDA device"),
    ("torch_device 5", _env(backend="train", torch_device=5), "torch_device must be a torch device name"),
    ("dataset imagenet", _env(backend="train", dataset="imagenet"), "unknown dataset 'imagenet'"),
    ("dataset missing", _env(backend="train", dataset="no.npz"), "no.npz does not exist"),
    ("dataset 5", _env(backend="train", dataset=5), "dataset must be a name"),
    ("data_root missing", _env(backend="train", dataset="fashion-mnist", data_root="/nonexistent"), "does not exist"),
    ("table accuracy 7.5", _table(_set("accuracy", 7.5)), "accuracy is in \\[0, 1\\]"),
    ("table accuracy -1", _table(_set("accuracy_drift_gdc_1y", -1.0)), "accuracy is in \\[0, 1\\]"),
    ("table NaN knob", _table(_set("msb_bits", np.nan)), "column msb_bits is empty at row 4"),
    ("table NaN width", _table(_set("width", np.nan, row=0)), "column width is empty at row 1"),
    ("cache damaged", _damaged_cache, "not a usable SQLite file \\(damaged"),
    ("cache random bytes", _cache_at(lambda t: _bytes(t / "r.sqlite")), "not a usable SQLite"),
    ("cache folder", _cache_at(lambda t: t), "is a folder"),
    ("cache under a file", _cache_at(lambda t: _bytes(t / "f") / "c.sqlite"), "is a file, not a folder"),
]


@pytest.mark.parametrize("name,prepare,match", API_CASES, ids=[c[0] for c in API_CASES])
def test_bad_api_input_is_refused_when_made_in_one_line(name, prepare, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HICENV_CACHE", str(tmp_path / "default.sqlite"))
    call = prepare(tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(InputError, match=match) as e:
        call()
    assert len(str(e.value).splitlines()) == 1
    assert _snapshot(tmp_path).keys() == before.keys()  # nothing created
