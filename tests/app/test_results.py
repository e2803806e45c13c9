"""Results: the dashboard's scores equal `python -m crm_core score`, the human baseline, realism figures."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from runs_org import BASELINE_RUN, ORACLE_RUN, RunsStudio, build_runs_studio, open_page
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from crm_core.store import StudyItem, open_app_store
from crm_core.studies import load_definition, parse_study, submit
from crm_core.studio.dashboards import (
    load_sources,
    realism_agreement,
    realism_frame,
    run_reports,
    score_heatmap,
    task_frame,
)
from crm_core.studio.workbench import open_session, submit_answer

ROOT = Path(__file__).resolve().parents[2]
USERS = {"erin": "expert", "ethan": "expert", "rita": "researcher"}
PASSWORD = "results-pass-1"
T = dt.datetime(2026, 1, 1)

STUDY = """
id: tiny-realism
title: Tiny realism
instructions: Rate.
scale: [Very unrealistic, Unrealistic, Neutral, Realistic, Very realistic]
dimensions:
  - id: data
    question: Data?
  - id: text
    question: Text?
items:
  - kind: objects
    objects: [Case, Account]
ratings_per_item: 2
randomize_order: false
"""
# rater -> item object -> (data, text)
RATINGS = {
    "erin": {"Case": (4, 5), "Account": (2, 3)},
    "ethan": {"Case": (5, 5), "Account": (2, 4)},
}


@pytest.fixture(scope="module")
def runs_studio(tmp_path_factory, tiny_org_url) -> RunsStudio:
    studio = build_runs_studio(tmp_path_factory.mktemp("results"), tiny_org_url, USERS, PASSWORD)
    store = open_app_store(studio.app_url)
    with store() as session:
        study = load_definition(session, parse_study(STUDY, "tiny.yaml"))
        items = dict(
            session.execute(select(StudyItem.object_name, StudyItem.id).where(StudyItem.study_id == study.id)).all()
        )
        for rater, by_object in RATINGS.items():
            for name, (data, text) in by_object.items():
                submit(session, study.id, items[name], rater, {"data": data, "text": text}, {"data": "c", "text": "c"})
        # the human baseline: erin right on two tasks' instances, ethan wrong on the first one
        first, second = studio.instances[0], studio.instances[1]
        for user, instance, answer in (
            ("erin", first, first.answer_text),
            ("ethan", first, "wrong"),
            ("erin", second, second.answer_text),
        ):
            row = open_session(session, user, instance)
            submit_answer(session, row.id, answer, instance, submission_id=f"{user}-{instance.idx}")
    store.kw["bind"].dispose()
    return studio


@pytest.fixture
def page_env(runs_studio, tmp_path, monkeypatch) -> RunsStudio:
    for key, value in runs_studio.env(tmp_path / "secrets.toml").items():
        monkeypatch.setenv(key, value)
    return runs_studio


def cli_score(app_url: str, run_id: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "crm_core", "score", run_id, "--json", "--app-db", app_url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout)


def as_user(username: str) -> AppTest:
    return open_page("pages/results.py", username, USERS[username])


def test_dashboard_scores_equal_the_cli(runs_studio):
    store = open_app_store(runs_studio.app_url)
    reports = {r.run_id: r for r in run_reports(store)}
    store.kw["bind"].dispose()
    for run_id in (ORACLE_RUN, BASELINE_RUN):
        printed = cli_score(runs_studio.app_url, run_id)
        mine = reports[run_id].model_dump(mode="json")
        for key in ("per_task", "per_persona", "overall", "per_task_normalized", "overall_normalized", "pass_hat_k"):
            assert mine[key] == printed[key], key
    assert reports[ORACLE_RUN].overall == 1.0  # the oracle reaches every reference answer


def test_human_baseline_scores_the_workbench_answers(runs_studio):
    store = open_app_store(runs_studio.app_url)
    human = next(s for s in load_sources(store) if s.kind == "human")
    store.kw["bind"].dispose()
    first, second = runs_studio.instances[0], runs_studio.instances[1]
    assert first.task != second.task
    # first: one right, one wrong -> 0.5; second: right -> 1.0 (fuzzy tasks score F1 = 1 for the exact text)
    assert human.per_task == {first.task: 0.5, second.task: 1.0}
    assert human.overall == 0.75
    assert (human.model, human.framework, human.episodes) == ("human", "workbench", 3)


def test_heatmap_cells_are_the_task_scores(runs_studio):
    store = open_app_store(runs_studio.app_url)
    sources = [s for s in load_sources(store) if s.run_id == BASELINE_RUN]
    store.kw["bind"].dispose()
    figure = score_heatmap(task_frame(sources))
    heat = figure.data[0]
    cells = {task: row[0] for task, row in zip(heat.y, heat.z, strict=True)}
    assert cells == pytest.approx(sources[0].per_task)


def test_realism_agreement_and_share_by_hand(runs_studio):
    store = open_app_store(runs_studio.app_url)
    with store() as session:
        rows = {row.dimension: row for row in realism_agreement(session, "tiny-realism")}
        frame = realism_frame(session, "tiny-realism")
    store.kw["bind"].dispose()
    values = [v for by_object in RATINGS.values() for pair in by_object.values() for v in pair]
    assert rows["all"].ratings == len(values) == 8
    assert rows["all"].share_realistic == sum(v >= 4 for v in values) / 8  # 5 of 8
    # units (item, dimension) in a fixed order; raters as rows
    units = [("Case", 0), ("Case", 1), ("Account", 0), ("Account", 1)]
    matrix = np.array([[RATINGS[r][o][d] for o, d in units] for r in ("erin", "ethan")], dtype=float)
    expected = krippendorff.alpha(reliability_data=matrix, value_domain=[1, 2, 3, 4, 5], level_of_measurement="ordinal")
    assert rows["all"].alpha == pytest.approx(expected)
    data_only = matrix[:, [0, 2]]
    assert rows["data"].alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data_only, value_domain=[1, 2, 3, 4, 5], level_of_measurement="ordinal")
    )
    assert rows["text"].share_realistic == 3 / 4
    counts = frame.groupby(["object", "label"]).size().to_dict()
    assert counts[("Case", "Very realistic")] == 3 and counts[("Account", "Unrealistic")] == 2


def test_experts_cannot_open_the_results(page_env):
    at = as_user("erin")
    assert [e.value for e in at.error] == ["Your role cannot open the Results page."]
    assert not at.get("plotly_chart")


def test_page_writes_the_cli_scores_and_draws_the_charts(page_env):
    at = as_user("rita")
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    for run_id in (ORACLE_RUN, BASELINE_RUN):
        printed = cli_score(page_env.app_url, run_id)
        shown = re.search(rf"\({re.escape(run_id)}\)`: overall \*\*([0-9.]+)\*\*", text)
        assert shown is not None and shown.group(1) == f"{printed['overall']:.3f}"
    assert "`human · workbench`: overall **0.750**" in text
    assert len(at.get("plotly_chart")) == 6  # heatmap, personas, pass^k, efficiency; realism by object and dimension
    share = next(m for m in at.metric if m.label.startswith("“Realistic”"))
    assert share.value == "62.5%"


@pytest.mark.postgres
def test_dashboard_reads_episode_columns_on_postgresql(app_db_pg_url):
    from test_replay import act_episode

    from crm_core.agents.records import RunRecord
    from crm_core.agents.results import score_run
    from crm_core.store.runs import list_runs, load_episodes, save_episode, save_run

    store = open_app_store(app_db_pg_url)
    run = RunRecord(run_id="pg", framework="act", model="m", tasks=["handle_time"], trials=2, created_at=T)
    save_run(store, run, planned=4)
    for idx, trial, reward, normalized in ((0, 0, 1.0, 1.0), (0, 1, 0.0, 1.0), (1, 0, 0.0, 0.0), (1, 1, 1.0, 1.0)):
        episode = act_episode(["[]"], "x", reward).model_copy(
            update={"run_id": "pg", "instance_idx": idx, "trial": trial, "reward_normalized": normalized}
        )
        save_episode(store, episode)
    report = run_reports(store)[0]
    expected = score_run(list_runs(store, "pg")[0].run, load_episodes(store, "pg"), 4)  # full records, as the CLI
    store.kw["bind"].dispose()
    assert report == expected
    assert (report.overall, report.overall_normalized) == (0.5, 0.75)
    assert report.pass_hat_k == {1: 0.5, 2: 0.0}
