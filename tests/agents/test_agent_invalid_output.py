"""Every invalid-output path, end to end through the real OpenAI client: the message the model
gets next, the recorded action, the turn count and the end reason."""

from __future__ import annotations

import asyncio
import json

import pytest
from openai_server import Reply, openai_server
from scripted_policies import assistant_turns, contact_policy

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.episode import run_episode
from crm_core.agents.frameworks import (
    ACT_CORRECTION,
    FC_CORRECTION,
    NOT_EXECUTED,
    REACT_CORRECTION,
    TWO_ACTIONS_NOTE,
    make_framework,
)
from crm_core.agents.models import EpisodeContext, LangChainModelSource, RetryPolicy
from crm_core.tools import TOOLS


class ExplodingTool:
    """A tool that raises (the registry's tools never do; the harness must survive one that does)."""

    def schema(self) -> dict:
        return {
            "type": "function",
            "function": {"name": "explode", "description": "Raises.", "parameters": {"type": "object"}},
        }

    def run(self, ctx, arguments):
        raise RuntimeError("boom inside the tool")


def _play(script, framework_name, org_url, instance, *, max_turns=20, tools=None):
    env = OrgEnvironment.open(org_url) if tools is None else OrgEnvironment(OrgEnvironment.open(org_url).engine, tools)
    framework = make_framework(framework_name, env.tool_schemas)
    with openai_server(script) as server:
        source = LangChainModelSource("openai:scripted", base_url=server.base_url)
        context = EpisodeContext("t", instance, 0, framework, env)
        episode = asyncio.run(run_episode(source, context, max_turns=max_turns, retry=RetryPolicy(attempts=1)))
    env.engine.dispose()
    return episode, server.requests


def _then_solve(first: Reply):
    """Reply `first` on turn one, then behave like the solving policy (shifted by one turn)."""

    def script(body):
        if assistant_turns(body) == 0:
            return first
        shifted = dict(body, messages=[m for m in body["messages"][:2]] + body["messages"][4:])
        return contact_policy(shifted)

    return script


@pytest.mark.parametrize(("name", "message"), [("act", ACT_CORRECTION), ("react", REACT_CORRECTION)])
def test_no_tag(name, message, contact_org, instances):
    episode, requests = _play(
        _then_solve(Reply(content="The answer is probably 42.")), name, contact_org[0], instances[0]
    )
    assert requests[1]["messages"][-1] == {"role": "user", "content": message}
    assert episode.actions[0].kind == "invalid" and episode.actions[0].observation == message
    assert (episode.end_reason, episode.turns, episode.reward) == ("responded", 3, 1.0)


def test_fc_no_tool_call(contact_org, instances):
    episode, requests = _play(_then_solve(Reply(content="Let me think.")), "fc", contact_org[0], instances[0])
    assert requests[1]["messages"][-1] == {"role": "user", "content": FC_CORRECTION}
    assert (episode.actions[0].kind, episode.actions[0].error) == ("invalid", "no tool call")
    assert (episode.end_reason, episode.turns, episode.reward) == ("responded", 3, 1.0)


def test_two_text_actions(contact_org, instances):
    contact = instances[0].query.split()[4]
    soql = f"SELECT AccountId FROM Contact WHERE Id = '{contact}'"
    first = Reply(content=f"<execute>{soql}</execute> <execute>SELECT Id FROM Case</execute>")

    def script(body):
        if assistant_turns(body) == 0:
            return first
        return contact_policy(body)

    episode, requests = _play(script, "act", contact_org[0], instances[0])
    observation = requests[1]["messages"][-1]["content"]
    assert observation.startswith("Salesforce instance output: ") and instances[0].answer in observation
    assert observation.endswith(TWO_ACTIONS_NOTE)
    assert (episode.actions[0].kind, episode.actions[0].content) == ("execute", soql)
    assert (episode.end_reason, episode.turns, episode.reward) == ("responded", 2, 1.0)


def test_two_tool_calls(contact_org, instances):
    contact = instances[0].query.split()[4]
    first = Reply(
        tool_calls=[
            ("get_account_id_by_contact_id", json.dumps({"contact_id": contact})),
            ("respond", json.dumps({"content": "wrong"})),
        ]
    )

    def script(body):
        if assistant_turns(body) == 0:
            return first
        return contact_policy(body)

    episode, requests = _play(script, "fc", contact_org[0], instances[0])
    tool_messages = [m for m in requests[1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages][1] == NOT_EXECUTED
    assert instances[0].answer in tool_messages[0]["content"]
    assert (episode.end_reason, episode.answer, episode.reward) == ("responded", instances[0].answer, 1.0)


def test_unknown_tool(contact_org, instances):
    first = Reply(tool_calls=[("get_weather", json.dumps({"city": "Paris"}))])
    episode, requests = _play(_then_solve(first), "fc", contact_org[0], instances[0])
    message = requests[1]["messages"][-1]
    assert message["role"] == "tool" and message["content"].startswith("Error: unknown tool 'get_weather'.")
    assert "get_account_id_by_contact_id" in message["content"]
    assert (episode.actions[0].kind, episode.actions[0].error) == ("invalid", "unknown tool 'get_weather'")
    assert (episode.end_reason, episode.turns, episode.reward) == ("responded", 3, 1.0)


def test_bad_json_arguments(contact_org, instances):
    first = Reply(tool_calls=[("issue_soql_query", '{"query": "SELECT Id FROM Case')])
    episode, requests = _play(_then_solve(first), "fc_flex", contact_org[0], instances[0])
    message = requests[1]["messages"][-1]
    assert message["role"] == "tool"
    assert message["content"].startswith("Error: the arguments of 'issue_soql_query' are not valid JSON: ")
    assert (episode.actions[0].kind, episode.actions[0].error) == ("invalid", "arguments are not JSON")
    assert (episode.end_reason, episode.turns, episode.reward) == ("responded", 3, 1.0)


def test_exception_inside_a_tool(contact_org, instances):
    tools = {**TOOLS, "explode": ExplodingTool()}
    first = Reply(tool_calls=[("explode", "{}")])
    episode, requests = _play(_then_solve(first), "fc", contact_org[0], instances[0], tools=tools)
    message = requests[1]["messages"][-1]
    assert message["role"] == "tool"
    assert message["content"] == "Error: the tool 'explode' failed: RuntimeError: boom inside the tool"
    assert episode.actions[0].kind == "tool" and episode.actions[0].observation == message["content"]
    assert (episode.end_reason, episode.turns, episode.reward) == ("responded", 3, 1.0)


def test_bad_query_reads_the_engine_error(contact_org, instances):
    first = Reply(content="<execute>SELECT Foo FROM Case</execute>")
    episode, requests = _play(_then_solve(first), "act", contact_org[0], instances[0])
    observation = requests[1]["messages"][-1]["content"]
    assert observation.startswith("Salesforce instance output: INVALID_FIELD: ")
    assert "No such column 'Foo' on entity 'Case'" in observation


@pytest.mark.parametrize("name", ["act", "react", "fc", "fc_flex"])
def test_max_turns(name, contact_org, instances):
    episode, requests = _play(lambda body: Reply(content="hmm"), name, contact_org[0], instances[0], max_turns=3)
    assert len(requests) == 3
    assert (episode.end_reason, episode.turns, episode.answer, episode.reward) == ("max_turns", 3, None, 0.0)
    assert [a.kind for a in episode.actions] == ["invalid"] * 3
    # the gold of this instance is not "None"; an episode that never responds scores 0 even when it is
    assert episode.gold == instances[0].answer
