"""Offline models on the generated tiny org: the oracle scores 100% in every framework, the
baselines answer their floors, and replay re-plays a recorded run."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.frameworks import make_framework
from crm_core.agents.records import RunRecord
from crm_core.agents.run_store import load_episodes, save_run
from crm_core.agents.runner import execute_run
from crm_core.agents.service import resolve_model
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.registry import task_names


@pytest.fixture(scope="session")
def tiny_instances(tiny_org_url):
    """Two instances of each of the nine tasks, sampled from the tiny org's task set."""
    generated = generate_tasks(tiny_org_url, per_task=4)
    rng = random.Random(5)
    sample = []
    for task in task_names():
        of_task = [i for i in generated if i.task == task]
        sample += rng.sample(of_task, min(2, len(of_task)))
    return sample


def _run(store, org_url, instances, framework_name, model, run_id, trials=1):
    env = OrgEnvironment.open(org_url)
    run = RunRecord(
        run_id=run_id,
        framework=framework_name,
        model=model,
        tasks=list(task_names()),
        trials=trials,
        created_at="2026-01-01T00:00:00",
    )
    save_run(store, run, planned=len(instances) * trials)
    try:
        execute_run(
            run,
            instances,
            source=resolve_model(model, store=store),
            framework=make_framework(framework_name, env.tool_schemas),
            env=env,
            store=store,
            concurrency=4,
        )
    finally:
        env.engine.dispose()
    return load_episodes(store, run_id)


@pytest.mark.parametrize("framework_name", ["act", "react", "fc", "fc_flex"])
def test_oracle_scores_100_percent(framework_name, app_store, tiny_org_url, tiny_instances):
    assert {i.task for i in tiny_instances} == set(task_names())
    episodes = _run(app_store, tiny_org_url, tiny_instances, framework_name, "oracle", "oracle")
    assert len(episodes) == len(tiny_instances)
    failures = [(e.task, e.answer, e.gold) for e in episodes if e.reward != 1.0]
    assert failures == []
    assert all(e.end_reason == "responded" for e in episodes)
    # the oracle works through the tools (task tools in fc, raw SOQL/SOSL in act and react):
    # most episodes take several turns
    assert sum(e.turns for e in episodes) > 2 * len(episodes)
    expected_kinds = {"tool", "respond"} if framework_name.startswith("fc") else {"execute", "respond"}
    assert {a.kind for e in episodes for a in e.actions} == expected_kinds


def test_majority_baseline(app_store, tiny_org_url, tiny_instances):
    episodes = _run(app_store, tiny_org_url, tiny_instances, "act", "baseline:majority", "maj")
    for task in task_names():
        golds = Counter(i.answer for i in tiny_instances if i.task == task and i.answer is not None)
        if not golds:
            continue
        top = max(golds.values())
        expected = min(answer for answer, count in golds.items() if count == top)
        assert {e.answer for e in episodes if e.task == task} == {expected}
    assert all(e.turns == 1 and e.end_reason == "responded" for e in episodes)
    assert all(e.reward == (1.0 if e.answer == e.gold else 0.0) for e in episodes if e.task != "knowledge_qa")


def test_random_baseline_is_reproducible_and_never_none(app_store, tiny_org_url, tiny_instances):
    first = _run(app_store, tiny_org_url, tiny_instances, "fc", "baseline:random", "rand1", trials=2)
    second = _run(app_store, tiny_org_url, tiny_instances, "fc", "baseline:random", "rand2", trials=2)
    assert [(e.instance_idx, e.trial, e.answer) for e in first] == [(e.instance_idx, e.trial, e.answer) for e in second]
    assert all(e.answer not in {None, "None"} for e in first)


@pytest.mark.parametrize("framework_name", ["react", "fc_flex"])
def test_replay_reproduces_a_recorded_run(framework_name, app_store, tiny_org_url, tiny_instances):
    chosen = tiny_instances[:6]
    recorded = _run(app_store, tiny_org_url, chosen, framework_name, "oracle", "source")
    replayed = _run(app_store, tiny_org_url, chosen, framework_name, "replay:source", "copy")

    def summary(episodes):
        return [
            (
                e.instance_idx,
                e.answer,
                e.reward,
                e.turns,
                [(a.kind, a.name, a.content, a.observation) for a in e.actions],
            )
            for e in episodes
        ]

    assert summary(replayed) == summary(recorded)
    assert all(e.model == "replay:source" for e in replayed)


def test_replay_in_another_framework_is_an_error_episode(app_store, tiny_org_url, tiny_instances):
    _run(app_store, tiny_org_url, tiny_instances[:1], "fc", "oracle", "fc-run")
    (episode,) = _run(app_store, tiny_org_url, tiny_instances[:1], "act", "replay:fc-run", "act-copy")
    assert episode.end_reason == "error" and "used framework 'fc', not 'act'" in episode.error


def test_oracle_notices_an_observation_it_did_not_expect():
    from langchain_core.messages import HumanMessage, SystemMessage

    from crm_core.agents.offline import OracleChatModel
    from crm_core.tasks.tool_oracle import OracleStep

    step = OracleStep(tool="issue_soql_query", arguments={"query": "SELECT Id FROM Case"}, observation='[{"Id": "1"}]')
    model = OracleChatModel(framework="act", steps=[step], answer="42")
    history = [SystemMessage("s"), HumanMessage("q")]
    first = model.invoke(history)
    assert first.content == "<execute>SELECT Id FROM Case</execute>"
    good = model.invoke([*history, first, HumanMessage('Salesforce instance output: [{"Id": "1"}]')])
    assert good.content == "<respond>42</respond>"
    bad = model.invoke([*history, first, HumanMessage("Salesforce instance output: []")])
    assert bad.content.startswith("<respond>oracle mismatch at step 1")


@pytest.mark.postgres
def test_oracle_on_postgresql_org_and_store(tiny_org_pg_url, app_db_pg_url, tiny_instances):
    """The same oracle episodes with the org and the app store both on PostgreSQL."""
    from crm_core.store.engine import open_app_store

    store = open_app_store(app_db_pg_url)
    chosen = [i for i in tiny_instances if i.task != "knowledge_qa"][:8]
    episodes = _run(store, tiny_org_pg_url, chosen, "fc_flex", "oracle", "pg")
    store.kw["bind"].dispose()
    assert [(e.instance_idx, e.reward, e.end_reason) for e in episodes] == sorted(
        (i.idx, 1.0, "responded") for i in chosen
    )
