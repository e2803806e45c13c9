"""The benchmark as an inspect_ai task: inspect's own eval loop plays instances through our tools
and harness rules, and our scorer scores them.

The models are inspect's ``mockllm`` playing the oracle's tool calls (in process), and, through
the ``inspect eval`` command, inspect's OpenAI provider against the local OpenAI-protocol stub
playing the same calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval as _inspect_eval
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from crm_core.agents.environment import OrgEnvironment, instance_today
from crm_core.agents.frameworks import FC_CORRECTION, NOT_EXECUTED, RAW_QUERY_TOOLS
from crm_core.interop.inspect_task import benchmark_instances, crmarena
from crm_core.scoring import reward
from crm_core.tasks.oracle import solve
from crm_core.tasks.records import TaskInstance
from crm_core.tools import ToolContext
from tests.agents.openai_server import Reply, openai_server

ROOT = Path(__file__).parents[2]
TASKS = "handle_time,top_issue_identification,knowledge_qa"


def oracle_plans(org: str, instances: list[TaskInstance]) -> dict[str, tuple[list[Any], str | None]]:
    """question → (the oracle's fc tool steps, its answer)."""
    env = OrgEnvironment.open(org)
    plans = {}
    try:
        with env.engine.connect() as conn:
            for instance in instances:
                trace = solve(instance, ToolContext(conn=conn, today=instance_today(instance.params)))
                steps = [s for s in trace.steps if s.tool not in RAW_QUERY_TOOLS and s.tool != "respond"]
                plans[instance.query] = (steps, trace.answer)
    finally:
        env.dispose()
    assert len(plans) == len(instances), "the test needs distinct questions"
    return plans


def next_call(plans, question: str, turns_done: int) -> tuple[str, dict[str, Any]]:
    steps, answer = plans[question]
    if turns_done < len(steps):
        return steps[turns_done].tool, steps[turns_done].arguments
    return "respond", {"content": "None" if answer is None else answer}


def with_usage(output: ModelOutput) -> ModelOutput:
    output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)  # no tokenizer download
    return output


def inspect_eval(*args: Any, **kwargs: Any) -> Any:
    """inspect's eval in a thread of its own: it starts an event loop, and a worker that drove
    Chromium through Playwright's sync API earlier in the session has one running already."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_inspect_eval, *args, **kwargs).result()


def test_inspect_plays_the_oracle_through_our_tools_and_scores_with_ours(tiny_tasks_org, tmp_path):
    instances = benchmark_instances(tiny_tasks_org, TASKS, 2)
    plans = oracle_plans(tiny_tasks_org, instances)

    def oracle(messages, tools, tool_choice, config) -> ModelOutput:
        question = next(m.text for m in messages if m.role == "user")
        tool, arguments = next_call(plans, question, sum(m.role == "assistant" for m in messages))
        return with_usage(ModelOutput.for_tool_call("mockllm/model", tool, arguments))

    task = crmarena(org=tiny_tasks_org, tasks=TASKS, limit=2)
    [log] = inspect_eval(
        task, model=get_model("mockllm/model", custom_outputs=oracle), log_dir=str(tmp_path), display="none"
    )
    assert log.status == "success", log.error
    assert log.samples is not None and len(log.samples) == len(instances) == 6
    by_idx = {i.idx: i for i in instances}
    for sample in log.samples:
        instance = by_idx[sample.id]
        steps, answer = plans[instance.query]
        assert sample.scores["crm_reward"].value == 1.0, (instance.task, sample.scores)
        assert sample.scores["crm_reward"].answer == ("None" if answer is None else answer)
        observations = [m.text for m in sample.messages if m.role == "tool"][:-1]  # the last answers respond
        assert observations == [s.observation for s in steps]  # our tools answered as they answer the oracle
        assert sample.messages[0].role == "system" and "# Salesforce instance description" in sample.messages[0].text
    metrics = log.results.scores[0].metrics
    assert metrics["overall"].value == 1.0
    assert {"handle_time", "top_issue_identification", "knowledge_qa"} <= set(metrics)


def test_harness_rules_in_inspect_no_call_two_calls_a_wrong_answer(tiny_tasks_org, tmp_path):
    [instance] = benchmark_instances(tiny_tasks_org, "handle_time", 1)
    steps, _ = oracle_plans(tiny_tasks_org, [instance])[instance.query]
    wrong = "005000000000000AAA"
    script = iter(
        [
            with_usage(ModelOutput.from_content("mockllm/model", "I will look around first.")),
            with_usage(ModelOutput.for_tool_call("mockllm/model", steps[0].tool, steps[0].arguments)),
            with_usage(ModelOutput.for_tool_call("mockllm/model", "respond", {"content": wrong})),
        ]
    )
    two_calls = script.__next__

    def model(messages, tools, tool_choice, config) -> ModelOutput:
        output = two_calls()
        if output.message.tool_calls and output.message.tool_calls[0].function != "respond":
            extra = ModelOutput.for_tool_call("mockllm/model", steps[0].tool, steps[0].arguments).message.tool_calls
            output.message.tool_calls = output.message.tool_calls + extra  # two calls in one message
        return output

    task = crmarena(org=tiny_tasks_org, tasks="handle_time", limit=1)
    [log] = inspect_eval(
        task, model=get_model("mockllm/model", custom_outputs=model), log_dir=str(tmp_path), display="none"
    )
    [sample] = log.samples
    users = [m.text for m in sample.messages if m.role == "user"]
    tools = [m.text for m in sample.messages if m.role == "tool"]
    assert users[-1] == FC_CORRECTION  # a reply without a tool call gets the harness's correction
    assert tools[0] == steps[0].observation and tools[1] == NOT_EXECUTED  # only the first call runs
    score = sample.scores["crm_reward"]
    assert score.answer == wrong and score.value == reward(instance, wrong) == 0.0


@pytest.mark.slow
def test_inspect_eval_command_against_the_local_openai_server(tiny_tasks_org, tmp_path):
    instances = benchmark_instances(tiny_tasks_org, TASKS, 1)
    plans = oracle_plans(tiny_tasks_org, instances)

    def script(body: dict[str, Any]) -> Reply:
        question = next(m["content"] for m in body["messages"] if m["role"] == "user")
        question = question if isinstance(question, str) else question[0]["text"]
        tool, arguments = next_call(plans, question, sum(m["role"] == "assistant" for m in body["messages"]))
        return Reply(tool_calls=[(tool, json.dumps(arguments))])

    with openai_server(script) as server:
        command = [sys.executable, "-m", "inspect_ai", "eval", "crm_core/interop/inspect_task.py"]
        command += ["--model", "openai/stub", "-M", "responses_api=false", "--model-base-url", server.base_url]
        command += ["--log-dir", str(tmp_path)]
        command += ["-T", f"org={tiny_tasks_org}", "-T", f"tasks={TASKS}", "-T", "limit=1", "--display", "none"]
        env = {**os.environ, "OPENAI_API_KEY": "not-needed", "PYTHONPATH": ""}
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and server.requests, done.stdout[-2000:] + done.stderr[-3000:]
        tools_sent = {t["function"]["name"] for t in server.requests[0]["tools"]}
    [info] = list_eval_logs(str(tmp_path))
    log = read_eval_log(info.name)
    assert [s.scores["crm_reward"].value for s in log.samples] == [1.0, 1.0, 1.0]
    assert "respond" in tools_sent and not tools_sent & set(RAW_QUERY_TOOLS)  # fc's tools, no raw queries
    assert log.results.scores[0].metrics["overall"].value == 1.0


@pytest.mark.parametrize("bad", [{"framework": "react"}, {"tasks": "workflow"}, {"tasks": "no_such_task"}])
def test_bad_task_options_are_clear_errors(tiny_tasks_org, bad):
    with pytest.raises(Exception, match="react|workflow|unknown task"):
        crmarena(org=tiny_tasks_org, **bad)
