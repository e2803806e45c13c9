"""A run as an inspect_ai eval log (``runs export RUN OUT.eval --format inspect``).

The log reads as if inspect had evaluated the run with ``crm_core/interop/inspect_task.py``:
task ``crmarena``, one sample per instance (id: its idx) and epoch per trial (epoch = trial + 1),
the episode's whole conversation as the sample's messages (tool calls and their results), its
answer, our reward as the ``crm_reward`` score (normalized reward, end reason, turns, cost in
the score's and sample's metadata) and, as the results, our run score: the mean of each task
and their mean (``overall``), as ``score`` computes them. ``inspect view`` opens it; inspect's
``read_eval_log`` reads it. A run still going is written with status ``started``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import Score
from inspect_ai.tool import ToolCall

from crm_core.agents.records import EpisodeRecord, MessageRecord, RunRecord
from crm_core.agents.results import score_run
from crm_core.errors import UserFacingError

SCORER = "crm_reward"
"""The scorer's name, as in the inspect task (:mod:`crm_core.interop.inspect_task`)."""


def inspect_model_name(model: str) -> str:
    """Our ``provider:model`` as inspect writes it (``provider/model``); offline models under ``crm/``."""
    provider, sep, name = model.partition(":")
    if not sep or provider in {"baseline", "replay"}:
        return f"crm/{model}"
    return f"{provider}/{name}"


def chat_message(record: MessageRecord, model: str) -> ChatMessage:
    """One stored message as inspect's chat message (tool calls with broken JSON keep their text)."""
    if record.role == "system":
        return ChatMessageSystem(content=record.content)
    if record.role == "user":
        return ChatMessageUser(content=record.content)
    if record.role == "tool":
        return ChatMessageTool(content=record.content, tool_call_id=record.tool_call_id, function=record.name)
    calls = [
        ToolCall(id=c.id, function=c.name, arguments=c.arguments)
        if isinstance(c.arguments, dict)
        else ToolCall(id=c.id, function=c.name, arguments={}, parse_error=f"arguments are not JSON: {c.arguments}")
        for c in record.tool_calls
    ]
    return ChatMessageAssistant(content=record.content, tool_calls=calls or None, model=model)


def _usage(input_tokens: int, output_tokens: int) -> ModelUsage:
    return ModelUsage(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens)


def eval_sample(episode: EpisodeRecord, model: str) -> EvalSample:
    """One episode as an inspect sample."""
    messages = [chat_message(m, model) for m in episode.messages]
    question = next((m.content for m in episode.messages if m.role == "user"), "")
    last = next((m for m in reversed(messages) if isinstance(m, ChatMessageAssistant)), None)
    output = ModelOutput(
        model=model,
        choices=[ChatCompletionChoice(message=last, stop_reason="tool_calls" if last.tool_calls else "stop")]
        if last is not None
        else [],
        usage=_usage(episode.input_tokens, episode.output_tokens),
    )
    details = {
        "normalized": episode.reward_normalized,
        "end_reason": episode.end_reason,
        "turns": episode.turns,
        "cost_usd": episode.cost_usd,
    }
    score = Score(value=episode.reward, answer=episode.answer, explanation=f"gold: {episode.gold}", metadata=details)
    return EvalSample(
        id=episode.instance_idx,
        epoch=episode.trial + 1,
        input=question,
        target=episode.gold,
        messages=messages,
        output=output,
        scores={SCORER: score},
        metadata={"task": episode.task, "persona": episode.persona, "error": episode.error, **details},
        model_usage={model: _usage(episode.input_tokens, episode.output_tokens)},
        started_at=episode.started_at.isoformat(),
        completed_at=episode.finished_at.isoformat(),
        total_time=episode.latency_s,
        working_time=episode.latency_s,
    )


def run_eval_log(run: RunRecord, episodes: Sequence[EpisodeRecord], planned: int) -> EvalLog:
    """The inspect eval log of `run` (see the module docstring)."""
    model = inspect_model_name(run.model)
    report = score_run(run, episodes, planned)
    ordered = sorted(episodes, key=lambda e: (e.instance_idx, e.trial))
    instance_ids = sorted({e.instance_idx for e in episodes})
    metrics = {"overall": report.overall, **report.per_task, "overall_normalized": report.overall_normalized}
    options = {"tasks": run.tasks, "limit": run.limit, "framework": run.framework, "max_turns": run.max_turns}
    spec = EvalSpec(
        eval_id=run.run_id,
        run_id=run.run_id,
        created=run.created_at.isoformat(),
        task="crmarena",
        task_args=options,
        dataset=EvalDataset(name="crmarena", samples=len(instance_ids), sample_ids=instance_ids),
        model=model,
        model_base_url=run.base_url,
        config=EvalConfig(epochs=run.trials),
        metadata={"crm_run_id": run.run_id, "crm_model": run.model, "framework": run.framework},
    )
    return EvalLog(
        status="success" if len(episodes) >= planned else "started",
        eval=spec,
        plan=EvalPlan(steps=[EvalPlanStep(solver="crm_agent", params={"framework": run.framework})]),
        results=EvalResults(
            total_samples=planned,
            completed_samples=len(episodes),
            scores=[
                EvalScore(
                    name=SCORER,
                    scorer=SCORER,
                    scored_samples=len(episodes),
                    metrics={name: EvalMetric(name=name, value=value) for name, value in metrics.items()},
                )
            ],
        ),
        stats=EvalStats(
            started_at=min((e.started_at for e in episodes), default=run.created_at).isoformat(),
            completed_at=max((e.finished_at for e in episodes), default=run.created_at).isoformat(),
            model_usage={model: _usage(report.input_tokens, report.output_tokens)},
        ),
        samples=[eval_sample(e, model) for e in ordered],
    )


def write_inspect_log(run: RunRecord, episodes: Sequence[EpisodeRecord], planned: int, out: Path) -> Path:
    """Write the run's eval log to `out` (a ``.eval`` or ``.json`` file), or into the folder `out`
    under inspect's own file name (``TIMESTAMP_crmarena_RUN.eval``); returns the file."""
    if out.is_dir() or not out.suffix:
        out = out / f"{run.created_at:%Y-%m-%dT%H-%M-%S}-00-00_crmarena_{run.run_id}.eval"
    elif out.suffix not in {".eval", ".json"}:
        raise UserFacingError(f"{out}: an inspect log is a .eval or a .json file (or give a folder)")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(run_eval_log(run, episodes, planned), str(out))
    return out
