"""A study as optuna-dashboard shows it: served on loopback, read through its JSON API."""

import json
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import optuna
import pytest

from hicenv.design.objectives import DEFAULT_OBJECTIVES
from hicenv_agents.search.optuna_study import designs_frame, run_study
from hicenv_agents.search.studyfile import StudySpec

optuna_dashboard = pytest.importorskip("optuna_dashboard")  # in the test extra


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """A small surrogate study in SQLite, and optuna-dashboard serving it on 127.0.0.1."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    spec = StudySpec(name="dash", trials=12, sampler="random", seed=0, space={"endurance_budget": 0.3})
    run_study(spec, url)
    server = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(url), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def test_the_dashboard_shows_named_objectives_per_metric_attributes_and_feasibility(served):
    url, base = served
    study_id = next(s["study_id"] for s in _get(f"{base}/api/studies")["study_summaries"] if s["study_name"] == "dash")
    detail = _get(f"{base}/api/studies/{study_id}")
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
