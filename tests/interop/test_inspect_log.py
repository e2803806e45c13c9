"""``runs export RUN OUT --format inspect``: inspect_ai's own reader reads the log back with the
run's samples, epochs, scores, messages and results."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from statistics import mean

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_sample_summaries

from crm_core.agents.inspect_log import write_inspect_log
from crm_core.agents.records import EpisodeRecord, MessageRecord, RunRecord, ToolCallRecord
from crm_core.agents.run_store import load_episodes
from crm_core.agents.service import RunConfig, run
from crm_core.store.engine import open_app_store

SELECTION = {"tasks": ["handle_time", "knowledge_qa", "named_entity_disambiguation"], "limit": 2, "trials": 2}


@pytest.fixture
def app(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    store = open_app_store(url)
    yield url, store
    store.kw["bind"].dispose()


@pytest.mark.parametrize(
    ("framework", "model", "name"),
    [("fc", "oracle", "r.eval"), ("act", "baseline:random", ""), ("fc", "oracle", "r.json")],
)
def test_an_exported_run_reads_back_in_inspect(cli, app, tiny_tasks_org, tmp_path, framework, model, name):
    url, store = app
    config = RunConfig(run_id=f"r-{framework}", framework=framework, model=model, org_db=tiny_tasks_org, **SELECTION)
    run(config, store=store)
    episodes = {(e.instance_idx, e.trial): e for e in load_episodes(store, config.run_id)}
    folder = tmp_path / "logs"  # a file named OUT, or inspect's own name in the folder OUT
    target = str(folder / name)
    code, printed, err = cli("runs", "export", config.run_id, target, "--format", "inspect", "--app-db", url)
    assert code == 0, err
    assert f"Wrote {len(episodes)} episodes" in printed
    listed = [Path(info.name).name for info in list_eval_logs(str(folder))]  # what `inspect view` lists
    assert len(listed) == (0 if name.endswith(".json") else 1)  # a .json log is listed under inspect's names only
    out = folder / (name or listed[0])

    log = read_eval_log(str(out))
    summaries = read_eval_log_sample_summaries(str(out))  # what its sample list shows
    assert sorted(s.scores["crm_reward"].value for s in summaries) == sorted(e.reward for e in episodes.values())
    assert log.status == "success" and log.eval.task == "crmarena" and log.eval.config.epochs == 2
    assert {(s.id, s.epoch) for s in log.samples} == {(idx, trial + 1) for idx, trial in episodes}
    for sample in log.samples:
        episode = episodes[(sample.id, sample.epoch - 1)]
        score = sample.scores["crm_reward"]
        assert (score.value, score.answer, sample.target) == (episode.reward, episode.answer, episode.gold)
        assert sample.metadata["task"] == episode.task
        assert [m.role for m in sample.messages] == [m.role for m in episode.messages]
        assert [m.text for m in sample.messages] == [m.content for m in episode.messages]
        calls = [
            (c.function, c.arguments) for m in sample.messages if m.role == "assistant" for c in m.tool_calls or []
        ]
        recorded = [(c.name, c.arguments) for m in episode.messages for c in m.tool_calls]
        assert calls == recorded
        assert sample.input == next(m.content for m in episode.messages if m.role == "user")
    if framework == "fc":
        assert any(m.role == "tool" for s in log.samples for m in s.messages)  # tool results came along

    # the results are the mean per task (over instances and trials) and their mean, from the samples
    per_task = defaultdict(list)
    for sample in log.samples:
        per_task[sample.metadata["task"]].append(sample.scores["crm_reward"].value)
    metrics = log.results.scores[0].metrics
    for task, values in per_task.items():
        assert metrics[task].value == pytest.approx(mean(values))
    assert metrics["overall"].value == pytest.approx(mean(mean(v) for v in per_task.values()))
    if model == "oracle":
        assert metrics["overall"].value == 1.0


def test_an_inspect_log_needs_an_inspect_file_name(cli, app, tiny_tasks_org, tmp_path):
    url, store = app
    run(
        RunConfig(run_id="r1", framework="fc", model="oracle", org_db=tiny_tasks_org, tasks=["handle_time"], limit=1),
        store=store,
    )
    code, _, err = cli("runs", "export", "r1", str(tmp_path / "r1.txt"), "--format", "inspect", "--app-db", url)
    assert code == 1 and "an inspect log is a .eval or a .json file (or give a folder)" in err


T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
texts = st.text(max_size=40)
arguments = st.one_of(
    st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.one_of(texts, st.integers()), max_size=3),
    texts.map(lambda raw: "{" + raw),  # a call whose arguments were not JSON: kept as text
)
calls = st.lists(st.builds(ToolCallRecord, id=st.uuids().map(str), name=st.sampled_from(["get_cases", "respond"]),
                           arguments=arguments), max_size=2)  # fmt: skip
turns = st.lists(
    st.one_of(
        st.builds(MessageRecord, role=st.just("assistant"), content=texts, tool_calls=calls),
        st.builds(MessageRecord, role=st.just("tool"), content=texts, tool_call_id=st.just("c1"), name=st.just("x")),
        st.builds(MessageRecord, role=st.just("user"), content=texts),
    ),
    max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=turns, reward=st.floats(0, 1), answer=st.one_of(st.none(), texts))
def test_any_conversation_survives_the_round_trip(tmp_path, turns, reward, answer):
    messages = [MessageRecord(role="system", content="rules"), MessageRecord(role="user", content="q?"), *turns]
    run_record = RunRecord(run_id="prop", framework="fc", model="openai:m", tasks=["handle_time"], created_at=T)
    episode = EpisodeRecord(
        run_id="prop", instance_idx=3, task="handle_time", persona="manager", trial=0, framework="fc",
        model="openai:m", messages=messages, actions=[], answer=answer, gold="g", reward=reward,
        reward_normalized=reward, turns=len(turns), input_tokens=1, output_tokens=2, cost_usd=None, latency_s=0.1,
        end_reason="responded" if answer is not None else "max_turns", started_at=T, finished_at=T,
    )  # fmt: skip
    out = write_inspect_log(run_record, [episode], 2, tmp_path / "prop.eval")  # 1 of 2 planned: not finished
    log = read_eval_log(str(out))
    assert log.status == "started" and log.eval.model == "openai/m"
    [sample] = log.samples
    assert [(m.role, m.text) for m in sample.messages] == [(m.role, m.content) for m in messages]
    for read, written in zip(sample.messages, messages, strict=True):
        if written.role != "assistant":
            continue
        for call, record in zip(read.tool_calls or [], written.tool_calls, strict=True):
            assert (call.id, call.function) == (record.id, record.name)
            if isinstance(record.arguments, dict):
                assert call.arguments == record.arguments and call.parse_error is None
            else:
                assert record.arguments in call.parse_error
    score = sample.scores["crm_reward"]
    assert (score.value, score.answer) == (reward, answer)
