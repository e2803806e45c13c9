"""Agent tools: raw SOQL/SOSL and CRMArena's task-specific tools, each with its JSON schema.

``TOOLS`` maps each name to a :class:`Tool`; ``tool.run(ToolContext(conn, today), arguments)``
returns the observation string and never raises.
"""

from crm_core.tools import cases, customers, general, knowledge, periods, records  # noqa: F401  (registers the tools)
from crm_core.tools.base import TOOLS, Tool, ToolContext, observation
from crm_core.tools.general import OBSERVATION_PREFIX
from crm_core.tools.records import RECORD_TOOLS, WRITE_TOOLS

GENERAL_TOOLS: tuple[str, ...] = ("issue_soql_query", "issue_sosl_query")
TASK_TOOLS: tuple[str, ...] = tuple(name for name in TOOLS if name not in GENERAL_TOOLS + RECORD_TOOLS)
"""Task-specific tools and `respond` (the `fc` framework's tool set); `fc_flex` adds GENERAL_TOOLS."""


def tool_schemas(names: tuple[str, ...] | list[str]) -> list[dict]:
    """OpenAI-format schemas of the named tools, in the given order."""
    return [TOOLS[name].schema() for name in names]


__all__ = [
    "GENERAL_TOOLS",
    "OBSERVATION_PREFIX",
    "RECORD_TOOLS",
    "TASK_TOOLS",
    "TOOLS",
    "WRITE_TOOLS",
    "Tool",
    "ToolContext",
    "observation",
    "tool_schemas",
]
