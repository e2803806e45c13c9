"""Results: the dashboard's scores equal `python -m crm_core score`, the human baseline, realism figures."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import krippendorff
import numpy as np
import pytest
from runs_org import BASELINE_RUN, ORACLE_RUN, RunsStudio, build_runs_studio, open_page
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from crm_core.agents.records import EpisodeRecord, RunRecord
from crm_core.agents.run_store import save_episode, save_run
from crm_core.scoring import OVERALL, compare
from crm_core.store import StudyItem, open_app_store
from crm_core.studies import load_definition, parse_study, submit
from crm_core.studies.export import response_rows
from crm_core.studio.dashboards import (
    HUMAN,
    agent_outcomes,
    best_table,
    human_baseline,
    human_outcomes,
    kept_runs,
    realism_agreement,
    realism_frame,
    realistic_by_object,
    run_reports,
    run_rows,
    trajectory_ratings,
)
from crm_core.studio.workbench import open_session, submit_answer

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
# a workbench study rating the random baseline's trajectories (the only run it shows)
RATING_STUDY = f"""
id: rate-agents
title: Rate agents
instructions: Solve, then rate.
scale: [Bad, Poor, Fair, Good, Great]
dimensions:
  - id: correctness
    question: Correct?
    applies_to: [task]
items:
  - kind: tasks
    per_task: 1
    runs: [{BASELINE_RUN}]
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
        rating = load_definition(session, parse_study(RATING_STUDY, "rate.yaml"), studio.org_url)
        item_of = {item.key: item.id for item in rating.items}
        for user, value in (("erin", 2), ("ethan", 4)):
            item = item_of[f"task:{first.idx}"]
            submit(session, rating.id, item, user, {"correctness": value}, {}, submission_id=f"rate-{user}")
    store.kw["bind"].dispose()
    return studio


@pytest.fixture
def page_env(runs_studio, tmp_path, monkeypatch) -> RunsStudio:
    for key, value in runs_studio.env(tmp_path / "secrets.toml").items():
        monkeypatch.setenv(key, value)
    return runs_studio


def cli_score(cli, app_url: str, run_id: str) -> dict:
    """What `python -m crm_core score RUN --json` prints (through the `cli` fixture)."""
    code, out, err = cli("score", run_id, "--json", "--app-db", app_url)
    assert code == 0, err
    return json.loads(out)


def as_user(username: str) -> AppTest:
    return open_page("studio_pages/results.py", username, USERS[username])


def test_dashboard_scores_equal_the_cli(runs_studio, cli):
    store = open_app_store(runs_studio.app_url)
    reports = {r.run_id: r for r in run_reports(store)}
    store.kw["bind"].dispose()
    for run_id in (ORACLE_RUN, BASELINE_RUN):
        printed = cli_score(cli, runs_studio.app_url, run_id)
        mine = reports[run_id].model_dump(mode="json")
        for key in ("per_task", "per_persona", "overall", "per_task_normalized", "overall_normalized", "pass_hat_k"):
            assert mine[key] == printed[key], key
    assert reports[ORACLE_RUN].overall == 1.0  # the oracle reaches every reference answer


def outcomes_of(studio: RunsStudio):
    store = open_app_store(studio.app_url)
    runs = run_rows(store)
    agents = agent_outcomes(store, [r.run_id for r in kept_runs(runs)])
    with store() as session:
        humans = human_outcomes(session)
    store.kw["bind"].dispose()
    return runs, agents, humans


def test_runs_are_pooled_into_systems_and_the_oracle_is_best(runs_studio):
    runs, agents, _ = outcomes_of(runs_studio)
    assert {r.system for r in runs} == {"oracle · act", "baseline:random · act"}
    comparison = compare(agents)
    assert len(comparison.instances) == len(runs_studio.instances)  # both ran every instance
    for task in comparison.tasks:
        assert comparison.score("oracle · act", task).interval.mean == 1.0
        assert "oracle · act" in comparison.best(task)
    assert comparison.best(OVERALL) == ["oracle · act"]
    table = best_table(comparison).set_index("task")
    assert table.loc[OVERALL, "oracle · act"] == "★ 1.000 [1.00, 1.00]"
    assert not table.loc[OVERALL, "baseline:random · act"].startswith("★")
    n = table["n"].to_dict()
    assert {n[task] for task in comparison.tasks} == {1}  # one instance per task
    assert {n[persona] for persona in comparison.personas} == {3}  # three tasks per persona
    assert n[OVERALL] == len(runs_studio.instances)


def test_human_baseline_is_compared_on_the_experts_instances(runs_studio):
    _, agents, humans = outcomes_of(runs_studio)
    first, second = runs_studio.instances[0], runs_studio.instances[1]
    assert first.task != second.task
    baseline = human_baseline(agents, humans, ["oracle · act", "baseline:random · act"])
    assert baseline.instances == sorted([first.idx, second.idx])
    # first: one right, one wrong -> 0.5; second: right -> 1.0 (fuzzy tasks score F1 = 1 for the exact text)
    assert baseline.score(HUMAN, first.task).interval.mean == 0.5
    assert baseline.score(HUMAN, second.task).interval.mean == 1.0
    assert baseline.score(HUMAN).interval.mean == 0.75
    assert baseline.score(HUMAN).episodes == 3
    assert baseline.score("oracle · act").interval.n == 2  # the agents on the same two instances


def test_practice_and_one_episode_runs_are_left_out_unless_asked_for(runs_studio, tmp_path):
    from runs_org import record_run

    app = tmp_path / "app.db"
    shutil.copy(runs_studio.app_url.removeprefix("sqlite:///"), app)
    url = f"sqlite:///{app}"
    record_run(url, runs_studio.org_url, "workbench-erin-1-abc", "baseline:majority", runs_studio.instances)
    record_run(url, runs_studio.org_url, "single", "baseline:majority", runs_studio.instances[:1])
    store = open_app_store(url)
    runs = run_rows(store)
    store.kw["bind"].dispose()
    kept = {r.run_id for r in kept_runs(runs)}
    assert kept == {ORACLE_RUN, BASELINE_RUN}
    assert {r.run_id for r in kept_runs(runs, practice=True)} == kept | {"workbench-erin-1-abc"}
    assert {r.run_id for r in kept_runs(runs, single=True)} == kept | {"single"}


def test_trajectory_ratings_and_export_name_the_rated_run_and_the_experts_answer(runs_studio, tmp_path):
    from runs_org import record_run

    first = runs_studio.instances[0]
    store = open_app_store(runs_studio.app_url)
    with store() as session:
        ratings = trajectory_ratings(session, "rate-agents")
        rows = response_rows(session, "rate-agents", pseudonymize_raters=False)
    store.kw["bind"].dispose()
    assert ratings.to_dict("records") == [
        {
            "system": "baseline:random · act",
            "dimension": "correctness",
            "ratings": 2,
            "mean [95% CI]": "3.000 [2.00, 4.00]",
        }
    ]
    by_rater = {row["rater"]: row for row in rows}
    assert by_rater["erin"]["run_id"] == BASELINE_RUN
    assert (by_rater["erin"]["model"], by_rater["erin"]["framework"]) == ("baseline:random", "act")
    assert by_rater["erin"]["expert_answer"] == first.answer_text and by_rater["erin"]["expert_score"] == 1.0
    assert by_rater["ethan"]["expert_answer"] == "wrong" and by_rater["ethan"]["expert_score"] == 0.0
    assert by_rater["erin"]["expert_seconds"] >= 0

    # a run added after the ratings does not change which run they refer to
    app = tmp_path / "app.db"
    shutil.copy(runs_studio.app_url.removeprefix("sqlite:///"), app)
    url = f"sqlite:///{app}"
    record_run(url, runs_studio.org_url, "later", "oracle", runs_studio.instances[:1])
    store = open_app_store(url)
    with store() as session:
        later = response_rows(session, "rate-agents", pseudonymize_raters=False)
    store.kw["bind"].dispose()
    assert [r["run_id"] for r in later] == [BASELINE_RUN, BASELINE_RUN]


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


def test_share_rated_realistic_per_object_by_hand(runs_studio):
    store = open_app_store(runs_studio.app_url)
    with store() as session:
        frame = realism_frame(session, "tiny-realism")
    store.kw["bind"].dispose()
    shares = realistic_by_object(frame).set_index("object")
    # Case: 4, 5, 5, 5 all at 4+; Account: 2, 3, 2, 4 one of four; all: 5 of 8
    assert shares.loc["Case", "share_realistic"] == 1.0
    assert shares.loc["Account", "share_realistic"] == 0.25
    assert (shares.loc["all", "ratings"], shares.loc["all", "share_realistic"]) == (8, 5 / 8)


def test_experts_cannot_open_the_results(page_env):
    at = as_user("erin")
    assert [e.value for e in at.error] == ["Your role cannot open the Results page."]
    assert not at.get("plotly_chart")


def test_page_answers_which_system_is_best_with_intervals(page_env, cli):
    at = as_user("rita")
    assert not at.exception
    best = at.table[0].value
    assert list(best.columns) == ["oracle · act", "baseline:random · act", "n"]
    assert best.loc[OVERALL, "oracle · act"] == "★ 1.000 [1.00, 1.00]"
    assert all(cell.startswith("★") for cell in best["oracle · act"])
    systems = at.table[1].value
    assert systems.loc["oracle · act", "runs"] == 1
    printed = cli_score(cli, page_env.app_url, BASELINE_RUN)
    assert systems.loc["baseline:random · act", "overall [95% CI]"].startswith(f"{printed['overall']:.3f} [")
    human = at.table[3].value
    # one instance per task: resampling instances (their trials together) cannot vary the mean
    assert human.loc[OVERALL, HUMAN] == "0.750 [0.75, 0.75]"
    ratings = at.table[4].value  # the Trajectory ratings tab: the workbench study's ratings per system
    assert ratings.loc["baseline:random · act", "mean [95% CI]"] == "3.000 [2.00, 4.00]"
    # intervals, effort, pass^k; realism by object and dimension
    assert len(at.get("plotly_chart")) == 5
    assert not [m for m in at.markdown if "overall **" in m.value]  # no text repeating the charts
    share = next(m for m in at.metric if m.label.startswith("“Realistic”"))
    assert share.value == "62.5%"


@pytest.mark.postgres
def test_dashboard_reads_episode_columns_on_postgresql(app_db_pg_url):
    from test_replay import act_episode

    from crm_core.agents.records import RunRecord
    from crm_core.agents.results import score_run
    from crm_core.agents.run_store import list_runs, load_episodes, save_episode, save_run

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


def test_partial_credit_scores_a_trial_with_its_normalized_reward(tmp_path):
    """Exact: a half-right workflow change scores 0; partial credit: its F1, here 0.5 (by hand)."""
    app_store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    run = RunRecord(run_id="wf", framework="fc", model="m", tasks=["contact_phone_update"], trials=1, created_at=T)
    save_run(app_store, run, planned=2)
    for idx, (reward, f1) in enumerate([(1.0, 1.0), (0.0, 0.5)]):
        save_episode(
            app_store,
            EpisodeRecord(
                run_id="wf",
                instance_idx=10_000 + idx,
                task="contact_phone_update",
                persona="analyst",
                trial=0,
                framework="fc",
                model="m",
                messages=[],
                actions=[],
                answer="Done.",
                gold="Done.",
                reward=reward,
                reward_normalized=f1,
                turns=2,
                input_tokens=0,
                output_tokens=0,
                cost_usd=None,
                latency_s=0.1,
                end_reason="responded",
                started_at=T,
                finished_at=T,
            ),
        )
    exact = agent_outcomes(app_store, ["wf"])
    partial = agent_outcomes(app_store, ["wf"], partial=True)
    assert [(o.idx, o.reward) for o in exact] == [(10_000, 1.0), (10_001, 0.0)]
    assert [(o.idx, o.reward) for o in partial] == [(10_000, 1.0), (10_001, 0.5)]
    assert compare(partial).score("m · fc").interval.mean == pytest.approx(0.75)
    app_store.kw["bind"].dispose()


def test_the_page_scores_with_partial_credit_when_asked(page_env):
    at = as_user("rita")
    at.toggle(key="results_partial").set_value(True).run()
    assert not at.exception, at.exception
    assert any("Best per task" in s.value for s in at.subheader)
