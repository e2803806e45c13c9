"""Frameworks: prompts, output parsing, corrective messages and feedback messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from crm_core.agents.frameworks import (
    ACT_CORRECTION,
    FC_CORRECTION,
    NOT_EXECUTED,
    REACT_CORRECTION,
    TWO_ACTIONS_NOTE,
    make_framework,
)
from crm_core.org.metadata import describe_org
from crm_core.tasks.records import TaskInstance, TaskMetadata


def _schema(name: str, **params: str) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"tool {name}",
            "parameters": {
                "type": "object",
                "properties": {p: {"type": t} for p, t in params.items()},
                "required": list(params),
            },
        },
    }


TOOLS = (
    _schema("issue_soql_query", query="string"),
    _schema("issue_sosl_query", query="string"),
    _schema("get_cases", start_date="string"),
    _schema("respond", content="string"),
)
INSTANCE = TaskInstance(
    idx=7,
    task="knowledge_qa",
    persona="service_agent",
    query="How long is the return window?",
    answer="30 days",
    metadata=TaskMetadata(required="REQUIRED-RULE-XYZ", optional="OPTIONAL-DETAIL-QRS"),
    reward_metric="fuzzy_match",
)


def _ai_with_calls(*calls: tuple[str, str, str]) -> AIMessage:
    """An AIMessage as langchain-openai builds it from raw tool calls (id, name, JSON text)."""
    raw = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
    valid, invalid = [], []
    for call_id, name, arguments in calls:
        try:
            valid.append({"id": call_id, "name": name, "args": json.loads(arguments), "type": "tool_call"})
        except json.JSONDecodeError as exc:
            invalid.append(
                {"id": call_id, "name": name, "args": arguments, "error": str(exc), "type": "invalid_tool_call"}
            )
    return AIMessage(content="", tool_calls=valid, invalid_tool_calls=invalid, additional_kwargs={"tool_calls": raw})


@pytest.mark.parametrize("name", ["act", "react", "fc", "fc_flex"])
def test_system_prompt_has_schema_rules_and_metadata(name):
    framework = make_framework(name, TOOLS)
    prompt = framework.system_prompt(INSTANCE)
    for obj in describe_org().values():
        assert obj.name in prompt
        for field in obj.fields:
            assert f"- {field.name} (" in prompt.split(f"{obj.name}", 1)[1]
            assert field.description in prompt
    assert "REQUIRED-RULE-XYZ" in prompt and "OPTIONAL-DETAIL-QRS" in prompt
    assert INSTANCE.query not in prompt  # the question is the user message, not the system prompt
    assert ("<thought>" in prompt) == (name == "react")
    assert ("<execute>" in prompt) == (name in {"act", "react"})


def test_fc_drops_raw_query_tools_and_fc_flex_keeps_them():
    assert make_framework("fc", TOOLS).tool_names == ("get_cases", "respond")
    flex = ("issue_soql_query", "issue_sosl_query", "get_cases", "respond")
    assert make_framework("fc_flex", TOOLS).tool_names == flex
    with pytest.raises(ValueError, match="respond"):
        make_framework("fc", TOOLS[:3])
    with pytest.raises(ValueError, match="unknown framework"):
        make_framework("plan_and_solve")


def test_act_execute_respond_and_submit():
    act = make_framework("act")
    parsed = act.parse(AIMessage("<execute> SELECT Id FROM Case </execute>"), 1)
    assert (parsed.action.kind, parsed.action.content, parsed.extra_actions) == ("execute", "SELECT Id FROM Case", 0)
    parsed = act.parse(AIMessage("<RESPOND>  005Hs0000000001AAA </RESPOND>"), 2)
    assert (parsed.action.kind, parsed.action.content) == ("respond", "005Hs0000000001AAA")
    assert act.parse(AIMessage("<submit>None</submit>"), 3).action.kind == "respond"


@pytest.mark.parametrize(("name", "message"), [("act", ACT_CORRECTION), ("react", REACT_CORRECTION)])
def test_text_without_tag_gets_the_framework_correction(name, message):
    framework = make_framework(name)
    parsed = framework.parse(AIMessage("I think the answer is 42."), 4)
    assert parsed.action.kind == "invalid" and parsed.action.error == "no <execute> or <respond> tag"
    assert framework.invalid_observation(parsed) == message
    feedback = framework.feedback(parsed, framework.invalid_observation(parsed))
    assert len(feedback) == 1 and isinstance(feedback[0], HumanMessage) and feedback[0].content == message


def test_unclosed_tag_is_no_action():
    assert make_framework("act").parse(AIMessage("<execute> SELECT Id FROM Case"), 1).action.kind == "invalid"


def test_two_text_actions_run_the_first_and_say_so():
    act = make_framework("act")
    parsed = act.parse(AIMessage("<execute>SELECT Id FROM Case</execute>\n<respond>x</respond>"), 1)
    assert (parsed.action.kind, parsed.action.content, parsed.extra_actions) == ("execute", "SELECT Id FROM Case", 1)
    feedback = act.feedback(parsed, "[]")
    assert feedback[0].content == f"Salesforce instance output: []\n\n{TWO_ACTIONS_NOTE}"
    # responding first ends the episode whatever follows
    parsed = act.parse(AIMessage("<respond>x</respond><execute>SELECT Id FROM Case</execute>"), 1)
    assert (parsed.action.kind, parsed.action.content) == ("respond", "x")


def test_react_keeps_the_thought():
    react = make_framework("react")
    parsed = react.parse(AIMessage("<thought> count cases </thought>\n<execute>SELECT COUNT() FROM Case</execute>"), 1)
    assert (parsed.action.thought, parsed.action.content) == ("count cases", "SELECT COUNT() FROM Case")


@given(st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=200), st.text(max_size=50))
def test_act_parses_any_query_text(query, noise):
    noise = noise.replace("<", "")
    parsed = make_framework("act").parse(AIMessage(f"{noise}<execute>{query}</execute>{noise}"), 1)
    assert parsed.action.kind == "execute" and parsed.action.content == query.strip()


def test_fc_without_tool_call_gets_correction_as_user_message():
    fc = make_framework("fc", TOOLS)
    parsed = fc.parse(AIMessage("The answer is 3."), 1)
    assert parsed.action.kind == "invalid" and parsed.action.error == "no tool call"
    observation = fc.invalid_observation(parsed)
    assert observation == FC_CORRECTION
    assert [type(m) for m in fc.feedback(parsed, observation)] == [HumanMessage]


def test_fc_unknown_tool_and_raw_tool_in_plain_fc():
    fc = make_framework("fc", TOOLS)
    for name in ("get_weather", "issue_soql_query"):
        parsed = fc.parse(_ai_with_calls(("c1", name, '{"query": "SELECT Id FROM Case"}')), 1)
        assert parsed.action.kind == "invalid" and parsed.action.error == f"unknown tool {name!r}"
        observation = fc.invalid_observation(parsed)
        assert observation == f"Error: unknown tool '{name}'. The available tools are: get_cases, respond."
        (message,) = fc.feedback(parsed, observation)
        assert isinstance(message, ToolMessage) and message.tool_call_id == "c1"


def test_fc_bad_json_arguments():
    fc = make_framework("fc_flex", TOOLS)
    parsed = fc.parse(_ai_with_calls(("c9", "issue_soql_query", '{"query": "SELECT Id FROM Case"')), 2)
    assert parsed.action.kind == "invalid" and parsed.action.error == "arguments are not JSON"
    observation = fc.invalid_observation(parsed)
    assert observation.startswith("Error: the arguments of 'issue_soql_query' are not valid JSON: ")
    assert '{"query": "SELECT Id FROM Case"' in observation
    (message,) = fc.feedback(parsed, observation)
    assert message.tool_call_id == "c9"


def test_fc_two_calls_run_the_first_in_emitted_order():
    fc = make_framework("fc_flex", TOOLS)
    # the second call is broken JSON and emitted first: emitted order decides, not validity
    message = _ai_with_calls(("a", "get_cases", "{bad"), ("b", "get_cases", '{"start_date": "2024-01-01"}'))
    parsed = fc.parse(message, 1)
    assert parsed.call_id == "a" and parsed.action.kind == "invalid" and parsed.other_call_ids == ("b",)
    message = _ai_with_calls(("a", "get_cases", '{"start_date": "2024-01-01"}'), ("b", "respond", '{"content": "x"}'))
    parsed = fc.parse(message, 1)
    assert (parsed.action.kind, parsed.action.name, parsed.action.arguments) == (
        "tool",
        "get_cases",
        {"start_date": "2024-01-01"},
    )
    feedback = fc.feedback(parsed, "[]")
    assert [(m.tool_call_id, m.content) for m in feedback] == [("a", "[]"), ("b", NOT_EXECUTED)]


def test_fc_respond_reads_its_argument():
    fc = make_framework("fc", TOOLS)
    parsed = fc.parse(_ai_with_calls(("r", "respond", '{"content": "  Texas "}')), 5)
    assert (parsed.action.kind, parsed.action.content) == ("respond", "Texas")
