"""CRMArena as an inspect_ai task: ``inspect eval crm_core/interop/inspect_task.py --model M``.

Each task instance of the org's task set is a sample (id: the instance's idx; input: its
question; target: its gold answer). The agent plays it as our ``fc`` (or ``fc_flex``) framework
does: the same system prompt (rules, org schema, instance metadata), the task tools of our
registry as inspect tools (run on a read-only engine of the org, with the instance's "today"),
``respond`` to answer, one model call per turn up to ``max_turns``, only the first tool call of a
message run (the others are answered "not executed"), the same corrective message when a reply
calls no tool. The scorer is ours (:func:`crm_core.scoring.reward`: exact match, normalized
exact match or token F1 by task), with per-task means and their mean (the benchmark's overall).

Task options (``-T name=value``): ``org`` (database URL; default ``CRM_ORG_DB``, else
``sqlite:///data/org.db``), ``tasks`` (``all`` or comma-separated task names), ``limit`` (at
most N instances per task, lowest idx first), ``framework`` (``fc`` or ``fc_flex``),
``max_turns`` (20). Trials are inspect's ``--epochs``.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any

if importlib.util.find_spec("crm_core") is None:  # `inspect eval FILE` loads this file by path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import anyio
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageTool, ChatMessageUser, GenerateConfig, execute_tools
from inspect_ai.scorer import Score, Scorer, Target, grouped, mean, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolDef, ToolParams

from crm_core.agents.environment import OrgEnvironment, instance_today
from crm_core.agents.frameworks import (
    FC_CORRECTION,
    NOT_EXECUTED,
    RESPOND_TOOL,
    Framework,
    changes_the_org,
    make_framework,
    respond_argument,
)
from crm_core.agents.runner import parse_tasks, select_instances
from crm_core.db import display_url, org_db_url
from crm_core.errors import UserFacingError
from crm_core.scoring import reward
from crm_core.tasks.records import TaskInstance, load_tasks

ANSWER_KEY = "crm_answer"
"""Where a sample's answer (the argument of its ``respond`` call) is kept in the sample's store."""


@functools.cache
def _environment(org: str) -> OrgEnvironment:
    """The org's read-only environment, one per org for the process (samples share its engine)."""
    return OrgEnvironment.open(org)


def crm_samples(instances: list[TaskInstance]) -> MemoryDataset:
    """One sample per instance; the whole instance rides along in the metadata for the scorer."""
    samples = [
        Sample(
            id=instance.idx,
            input=instance.query,
            target=instance.answer_text,
            metadata={"task": instance.task, "persona": instance.persona, "instance": instance.to_record()},
        )
        for instance in instances
    ]
    return MemoryDataset(samples, name="crmarena")


def crm_tools(env: OrgEnvironment, framework: Framework, instance: TaskInstance) -> list[Tool]:
    """The framework's tools (``respond`` included) as inspect tools running our registry's."""
    today = instance_today(instance.params)

    def wrap(name: str, description: str, parameters: dict[str, Any]) -> Tool:
        async def run(**arguments: Any) -> str:
            if name == RESPOND_TOOL:
                return respond_argument(arguments)
            return await anyio.to_thread.run_sync(functools.partial(env.call, name, arguments, today=today))

        return ToolDef(run, name=name, description=description, parameters=ToolParams(**parameters)).as_tool()

    return [
        wrap(s["function"]["name"], s["function"].get("description", ""), s["function"].get("parameters") or {})
        for s in framework.tool_schemas
    ]


@solver
def crm_agent(org: str, framework: str = "fc", max_turns: int = 20) -> Solver:
    """Play an instance as our harness plays it in `framework` (see the module docstring)."""
    env = _environment(org)
    base = make_framework(framework, env.tool_schemas)
    if not base.native_tools:
        raise UserFacingError(f"framework {framework!r}: inspect plays fc or fc_flex (native tool calls)")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        instance = TaskInstance.model_validate(state.metadata["instance"])
        played = base.for_instance(instance)
        state.messages.insert(0, ChatMessageSystem(content=played.system_prompt(instance)))
        state.tools = crm_tools(env, played, instance)
        for _ in range(max_turns):
            state = await generate(state, tool_calls="none")
            message = state.output.message
            calls = message.tool_calls or []
            if not calls:
                state.messages.append(ChatMessageUser(content=FC_CORRECTION))
                continue
            first = message.model_copy(update={"tool_calls": calls[:1]})
            executed = await execute_tools([*state.messages[:-1], first], state.tools)
            state.messages.extend(executed.messages)
            state.messages.extend(
                ChatMessageTool(content=NOT_EXECUTED, tool_call_id=call.id, function=call.function)
                for call in calls[1:]
            )
            if calls[0].function == RESPOND_TOOL and calls[0].parse_error is None:
                state.store.set(ANSWER_KEY, respond_argument(calls[0].arguments))
                state.completed = True
                break
        return state

    return solve


@scorer(metrics=[grouped(mean(), "task", all="groups", all_label="overall"), stderr()])
def crm_reward() -> Scorer:
    """Our reward of the sample's answer (0 when it never responded); metrics per task and overall."""

    async def score(state: TaskState, target: Target) -> Score:
        instance = TaskInstance.model_validate(state.metadata["instance"])
        answer = state.store.get(ANSWER_KEY)
        responded = answer is not None
        return Score(
            value=reward(instance, answer) if responded else 0.0,
            answer=answer,
            explanation=f"gold: {instance.answer_text}" if responded else "never responded",
            metadata={"normalized": reward(instance, answer, normalized=True) if responded else 0.0},
        )

    return score


def benchmark_instances(org: str, tasks: str | list[str], limit: int | None) -> list[TaskInstance]:
    """The instances of `tasks` (``all``, or task names) in the org's task set, at most `limit` per task."""
    names = tasks if isinstance(tasks, str) else ",".join(tasks)  # `-T tasks=a,b` arrives as a list
    chosen = select_instances(load_tasks(org), parse_tasks(names), limit)
    if any(changes_the_org(instance) for instance in chosen):
        raise UserFacingError("workflow tasks change the org: play them with `python -m crm_core run`, not inspect")
    if not chosen:
        raise UserFacingError(f"no instance of {tasks!r} in the task set of {org}")
    return chosen


@task
def crmarena(
    org: str | None = None,
    tasks: str | list[str] = "all",
    limit: int | None = None,
    framework: str = "fc",
    max_turns: int = 20,
) -> Task:
    """CRMArena's nine tasks on a local org, through our tools and scorer."""
    url = org_db_url(org)
    instances = benchmark_instances(url, tasks, None if limit is None else int(limit))
    played = make_framework(framework, _environment(url).tool_schemas)
    return Task(
        dataset=crm_samples(instances),
        solver=crm_agent(url, framework, int(max_turns)),
        scorer=crm_reward(),
        config=GenerateConfig(temperature=0, max_tokens=played.max_output_tokens),
        metadata={"org": display_url(url), "framework": framework},
    )
