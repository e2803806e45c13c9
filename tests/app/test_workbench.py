"""Task Workbench: tool forms from JSON schemas, durable timed sessions, and the page (AppTest)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from runs_org import BASELINE_RUN, ORACLE_RUN, RunsStudio, build_runs_studio, open_page
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from streamlit.testing.v1 import AppTest

from crm_core.agents.environment import OrgEnvironment, instance_today
from crm_core.agents.run_store import load_episodes, load_run
from crm_core.db import make_readonly_engine
from crm_core.org.stats import org_stats
from crm_core.policy import PermissionDenied
from crm_core.store import AppBase, open_app_store
from crm_core.studio.workbench import (
    FormField,
    WorkbenchError,
    WorkbenchSession,
    WorkbenchStep,
    agent_side,
    find_session,
    form_fields,
    open_session,
    parse_form,
    record_step,
    session_steps,
    start_agent_run,
    submit_answer,
    task_tools,
)
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.records import TaskInstance
from crm_core.users import add_user
from tests.agents.openai_server import Reply, openai_server

ROOT = Path(__file__).resolve().parents[2]
USERS = {"erin": "expert", "ethan": "expert", "rita": "researcher"}
PASSWORD = "workbench-pass-1"
TIMEOUT = 90


# --- forms ----------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "start_date": {"type": "string", "description": "Start."},
        "n_cases": {"type": "integer"},
        "weight": {"type": "number"},
        "period": {"type": "string", "enum": ["day", "week"]},
        "ids": {"type": "array", "items": {"type": "string"}},
        "cases": {"type": "array", "items": {"type": "object"}},
        "counts": {"type": "object"},
    },
    "required": ["n_cases", "period"],
}


def test_form_fields_follow_the_json_schema():
    assert form_fields(SCHEMA) == [
        FormField(name="start_date", kind="text", required=False, help="Start."),
        FormField(name="n_cases", kind="integer", required=True),
        FormField(name="weight", kind="number", required=False),
        FormField(name="period", kind="choice", required=True, options=["day", "week"]),
        FormField(name="ids", kind="lines", required=False),
        FormField(name="cases", kind="json", required=False),
        FormField(name="counts", kind="json", required=False),
    ]


def test_parse_form_converts_values_and_leaves_out_empty_optional_fields():
    raw = {
        "start_date": " 2024-01-01 ",
        "n_cases": "3",
        "weight": "",
        "period": "week",
        "ids": "a\n\n b \n",
        "cases": '[{"Id": "x"}]',
        "counts": "",
    }
    assert parse_form(form_fields(SCHEMA), raw) == {
        "start_date": "2024-01-01",
        "n_cases": 3,
        "period": "week",
        "ids": ["a", "b"],
        "cases": [{"Id": "x"}],
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"period": "day"}, "n_cases: required"),
        ({"n_cases": "three", "period": "day"}, "n_cases: 'three' is not a whole number"),
        ({"n_cases": "1", "period": "day", "weight": "heavy"}, "weight: 'heavy' is not a number"),
        ({"n_cases": "1", "period": "day", "cases": "[{"}, "cases: not valid JSON (line 1"),
    ],
)
def test_parse_form_names_the_bad_field(raw, message):
    with pytest.raises(WorkbenchError) as caught:
        parse_form(form_fields(SCHEMA), raw)
    assert str(caught.value).startswith(message)


@given(
    number=st.integers(min_value=-(10**12), max_value=10**12),
    items=st.lists(st.text(alphabet="abcXYZ019_-", min_size=1, max_size=12), max_size=8),
)
def test_parse_form_round_trips_integers_and_lines(number, items):
    raw = {"n_cases": f"  {number} ", "period": "day", "ids": "\n".join(f" {item} " for item in items)}
    parsed = parse_form(form_fields(SCHEMA), raw)
    assert parsed["n_cases"] == number
    assert parsed.get("ids", []) == items


# --- sessions in the store ------------------------------------------------------------------------

MONTH = TaskInstance(
    idx=41,
    task="monthly_trend_analysis",
    persona="analyst",
    query="Which month had the most cases?",
    answer="March",
    reward_metric="exact_match",
)


@pytest.fixture
def store(app_db_url):
    sessions = open_app_store(app_db_url)
    with sessions() as session:
        add_user(session, "erin", "expert", PASSWORD)
    yield sessions
    sessions.kw["bind"].dispose()


def test_session_is_timed_scored_and_closed_after_submission(store):
    with store() as session:
        row = open_session(session, "erin", MONTH)
        started = row.started_at - dt.timedelta(seconds=90)  # as if opened 90 s ago
        session.execute(update(WorkbenchSession).values(started_at=started))
        session.commit()
        step = WorkbenchStep(
            kind="execute",
            name="issue_soql_query",
            arguments={"query": "SELECT Id FROM Case"},
            observation="{}",
            at=started,
        )
        record_step(session, row.id, step)
        done = submit_answer(session, row.id, " march ", MONTH, submission_id="s-1")
        assert done.answer == "march"
        assert (done.reward, done.reward_normalized) == (0.0, 1.0)  # case-sensitive original, lenient variant
        assert done.seconds == (done.submitted_at - started).total_seconds()
        assert done.seconds >= 90
        assert [s.arguments for s in session_steps(done)] == [{"query": "SELECT Id FROM Case"}]
        with pytest.raises(WorkbenchError, match="takes no more queries"):
            record_step(session, row.id, step)
        again = submit_answer(session, row.id, "March", MONTH, submission_id="s-2")  # a second click
        assert (again.answer, again.submission_id) == ("march", "s-1")


def test_reopening_resumes_the_same_session_and_an_empty_answer_is_refused(store):
    with store() as session:
        first = open_session(session, "erin", MONTH)
        assert open_session(session, "erin", MONTH).id == first.id
        assert first.agent_side == agent_side("erin", MONTH.idx)
        with pytest.raises(WorkbenchError, match="the answer is empty"):
            submit_answer(session, first.id, "  ", MONTH, submission_id="s")
        assert find_session(session, "erin", MONTH.idx).submitted_at is None


def test_agent_side_is_stable_per_expert_and_instance_and_balanced():
    sides = [agent_side("erin", idx) for idx in range(400)]
    assert sides == [agent_side("ERIN", idx) for idx in range(400)]
    assert 140 < sides.count("left") < 260  # a fair coin: 200 ± 3 standard deviations
    assert any(agent_side("erin", i) != agent_side("ethan", i) for i in range(20))


def test_workbench_migration_matches_the_model(app_db_url):
    sessions = open_app_store(app_db_url)
    with sessions.kw["bind"].connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), AppBase.metadata)
    sessions.kw["bind"].dispose()
    assert [d for d in diffs if "workbench_sessions" in repr(d)] == []


@pytest.mark.postgres
def test_workbench_sessions_on_postgresql(app_db_pg_url):
    sessions = open_app_store(app_db_pg_url)
    with sessions() as session:
        add_user(session, "erin", "expert", PASSWORD)
        row = open_session(session, "erin", MONTH)
        assert submit_answer(session, row.id, "March", MONTH, submission_id="pg").reward == 1.0
    with sessions.kw["bind"].connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), AppBase.metadata)
    sessions.kw["bind"].dispose()
    assert [d for d in diffs if "workbench_sessions" in repr(d)] == []


# --- the page (AppTest) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs_studio(tmp_path_factory, tiny_org_url) -> RunsStudio:
    return build_runs_studio(tmp_path_factory.mktemp("workbench"), tiny_org_url, USERS, PASSWORD)


@pytest.fixture
def page_env(runs_studio, tmp_path, monkeypatch) -> RunsStudio:
    for key, value in runs_studio.env(tmp_path / "secrets.toml").items():
        monkeypatch.setenv(key, value)
    return runs_studio


def as_user(
    username: str, script: str = "studio_pages/task_workbench.py", query: dict[str, str] | None = None
) -> AppTest:
    return open_page(script, username, USERS[username], query)


def texts(at: AppTest) -> str:
    return "\n".join(e.value for e in [*at.markdown, *at.subheader, *at.success, *at.info, *at.error])


def test_only_experts_open_the_workbench_and_it_is_in_their_navigation(page_env):
    refused = as_user("rita")
    assert [e.value for e in refused.error] == ["Your role cannot open the Task Workbench page."]
    app = as_user("erin", "app.py")
    assert not app.exception
    app.switch_page("studio_pages/task_workbench.py").run()
    assert [t.value for t in app.title] == ["Task Workbench"]
    researcher = as_user("rita", "app.py")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        researcher.switch_page("studio_pages/task_workbench.py")


def test_expert_sees_the_agent_and_ground_truth_only_after_submitting(page_env):
    instance = next(i for i in page_env.instances if i.task == "best_region_identification")
    at = as_user("erin", query={"idx": str(instance.idx)})
    assert not at.exception
    assert instance.query in texts(at)
    before = texts(at)
    assert "Ground truth" not in before and "The agent's run" not in before
    assert instance.answer_text not in before  # the correct state is nowhere on the page

    at.text_area(key="wb_query").input("SELECT ShippingState FROM Account LIMIT 3")
    at.button[0].click().run()  # Run query
    assert not at.exception
    at.text_input(key="wb_answer").input("ZZ")
    next(b for b in at.button if b.label == "Submit answer").click().run()
    assert not at.exception
    after = texts(at)
    assert "Ground truth" in after and f"**Correct answer:** `{instance.answer_text}`" in after
    assert next(m.value for m in at.metric if m.label == "Your score") == "0.000"  # "ZZ" is not a state

    store = open_app_store(page_env.app_url)
    with store() as session:
        row = find_session(session, "erin", instance.idx)
        assert row.answer == "ZZ" and row.reward == 0.0
        assert [s.arguments["query"] for s in session_steps(row)] == ["SELECT ShippingState FROM Account LIMIT 3"]
        side = row.agent_side
    store.kw["bind"].dispose()
    assert side == agent_side("erin", instance.idx)
    headed = [[s.value for s in column.subheader] for column in at.columns if column.subheader]
    expected = [["The agent's run"], ["Your answer"]]
    assert headed == (expected if side == "left" else expected[::-1])
    labels = at.selectbox(key="wb_agent_run").options
    assert any(BASELINE_RUN in label for label in labels) and any(ORACLE_RUN in label for label in labels)


def test_after_submitting_each_step_shows_its_records_as_a_table_with_names(page_env):
    """The expert's own steps, folded after submitting, show a query's records as a table, not JSON."""
    instance = next(i for i in page_env.instances if i.task == "best_region_identification")
    at = as_user("ethan", query={"idx": str(instance.idx)})
    query = "SELECT Id, Subject, OwnerId FROM Case ORDER BY Id LIMIT 3"
    at.text_area(key="wb_query").input(query)
    at.button[0].click().run()  # Run query
    at.text_input(key="wb_answer").input("ZZ")
    next(b for b in at.button if b.label == "Submit answer").click().run()
    assert not at.exception
    with create_engine(page_env.org_url).connect() as conn:
        expected = conn.execute(
            text('SELECT c.Subject, u.Name, u.Id FROM "Case" c JOIN User u ON u.Id = c.OwnerId ORDER BY c.Id LIMIT 3')
        ).all()
    step = next(e for e in at.expander if e.label.startswith("1.") and query[:20] in e.label)
    tables = [d.value for d in step.dataframe]
    assert tables, "the step shows no table"
    shown = tables[0]
    assert [tuple(r) for r in shown[["Subject", "OwnerId"]].itertuples(index=False)] == [
        (subject, f"{owner} ({owner_id})") for subject, owner, owner_id in expected
    ]
    assert not [c for c in step.code if '"records"' in c.value]  # no raw REST JSON


def test_tool_form_calls_the_tool_and_records_the_step(page_env):
    instance = next(i for i in page_env.instances if i.task == "knowledge_qa")
    at = as_user("ethan", query={"idx": str(instance.idx)})
    at.selectbox(key="wb_tool").select("search_knowledge_articles").run()
    at.text_input(key="wb-arg-search_knowledge_articles-search_term").input("return")
    next(b for b in at.button if b.label == "Call tool").click().run()
    assert not at.exception
    store = open_app_store(page_env.app_url)
    with store() as session:
        steps = session_steps(find_session(session, "ethan", instance.idx))
    store.kw["bind"].dispose()
    assert [(s.kind, s.name, s.arguments) for s in steps] == [
        ("tool", "search_knowledge_articles", {"search_term": "return"})
    ]
    assert steps[0].observation.startswith("[")  # the tool's JSON list of articles


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("SELECT Id, ShippingState FROM Account ORDER BY Id LIMIT 3", "issue_soql_query"),
        ("FIND {return} RETURNING Knowledge__kav(Id, Title)", "issue_sosl_query"),
        ("SELECT Nope FROM Account", "issue_soql_query"),
    ],
    ids=["soql", "sosl", "error"],
)
def test_a_console_query_is_the_agents_tool_step(page_env, query, tool):
    """The expert's console step has the agent's tool name and the very observation an agent reads."""
    instance = next(i for i in page_env.instances if i.task == "knowledge_qa")
    at = as_user("ethan", query={"idx": str(instance.idx)})
    at.text_area(key="wb_query").input(query)
    at.button[0].click().run()  # Run query
    assert not at.exception
    store = open_app_store(page_env.app_url)
    with store() as session:
        steps = session_steps(find_session(session, "ethan", instance.idx))
    store.kw["bind"].dispose()
    engine = make_readonly_engine(page_env.org_url)
    agent_sees = OrgEnvironment(engine).call(tool, {"query": query}, today=instance_today(instance.params))
    engine.dispose()
    last = steps[-1]  # the page's store is shared by the cases: this one's query is the last step
    assert (last.kind, last.name, last.arguments, last.observation) == ("execute", tool, {"query": query}, agent_sees)


def test_task_context_is_in_sight_with_the_tools_it_needs_first_and_answers_by_name(page_env):
    instance = next(i for i in page_env.instances if i.task == "handle_time")
    at = as_user("erin", query={"idx": str(instance.idx)})
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["You are"] == "Manager" and metrics["Task"] == "handle time"
    today = instance.params.get("today")  # fixed only for relative periods ("last month")
    assert metrics["Today is"] == (dt.date.fromisoformat(today[:10]).strftime("%A %d %B %Y") if today else "any day")
    assert instance.metadata.required in [t.value for t in at.text]  # the policy, not folded away
    options = at.selectbox(key="wb_tool").options
    # the handle-time chain starts with the handled cases per agent, then the qualified agents
    assert options[:2] == ["★ get_agent_handled_cases_by_period", "★ get_qualified_agent_ids_by_case_count"]
    assert not options[-1].startswith("★")

    at.text_input(key="wb_answer").input("None")
    next(b for b in at.button if b.label == "Submit answer").click().run()
    engine = create_engine(page_env.org_url)
    with engine.connect() as conn:
        names = dict(conn.execute(text('SELECT "Id", "Name" FROM "User"')).all())
    engine.dispose()
    shown = next(m.value for m in at.markdown if m.value.startswith("**Correct answer:**"))
    if instance.answer_text in names:
        assert f"`{names[instance.answer_text]} ({instance.answer_text})`" in shown
    else:
        assert f"`{instance.answer_text}`" in shown


@pytest.mark.parametrize("kind", ["created", "updated"])
def test_a_workflow_instance_stars_its_write_tools_and_leaves_the_org_unchanged(tiny_org_url, kind):
    """The writes of a workflow instance's solver count as its relevant tools; they land nowhere."""
    write_tool = {"created": "create_record", "updated": "update_record"}[kind]
    workflow = generate_tasks(tiny_org_url, per_task=1, suite="workflow")
    instance = next(i for i in workflow if getattr(i.expected_diff, kind))
    engine = make_readonly_engine(tiny_org_url)
    before = org_stats(engine).digest
    tools = task_tools(engine, instance)
    after = org_stats(engine).digest
    engine.dispose()
    relevant = [t.name for t in tools if t.relevant]
    assert write_tool in relevant, (instance.task, relevant)
    assert [t.name for t in tools[: len(relevant)]] == relevant  # the relevant ones first
    assert before == after


def test_missing_task_set_is_explained(tmp_path, monkeypatch, tiny_org_url):
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    store = open_app_store(app_url)
    with store() as session:
        add_user(session, "erin", "expert", PASSWORD)
    store.kw["bind"].dispose()
    monkeypatch.setenv("CRM_ORG_DB", tiny_org_url)  # the tiny org has no task set
    monkeypatch.setenv("CRM_APP_DB", app_url)
    at = as_user("erin")
    assert not at.exception
    assert "tasks build" in at.info[0].value
    with open_app_store(app_url)() as session:
        assert session.scalars(select(WorkbenchSession)).all() == []


def submitted_page(username: str, instance: TaskInstance) -> AppTest:
    at = as_user(username, query={"idx": str(instance.idx)})
    at.text_input(key="wb_answer").input(instance.answer_text)
    next(b for b in at.button if b.label == "Submit answer").click().run()
    assert not at.exception
    return at


def launch(at: AppTest, model: str, *, wait: bool = True) -> AppTest:
    """Start a run from the page; with `wait`, redraw the page (as its poll does) until the run ended."""
    at.selectbox(key="wb_model").select(model)
    at.selectbox(key="wb_framework").select("act")
    next(b for b in at.button if b.label == "Start the run").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + TIMEOUT
    while wait and "wb_live_run" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
        assert not at.exception, at.exception
    return at


def test_expert_starts_an_oracle_run_and_sees_it_beside_the_answer(page_env):
    instance = next(i for i in page_env.instances if i.task == "top_issue_identification")
    at = launch(submitted_page("erin", instance), "oracle")
    chosen = at.selectbox(key="wb_agent_run").value
    assert chosen.startswith(f"workbench-erin-{instance.idx}-")
    store = open_app_store(page_env.app_url)
    episodes = load_episodes(store, chosen)
    store.kw["bind"].dispose()
    assert [(e.instance_idx, e.model, e.reward) for e in episodes] == [(instance.idx, "oracle", 1.0)]
    assert [m.value for m in at.metric if m.label.endswith("score")] == ["1.000", "1.000"]  # expert, oracle


def test_experts_are_offered_configured_models_and_unconfigured_ones_are_refused(page_env, monkeypatch):
    instance = next(i for i in page_env.instances if i.task == "transfer_count")
    with openai_server(lambda body: Reply(content="<respond>None</respond>")) as server:
        monkeypatch.setenv("CRM_STUDIO_MODELS", "openai:scripted-model")
        monkeypatch.setenv("CRM_STUDIO_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        at = submitted_page("ethan", instance)
        assert at.selectbox(key="wb_model").options == [
            "oracle",
            "baseline:majority",
            "baseline:random",
            "openai:scripted-model",
        ]
        store = open_app_store(page_env.app_url)
        try:
            with pytest.raises(WorkbenchError, match="'openai:other-model' is not configured"):
                start_agent_run(
                    store,
                    page_env.org_url,
                    instance,
                    role="expert",
                    model="openai:other-model",
                    framework="act",
                    run_id="expert-unconfigured",
                    base_url=server.base_url,
                )
            with pytest.raises(PermissionDenied):
                start_agent_run(
                    store,
                    page_env.org_url,
                    instance,
                    role=None,
                    model="oracle",
                    framework="act",
                    run_id="signed-out",
                )
            assert server.requests == [] and load_run(store, "expert-unconfigured") is None
            assert load_run(store, "signed-out") is None
        finally:
            store.kw["bind"].dispose()


def test_configured_model_runs_through_langchain_against_an_openai_server(page_env, monkeypatch):
    instance = next(i for i in page_env.instances if i.task == "handle_time")
    with openai_server(lambda body: Reply(content="<respond>None</respond>")) as server:
        monkeypatch.setenv("CRM_STUDIO_MODELS", "openai:scripted-model")
        monkeypatch.setenv("CRM_STUDIO_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        at = launch(submitted_page("ethan", instance), "openai:scripted-model")
        assert len(server.requests) == 1
        assert server.requests[0]["model"] == "scripted-model"
        assert server.requests[0]["messages"][1]["content"] == instance.query
    store = open_app_store(page_env.app_url)
    episode = load_episodes(store, at.selectbox(key="wb_agent_run").value)[0]
    store.kw["bind"].dispose()
    assert (episode.model, episode.answer, episode.end_reason) == ("openai:scripted-model", "None", "responded")
    assert episode.reward == (1.0 if instance.answer is None else 0.0)


def test_researcher_runs_a_configured_model_through_langchain_against_an_openai_server(page_env, monkeypatch):
    instance = next(i for i in page_env.instances if i.task == "handle_time")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("CRM_STUDIO_MODELS", "openai:scripted-model")
    store = open_app_store(page_env.app_url)
    try:
        with openai_server(lambda body: Reply(content="<respond>None</respond>")) as server:
            thread, events = start_agent_run(
                store,
                page_env.org_url,
                instance,
                role="researcher",
                model="openai:scripted-model",
                framework="act",
                run_id="researcher-paid",
                base_url=server.base_url,
            )
            thread.join(TIMEOUT)
            assert not thread.is_alive()
            assert len(server.requests) == 1
            assert server.requests[0]["model"] == "scripted-model"
            assert server.requests[0]["messages"][1]["content"] == instance.query
        kinds = [events.get_nowait().kind for _ in range(events.qsize())]
        assert kinds[-1] == "done" and kinds.count("done") == 1
        episode = load_episodes(store, "researcher-paid")[0]
    finally:
        store.kw["bind"].dispose()
    assert (episode.model, episode.answer, episode.end_reason) == ("openai:scripted-model", "None", "responded")
    assert episode.reward == (1.0 if instance.answer is None else 0.0)


@pytest.mark.slow
def test_the_page_returns_at_once_and_follows_the_run_as_it_polls(page_env, monkeypatch):
    """A slow model: starting the run returns the page while the run goes on; each redraw (the
    page polls every second) shows its progress, and the finished run then joins the agent's side."""
    instance = next(i for i in page_env.instances if i.task == "named_entity_disambiguation")
    with openai_server(lambda body: Reply(content="<respond>None</respond>", delay_s=3.0)) as server:
        monkeypatch.setenv("CRM_STUDIO_MODELS", "openai:slow-model")
        monkeypatch.setenv("CRM_STUDIO_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        at = launch(submitted_page("erin", instance), "openai:slow-model", wait=False)  # the model takes 3 s
        statuses = at.get("status")
        assert [(s.label, s.state) for s in statuses] == [("Running openai:slow-model (act) ...", "running")]
        assert "wb_live_run" in at.session_state
        deadline = time.monotonic() + TIMEOUT
        while "wb_live_run" in at.session_state and time.monotonic() < deadline:
            time.sleep(0.3)
            at.run()
    assert not at.exception, at.exception
    chosen = at.selectbox(key="wb_agent_run").value
    assert chosen.startswith(f"workbench-erin-{instance.idx}-")
    store = open_app_store(page_env.app_url)
    try:
        assert [(e.instance_idx, e.answer) for e in load_episodes(store, chosen)] == [(instance.idx, "None")]
    finally:
        store.kw["bind"].dispose()


def test_the_read_only_org_engine_is_disposed_when_saving_the_run_fails(page_env, tmp_path, monkeypatch):
    import crm_core.agents.environment as environment

    instance = page_env.instances[0]
    made: list = []
    disposed: list = []
    real = environment.make_readonly_engine

    def spied(url: str):
        engine = real(url)
        made.append(engine)
        dispose = engine.dispose
        engine.dispose = lambda *a, **k: (disposed.append(engine), dispose(*a, **k))
        return engine

    monkeypatch.setattr(environment, "make_readonly_engine", spied)  # where runs open the org
    migrated = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    migrated.kw["bind"].dispose()
    # a store that reads (the run is new) but refuses the write of the run's record
    broken = sessionmaker(bind=create_engine(f"sqlite:///file:{tmp_path / 'app.db'}?mode=ro&uri=true"))
    with pytest.raises(OperationalError):
        start_agent_run(
            broken, page_env.org_url, instance, role="expert", model="oracle", framework="act", run_id="never"
        )
    broken.kw["bind"].dispose()
    assert made and all(engine in disposed for engine in made)
