"""A sweep's paired comparison for the Results page: the two arms of an ablation compared run by run.

A sweep has two arms when it lists two org variants (``latent_ablation``: the same model and
framework on each org) or, with one org, two frameworks (``tools_vs_soql``: the same model with
each framework). For each model × framework (or model) that both arms ran, the page shows the
difference of the overall scores on the instances both share, with a paired bootstrap interval,
and pass^k of every arm's system, one curve per framework.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import pandas as pd
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from crm_core.scoring import Comparison, Outcome, PairedDifference, compare, paired_difference
from crm_core.studio.dashboards import agent_outcomes, system_name
from crm_core.sweeps.store import SweptRun, list_sweeps, sweep_runs


class PairedRow(BaseModel):
    """One model × framework (or model) in both arms: their scores and the difference first − second."""

    pair: str
    paired: PairedDifference


class SweepComparison(BaseModel):
    """The two arms of a sweep, compared pair by pair, and pass^k of each arm's systems."""

    sweep_id: str
    by: Literal["org variant", "framework"]
    arms: tuple[str, str]
    rows: list[PairedRow]
    passes: Comparison


def _arms(runs: list[SweptRun]) -> tuple[Literal["org variant", "framework"], tuple[str, str]] | None:
    variants = list(dict.fromkeys(r.variant for r in runs if r.variant is not None))
    if len(variants) == 2:
        return "org variant", (variants[0], variants[1])
    frameworks = list(dict.fromkeys(r.run.framework for r in runs))
    if not variants and len(frameworks) == 2:
        return "framework", (frameworks[0], frameworks[1])
    return None


def sweep_comparison(store: sessionmaker[Session], sweep_id: str) -> SweepComparison | None:
    """The paired comparison of a sweep with two arms (None for other sweeps or before any episode)."""
    runs = sweep_runs(store, sweep_id)
    found = _arms(runs)
    if found is None:
        return None
    by, arms = found
    # arm -> pair -> outcomes; the pair is what both arms hold fixed
    cells: dict[str, dict[str, list[Outcome]]] = {arm: defaultdict(list) for arm in arms}
    for r in runs:
        arm = r.variant if by == "org variant" else r.run.framework
        pair = system_name(r.run.model, r.run.framework) if by == "org variant" else r.run.model
        outcomes = agent_outcomes(store, [r.run.run_id])
        cells[str(arm)][pair].extend(_by_position(outcomes) if by == "org variant" else outcomes)
    rows = []
    for pair in dict.fromkeys([*cells[arms[0]], *cells[arms[1]]]):
        first, second = cells[arms[0]].get(pair, []), cells[arms[1]].get(pair, [])
        try:
            rows.append(PairedRow(pair=pair, paired=paired_difference(first, second)))
        except ValueError:  # an arm has no episode of the pair yet
            continue
    if not rows:
        return None
    return SweepComparison(sweep_id=sweep_id, by=by, arms=arms, rows=rows, passes=_passes(cells, by))


def _by_position(outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes numbered by their instance's position within its task (the k-th instance).

    Two orgs' task sets do not share instances: each org has its own questions and numbering. A
    variant's k-th instance of a task is paired with the other variant's k-th (both runs select
    the lowest indexes of each task, as their task sets were built by the same generator).
    """
    positions: dict[str, list[int]] = defaultdict(list)
    for idx, task in sorted({(o.idx, o.task) for o in outcomes}):
        positions[task].append(idx)
    rank = {(task, idx): n for task, idxs in positions.items() for n, idx in enumerate(idxs)}
    return [o.model_copy(update={"idx": rank[(o.task, o.idx)]}) for o in outcomes]


def _passes(cells: dict[str, dict[str, list[Outcome]]], by: str) -> Comparison:
    """pass^k of every arm's system on the instances all share, matched by (task, idx) across orgs."""
    relabelled: list[tuple[str, Outcome]] = []
    for arm, pairs in cells.items():
        for pair, outcomes in pairs.items():
            system = f"{arm} · {pair}" if by == "org variant" else system_name(pair, arm)
            relabelled += [(system, o) for o in outcomes]
    keys = {key: n for n, key in enumerate(sorted({(o.task, o.idx) for _, o in relabelled}))}
    return compare(o.model_copy(update={"system": system, "idx": keys[(o.task, o.idx)]}) for system, o in relabelled)


def paired_frame(comparison: SweepComparison) -> pd.DataFrame:
    """One row per pair: each arm's overall score, the difference and its 95% interval, instances."""
    first, second = comparison.arms
    return pd.DataFrame(
        [
            {
                "compared": row.pair,
                first: f"{row.paired.first:.3f}",
                second: f"{row.paired.second:.3f}",
                f"{first} − {second}": f"{row.paired.difference.mean:+.3f}",
                "95% interval": f"[{row.paired.difference.low:+.3f}, {row.paired.difference.high:+.3f}]",
                "shared instances": row.paired.difference.n,
            }
            for row in comparison.rows
        ]
    )


def paired_sweeps(store: sessionmaker[Session]) -> dict[str, str]:
    """Sweeps with two arms and stored episodes, newest first: sweep id -> ``name (id)``."""
    return {
        s.sweep_id: f"{s.name} ({s.sweep_id})"
        for s in list_sweeps(store)
        if _arms(sweep_runs(store, s.sweep_id)) is not None
    }
