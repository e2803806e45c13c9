"""Scripted model behaviours for the local OpenAI-protocol server.

`contact_policy` solves the contact instances of ``conftest.contact_instances`` the way a good
model would in each framework: look the contact up (raw SOQL for act/react, a raw query tool for
fc_flex, ``get_account_id_by_contact_id`` for fc), then respond with the account id it read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from openai_server import Reply

CONTACT_ID = re.compile(r"\b003[A-Za-z0-9]{15}\b")
ACCOUNT_ID = re.compile(r"\b001[A-Za-z0-9]{15}\b")


def tool_names(body: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools") or []]


def assistant_turns(body: dict[str, Any]) -> int:
    return sum(1 for m in body["messages"] if m["role"] == "assistant")


def user_query(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def contact_policy(body: dict[str, Any], *, delay_s: float = 0.0) -> Reply:
    """First turn: look the contact up; second turn: respond with the account id observed."""
    tools = tool_names(body)
    if assistant_turns(body) == 0:
        contact = CONTACT_ID.search(user_query(body)).group(0)
        soql = f"SELECT AccountId FROM Contact WHERE Id = '{contact}'"
        if not tools:
            return Reply(
                content=f"<thought> Look up the contact. </thought>\n<execute>{soql}</execute>", delay_s=delay_s
            )
        if "issue_soql_query" in tools:
            return Reply(tool_calls=[("issue_soql_query", json.dumps({"query": soql}))], delay_s=delay_s)
        return Reply(
            tool_calls=[("get_account_id_by_contact_id", json.dumps({"contact_id": contact}))], delay_s=delay_s
        )
    last_assistant = max(i for i, m in enumerate(body["messages"]) if m["role"] == "assistant")
    replies = " ".join(m["content"] or "" for m in body["messages"][last_assistant + 1 :])
    observed = ACCOUNT_ID.search(replies)
    answer = observed.group(0) if observed else "None"
    if not tools:
        return Reply(content=f"<thought> Found it. </thought>\n<respond>{answer}</respond>", delay_s=delay_s)
    return Reply(tool_calls=[("respond", json.dumps({"content": answer}))], delay_s=delay_s)
