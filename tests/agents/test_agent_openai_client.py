"""Full runs through the real langchain-openai client against a local OpenAI-protocol server."""

from __future__ import annotations

import json

import pytest
from openai_server import Reply, openai_server
from scripted_policies import contact_policy

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.frameworks import make_framework
from crm_core.agents.models import LangChainModelSource, Price, PriceTable, RetryPolicy
from crm_core.agents.records import RunRecord
from crm_core.agents.run_store import load_episodes, save_run
from crm_core.agents.runner import execute_run

FAST_RETRY = RetryPolicy(attempts=4, initial_wait_s=0.01, max_wait_s=0.05)
PRICES = PriceTable(prices={"openai:scripted": Price(input=2.0, output=10.0)})


def _run(framework_name: str, *, store, org_url, instances, base_url, run_id="r1", trials=1, concurrency=2):
    env = OrgEnvironment.open(org_url)
    framework = make_framework(framework_name, env.tool_schemas)
    source = LangChainModelSource("openai:scripted", base_url=base_url, prices=PRICES)
    run = RunRecord(
        run_id=run_id,
        framework=framework_name,
        model=source.spec,
        base_url=base_url,
        tasks=sorted({i.task for i in instances}),
        trials=trials,
        created_at="2026-01-01T00:00:00",
    )
    save_run(store, run, planned=len(instances) * trials)
    execute_run(
        run,
        instances,
        source=source,
        framework=framework,
        env=env,
        store=store,
        concurrency=concurrency,
        retry=FAST_RETRY,
    )
    env.engine.dispose()
    return load_episodes(store, run_id)


@pytest.mark.parametrize("framework_name", ["act", "react", "fc", "fc_flex"])
def test_scripted_model_solves_every_instance_in_every_framework(framework_name, app_store, contact_org, instances):
    org_url, _ = contact_org
    chosen = instances[:4]
    with openai_server(contact_policy) as server:
        episodes = _run(framework_name, store=app_store, org_url=org_url, instances=chosen, base_url=server.base_url)
    assert [(e.instance_idx, e.end_reason, e.reward, e.turns) for e in episodes] == [
        (i.idx, "responded", 1.0, 2) for i in chosen
    ]
    assert all(e.answer == i.answer for e, i in zip(episodes, chosen, strict=True))
    # what went over the wire: temperature 0, the framework's output limit, tools for fc only
    body = server.requests[0]
    assert body["temperature"] == 0
    assert body.get("max_tokens", body.get("max_completion_tokens")) == (
        2000 if framework_name in {"act", "react"} else 3500
    )
    names = {t["function"]["name"] for t in body.get("tools") or []}
    if framework_name in {"act", "react"}:
        assert names == set()
    else:
        assert "respond" in names and "get_account_id_by_contact_id" in names
        assert ("issue_soql_query" in names) == (framework_name == "fc_flex")
    # tokens (11 in, 7 out per call, by the server) and cost from the price table
    first = episodes[0]
    assert (first.input_tokens, first.output_tokens) == (22, 14)
    assert first.cost_usd == pytest.approx((22 * 2.0 + 14 * 10.0) / 1e6)
    # the stored conversation is the one the server saw on the last call, plus the final reply
    roles = [m.role for m in first.messages]
    if framework_name in {"act", "react"}:
        assert roles == ["system", "user", "assistant", "user", "assistant"]
        assert first.messages[3].content.startswith("Salesforce instance output: ")
    else:
        assert roles == ["system", "user", "assistant", "tool", "assistant"]
        assert first.messages[3].tool_call_id == first.messages[2].tool_calls[0].id
    assert chosen[0].answer in first.messages[3].content
    assert [a.kind for a in first.actions] == (
        ["execute", "respond"] if framework_name in {"act", "react"} else ["tool", "respond"]
    )


def test_rate_limits_are_retried(app_store, contact_org, instances):
    calls = {"n": 0}

    def flaky(body):
        calls["n"] += 1
        if calls["n"] <= 2:
            return Reply(status=429)
        return contact_policy(body)

    with openai_server(flaky) as server:
        episodes = _run(
            "act", store=app_store, org_url=contact_org[0], instances=instances[:1], base_url=server.base_url
        )
    assert len(server.requests) == 4  # two 429s, then the two turns
    assert (episodes[0].end_reason, episodes[0].reward) == ("responded", 1.0)


def test_a_model_that_keeps_failing_ends_the_episode_with_error(app_store, contact_org, instances):
    with openai_server(lambda body: Reply(status=400)) as server:
        episodes = _run(
            "fc", store=app_store, org_url=contact_org[0], instances=instances[:1], base_url=server.base_url
        )
    (episode,) = episodes
    assert (episode.end_reason, episode.reward, episode.answer, episode.turns) == ("error", 0.0, None, 1)
    assert "Error code: 400" in episode.error
    assert len(server.requests) == 1  # a 400 is not retried


def test_bad_json_arguments_from_the_wire(app_store, contact_org, instances):
    def broken_then_policy(body):
        if sum(1 for m in body["messages"] if m["role"] == "assistant") == 0:
            return Reply(tool_calls=[("get_account_id_by_contact_id", '{"contact_id": ')])
        return Reply(tool_calls=[("respond", json.dumps({"content": "None"}))])

    with openai_server(broken_then_policy) as server:
        (episode,) = _run(
            "fc", store=app_store, org_url=contact_org[0], instances=instances[:1], base_url=server.base_url
        )
    tool_message = server.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].startswith(
        "Error: the arguments of 'get_account_id_by_contact_id' are not valid JSON"
    )
    assert episode.actions[0].kind == "invalid" and episode.actions[0].error == "arguments are not JSON"
    assert (episode.end_reason, episode.turns, episode.answer) == ("responded", 2, "None")


def test_a_server_without_usage_makes_the_cost_unknown(app_store, contact_org, instances):
    def no_usage(body):
        reply = contact_policy(body)
        reply.usage = False
        return reply

    with openai_server(no_usage) as server:
        (episode,) = _run(
            "act", store=app_store, org_url=contact_org[0], instances=instances[:1], base_url=server.base_url
        )
    assert (episode.reward, episode.input_tokens, episode.output_tokens, episode.cost_usd) == (1.0, 0, 0, None)
