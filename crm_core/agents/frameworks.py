"""The four agent frameworks (act, react, fc, fc_flex): prompts, parsing, what goes back to the model.

- ``act``: one action per turn in text, ``<execute>SOQL or SOSL</execute>`` or
  ``<respond>answer</respond>`` (``<submit>`` of CRMArena's first release is accepted too).
- ``react``: the same, with a one-line ``<thought>`` first.
- ``fc``: native tool calling with the task-specific tools and ``respond``.
- ``fc_flex``: ``fc`` plus the raw query tools ``issue_soql_query`` and ``issue_sosl_query``.

On a workflow instance (``reward_metric`` ``state_match``, see :meth:`Framework.for_instance`)
``fc`` / ``fc_flex`` also get the record tools (``get_records`` and the write tools), and
``act`` / ``react`` may put one write in an ``<execute>`` tag: the tool's name, then its
arguments as a JSON object (``update_record {"object": "Case", "id": ..., "fields": {...}}``).

A framework never runs anything itself: :meth:`Framework.parse` turns one assistant message into
an :class:`~crm_core.agents.records.ActionRecord` and :meth:`Framework.feedback` builds the
messages that answer it (observation, corrective message, or "not executed" notes).
"""

from __future__ import annotations

import dataclasses
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable

from crm_core.agents.records import ActionRecord, FrameworkName
from crm_core.agents.schema_prompt import schema_text
from crm_core.agents.transcript import message_text
from crm_core.tools.general import OBSERVATION_PREFIX
from crm_core.tools.records import RECORD_TOOLS, WRITE_TOOLS

RAW_QUERY_TOOLS = ("issue_soql_query", "issue_sosl_query")
RESPOND_TOOL = "respond"

ACT_CORRECTION = (
    "Invalid output format! Give exactly one action: <execute> a valid SOQL or SOSL query </execute> "
    "or <respond> the final answer </respond>."
)
REACT_CORRECTION = (
    "Invalid output format! Give one thought and one action: <thought> your thought </thought> then "
    "<execute> a valid SOQL or SOSL query </execute> or <respond> the final answer </respond>."
)
FC_CORRECTION = (
    "Invalid output! Call exactly one of the tools provided; to give the final answer, call the 'respond' tool."
)
TWO_ACTIONS_NOTE = "Note: only the first action of your message was executed. Give one action per turn."
NOT_EXECUTED = "Error: not executed. Only the first tool call of a message runs; call one tool per turn."


class InstanceLike(Protocol):
    """What a framework reads from a task instance (``crm_core.tasks.TaskInstance`` fits)."""

    @property
    def query(self) -> str: ...

    @property
    def metadata(self) -> Any: ...

    @property
    def reward_metric(self) -> str: ...


def changes_the_org(instance: InstanceLike) -> bool:
    """True for a workflow instance: scored on the org state, played in a sandbox with writes."""
    return getattr(instance, "reward_metric", None) == "state_match"


@dataclass(frozen=True)
class ParsedTurn:
    """One assistant message as the harness understood it.

    `call_id` is the tool call that runs (fc); `other_call_ids` are further calls of the same
    message, answered with :data:`NOT_EXECUTED`; `extra_actions` counts further text actions.
    """

    action: ActionRecord
    call_id: str | None = None
    other_call_ids: tuple[str, ...] = ()
    extra_actions: int = 0


@dataclass(frozen=True)
class Framework(ABC):
    """A way for a model to act on the org: prompt, parsing and feedback."""

    name: FrameworkName
    max_output_tokens: int
    tool_schemas: tuple[dict[str, Any], ...] = field(default=())
    record_tool_schemas: tuple[dict[str, Any], ...] = field(default=())
    """The record tools a native framework adds on workflow instances."""
    writes: bool = False
    """This copy plays a workflow instance (see :meth:`for_instance`)."""

    @property
    def native_tools(self) -> bool:
        """True when actions are native tool calls (fc, fc_flex) rather than text tags."""
        return bool(self.tool_schemas)

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(schema["function"]["name"] for schema in self.tool_schemas)

    def for_instance(self, instance: InstanceLike) -> Framework:
        """The framework as it plays `instance`: itself, or with writes on a workflow instance."""
        if not changes_the_org(instance) or self.writes:
            return self
        return dataclasses.replace(self, tool_schemas=self.tool_schemas + self.record_tool_schemas, writes=True)

    def system_prompt(self, instance: InstanceLike) -> str:
        """Role, rules, org schema and the instance's metadata."""
        parts = [self._rules(), "# Salesforce instance description", schema_text()]
        metadata = _metadata_text(instance.metadata)
        if metadata:
            parts += ["# Salesforce instance metadata", metadata]
        return "\n\n".join(parts)

    def prepare(self, model: BaseChatModel) -> Runnable[LanguageModelInput, BaseMessage]:
        """The model as this framework calls it (tools bound for native tool calling)."""
        return model.bind_tools(list(self.tool_schemas)) if self.native_tools else model

    @abstractmethod
    def _rules(self) -> str: ...

    @abstractmethod
    def parse(self, message: AIMessage, turn: int) -> ParsedTurn:
        """The action of one assistant message (``invalid`` when there is none)."""

    @abstractmethod
    def feedback(self, parsed: ParsedTurn, observation: str) -> list[BaseMessage]:
        """The messages that answer `parsed`: its observation or a corrective message."""

    @abstractmethod
    def correction(self) -> str:
        """The corrective message sent for output without a valid action."""

    def invalid_observation(self, parsed: ParsedTurn) -> str:
        """The message for an invalid turn: what was wrong and what to do instead."""
        return self.correction()


def _metadata_text(metadata: Any) -> str:
    if metadata is None:
        return ""
    if isinstance(metadata, str):
        return metadata.strip()
    if not isinstance(metadata, dict):
        metadata = metadata.model_dump() if hasattr(metadata, "model_dump") else dict(metadata)
    parts = [str(metadata.get(key) or "").strip() for key in ("required", "optional")]
    return "\n\n".join(p for p in parts if p)


_TAG = re.compile(r"<(execute|respond|submit)>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)
_THOUGHT = re.compile(r"<thought>(.*?)</thought\s*>", re.DOTALL | re.IGNORECASE)

_TEXT_RULES = """\
You are an expert in Salesforce and you have access to a Salesforce instance. You are interacting \
with the system and a user of the same company.

# Instructions
- You will be given a question, the description of the Salesforce instance and the task's context.
- Interact with the Salesforce instance through Salesforce Object Query Language (SOQL) queries \
or Salesforce Object Search Language (SOSL) searches to find the answer. A query that starts \
with FIND is run as SOSL, anything else as SOQL.
- {shape}
- Do not write any observation yourself: you receive it after each action.
- If several records match, answer with a comma-separated list. If none matches, answer None.

# Actions
{thought}- execute: run a SOQL query or a SOSL search. Format: <execute> a valid SOQL or SOSL query </execute>
- respond: give the final answer, which ends the task. Format: <respond> the answer </respond>
- Answer with <respond> containing ONLY the answer: no sentence, no explanation.

# Example
Question: How many cases are there?
Output:
{example_thought}<execute> SELECT COUNT() FROM Case </execute>
(if the Salesforce instance answers with a count of 100:)
{example_thought2}<respond> 100 </respond>"""

_TEXT_WRITES = """\

# Changing the org
This task asks you to change records. Besides queries, an <execute> action may hold one write: \
the write's name, then its arguments as one JSON object:
- create_record {"object": "EmailMessage", "fields": {"ParentId": "500...", "Subject": "..."}}
- update_record {"object": "Case", "id": "500...", "fields": {"Status": "Working"}}
- delete_record {"object": "Contact", "id": "003..."}
The org sets system fields (Id, CreatedDate, CaseNumber, ...) and writes the CaseHistory__c rows \
of owner and status changes itself. When every change is made, respond with a short confirmation."""


def _first_action(text: str) -> tuple[str | None, str | None, int]:
    """(tag, content, number of further actions) of the first action tag of `text`."""
    matches = list(_TAG.finditer(text))
    if not matches:
        return None, None, 0
    first = matches[0]
    tag = first.group(1).lower()
    return ("respond" if tag == "submit" else tag), first.group(2).strip(), len(matches) - 1


@dataclass(frozen=True)
class TextFramework(Framework):
    """act and react: actions as text tags, observations as user messages."""

    with_thought: bool = False

    def _rules(self) -> str:
        return self._action_rules() + (_TEXT_WRITES if self.writes else "")

    def _action_rules(self) -> str:
        if self.with_thought:
            return _TEXT_RULES.format(
                shape="Each reply is one single-line thought followed by one action, and nothing else.",
                thought="- thought: one line of reasoning first. Format: <thought> your thought </thought>\n",
                example_thought="<thought> I need to count the cases. </thought>\n",
                example_thought2="<thought> There are 100 cases. </thought>\n",
            )
        return _TEXT_RULES.format(
            shape="Each reply is exactly one action and nothing else.",
            thought="",
            example_thought="",
            example_thought2="",
        )

    def correction(self) -> str:
        return REACT_CORRECTION if self.with_thought else ACT_CORRECTION

    def parse(self, message: AIMessage, turn: int) -> ParsedTurn:
        text = message_text(message)
        tag, content, extra = _first_action(text)
        thought_match = _THOUGHT.search(text) if self.with_thought else None
        thought = thought_match.group(1).strip() if thought_match else None
        if tag is None:
            error = "no <execute> or <respond> tag"
            return ParsedTurn(ActionRecord(turn=turn, kind="invalid", thought=thought, error=error))
        kind = "respond" if tag == "respond" else "execute"
        return ParsedTurn(ActionRecord(turn=turn, kind=kind, content=content, thought=thought), extra_actions=extra)

    def feedback(self, parsed: ParsedTurn, observation: str) -> list[BaseMessage]:
        if parsed.action.kind == "execute":
            observation = OBSERVATION_PREFIX + observation
        if parsed.extra_actions:
            observation = f"{observation}\n\n{TWO_ACTIONS_NOTE}"
        return [HumanMessage(content=observation)]


_FC_RULES = """\
You are an expert in Salesforce and you have access to a Salesforce instance through the tools \
provided. You are interacting with the system and a user of the same company.

# Instructions
- You will be given a question, the description of the Salesforce instance and the task's context.
- Call one tool per turn; you receive its result before the next turn.{raw}
- When you know the answer, call the 'respond' tool with ONLY the answer: no sentence, no \
explanation. If several records match, answer with a comma-separated list; if none matches, \
answer None."""
_FC_WRITES = (
    "\n- This task asks you to change records: find them with get_records, change them with "
    "create_record, update_record or delete_record. The org sets system fields (Id, CreatedDate, "
    "CaseNumber, ...) and writes the CaseHistory__c rows of owner and status changes itself. When "
    "every change is made, respond with a short confirmation."
)


def _ordered_calls(message: AIMessage) -> list[dict[str, Any]]:
    """Valid and invalid tool calls of `message` in the order the model emitted them."""
    calls: list[dict[str, Any]] = [
        {"id": c.get("id") or "", "name": c["name"], "args": c["args"], "error": None} for c in message.tool_calls
    ]
    calls += [
        {"id": c.get("id") or "", "name": c.get("name") or "", "args": c.get("args"), "error": c.get("error") or "bad"}
        for c in message.invalid_tool_calls
    ]
    raw = message.additional_kwargs.get("tool_calls")
    if isinstance(raw, list):
        order = {str(item.get("id")): i for i, item in enumerate(raw) if isinstance(item, dict)}
        calls.sort(key=lambda c: order.get(c["id"], len(order)))
    return calls


@dataclass(frozen=True)
class ToolCallingFramework(Framework):
    """fc and fc_flex: native tool calls, results as tool messages."""

    def _rules(self) -> str:
        raw = ""
        if any(name in self.tool_names for name in RAW_QUERY_TOOLS):
            raw = "\n- Besides the task tools, you can run SOQL queries and SOSL searches directly."
        return _FC_RULES.format(raw=raw) + (_FC_WRITES if self.writes else "")

    def correction(self) -> str:
        return FC_CORRECTION

    def parse(self, message: AIMessage, turn: int) -> ParsedTurn:
        calls = _ordered_calls(message)
        thought = message_text(message).strip() or None
        if not calls:
            return ParsedTurn(ActionRecord(turn=turn, kind="invalid", thought=thought, error="no tool call"))
        first, others = calls[0], tuple(c["id"] for c in calls[1:])
        name = first["name"]
        if first["error"] is not None:
            raw_args = first["args"] if isinstance(first["args"], str) else json.dumps(first["args"])
            action = ActionRecord(
                turn=turn, kind="invalid", name=name, content=raw_args, thought=thought, error="arguments are not JSON"
            )
            return ParsedTurn(action, call_id=first["id"], other_call_ids=others)
        args = first["args"] if isinstance(first["args"], dict) else {}
        if name not in self.tool_names:
            action = ActionRecord(
                turn=turn, kind="invalid", name=name, arguments=args, thought=thought, error=f"unknown tool {name!r}"
            )
            return ParsedTurn(action, call_id=first["id"], other_call_ids=others)
        if name == RESPOND_TOOL:
            answer = respond_argument(args)
            action = ActionRecord(turn=turn, kind="respond", name=name, arguments=args, content=answer, thought=thought)
            return ParsedTurn(action, call_id=first["id"], other_call_ids=others)
        action = ActionRecord(turn=turn, kind="tool", name=name, arguments=args, thought=thought)
        return ParsedTurn(action, call_id=first["id"], other_call_ids=others)

    def invalid_observation(self, parsed: ParsedTurn) -> str:
        """The message for an invalid turn: what was wrong and what to do instead."""
        action = parsed.action
        if action.error == "arguments are not JSON":
            return (
                f"Error: the arguments of '{action.name}' are not valid JSON: {action.content}. "
                "Call the tool again with a JSON object of its parameters."
            )
        if action.error and action.error.startswith("unknown tool"):
            return f"Error: unknown tool '{action.name}'. The available tools are: {', '.join(self.tool_names)}."
        return self.correction()

    def feedback(self, parsed: ParsedTurn, observation: str) -> list[BaseMessage]:
        if parsed.call_id is None:
            return [HumanMessage(content=observation)]
        name = parsed.action.name or ""
        messages: list[BaseMessage] = [ToolMessage(content=observation, tool_call_id=parsed.call_id, name=name)]
        messages += [ToolMessage(content=NOT_EXECUTED, tool_call_id=call_id) for call_id in parsed.other_call_ids]
        return messages


def respond_argument(args: dict[str, Any]) -> str:
    """The answer of a respond call, whatever its single parameter is named."""
    for key in ("content", "answer", "response", "text"):
        if key in args:
            return "" if args[key] is None else str(args[key]).strip()
    if len(args) == 1:
        return str(next(iter(args.values()))).strip()
    return json.dumps(args)


FRAMEWORK_NAMES: tuple[FrameworkName, ...] = ("act", "react", "fc", "fc_flex")


def make_framework(name: str, tool_schemas: Sequence[dict[str, Any]] = ()) -> Framework:
    """The framework called `name`; fc and fc_flex need the OpenAI-format schemas of the tools.

    `tool_schemas` is the whole registry; fc keeps all but the raw query tools, fc_flex all; the
    record tools are set apart for workflow instances (:meth:`Framework.for_instance`).
    """
    if name == "act":
        return TextFramework("act", 2000)
    if name == "react":
        return TextFramework("react", 2000, with_thought=True)
    if name in {"fc", "fc_flex"}:
        records = tuple(s for s in tool_schemas if s["function"]["name"] in RECORD_TOOLS)
        schemas = tuple(
            s
            for s in tool_schemas
            if s["function"]["name"] not in RECORD_TOOLS
            and (name == "fc_flex" or s["function"]["name"] not in RAW_QUERY_TOOLS)
        )
        if not any(s["function"]["name"] == RESPOND_TOOL for s in schemas):
            raise ValueError("the tool registry has no 'respond' tool")
        return ToolCallingFramework(name, 3500, schemas, records)  # type: ignore[arg-type]
    raise ValueError(f"unknown framework {name!r}: choose one of {', '.join(FRAMEWORK_NAMES)}")


_WRITE_ACTION = re.compile(r"^\s*(" + "|".join(WRITE_TOOLS) + r")\s*(\{.*\})\s*$", re.DOTALL)


def write_action(content: str) -> tuple[str, dict[str, Any]] | None:
    """(tool, arguments) of an ``<execute>`` that holds a write (``update_record {...}``), else None;
    ValueError when the arguments are not one JSON object."""
    match = _WRITE_ACTION.match(content)
    if match is None:
        return None
    try:
        arguments = json.loads(match.group(2))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the arguments of {match.group(1)} are not valid JSON: {exc.msg}") from None
    if not isinstance(arguments, dict):
        raise ValueError(f"the arguments of {match.group(1)} must be one JSON object")
    return match.group(1), arguments
