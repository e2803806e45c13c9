"""The oracle's tool calls: a :class:`ToolSession` runs the public tools and records each step, as
a perfect agent would; helpers shared by the task types' tool solvers (``TaskSpec.tool_solver``).

It reads ``params`` as its understanding of the query (the part a language model does: which
period, which product, which search words) and takes every fact about the org from tool
observations. Each step is explicit (tool name, arguments, observation), so the agents' offline
`oracle` model can replay the steps in any framework's format.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from crm_core.tools import TOOLS, ToolContext

_FAILURE = re.compile(r"^(Error|[A-Z_]+): ")


class OracleStep(BaseModel):
    """One tool call of the oracle and what the tool answered."""

    tool: str
    arguments: dict[str, Any]
    observation: str


class OracleTrace(BaseModel):
    """The oracle's tool calls in order, ending with `respond`, and its final answer."""

    steps: list[OracleStep]
    answer: str | None


class OracleError(RuntimeError):
    """A tool did not answer as the oracle expected (a bug in a tool or in the task data)."""


class ToolSession:
    """Runs tools, records the steps and decodes JSON observations."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.steps: list[OracleStep] = []

    def call(self, name: str, **arguments: Any) -> Any:
        """Run tool `name`; the observation decoded from JSON (or as text); OracleError on a failure."""
        observation = TOOLS[name].run(self.ctx, arguments)
        self.steps.append(OracleStep(tool=name, arguments=arguments, observation=observation))
        if name != "respond" and _FAILURE.match(observation):
            raise OracleError(f"{name} answered {observation[:200]!r}")
        try:
            return json.loads(observation)
        except json.JSONDecodeError:
            return observation

    def respond(self, answer: str | None) -> OracleTrace:
        self.call("respond", content="None" if answer is None else answer)
        return OracleTrace(steps=self.steps, answer=answer)


def period_args(params: dict[str, Any]) -> dict[str, str]:
    """The period of `params` as the tools' ``start_date`` / ``end_date`` arguments."""
    return {"start_date": params["start"], "end_date": params["end"]}


def single(ids: list[str]) -> str:
    """The one id of `ids`; OracleError when there are none or several."""
    if len(ids) != 1:
        raise OracleError(f"expected exactly one id, got {ids}")
    return ids[0]


def extreme_id(s: ToolSession, values: dict[str, Any], extreme: str) -> str | None:
    """The id with the lowest ("min") or highest ("max") value, by the tools; None if no values."""
    if not values:
        return None
    tool = "find_id_with_min_value" if extreme == "min" else "find_id_with_max_value"
    return single(s.call(tool, values_by_id=values))


def qualified_agent_ids(s: ToolSession, params: dict[str, Any]) -> list[str]:
    """Agents who handled more than ``params["n"]`` cases in the period, by the tools."""
    handled = s.call("get_agent_handled_cases_by_period", **period_args(params))
    return s.call("get_qualified_agent_ids_by_case_count", agent_handled_cases=handled, n_cases=params["n"])
