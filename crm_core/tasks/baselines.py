"""Floor baselines: answer without looking at the org beyond the pool of well-formed answers.

A well-formed answer is a value of the task's answer type (an agent's User Id, an Issue__c Id,
a month name, a state code, a Product2 Id, a policy article Id, a knowledge answer); "None" is
the absence of one, so neither baseline ever answers None.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, select

from crm_core.org.schema import Account, Issue, Knowledge, LatentArticleFact, Product2, User
from crm_core.tasks.periods import MONTHS
from crm_core.tasks.records import TASKS, TaskInstance

AnswerFunction = Callable[[TaskInstance], str]


def majority_baseline(instances: Iterable[TaskInstance]) -> AnswerFunction:
    """Answer every instance with the most common well-formed gold answer of its task.

    Ties between equally common answers go to the alphabetically first one.
    """
    counts: dict[str, Counter[str]] = {task: Counter() for task in TASKS}
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
    """Every well-formed answer of each task in this org, sorted."""

    def column(statement: object) -> list[str]:
        return sorted({row[0] for row in conn.execute(statement).all() if row[0] is not None})

    users = column(select(User.Id))
    policies = column(select(Knowledge.Id).where(Knowledge.Title.like("Policy:%")))
    return {
        "case_routing": users,
        "handle_time": users,
        "transfer_count": users,
        "top_issue_identification": column(select(Issue.Id)),
        "monthly_trend_analysis": list(MONTHS),
        "best_region_identification": column(select(Account.ShippingState)),
        "named_entity_disambiguation": column(select(Product2.Id)),
        "policy_violation_identification": policies or column(select(Knowledge.Id)),
        "knowledge_qa": column(select(LatentArticleFact.answer)),
    }


def random_baseline(pools: dict[str, list[str]], seed: int = 0) -> AnswerFunction:
    """Answer each instance with a random well-formed answer, reproducible per (seed, idx)."""

    def answer(instance: TaskInstance) -> str:
        pool = pools.get(instance.task) or ["None"]
        return random.Random(f"{seed}:{instance.idx}").choice(pool)

    return answer
