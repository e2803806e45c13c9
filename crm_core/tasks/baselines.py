"""Floor baselines: answer without looking at the org beyond the pool of well-formed answers.

A well-formed answer is a value of the task's answer type (an agent's User Id, an Issue__c Id,
a month name, a state code, a Product2 Id, a policy article Id, a knowledge answer); "None" is
the absence of one, so neither baseline ever answers None. On a workflow task both baselines
respond without changing anything, so the state they leave is the org's own.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import Connection

from crm_core.tasks.records import TaskInstance
from crm_core.tasks.registry import task_specs

AnswerFunction = Callable[[TaskInstance], str]


def majority_baseline(instances: Iterable[TaskInstance]) -> AnswerFunction:
    """Answer every instance with the most common well-formed gold answer of its task.

    Ties between equally common answers go to the alphabetically first one.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for instance in instances:
        if instance.answer is not None:
            counts[instance.task][instance.answer] += 1
    majority = {
        task: min(counter, key=lambda answer, c=counter: (-c[answer], answer))
        for task, counter in counts.items()
        if counter
    }

    def answer(instance: TaskInstance) -> str:
        return majority.get(instance.task, "None")

    return answer


def answer_pools(conn: Connection) -> dict[str, list[str]]:
    """Every well-formed answer of each task in this org, sorted (each task type's answer pool)."""
    return {spec.name: spec.answer_pool(conn) for spec in task_specs(None)}


def random_baseline(pools: dict[str, list[str]], seed: int = 0) -> AnswerFunction:
    """Answer each instance with a random well-formed answer, reproducible per (seed, idx)."""

    def answer(instance: TaskInstance) -> str:
        pool = pools.get(instance.task) or ["None"]
        return random.Random(f"{seed}:{instance.idx}").choice(pool)

    return answer
