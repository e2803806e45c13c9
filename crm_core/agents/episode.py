"""One episode: a model works on one task instance until it responds or runs out of turns.

Each turn is one model call. The framework parses the reply; a valid action runs (in a worker
thread, so that concurrent episodes overlap their database work) and its observation goes back;
an invalid reply gets the framework's corrective message. Every turn counts, valid or not.
"""

from __future__ import annotations

import asyncio
import time

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from crm_core.agents.environment import instance_today
from crm_core.agents.models import BeforeCall, EpisodeContext, ModelSource, RetryPolicy, invoke_with_retry
from crm_core.agents.records import ActionRecord, EndReason, EpisodeRecord, MessageRecord
from crm_core.agents.transcript import to_message_record
from crm_core.errors import error_line
from crm_core.scoring import reward as score_answer
from crm_core.store.models import utc_now


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
    model call attempt (shared rate limits).
    """
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
        if action.kind == "invalid":
            observation = framework.invalid_observation(parsed)
        else:
            observation = await asyncio.to_thread(episode.env.perform, action, today=today)
        actions.append(action.model_copy(update={"observation": observation}))
        feedback = framework.feedback(parsed, observation)
        messages.extend(feedback)
        records.extend(to_message_record(m) for m in feedback)
    responded = end_reason == "responded"
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
        reward=score_answer(instance, answer) if responded else 0.0,
        reward_normalized=score_answer(instance, answer, normalized=True) if responded else 0.0,
        turns=turns,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        latency_s=time.perf_counter() - start,
        end_reason=end_reason,
        error=error,
        started_at=started_at,
        finished_at=utc_now(),
    )
