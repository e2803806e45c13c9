"""The oracle: answers each instance through the public tools only, as a perfect agent would.

It runs the instance's task type's tool solver (the ``fc`` frameworks' way) or its query solver
(raw SOQL/SOSL only, the ``act`` / ``react`` way) on a recording :class:`ToolSession`.
"""

from __future__ import annotations

from crm_core.tasks.records import TaskInstance
from crm_core.tasks.registry import spec_of
from crm_core.tasks.tool_oracle import OracleError, OracleTrace, ToolSession
from crm_core.tools import ToolContext


def solve(instance: TaskInstance, ctx: ToolContext, *, raw_queries: bool = False) -> OracleTrace:
    """Answer `instance` through the tools; raises :class:`OracleError` if a tool misbehaves.

    By default it uses the task-specific tools (the `fc` framework's way); with `raw_queries`
    only `issue_soql_query` / `issue_sosl_query` (the `act` / `react` way).
    """
    spec = spec_of(instance.task)
    session = ToolSession(ctx)
    try:
        if raw_queries:
            answer = spec.query_solver(session.call, instance.params)
        else:
            answer = spec.tool_solver(session, instance.params)
    except KeyError as exc:
        raise OracleError(f"instance {instance.idx} lacks params {exc}") from None
    return session.respond(answer)
