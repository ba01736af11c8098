"""The import graph, built from the source: one-way layers and no cycles.

Layers, bottom to top (README, Layout): shared helpers (errors, fielddocs, output),
the simulator (hicenv.sim), result rows (hicenv.rows), the design-space layer
(hicenv.design), the searches and the experiments (hicenv_agents.search,
hicenv_agents.experiments), and the CLI on top. A module may import its own layer
or a lower one, never a higher one; the simulator imports neither Gymnasium nor
Optuna nor stable-baselines3.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = {"hicenv": ROOT / "hicenv", "hicenv_agents": ROOT / "agents"}
LAYERS = [
    ("base", ("hicenv.errors", "hicenv.fielddocs", "hicenv.output", "hicenv_agents.sigint", "hicenv_agents.args")),
    ("sim", ("hicenv.sim",)),
    ("rows", ("hicenv.rows",)),
    ("design", ("hicenv.design",)),
    ("searches", ("hicenv_agents.search", "hicenv_agents.experiments")),
    ("cli", ("hicenv_agents.cli", "hicenv.__main__")),
]
ENTRY_POINTS = {"hicenv.__main__"}
"""Modules in the CLI layer that live in the library's package: ``python -m hicenv`` must be
``hicenv/__main__.py``, so it sits in the ``hicenv`` folder yet belongs on top. Its import of
``hicenv_agents.cli`` is allowed because nothing imports it (a test checks): an entry point
is where the graph starts, so it adds no path from the library up to the CLI."""
FACADES = {"hicenv", "hicenv_agents"}
"""Package roots: they import none of their modules when imported (the public names load
lazily), so importing one (``from hicenv import __version__``) adds no edge."""


def _modules() -> dict[str, Path]:
    out = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([pkg, *parts])] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module this one imports, at any depth of its code (function-level included)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # "from pkg import module"
    return found


def _ours(imported: set[str]) -> set[str]:
    return {m for m in imported if m in MODULES}


GRAPH = {name: _ours(_imports(name, path)) - {name} for name, path in MODULES.items()}


def _layer(module: str) -> int:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"module {module} is in no layer: add it to LAYERS and README's Layout")


def test_every_module_is_in_a_layer():
    for m in MODULES:
        if m not in FACADES:
            _layer(m)


def test_package_roots_import_none_of_their_modules():
    for root in FACADES:
        assert GRAPH[root] == set(), (root, GRAPH[root])


def test_imports_go_down_the_layers_only():
    up = [
        (m, d)
        for m, deps in GRAPH.items()
        if m not in FACADES
        for d in deps
        if d not in FACADES and _layer(d) > _layer(m)
    ]
    assert up == [], f"imports of a higher layer: {up}"


def test_entry_points_are_imported_by_nothing():
    for m, deps in GRAPH.items():
        assert not deps & ENTRY_POINTS, (m, deps & ENTRY_POINTS)
    assert all(_layer(e) == len(LAYERS) - 1 for e in ENTRY_POINTS)


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(GRAPH[m]):
            if state.get(d) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(path[path.index(d) :] + [d])}")
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [m])


@pytest.mark.parametrize("library", ["gymnasium", "optuna", "stable_baselines3"])
def test_the_simulator_knows_nothing_of_the_searches(library):
    for m, path in MODULES.items():
        if m.startswith("hicenv.sim"):
            assert not any(i == library or i.startswith(library + ".") for i in _imports(m, path)), m


def test_the_graph_test_sees_a_planted_upward_import(tmp_path):
    # the checker itself can fail: an import of the design layer from the simulator is upward
    assert _layer("hicenv.design.env") > _layer("hicenv.sim.trainer")
    planted = tmp_path / "m.py"
    planted.write_text("def f():\n    from hicenv.design.env import HICDesignEnv\n")
    assert _ours(_imports("hicenv.sim.m", planted)) == {"hicenv.design.env"}


def test_readme_layout_names_every_package_and_layer():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout")[1].split("\n## ")[0]
    for _, prefixes in LAYERS:
        for p in prefixes:
            shown = p.replace("hicenv_agents.", "agents/").replace("hicenv.", "hicenv/").replace(".", "/")
            assert shown in layout, shown


def test_contributing_names_each_registry_where_it_is_defined():
    # "one registry entry each": the table must point at the file that defines the registry.
    import re

    text = (ROOT / "CONTRIBUTING.md").read_text()
    rows = re.findall(r"^\|[^|]*\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \| `([^`]+\.py)` \|$", text, flags=re.M)
    assert len(rows) >= 7, rows
    for first, second, file in rows:
        tree = ast.parse((ROOT / file.replace("agents/", "agents/", 1)).read_text())
        defined = {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign)) for t in _targets(n)}
        for name in filter(None, (first, second)):
            assert name in defined, (name, file)


def _targets(node):
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t for t in targets if isinstance(t, ast.Name)]


def test_readme_lists_every_sampler_algorithm_and_objective():
    from hicenv.design.objectives import OBJECTIVES
    from hicenv_agents.search.rl import ALGOS
    from hicenv_agents.search.samplers import SAMPLERS

    readme = (ROOT / "README.md").read_text()
    for names, where in ((SAMPLERS, "Samplers:"), (OBJECTIVES, "Objectives (")):
        sentence = readme.split(where, 1)[1].split(".", 1)[0] if where == "Samplers:" else readme.split(where)[1][:900]
        missing = [n for n in names if f"`{n}`" not in sentence]
        assert not missing, (where, missing)
    assert all(f"`{a}`" in readme for a in ALGOS)
