"""Scores and exports of a run, on episodes written by hand with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.agents.records import ActionRecord, EpisodeRecord, MessageRecord, RunRecord, ToolCallRecord
from crm_core.agents.results import export_episodes, score_run, to_crmarena_result
from crm_core.agents.run_store import list_runs, load_episodes, save_episode, save_run
from crm_core.scoring.state import StateDiff, UpdatedRecord, score_state

T = dt.datetime(2026, 1, 1)
RUN = RunRecord(run_id="hand", framework="fc", model="m", tasks=["handle_time", "knowledge_qa"], trials=2, created_at=T)
MESSAGES = [
    MessageRecord(role="system", content="sys"),
    MessageRecord(role="user", content="q"),
    MessageRecord(
        role="assistant",
        content="",
        tool_calls=[ToolCallRecord(id="c1", name="get_cases", arguments={"start_date": "2024-01-01"})],
        input_tokens=10,
        output_tokens=3,
    ),
    MessageRecord(role="tool", content="[]", tool_call_id="c1", name="get_cases"),
    MessageRecord(
        role="assistant", content="", tool_calls=[ToolCallRecord(id="c2", name="respond", arguments={"content": "x"})]
    ),
]


def episode(idx, trial, task, reward, *, normalized=None, cost=0.5, end="responded") -> EpisodeRecord:
    persona = "manager" if task == "handle_time" else "service_agent"
    return EpisodeRecord(
        run_id="hand",
        instance_idx=idx,
        task=task,
        persona=persona,
        trial=trial,
        framework="fc",
        model="m",
        messages=MESSAGES,
        actions=[ActionRecord(turn=1, kind="tool", name="get_cases", arguments={}, observation="[]")],
        answer="x" if end == "responded" else None,
        gold="y",
        reward=reward,
        reward_normalized=reward if normalized is None else normalized,
        turns=2,
        input_tokens=10,
        output_tokens=3,
        cost_usd=cost,
        latency_s=0.1,
        end_reason=end,
        started_at=T,
        finished_at=T,
    )


EPISODES = [
    episode(0, 0, "handle_time", 1.0),
    episode(0, 1, "handle_time", 1.0),
    episode(1, 0, "handle_time", 1.0),
    episode(1, 1, "handle_time", 0.0, normalized=1.0, end="max_turns"),
    episode(2, 0, "knowledge_qa", 0.5),
    episode(2, 1, "knowledge_qa", 0.0, end="error"),
]


def test_score_by_hand():
    report = score_run(RUN, EPISODES, planned=6)
    assert report.per_task == {"handle_time": 0.75, "knowledge_qa": 0.25}
    assert report.per_persona == {"manager": 0.75, "service_agent": 0.25}
    assert report.overall == pytest.approx(0.5)
    assert report.per_task_normalized == {"handle_time": 1.0, "knowledge_qa": 0.25}
    assert report.overall_normalized == pytest.approx(0.625)
    # successes (reward 1) out of 2 trials: instance 0 -> 2, instance 1 -> 1, instance 2 -> 0
    assert report.pass_hat_k == {1: pytest.approx((1 + 0.5 + 0) / 3), 2: pytest.approx(1 / 3)}
    assert report.pass_hat_k_per_task["handle_time"] == {1: pytest.approx(0.75), 2: pytest.approx(0.5)}
    assert report.end_reasons == {"error": 1, "max_turns": 1, "responded": 4}
    assert (report.input_tokens, report.output_tokens, report.mean_turns) == (60, 18, 2.0)
    assert report.cost_usd == pytest.approx(3.0)


def test_unknown_cost_makes_the_total_unknown():
    report = score_run(RUN, [*EPISODES[:-1], episode(2, 1, "knowledge_qa", 0.0, cost=None)], planned=6)
    assert report.cost_usd is None


def test_pass_hat_k_ignores_instances_without_all_trials():
    report = score_run(RUN, EPISODES[:5], planned=6)  # instance 2 has one trial of two
    assert report.pass_hat_k == {1: pytest.approx(0.75), 2: pytest.approx(0.5)}
    assert report.completed == 5


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=8))
def test_pass_hat_1_is_the_success_rate(outcomes):
    episodes = [
        episode(idx, trial, "handle_time", 1.0 if ok else 0.0)
        for idx, trials in enumerate(outcomes)
        for trial, ok in enumerate(trials)
    ]
    run = RUN.model_copy(update={"trials": 3})
    report = score_run(run, episodes, planned=len(episodes))
    flat = [ok for trials in outcomes for ok in trials]
    assert report.pass_hat_k[1] == pytest.approx(sum(flat) / len(flat))
    all_three = sum(all(trials) for trials in outcomes) / len(outcomes)
    assert report.pass_hat_k[3] == pytest.approx(all_three)
    assert report.pass_hat_k[1] >= report.pass_hat_k[2] >= report.pass_hat_k[3]


def test_store_round_trip_and_no_duplicates(app_store):
    save_run(app_store, RUN, planned=6)
    assert [save_episode(app_store, e) for e in EPISODES] == [True] * 6
    assert save_episode(app_store, EPISODES[0]) is False  # the same (run, instance, trial) again
    assert load_episodes(app_store, "hand") == EPISODES
    assert load_episodes(app_store, "hand", instance_idx=2) == EPISODES[4:]
    (summary,) = list_runs(app_store)
    assert (summary.completed, summary.planned) == (6, 6)
    assert summary.mean_reward == pytest.approx(3.5 / 6)
    # saving the run again keeps the stored definition
    assert save_run(app_store, RUN.model_copy(update={"model": "other"}), planned=1).model == "m"


def test_export_jsonl_round_trips(tmp_path):
    out = tmp_path / "run.jsonl"
    assert export_episodes(EPISODES, "jsonl", out) == 6
    lines = out.read_text().splitlines()
    assert [EpisodeRecord.model_validate_json(line) for line in lines] == EPISODES


def test_export_crmarena_shape(tmp_path):
    out = tmp_path / "results.json"
    export_episodes(EPISODES, "crmarena", out)
    results = json.loads(out.read_text())
    assert [(r["task_id"], r["trial"], r["reward"]) for r in results] == [
        (e.instance_idx, e.trial, e.reward) for e in EPISODES
    ]
    first = results[0]
    assert first["task_type"] == "handle_time" and first["gt_answer"] == "y"
    assert first["agent_info"]["num_turns"] == 2
    assert first["agent_info"]["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    assert [m["role"] for m in first["traj"]] == ["system", "user", "assistant", "tool", "assistant"]
    call = first["traj"][2]["tool_calls"][0]
    assert call == {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_cases", "arguments": '{"start_date": "2024-01-01"}'},
    }
    assert first["traj"][3] == {"role": "tool", "content": "[]", "tool_call_id": "c1", "name": "get_cases"}
    assert to_crmarena_result(EPISODES[3])["agent_info"]["end_reason"]["message"] == "Max turns reached"
    assert to_crmarena_result(EPISODES[5])["agent_info"]["end_reason"]["source"] == "api"


def test_export_crmarena_carries_a_workflow_episode_s_state():
    """A state-scored episode exports its diff and partial credit; a CRMArena one has no such keys."""
    expected = StateDiff(
        updated=[UpdatedRecord(object="Case", id="500x", fields={"Status": "Closed", "Priority": "High"})]
    )
    done = StateDiff(updated=[UpdatedRecord(object="Case", id="500x", fields={"Status": "Closed"})])
    score = score_state(expected, done)
    workflow = episode(9, 0, "handle_time", score.reward, normalized=score.f1).model_copy(
        update={"state_diff": done, "state_score": score}
    )
    result = to_crmarena_result(workflow)
    assert result["reward"] == 0.0 and result["reward_f1"] == pytest.approx(2 / 3)  # P 1, R 1/2
    assert result["state_diff"] == {
        "created": [],
        "updated": [{"object": "Case", "id": "500x", "fields": {"Status": "Closed"}}],
        "deleted": [],
    }
    assert result["state_score"]["exact"] is False and len(result["state_score"]["missing"]) == 1
    assert not {"reward_f1", "state_diff", "state_score"} & set(to_crmarena_result(EPISODES[0]))
