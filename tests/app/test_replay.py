"""Trajectory Replay: steps of hand-written episodes, first failed step, search, and the page (AppTest)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runs_org import BASELINE_RUN, ORACLE_RUN, RunsStudio, build_runs_studio, open_page
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from crm_core.agents.records import ActionRecord, EpisodeRecord, MessageRecord, RunRecord, ToolCallRecord
from crm_core.agents.run_store import load_episodes, save_episode, save_run
from crm_core.store import open_app_store
from crm_core.studio.replay import (
    EpisodeKey,
    align_steps,
    default_run,
    episode_trajectory,
    failed_instances,
    first_failed_step,
    search_steps,
    step_prompt,
    workbench_trajectory,
)
from crm_core.studio.workbench import WorkbenchStep, open_session, record_step, submit_answer

ROOT = Path(__file__).resolve().parents[2]
USERS = {"erin": "expert", "rita": "researcher"}
PASSWORD = "replay-pass-1"
T = dt.datetime(2026, 1, 1)


def act_episode(observations: list[str], answer: str | None, reward: float, end: str = "responded") -> EpisodeRecord:
    """An act episode: one <execute> per observation, then <respond> (unless it ran out of turns)."""
    messages = [MessageRecord(role="system", content="schema"), MessageRecord(role="user", content="question?")]
    actions = []
    for turn, observation in enumerate(observations, start=1):
        query = f"SELECT Id FROM Case LIMIT {turn}"
        messages.append(MessageRecord(role="assistant", content=f"<execute>{query}</execute>"))
        messages.append(MessageRecord(role="user", content=observation))
        actions.append(ActionRecord(turn=turn, kind="execute", content=query, observation=observation))
    if end == "responded":
        turn = len(observations) + 1
        messages.append(MessageRecord(role="assistant", content=f"<respond>{answer}</respond>"))
        actions.append(ActionRecord(turn=turn, kind="respond", content=answer))
    return EpisodeRecord(
        run_id="r",
        instance_idx=0,
        task="handle_time",
        persona="manager",
        trial=0,
        framework="act",
        model="m",
        messages=messages,
        actions=actions,
        answer=answer,
        gold="005A",
        reward=reward,
        reward_normalized=reward,
        turns=len(actions),
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        latency_s=0.1,
        end_reason=end,  # type: ignore[arg-type]
        started_at=T,
        finished_at=T,
    )


def test_steps_pair_each_reply_with_its_action_and_exact_prompt():
    episode = act_episode(["[{'Id': '500A'}]", "[]"], "005A", 1.0)
    trajectory = episode_trajectory(episode)
    assert [(s.number, s.kind, s.arguments) for s in trajectory.steps] == [
        (1, "execute", {"query": "SELECT Id FROM Case LIMIT 1"}),
        (2, "execute", {"query": "SELECT Id FROM Case LIMIT 2"}),
        (3, "respond", {"content": "005A"}),
    ]
    assert [s.observation for s in trajectory.steps] == ["[{'Id': '500A'}]", "[]", None]
    # step 2 was prompted with system, user, step 1's reply and its observation
    assert [m.content for m in step_prompt(trajectory, trajectory.steps[1])] == [
        "schema",
        "question?",
        "<execute>SELECT Id FROM Case LIMIT 1</execute>",
        "[{'Id': '500A'}]",
    ]
    assert first_failed_step(trajectory) is None


@pytest.mark.parametrize(
    ("observations", "answer", "reward", "end", "expected"),
    [
        (["[]", "MALFORMED_QUERY: unexpected token", "Error: bad"], "005A", 1.0, "responded", 2),
        (["[]", "Error: argument 'x' missing"], "005A", 1.0, "responded", 2),
        (["[]", "[]"], "005B", 0.0, "responded", 3),  # the wrong final answer
        (["[]", "[]", "[]"], None, 0.0, "max_turns", 3),  # never answered: the last step
        (["Errors are listed in the description"], "005A", 1.0, "responded", None),  # not an error
    ],
)
def test_first_failed_step(observations, answer, reward, end, expected):
    assert first_failed_step(episode_trajectory(act_episode(observations, answer, reward, end))) == expected


def test_invalid_action_and_tool_call_steps():
    messages = [
        MessageRecord(role="system", content="s"),
        MessageRecord(role="user", content="q"),
        MessageRecord(role="assistant", content="I think the answer is"),
        MessageRecord(role="user", content="Use <execute> or <respond>."),
        MessageRecord(
            role="assistant",
            content="",
            tool_calls=[ToolCallRecord(id="c", name="get_cases", arguments={"start_date": "2024-01-01"})],
        ),
    ]
    actions = [
        ActionRecord(turn=1, kind="invalid", error="no action", observation="Use <execute> or <respond>."),
        ActionRecord(turn=2, kind="tool", name="get_cases", arguments={"start_date": "2024-01-01"}, observation="[]"),
    ]
    episode = act_episode([], None, 0.0, end="max_turns").model_copy(
        update={"messages": messages, "actions": actions, "turns": 2}
    )
    trajectory = episode_trajectory(episode)
    assert [(s.kind, s.name, s.failed) for s in trajectory.steps] == [
        ("invalid", None, True),
        ("tool", "get_cases", False),
    ]
    assert first_failed_step(trajectory) == 1
    assert search_steps(trajectory, "START_DATE") == [2]
    assert search_steps(trajectory, "answer is") == [1]
    assert search_steps(trajectory, "  ") == []


def test_expert_session_as_a_trajectory():
    steps = [
        WorkbenchStep(
            kind="execute",
            name="issue_soql_query",
            arguments={"query": "SELECT"},
            observation="MALFORMED_QUERY: x",
            at=T,
        ),
        WorkbenchStep(kind="tool", name="get_issues", arguments={}, observation="[]", at=T),
    ]
    trajectory = workbench_trajectory(steps, "005B", 0.0, "005A")
    assert [(s.number, s.kind, s.failed) for s in trajectory.steps] == [
        (1, "execute", True),
        (2, "tool", False),
        (3, "respond", True),
    ]
    assert first_failed_step(trajectory) == 1
    assert step_prompt(trajectory, trajectory.steps[0]) == []


# --- the page (AppTest) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs_studio(tmp_path_factory, tiny_org_url) -> RunsStudio:
    return build_runs_studio(tmp_path_factory.mktemp("replay"), tiny_org_url, USERS, PASSWORD)


@pytest.fixture
def page_env(runs_studio, tmp_path, monkeypatch) -> RunsStudio:
    for key, value in runs_studio.env(tmp_path / "secrets.toml").items():
        monkeypatch.setenv(key, value)
    return runs_studio


def as_user(username: str, query: dict[str, str] | None = None) -> AppTest:
    return open_page("studio_pages/trajectory_replay.py", username, USERS[username], query)


def failed_baseline_instance(studio: RunsStudio) -> int:
    store = open_app_store(studio.app_url)
    failed = [e.instance_idx for e in load_episodes(store, BASELINE_RUN) if e.reward < 1.0]
    store.kw["bind"].dispose()
    return failed[0]


def test_experts_cannot_open_the_replay(page_env):
    at = as_user("erin")
    assert [e.value for e in at.error] == ["Your role cannot open the Trajectory Replay page."]
    assert not at.radio


def test_query_params_restore_the_view_and_jump_goes_to_the_failed_step(page_env):
    idx = failed_baseline_instance(page_env)
    at = as_user("rita", {"run": BASELINE_RUN, "idx": str(idx), "cmp": f"run:{ORACLE_RUN}"})
    assert not at.exception
    assert at.selectbox(key="replay_run").value == BASELINE_RUN
    assert len(at.radio) == 2  # two trajectories side by side
    headers = [s.value for s in at.subheader]
    assert headers[0].endswith(f"({BASELINE_RUN})") and headers[1].endswith(f"({ORACLE_RUN})")
    jump = next(b for b in at.button if b.label == "Jump to first failed step")
    jump.click().run()
    assert at.radio[0].value == 1
    assert "**Step 1 of 1** · `respond` · failed" in [m.value for m in at.markdown]
    assert at.query_params["step"] == "1"
    # the oracle's side has nothing to jump to
    assert next(b for b in at.button if b.label == "No failed step").disabled


def test_jump_selects_a_middle_step_and_the_url_keeps_it(page_env):
    store = open_app_store(page_env.app_url)
    run = RunRecord(run_id="hand-act", framework="act", model="m", tasks=["handle_time"], created_at=T)
    save_run(store, run, planned=1)
    save_episode(
        store,
        act_episode(["[]", "MALFORMED_QUERY: unexpected token", "[]"], "005A", 1.0).model_copy(
            update={"run_id": "hand-act"}
        ),
    )
    store.kw["bind"].dispose()
    at = as_user("rita", {"run": "hand-act", "idx": "0"})
    assert at.radio[0].value == 1
    next(b for b in at.button if b.label == "Jump to first failed step").click().run()
    assert at.radio[0].value == 2
    assert at.query_params["step"] == "2"
    assert "MALFORMED_QUERY: unexpected token" in [c.value for c in at.code]
    reloaded = as_user("rita", dict(at.query_params))  # a reload keeps the view
    assert reloaded.radio[0].value == 2


def test_search_marks_matching_steps(page_env):
    at = as_user("rita", {"run": ORACLE_RUN, "idx": "0", "q": "SELECT"})
    assert not at.exception
    store = open_app_store(page_env.app_url)
    episode = load_episodes(store, ORACLE_RUN, instance_idx=0)[0]
    store.kw["bind"].dispose()
    expected = [a.turn for a in episode.actions if a.kind == "execute" and "select" in (a.content or "").lower()]
    caption = next(c.value for c in at.caption if "steps match" in c.value)
    assert caption.startswith(f"{len(expected)} steps match")


def test_expert_session_beside_the_agent(page_env):
    instance = page_env.instances[0]
    store = open_app_store(page_env.app_url)
    with store() as session:
        row = open_session(session, "erin", instance)
        record_step(
            session, row.id, WorkbenchStep(kind="tool", name="get_issues", arguments={}, observation="[]", at=T)
        )
        submit_answer(session, row.id, instance.answer_text, instance, submission_id="x")
    store.kw["bind"].dispose()
    at = as_user("rita", {"run": ORACLE_RUN, "idx": str(instance.idx), "cmp": f"human:{row.id}"})
    assert not at.exception
    headers = [s.value for s in at.subheader]
    assert headers[1].startswith("expert erin")
    with create_engine(page_env.org_url).connect() as conn:  # an id in a step is shown with its name
        name = conn.execute(text('SELECT Name FROM "User" WHERE Id = :id'), {"id": instance.answer_text}).scalar()
    assert name, "the first instance's answer is an agent's id"
    assert at.radio[1].options == ["· 1. get_issues(…)", f"· 2. respond: {name} ({instance.answer_text})"]


OBSERVATIONS = st.sampled_from(["[]", "[{'Id': '500A'}]", "Error: bad argument", "MALFORMED_QUERY: near x", "42"])


@given(observations=st.lists(OBSERVATIONS, max_size=8), answered=st.booleans(), right=st.booleans())
def test_first_failed_step_by_construction(observations, answered, right):
    reward = 1.0 if answered and right else 0.0
    episode = act_episode(observations, "005A" if answered else None, reward, "responded" if answered else "max_turns")
    errors = [n for n, o in enumerate(observations, start=1) if o.startswith(("Error", "MALFORMED_QUERY"))]
    if errors:
        expected = errors[0]
    elif answered and not right:
        expected = len(observations) + 1  # the wrong answer
    elif not answered and observations:
        expected = len(observations)  # ran out of turns: the last step
    else:
        expected = None
    assert first_failed_step(episode_trajectory(episode)) == expected


def expert(queries: list[str], answer: str = "x") -> object:
    steps = [
        WorkbenchStep(kind="execute", name="issue_soql_query", arguments={"query": q}, observation="[]", at=T)
        for q in queries
    ]
    return workbench_trajectory(steps, answer, 1.0, "x")


def test_alignment_pairs_equal_actions_and_leaves_gaps():
    agent = episode_trajectory(act_episode(["[]", "[]", "[]"], "x", 1.0))  # LIMIT 1, 2, 3, respond
    human = expert(["SELECT Id FROM Case LIMIT 1", "select  id from case limit 3", "SELECT Name FROM Account"])
    pairs = [(a.number if a else None, b.number if b else None) for a, b in align_steps(agent, human)]
    # LIMIT 1 = 1; LIMIT 2 has no counterpart; LIMIT 3 = 2 (case and spaces ignored); then the
    # expert's extra query beside nothing, and both answers on one row
    assert pairs == [(1, 1), (2, None), (3, 2), (None, 3), (4, 4)]


@given(st.lists(st.sampled_from(["a", "b", "c"]), max_size=6), st.lists(st.sampled_from(["a", "b", "c"]), max_size=6))
def test_alignment_keeps_every_step_once_and_in_order(left, right):
    one = expert([f"SELECT {q} FROM Case" for q in left])
    two = expert([f"SELECT {q} FROM Case" for q in right])
    pairs = align_steps(one, two)
    assert [a.number for a, _ in pairs if a] == [s.number for s in one.steps]
    assert [b.number for _, b in pairs if b] == [s.number for s in two.steps]


def test_default_run_is_a_real_agent_run_and_failed_instances_are_below_one():
    from crm_core.agents.records import RunSummary

    def summary(run_id: str, completed: int) -> RunSummary:
        run = RunRecord(run_id=run_id, framework="act", model="m", tasks=[], created_at=T)
        return RunSummary(run=run, planned=completed, completed=completed, mean_reward=None, cost_usd=None)

    newest_first = [summary("workbench-erin-3-ab", 1), summary("one", 1), summary("real", 9), summary("old", 9)]
    assert default_run(newest_first) == "real"
    assert default_run(newest_first[:2]) == "one"
    assert default_run([]) is None
    keys = [
        EpisodeKey(instance_idx=1, trial=0, task="t", reward=1.0),
        EpisodeKey(instance_idx=1, trial=1, task="t", reward=0.0),
        EpisodeKey(instance_idx=2, trial=0, task="t", reward=1.0),
        EpisodeKey(instance_idx=3, trial=0, task="t", reward=0.8),
        EpisodeKey(instance_idx=4, trial=0, task="t", reward=None),
    ]
    assert failed_instances(keys) == {1, 3, 4}
