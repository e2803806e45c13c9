"""Conversions between LangChain messages and stored :class:`MessageRecord` values.

Stored messages carry what the model saw and said: roles, text, tool calls (with raw argument
text when the model's JSON was broken), tool call ids, token counts and call latency.
"""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata

from crm_core.agents.records import MessageRecord, ToolCallRecord


def message_text(message: BaseMessage) -> str:
    """The text of a message, whether its content is a string or a list of content blocks."""
    return message.content if isinstance(message.content, str) else str(message.text)


def to_message_record(message: BaseMessage, *, latency_s: float | None = None) -> MessageRecord:
    """The stored form of a LangChain message."""
    if isinstance(message, AIMessage):
        calls = [ToolCallRecord(id=c.get("id") or "", name=c["name"], arguments=c["args"]) for c in message.tool_calls]
        calls += [
            ToolCallRecord(id=c.get("id") or "", name=c.get("name") or "", arguments=c.get("args") or "")
            for c in message.invalid_tool_calls
        ]
        usage = message.usage_metadata or {}
        return MessageRecord(
            role="assistant",
            content=message_text(message),
            tool_calls=calls,
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            latency_s=latency_s,
        )
    if isinstance(message, ToolMessage):
        return MessageRecord(
            role="tool", content=message_text(message), tool_call_id=message.tool_call_id, name=message.name
        )
    if isinstance(message, SystemMessage):
        return MessageRecord(role="system", content=message_text(message))
    return MessageRecord(role="user", content=message_text(message))


def to_ai_message(record: MessageRecord) -> AIMessage:
    """An assistant record back as the AIMessage the model returned (for replay)."""
    valid, invalid = [], []
    for call in record.tool_calls:
        if isinstance(call.arguments, dict):
            valid.append({"id": call.id, "name": call.name, "args": call.arguments, "type": "tool_call"})
        else:
            bad = {"id": call.id, "name": call.name, "args": call.arguments, "error": "bad JSON"}
            invalid.append({**bad, "type": "invalid_tool_call"})
    usage: UsageMetadata | None = None
    if record.input_tokens is not None or record.output_tokens is not None:
        used_in, used_out = record.input_tokens or 0, record.output_tokens or 0
        usage = UsageMetadata(input_tokens=used_in, output_tokens=used_out, total_tokens=used_in + used_out)
    return AIMessage(content=record.content, tool_calls=valid, invalid_tool_calls=invalid, usage_metadata=usage)


def to_openai_messages(records: list[MessageRecord]) -> list[dict[str, object]]:
    """Records as OpenAI chat-completions messages (the CRMArena results format)."""
    out: list[dict[str, object]] = []
    for record in records:
        message: dict[str, object] = {"role": record.role, "content": record.content}
        if record.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
                    },
                }
                for call in record.tool_calls
            ]
        if record.tool_call_id is not None:
            message["tool_call_id"] = record.tool_call_id
        if record.role == "tool" and record.name:
            message["name"] = record.name
        out.append(message)
    return out


def to_langchain(record: MessageRecord) -> BaseMessage:
    """Any record back as a LangChain message."""
    if record.role == "assistant":
        return to_ai_message(record)
    if record.role == "tool":
        return ToolMessage(content=record.content, tool_call_id=record.tool_call_id or "", name=record.name)
    if record.role == "system":
        return SystemMessage(record.content)
    return HumanMessage(record.content)
