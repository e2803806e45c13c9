"""The agent-vs-expert study: task items in study files, blind rating in the Task Workbench."""

from __future__ import annotations

from pathlib import Path

import pytest
from runs_org import BASELINE_RUN, ORACLE_RUN, RunsStudio, build_runs_studio, open_page
from sqlalchemy import select

from crm_core.store import Rating, Response, open_app_store
from crm_core.studies import StudyFileError, load_study, parse_study, read_study_file
from crm_core.studio.workbench import find_session, uses_workbench, workbench_studies
from crm_core.tasks.registry import task_names

ROOT = Path(__file__).resolve().parents[2]
USERS = {"erin": "expert", "rita": "researcher"}
PASSWORD = "study-pass-1"

TASK_STUDY = """
id: tasks-mini
title: Mini agent study
instructions: Solve, then rate.
scale: [Bad, Poor, Fair, Good, Great]
dimensions:
  - id: correctness
    question: Correct?
    applies_to: [task]
    comment_required_at_or_below: 1
items:
  - kind: tasks
    include: [handle_time, knowledge_qa]
    per_task: 1
    runs: [{run}]
ratings_per_item: 1
randomize_order: false
blind: true
"""


def test_shipped_study_uses_the_workbench_and_is_blind():
    definition = read_study_file(ROOT / "studies" / "agent_vs_expert.yaml")
    assert uses_workbench(definition) and definition.blind
    assert [d.id for d in definition.dimensions_for("task")] == ["correctness", "efficiency"]
    assert definition.dimensions_for("record") == []
    assert not uses_workbench(read_study_file(ROOT / "studies" / "realism.yaml"))


def test_unknown_task_and_missing_dimension_are_named_with_their_line():
    bad_task = TASK_STUDY.format(run=ORACLE_RUN).replace("[handle_time, knowledge_qa]", "[handle_time, sorting]")
    with pytest.raises(StudyFileError) as caught:
        parse_study(bad_task, "s.yaml")
    assert caught.value.problems == [
        f"s.yaml:13: items[0].include[1]: unknown task 'sorting'; tasks are {', '.join(task_names())}"
    ]
    no_dimension = TASK_STUDY.format(run=ORACLE_RUN).replace("applies_to: [task]", "applies_to: [record]")
    with pytest.raises(StudyFileError, match=r"s.yaml:\d+: items\[0\].kind: no dimension applies to 'task' items"):
        parse_study(no_dimension, "s.yaml")


@pytest.fixture(scope="module")
def runs_studio(tmp_path_factory, tiny_org_url) -> RunsStudio:
    return build_runs_studio(tmp_path_factory.mktemp("study"), tiny_org_url, USERS, PASSWORD)


def test_loading_samples_task_instances_deterministically(runs_studio, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(TASK_STUDY.format(run=ORACLE_RUN), encoding="utf-8")
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    with store() as session:
        study = load_study(session, path, runs_studio.org_url)
        keys = [item.key for item in study.items]
    store.kw["bind"].dispose()
    by_task = {i.task: i.idx for i in runs_studio.instances}  # one instance per task in this org
    assert keys == [f"task:{by_task['handle_time']}", f"task:{by_task['knowledge_qa']}"]
    assert [item.kind for item in study.items] == ["task", "task"]


def test_expert_solves_then_rates_the_agent_blind(runs_studio, tmp_path, monkeypatch):
    for key, value in runs_studio.env(tmp_path / "s.toml").items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "s.yaml"
    path.write_text(TASK_STUDY.format(run=BASELINE_RUN), encoding="utf-8")
    store = open_app_store(runs_studio.app_url)
    with store() as session:
        study = load_study(session, path, runs_studio.org_url)
        first_idx = int(study.items[0].key.split(":")[1])
        assert [s.id for s in workbench_studies(session)] == ["tasks-mini"]

    at = open_page("studio_pages/task_workbench.py", "erin", "expert")
    assert not at.exception
    assert "Study item: " + study.items[0].label in [c.value for c in at.caption]
    at.text_input(key="wb_answer").input("None")
    next(b for b in at.button if b.label == "Submit answer").click().run()
    assert not at.exception
    page_text = "\n".join(e.value for e in [*at.markdown, *at.subheader, *at.caption])
    assert "Agent 1" in [c.value for c in at.caption]  # the study's run, model hidden
    assert not [s for s in at.selectbox if s.key == "wb_agent_run"]  # the study chooses the run
    assert "baseline" not in page_text and BASELINE_RUN not in page_text
    assert not [e for e in at.expander if e.label == "Run an agent on this instance"]
    at.radio(key=f"rate-{study.items[0].id}-correctness").set_value(1)
    next(b for b in at.button if b.label == "Submit rating").click().run()
    assert "A comment is required for 'Bad'." in [e.value for e in at.error]
    at.text_area(key=f"comment-{study.items[0].id}-correctness").input("Answered without looking.")
    next(b for b in at.button if b.label == "Submit rating").click().run()
    assert not at.exception
    assert "Study item: " + study.items[1].label in [c.value for c in at.caption]  # the next one

    with store() as session:
        rated = session.execute(
            select(Response.item_id, Rating.dimension, Rating.value, Rating.comment).join(Rating)
        ).all()
        assert rated == [(study.items[0].id, "correctness", 1, "Answered without looking.")]
        assert find_session(session, "erin", first_idx).study_id == "tasks-mini"
    store.kw["bind"].dispose()

    realism = open_page("studio_pages/realism_study.py", "erin", "expert")
    assert [i.value for i in realism.info] == ["No study is open right now. An admin loads studies on the Admin page."]


def test_study_agent_is_a_stable_draw_over_the_runs():
    import datetime as dt

    from crm_core.studies.rated_runs import AgentOption, study_agent

    options = [
        AgentOption(run_id=f"r{n}", model="m", framework="act", trial=0, reward=1.0, created_at=dt.datetime(2026, 1, 1))
        for n in range(3)
    ]
    picks = [study_agent(options, "erin", idx).run_id for idx in range(60)]
    assert picks == [study_agent(list(reversed(options)), "ERIN", idx).run_id for idx in range(60)]  # order-free
    assert set(picks) == {"r0", "r1", "r2"}  # every run gets rated
