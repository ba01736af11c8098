"""A study as optuna-dashboard shows it: served on loopback, read through its JSON API."""

import contextlib
import json
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import optuna
import pytest

from hicenv.design.objectives import DEFAULT_OBJECTIVES
from hicenv_agents.search.optuna_study import designs_frame, pareto_of, run_study
from hicenv_agents.search.studyfile import StudySpec

optuna_dashboard = pytest.importorskip("optuna_dashboard")  # in the test extra


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serving(tmp_path, spec: StudySpec):
    """``spec``'s study in SQLite, and optuna-dashboard serving it on 127.0.0.1: (url, base)."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    run_study(spec, url)
    server = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(url), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def served(tmp_path):
    """A small surrogate study with infeasible designs, served by optuna-dashboard."""
    spec = StudySpec(name="dash", trials=12, sampler="random", seed=0, space={"endurance_budget": 0.3})
    with _serving(tmp_path, spec) as s:
        yield s


def _detail(base: str, name: str) -> dict:
    study_id = next(s["study_id"] for s in _get(f"{base}/api/studies")["study_summaries"] if s["study_name"] == name)
    return _get(f"{base}/api/studies/{study_id}")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def test_the_dashboard_shows_named_objectives_per_metric_attributes_and_feasibility(served):
    url, base = served
    detail = _detail(base, "dash")
    assert detail["objective_names"] == list(DEFAULT_OBJECTIVES)  # not "Objective 0/1/2"
    attrs = {a["key"]: a["sortable"] for a in detail["union_user_attrs"]}
    for metric in ("horizon_accuracy", "size_ratio", "lifetime_wear", "accuracy", "max_write_cycles"):
        assert attrs.get(metric) is True, metric  # each its own attribute, numeric, so sortable
    assert "row" not in attrs  # no JSON blob
    # An endurance budget of 0.3 (lifetime wear) makes some designs infeasible: the dashboard must see which.
    study = optuna.load_study(study_name="dash", storage=url)
    expected = {t.number: designs_frame(study).set_index("trial").loc[t.number, "feasible"] for t in study.trials}
    shown = {t["number"]: all(c <= 0 for c in t["constraints"]) for t in detail["trials"]}
    assert all(len(t["constraints"]) == 1 for t in detail["trials"])
    assert shown == expected and 0 < sum(shown.values()) < len(shown)


def test_the_dashboards_pareto_front_has_one_trial_per_design_of_the_exported_front(tmp_path):
    # TPE on 27 points asked for 27 designs: bare, it re-proposed points (106 trials for the
    # 27), and each re-proposal was one more COMPLETE trial on the dashboard's front.
    space = {"knobs": {"msb_bits": [2, 3, 4], "lsb_bits": [2, 3, 4], "acc_bits": [4, 8, 32]}}
    with _serving(tmp_path, StudySpec(name="front", trials=27, sampler="tpe", seed=0, space=space)) as (url, base):
        detail = _detail(base, "front")
        front, everything = pareto_of(optuna.load_study(study_name="front", storage=url))
    assert len(everything) == 27 and len(detail["trials"]) == 27  # one trial per design
    assert len(detail["best_trials"]) == len(front) > 1
    assert sorted(t["number"] for t in detail["best_trials"]) == sorted(front["trial"])
    acc_bits = next(p for p in detail["trials"][0]["params"] if p["name"] == "acc_bits")
    # A numeric axis in its plots: a category's choices reach it as strings, sorted 12, 16, 32, 4, ...
    assert acc_bits["distribution"]["type"] == "IntDistribution"
