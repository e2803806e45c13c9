"""The org as agents act on it: raw SOQL/SOSL and the tools of :mod:`crm_core.tools`.

Everything runs through the tool registry on a read-only engine, so an agent's ``<execute>``
and an fc_flex ``issue_soql_query`` call get the same observation for the same query, and
nothing an agent sends can change the org. :meth:`OrgEnvironment.perform` never raises: a
failing tool becomes an ``Error: ...`` observation the agent can read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy import Engine

from crm_core.agents.frameworks import RAW_QUERY_TOOLS, write_action
from crm_core.agents.records import ActionRecord
from crm_core.db import make_readonly_engine
from crm_core.errors import error_line
from crm_core.query.kind import is_sosl
from crm_core.sandbox import Sandbox, make_sandbox_engine
from crm_core.tools import TOOLS, ToolContext


class ToolLike(Protocol):
    """What the environment needs from a tool of the registry (``crm_core.tools.Tool`` fits)."""

    def schema(self) -> dict[str, Any]: ...

    def run(self, ctx: Any, arguments: dict[str, Any]) -> str: ...


def raw_query_tool(query: str) -> str:
    """The raw tool for a query: ``issue_sosl_query`` for SOSL (:func:`is_sosl`), else ``issue_soql_query``."""
    return RAW_QUERY_TOOLS[1] if is_sosl(query) else RAW_QUERY_TOOLS[0]


def _first_parameter(schema: dict[str, Any]) -> str:
    parameters = schema["function"].get("parameters", {})
    names = list(parameters.get("required") or parameters.get("properties") or ["query"])
    return names[0]


class OrgEnvironment:
    """Performs agents' actions with the tool registry on a read-only engine (thread-safe).

    Each call gets its own connection and tool context, so concurrent episodes never share one.
    With a `sandbox` (one episode of a workflow task) every call runs on the sandbox instead, so
    the episode reads its own writes and only those.
    """

    def __init__(
        self,
        engine: Engine,
        tools: Mapping[str, ToolLike] | None = None,
        *,
        sandbox: Sandbox | None = None,
        org_url: str | None = None,
    ) -> None:
        if tools is None:
            tools = TOOLS
        self.engine = engine
        self.tools = dict(tools)
        self.on_action: Callable[[ActionRecord], None] | None = None
        """Called with each action just before it is performed (live progress of a run)."""
        self.sandbox = sandbox
        self.org_url = org_url
        self._sandbox_engine: Engine | None = None

    def in_sandbox(self, sandbox: Sandbox) -> OrgEnvironment:
        """The same tools acting in `sandbox` (one episode's own view of the org)."""
        environment = OrgEnvironment(self.engine, self.tools, sandbox=sandbox, org_url=self.org_url)
        environment.on_action = self.on_action
        return environment

    def new_sandbox(self) -> Sandbox:
        """A fresh sandbox of this org (one workflow episode's); close it to discard it."""
        if self._sandbox_engine is None:
            if self.org_url is None:
                raise RuntimeError("this environment was not opened from an org URL: it cannot make sandboxes")
            self._sandbox_engine = make_sandbox_engine(self.org_url)
        return Sandbox(self._sandbox_engine)

    def dispose(self) -> None:
        """Release the org's engines (the read-only one and the sandboxes')."""
        self.engine.dispose()
        if self._sandbox_engine is not None:
            self._sandbox_engine.dispose()

    @classmethod
    def open(cls, org_url: str) -> OrgEnvironment:
        """The environment of the org at `org_url`, opened read-only (sandboxes for workflow episodes)."""
        return cls(make_readonly_engine(org_url), org_url=org_url)

    @property
    def tool_schemas(self) -> list[dict[str, Any]]:
        """The OpenAI-format schemas of every tool, in registry order."""
        return [tool.schema() for tool in self.tools.values()]

    def call(self, name: str, arguments: dict[str, Any], *, today: dt.date | None = None) -> str:
        """Run one tool; an unknown tool or an exception inside it becomes an ``Error:`` text."""
        tool = self.tools.get(name)
        if tool is None:
            return f"Error: unknown tool '{name}'."
        try:
            if self.sandbox is not None:
                with self.sandbox.using() as conn:
                    return str(tool.run(ToolContext(conn=conn, today=today, sandbox=self.sandbox), arguments))
            with self.engine.connect() as conn:
                return str(tool.run(ToolContext(conn=conn, today=today), arguments))
        except Exception as exc:  # tools should not raise; if one does, the agent reads why
            return f"Error: the tool '{name}' failed: {error_line(exc)}"

    def perform(self, action: ActionRecord, *, today: dt.date | None = None) -> str:
        """The observation of an ``execute`` or ``tool`` action."""
        if self.on_action is not None:
            self.on_action(action)
        if action.kind == "execute":
            try:
                write = write_action(action.content or "")
            except ValueError as exc:
                return f"Error: {exc}"
            if write is not None:
                return self.call(write[0], write[1], today=today)
            name = raw_query_tool(action.content or "")
            tool = self.tools.get(name)
            if tool is None:
                return f"Error: unknown tool '{name}'."
            return self.call(name, {_first_parameter(tool.schema()): action.content or ""}, today=today)
        if action.kind == "tool" and action.name:
            return self.call(action.name, action.arguments or {}, today=today)
        return f"Error: nothing to perform for a '{action.kind}' action."


def instance_today(params: Mapping[str, Any]) -> dt.date | None:
    """The "today" of an instance (``params.today``), for relative dates in queries and tools."""
    value = params.get("today")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
