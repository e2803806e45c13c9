"""Aggregates over scored runs: pass^k and means per task, per persona and overall."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from math import comb

from pydantic import BaseModel


def pass_hat_k(successes: Sequence[tuple[int, int]], k: int) -> float:
    """τ-bench pass^k: mean over instances of C(c, k) / C(n, k) for (n trials, c successes).

    Every instance needs at least `k` trials; a ValueError names the first one that has fewer.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not successes:
        return 0.0
    total = 0.0
    for index, (n, c) in enumerate(successes):
        if not 0 <= c <= n:
            raise ValueError(f"instance {index}: successes {c} not within 0..{n} trials")
        if n < k:
            raise ValueError(f"instance {index}: {n} trials, fewer than k={k}")
        total += comb(c, k) / comb(n, k)
    return total / len(successes)


def pass_hat_k_curve(successes: Sequence[tuple[int, int]]) -> dict[int, float]:
    """pass^k for k = 1 .. the smallest trial count."""
    if not successes:
        return {}
    return {k: pass_hat_k(successes, k) for k in range(1, min(n for n, _ in successes) + 1)}


class ScoredAnswer(BaseModel):
    """One scored trial: which instance, its task and persona, and the reward."""

    idx: int
    task: str
    persona: str
    reward: float
    trial: int = 0


class Summary(BaseModel):
    """Mean reward per task, per persona, and overall (mean over tasks, as in CRMArena)."""

    per_task: dict[str, float]
    per_persona: dict[str, float]
    overall: float
    count: int


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def summarize(scores: Iterable[ScoredAnswer]) -> Summary:
    """Per-task and per-persona means of all trials; overall is the mean of the task means.

    Per persona is the mean of that persona's task means, so a task's weight does not depend on
    how many of its instances ran.
    """
    by_task: dict[str, list[float]] = defaultdict(list)
    persona_of: dict[str, str] = {}
    count = 0
    for score in scores:
        by_task[score.task].append(score.reward)
        persona_of[score.task] = score.persona
        count += 1
    per_task = {task: _mean(values) for task, values in sorted(by_task.items())}
    personas: dict[str, list[float]] = defaultdict(list)
    for task, value in per_task.items():
        personas[persona_of[task]].append(value)
    per_persona = {persona: _mean(values) for persona, values in sorted(personas.items())}
    return Summary(per_task=per_task, per_persona=per_persona, overall=_mean(per_task.values()), count=count)
