"""One episode: a model works on one task instance until it responds or runs out of turns.

Each turn is one model call. The framework parses the reply; a valid action runs (in a worker
thread, so that concurrent episodes overlap their database work) and its observation goes back;
an invalid reply gets the framework's corrective message. Every turn counts, valid or not.

A workflow instance (``state_match``) is played in a sandbox of its own, made for the episode
and discarded once the changes it left are compared with the instance's expected diff.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from crm_core.agents.environment import instance_today
from crm_core.agents.frameworks import changes_the_org, write_action
from crm_core.agents.models import BeforeCall, EpisodeContext, ModelSource, RetryPolicy, invoke_with_retry
from crm_core.agents.records import ActionRecord, EndReason, EpisodeRecord, MessageRecord
from crm_core.agents.transcript import to_message_record
from crm_core.errors import error_line
from crm_core.sandbox import Sandbox
from crm_core.scoring import reward as score_answer
from crm_core.scoring.state import StateDiff, diff_from_changes, score_state
from crm_core.store.models import utc_now
from crm_core.tools.records import WRITE_TOOLS


def _is_write(action: ActionRecord) -> bool:
    if action.kind == "tool":
        return action.name in WRITE_TOOLS
    if action.kind == "execute":
        try:
            return write_action(action.content or "") is not None
        except ValueError:
            return False
    return False


def sandbox_diff(box: Sandbox) -> StateDiff:
    """The changes a sandbox holds, as the state scorer compares them."""
    return diff_from_changes(box.diff())


async def run_episode(
    source: ModelSource,
    episode: EpisodeContext,
    *,
    max_turns: int = 20,
    retry: RetryPolicy | None = None,
    before_call: BeforeCall | None = None,
) -> EpisodeRecord:
    """Play one (instance, trial) to the end and return its full record, reward included.

    Never raises for the model's or a tool's failures: a model call that still fails after the
    retries ends the episode with end reason ``error``. `before_call` is awaited before every
    model call attempt (shared rate limits). A workflow instance plays in a fresh sandbox.
    """
    if not changes_the_org(episode.instance):
        return await _play(source, episode, max_turns=max_turns, retry=retry, before_call=before_call)
    box = await asyncio.to_thread(episode.env.new_sandbox)
    try:
        in_box = dataclasses.replace(
            episode, framework=episode.framework.for_instance(episode.instance), env=episode.env.in_sandbox(box)
        )
        return await _play(source, in_box, max_turns=max_turns, retry=retry, before_call=before_call, box=box)
    finally:
        await asyncio.to_thread(box.close)


async def _play(
    source: ModelSource,
    episode: EpisodeContext,
    *,
    max_turns: int,
    retry: RetryPolicy | None,
    before_call: BeforeCall | None,
    box: Sandbox | None = None,
) -> EpisodeRecord:
    retry = retry or RetryPolicy()
    framework, instance = episode.framework, episode.instance
    started_at, start = utc_now(), time.perf_counter()
    messages: list[BaseMessage] = [SystemMessage(framework.system_prompt(instance)), HumanMessage(instance.query)]
    records: list[MessageRecord] = [to_message_record(m) for m in messages]
    actions: list[ActionRecord] = []
    answer: str | None = None
    end_reason: EndReason = "max_turns"
    error: str | None = None
    input_tokens = output_tokens = 0
    cost: float | None = 0.0
    turns = 0
    today = instance_today(instance.params)
    try:
        runnable = framework.prepare(source.chat_model(episode))
    except Exception as exc:  # a model that cannot even be made: the episode is an error
        runnable, end_reason, error = None, "error", error_line(exc)
    while runnable is not None and turns < max_turns:
        turns += 1
        call_start = time.perf_counter()
        try:
            reply = await invoke_with_retry(runnable, messages, retry, before_call)
        except Exception as exc:
            end_reason, error = "error", error_line(exc)
            break
        usage = reply.usage_metadata or {}
        used_in, used_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        input_tokens, output_tokens = input_tokens + used_in, output_tokens + used_out
        known = reply.usage_metadata is not None or not source.counts_tokens
        call_cost = source.cost(used_in, used_out) if known else None
        cost = None if cost is None or call_cost is None else cost + call_cost
        messages.append(reply)
        records.append(to_message_record(reply, latency_s=time.perf_counter() - call_start))
        parsed = framework.parse(reply, turns)
        action = parsed.action
        if action.kind == "respond":
            answer = action.content or ""
            actions.append(action)
            end_reason = "responded"
            break
        update: dict[str, object] = {}
        if action.kind == "invalid":
            observation = framework.invalid_observation(parsed)
        else:
            observation = await asyncio.to_thread(episode.env.perform, action, today=today)
            if box is not None and _is_write(action):
                update["state_diff"] = await asyncio.to_thread(sandbox_diff, box)
        actions.append(action.model_copy(update={"observation": observation, **update}))
        feedback = framework.feedback(parsed, observation)
        messages.extend(feedback)
        records.extend(to_message_record(m) for m in feedback)
    responded = end_reason == "responded"
    state_diff = state_score = None
    if box is not None and instance.expected_diff is not None:
        state_diff = await asyncio.to_thread(sandbox_diff, box)
        state_score = score_state(instance.expected_diff, state_diff)
    reward = state_score.reward if state_score is not None else score_answer(instance, answer) if responded else 0.0
    normalized = (
        reward if state_score is not None else score_answer(instance, answer, normalized=True) if responded else 0.0
    )
    return EpisodeRecord(
        run_id=episode.run_id,
        instance_idx=instance.idx,
        task=instance.task,
        persona=instance.persona,
        trial=episode.trial,
        framework=framework.name,
        model=source.spec,
        messages=records,
        actions=actions,
        answer=answer,
        gold=instance.answer_text,
        reward=reward,
        reward_normalized=normalized,
        turns=turns,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        latency_s=time.perf_counter() - start,
        end_reason=end_reason,
        error=error,
        started_at=started_at,
        finished_at=utc_now(),
        state_diff=state_diff,
        expected_diff=instance.expected_diff,
        state_score=state_score,
    )
