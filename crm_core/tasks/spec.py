"""A task type's spec: everything that makes one benchmark task, in one value.

Each module of :mod:`crm_core.tasks.types` defines one ``SPEC``; :mod:`crm_core.tasks.registry`
collects them. The three solvers of a spec are independent of each other: the reference reads the
org through SQLAlchemy, the tool solver through the agents' task tools, the query solver through
raw SOQL/SOSL only; the tests check that all three reach the same answer on every instance.
A workflow type (``suite="workflow"``, metric ``state_match``) adds ``expected_diff``, the
changes computed over SQLAlchemy; its two tool-using solvers make the changes with the write
tools, and the tests check that the sandbox diff they leave equals the expected one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection

from crm_core.scoring.metrics import RewardMetric
from crm_core.tasks.rules import metadata_for

if TYPE_CHECKING:
    from crm_core.scoring.state import StateDiff
    from crm_core.tasks.query_oracle import Call
    from crm_core.tasks.sampling import OrgView, Sampler
    from crm_core.tasks.tool_oracle import ToolSession

Persona = Literal["manager", "analyst", "service_agent"]
Params = dict[str, Any]
Suite = Literal["crmarena", "workflow"]
SUITES: tuple[Suite, ...] = ("crmarena", "workflow")
"""CRMArena's nine read-only tasks, and the workflow tasks that change the org (scored on its state)."""


@dataclass(frozen=True)
class TaskSpec:
    """One task type: who asks, how it is scored and phrased, how it is sampled and solved."""

    name: str
    order: int
    """Position in the task set: instances are numbered task by task in ascending order."""
    persona: Persona
    metric: RewardMetric
    phrasings: tuple[str, ...]
    """Query templates filled from each draft's values (at least eight)."""
    required: str
    """The policy the agent must apply, shown as ``metadata.required``."""
    sampler: Callable[[Connection, OrgView], Sampler]
    """Makes the draw function of one build from the org and its sampling frame."""
    reference: Callable[[Connection, Params], str | None]
    """The ground truth from ``params`` over SQLAlchemy; raises ``TiedAnswerError`` on a tie."""
    tool_solver: Callable[[ToolSession, Params], str | None]
    """The answer through the task tools (the ``fc`` frameworks' way)."""
    query_solver: Callable[[Call, Params], str | None]
    """The answer through ``issue_soql_query`` / ``issue_sosl_query`` only (``act`` / ``react``)."""
    answer_pool: Callable[[Connection], list[str]]
    """Every well-formed answer in the org, sorted (the random baseline draws from it)."""
    allows_none: bool = False
    """About 30% of the instances have the answer "None"."""
    uses_periods: bool = False
    """Queries name a period, so ``metadata.optional`` states the period rules."""
    suite: Suite = "crmarena"
    """The task set the type belongs to; ``tasks build`` builds one suite at a time."""
    expected_diff: Callable[[Connection, Params], StateDiff] | None = None
    """Workflow types: the changes a correct episode makes, from ``params`` over SQLAlchemy.
    Their ``tool_solver`` and ``query_solver`` make those changes through the write tools."""

    def metadata(self, today: str | None = None) -> dict[str, str]:
        """``{"required", "optional"}`` of an instance; `today` (YYYY-MM-DD) when the query is relative."""
        return metadata_for(self.required, periods=self.uses_periods, today=today)
