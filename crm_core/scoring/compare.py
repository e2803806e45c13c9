"""Comparing systems (model × framework) on shared instances: bootstrap intervals, pass^k, effort.

A *system* is whatever a comparison names (``gpt-4o · react``, ``human · workbench``); its
:class:`Outcome` rows are trials on task instances, pooled over however many runs produced them.
Systems are compared on the instances **every** compared system has, so a system that ran fewer
instances does not look better or worse because of which instances it happened to run.

Scores follow CRMArena: a task's score is the mean reward of its trials, the overall score the
mean of the task scores. Intervals are percentile bootstraps over instances (an instance's trials
stay together), stratified by task for the overall score, with a fixed seed so that a page shows
the same interval on every reload. Systems are resampled with the same draws (a paired bootstrap),
because they share their instances.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from crm_core.scoring.aggregate import pass_hat_k_curve

SUCCESS = 1.0 - 1e-9
"""A trial succeeds when its reward is 1 (exact match, or a token F1 of 1)."""
OVERALL = "overall"
"""The task name of the overall row (mean of the task scores)."""


class Outcome(BaseModel):
    """One trial of one system on one instance."""

    system: str
    idx: int
    task: str
    persona: str = ""
    trial: int = 0
    reward: float
    turns: int | None = None
    cost_usd: float | None = None


class Interval(BaseModel):
    """A mean with its bootstrap confidence interval over `n` instances."""

    mean: float
    low: float
    high: float
    n: int


def _draws(values: Sequence[float], name: str, resamples: int, seed: int) -> np.ndarray:
    """`resamples` bootstrap means of `values` (drawn with replacement, as multinomial counts).

    The generator is seeded with (`seed`, `name`), so a group gets the same draws wherever it
    appears (alone, in a persona, overall) and two systems with as many units get the same ones.
    """
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    unique, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
    picked = rng.multinomial(len(values), counts / len(values), size=resamples)
    return picked @ unique / len(values)


def _interval(groups: Mapping[str, Sequence[float]], draws: Mapping[str, np.ndarray], level: float) -> Interval:
    names = [name for name in sorted(groups) if len(groups[name])]
    mean = sum(sum(groups[name]) / len(groups[name]) for name in names) / len(names)
    averaged = sum(draws[name] for name in names) / len(names)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(averaged, [tail, 100 - tail])
    # floating-point sums can put a percentile a hair outside the mean (constant values)
    n = sum(len(groups[name]) for name in names)
    return Interval(mean=mean, low=min(float(low), mean), high=max(float(high), mean), n=n)


def bootstrap_interval(
    groups: Mapping[str, Sequence[float]], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """Mean of the group means, with a percentile bootstrap interval resampling within each group.

    One group is a plain mean. Values are per-unit (an instance's mean reward); the units of each
    group are drawn with replacement, independently per group, `resamples` times, from a
    generator seeded with `seed` and the group's name (so the draws do not depend on the
    mapping's order). Empty groups are ignored; no values at all is a ValueError.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    kept = {name: values for name, values in groups.items() if len(values)}
    if not kept:
        raise ValueError("no values to bootstrap")
    draws = {name: _draws(values, name, resamples, seed) for name, values in kept.items()}
    return _interval(kept, draws, level)


def shared_instances(outcomes: Iterable[Outcome], systems: Iterable[str] | None = None) -> set[int]:
    """The instances on which every system (of `systems`, or of the outcomes) has a trial."""
    by_system: dict[str, set[int]] = defaultdict(set)
    for outcome in outcomes:
        by_system[outcome.system].add(outcome.idx)
    names = list(systems) if systems is not None else list(by_system)
    if not names:
        return set()
    return set.intersection(*(by_system.get(name, set()) for name in names))


class TaskScore(BaseModel):
    """One system on one task, one persona (mean of its tasks) or ``overall``, on the shared instances."""

    system: str
    task: str
    interval: Interval
    episodes: int
    successes: int
    pass_hat_k: dict[int, float]
    """k = 1 .. the fewest trials any instance of the system has."""
    turns_per_success: float | None
    """All turns spent on the task's trials divided by the successes (None without a success)."""
    cost_per_success: float | None
    """All cost divided by the successes (None without a success or when a cost is unknown)."""


class Comparison(BaseModel):
    """Systems compared on their shared instances."""

    systems: list[str]
    instances: list[int]
    tasks: list[str]
    personas: list[str]
    scores: list[TaskScore]

    @property
    def rows(self) -> list[str]:
        """Tasks, then personas, then ``overall``: the rows of a comparison table."""
        return [*self.tasks, *self.personas, OVERALL] if self.tasks else []

    def score(self, system: str, task: str = OVERALL) -> TaskScore | None:
        """The score of `system` on `task` (``overall`` by default), or None."""
        return next((s for s in self.scores if s.system == system and s.task == task), None)

    def best(self, task: str = OVERALL) -> list[str]:
        """The systems with the highest mean on `task` (several when tied)."""
        cells = [s for s in self.scores if s.task == task]
        if not cells:
            return []
        top = max(s.interval.mean for s in cells)
        return [s.system for s in cells if s.interval.mean >= top - 1e-12]

    def best_pass(self, task: str, k: int) -> list[str]:
        """The systems with the highest pass^k on `task` (several when tied)."""
        values = {s.system: s.pass_hat_k[k] for s in self.scores if s.task == task and k in s.pass_hat_k}
        if not values:
            return []
        top = max(values.values())
        return [name for name, value in values.items() if value >= top - 1e-12]


def _per_success(total: float | None, successes: int) -> float | None:
    return None if total is None or successes == 0 else total / successes


LEVEL = 0.95
RESAMPLES = 2000


class _Units(BaseModel):
    """One system's per-instance trial rewards on one task, and the task's bootstrap draws."""

    model_config = {"arbitrary_types_allowed": True}

    means: list[float]
    draws: np.ndarray


def _score(system: str, task: str, rows: list[Outcome], units: Mapping[str, _Units]) -> TaskScore:
    trials: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        trials[row.idx].append(row.reward)
    successes = sum(row.reward >= SUCCESS for row in rows)
    costs = [row.cost_usd for row in rows]
    cost = None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None))
    interval = _interval({name: u.means for name, u in units.items()}, {n: u.draws for n, u in units.items()}, LEVEL)
    return TaskScore(
        system=system,
        task=task,
        interval=interval,
        episodes=len(rows),
        successes=successes,
        pass_hat_k=pass_hat_k_curve(
            [(len(trials[idx]), sum(r >= SUCCESS for r in trials[idx])) for idx in sorted(trials)]
        ),
        turns_per_success=_per_success(sum(row.turns or 0 for row in rows), successes),
        cost_per_success=_per_success(cost, successes),
    )


def compare(
    outcomes: Iterable[Outcome],
    *,
    systems: Sequence[str] | None = None,
    within: Iterable[int] | None = None,
    seed: int = 0,
) -> Comparison:
    """Score every system per task and overall on the instances all of them share.

    `systems` chooses and orders the systems (default: as they first appear); `within` restricts
    the instances further (e.g. to those the experts answered).
    """
    rows = list(outcomes)
    names = list(systems) if systems is not None else list(dict.fromkeys(r.system for r in rows))
    shared = shared_instances(rows, names)
    if within is not None:
        shared &= set(within)
    rows = [r for r in rows if r.idx in shared and r.system in names]
    task_of = {r.idx: r.task for r in rows}
    by_task: dict[str, list[int]] = defaultdict(list)
    for idx in sorted(task_of):
        by_task[task_of[idx]].append(idx)
    tasks = sorted(by_task)
    persona_tasks: dict[str, list[str]] = defaultdict(list)
    for task, persona in sorted({(r.task, r.persona) for r in rows if r.persona}):
        persona_tasks[persona].append(task)
    scores = []
    for name in names:
        mine: dict[str, list[Outcome]] = defaultdict(list)
        for row in rows:
            if row.system == name:
                mine[row.task].append(row)
        units = {}
        for task in tasks:
            trials: dict[int, list[float]] = defaultdict(list)
            for row in mine[task]:
                trials[row.idx].append(row.reward)
            means = [sum(trials[idx]) / len(trials[idx]) for idx in by_task[task]]
            units[task] = _Units(means=means, draws=_draws(means, task, RESAMPLES, seed))
            scores.append(_score(name, task, mine[task], {task: units[task]}))
        for persona, its_tasks in sorted(persona_tasks.items()):
            its_rows = [row for task in its_tasks for row in mine[task]]
            scores.append(_score(name, persona, its_rows, {task: units[task] for task in its_tasks}))
        if tasks:
            scores.append(_score(name, OVERALL, [row for task in tasks for row in mine[task]], units))
    return Comparison(
        systems=names, instances=sorted(shared), tasks=tasks, personas=sorted(persona_tasks), scores=scores
    )


class PairedDifference(BaseModel):
    """Two arms' overall scores on their shared instances and the difference first − second."""

    first: float
    second: float
    difference: Interval
    """Its mean is ``first - second``; ``n`` counts the shared instances."""


def paired_difference(
    first: Iterable[Outcome],
    second: Iterable[Outcome],
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> PairedDifference:
    """Score of `first` minus score of `second` on the instances both have, with a paired bootstrap.

    Instances are matched by (task, idx), so the arms may come from different orgs whose task sets
    share indexes. Each instance contributes the difference of the arms' mean trial rewards; the
    interval resamples those differences within each task (as :func:`bootstrap_interval`), so
    the mean is the difference of the overall scores (means of task means) on the shared
    instances. No shared instance is a ValueError.
    """
    sides: list[dict[tuple[str, int], list[float]]] = [defaultdict(list), defaultdict(list)]
    for side, outcomes in zip(sides, (first, second), strict=True):
        for outcome in outcomes:
            side[(outcome.task, outcome.idx)].append(outcome.reward)
    means: list[dict[str, list[float]]] = [defaultdict(list), defaultdict(list)]
    for key in sorted(sides[0].keys() & sides[1].keys()):
        for side, mean in zip(sides, means, strict=True):
            mean[key[0]].append(sum(side[key]) / len(side[key]))
    if not means[0]:
        raise ValueError("the two arms share no instance")
    differences = {task: [a - b for a, b in zip(means[0][task], means[1][task], strict=True)] for task in means[0]}
    scores = [sum(sum(v) / len(v) for v in m.values()) / len(m) for m in means]
    return PairedDifference(
        first=scores[0],
        second=scores[1],
        difference=bootstrap_interval(differences, level=level, resamples=resamples, seed=seed),
    )
