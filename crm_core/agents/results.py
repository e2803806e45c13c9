"""What a run scored, and its episodes exported as JSON Lines or CRMArena-style results JSON.

Scores: the original metric per task, per persona (mean of its tasks) and overall
(mean over tasks), the normalized exact match beside it, and pass^k for k = 1..K over the
instances that have all K trials. A trial succeeds when its reward is 1 (an exact match, or a
token F1 of 1 for knowledge_qa).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from crm_core.agents.records import EpisodeRecord, RunRecord
from crm_core.agents.transcript import to_openai_messages
from crm_core.scoring import ScoredAnswer, pass_hat_k_curve, summarize

ExportFormat = Literal["jsonl", "crmarena"]
_SUCCESS = 1.0 - 1e-9


class ScoreReport(BaseModel):
    """The scores of one run."""

    run_id: str
    framework: str
    model: str
    planned: int
    completed: int
    per_task: dict[str, float]
    per_persona: dict[str, float]
    overall: float
    per_task_normalized: dict[str, float]
    overall_normalized: float
    pass_hat_k: dict[int, float]
    pass_hat_k_per_task: dict[str, dict[int, float]]
    end_reasons: dict[str, int]
    mean_turns: float
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


def _pass_curve(episodes: Iterable[EpisodeRecord], trials: int) -> dict[int, float]:
    by_instance: dict[int, list[float]] = defaultdict(list)
    for episode in episodes:
        by_instance[episode.instance_idx].append(episode.reward)
    complete = [(len(r), sum(1 for x in r if x >= _SUCCESS)) for r in by_instance.values() if len(r) >= trials]
    return pass_hat_k_curve(complete)


def score_run(run: RunRecord, episodes: Sequence[EpisodeRecord], planned: int) -> ScoreReport:
    """Score a run from its stored episodes (a partial run scores what has finished)."""
    summary = summarize(
        ScoredAnswer(idx=e.instance_idx, task=e.task, persona=e.persona, reward=e.reward, trial=e.trial)
        for e in episodes
    )
    normalized = summarize(
        ScoredAnswer(idx=e.instance_idx, task=e.task, persona=e.persona, reward=e.reward_normalized, trial=e.trial)
        for e in episodes
    )
    by_task: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for episode in episodes:
        by_task[episode.task].append(episode)
    costs = [e.cost_usd for e in episodes]
    return ScoreReport(
        run_id=run.run_id,
        framework=run.framework,
        model=run.model,
        planned=planned,
        completed=len(episodes),
        per_task=summary.per_task,
        per_persona=summary.per_persona,
        overall=summary.overall,
        per_task_normalized=normalized.per_task,
        overall_normalized=normalized.overall,
        pass_hat_k=_pass_curve(episodes, run.trials),
        pass_hat_k_per_task={task: _pass_curve(items, run.trials) for task, items in sorted(by_task.items())},
        end_reasons=dict(sorted(Counter(e.end_reason for e in episodes).items())),
        mean_turns=sum(e.turns for e in episodes) / len(episodes) if episodes else 0.0,
        input_tokens=sum(e.input_tokens for e in episodes),
        output_tokens=sum(e.output_tokens for e in episodes),
        cost_usd=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
    )


def to_crmarena_result(episode: EpisodeRecord) -> dict[str, object]:
    """One episode as CRMArena's ``run_tasks.py`` writes it (plus ``trial``, ``answer``, ``model``).

    A workflow episode (scored on the org's state) also carries ``state_diff`` (the changes it
    left), ``state_score`` (exact, F1, precision, recall, facts missing and unexpected) and
    ``reward_f1``; CRMArena's own tasks have none of these keys.
    """
    last_assistant = next((m.content for m in reversed(episode.messages) if m.role == "assistant"), "")
    end_message = {"responded": "Responded", "max_turns": "Max turns reached", "error": "Error"}[episode.end_reason]
    state: dict[str, object] = {}
    if episode.state_score is not None:
        state = {
            "reward_f1": episode.state_score.f1,
            "state_score": episode.state_score.model_dump(mode="json"),
            "state_diff": episode.state_diff.model_dump(mode="json") if episode.state_diff is not None else None,
        }
    return {
        "task_id": episode.instance_idx,
        "task_type": episode.task,
        "trial": episode.trial,
        "gt_answer": episode.gold,
        "answer": episode.answer,
        "reward": episode.reward,
        "model": episode.model,
        "agent_strategy": episode.framework,
        "agent_info": {
            "end_reason": {
                "source": "api" if episode.end_reason == "error" else "agent",
                "message": end_message,
                "content": episode.error or last_assistant,
            },
            "usage": {
                "prompt_tokens": episode.input_tokens,
                "completion_tokens": episode.output_tokens,
                "total_tokens": episode.input_tokens + episode.output_tokens,
            },
            "total_cost": episode.cost_usd,
            "num_turns": episode.turns,
            "latency_s": episode.latency_s,
        },
        "traj": to_openai_messages(episode.messages),
        **state,
    }


def export_episodes(episodes: Sequence[EpisodeRecord], fmt: ExportFormat, out: Path) -> int:
    """Write the episodes to `out` as JSON Lines (full records) or CRMArena results JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        out.write_text("".join(e.model_dump_json() + "\n" for e in episodes), encoding="utf-8")
    else:
        results = [to_crmarena_result(e) for e in episodes]
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(episodes)
