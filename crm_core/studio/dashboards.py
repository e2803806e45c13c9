"""Results dashboards: which model and framework is best on which task (no Streamlit).

Agents are compared as *systems*, ``model · framework``, pooling every run of the pair; each
system's trials are scored on the instances all compared systems share, with seeded bootstrap
intervals, pass^k per task and turns and cost per success (:func:`crm_core.scoring.compare`).
Workbench practice runs (started from the Task Workbench) and one-episode runs are left out
unless asked for. The experts' submitted workbench answers are the human baseline, compared with
the agents on the instances the experts answered. Per-run scores come from
:func:`crm_core.agents.results.score_run`, the function behind ``python -m crm_core score``.
Episodes are read column by column (not their whole trajectories), which keeps the page fast.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.records import EpisodeRecord
from crm_core.agents.results import ScoreReport, score_run
from crm_core.agents.run_store import list_runs
from crm_core.org.realism import realism_report
from crm_core.scoring import OVERALL, Comparison, Outcome, bootstrap_interval, compare
from crm_core.store.models import AgentEpisode, AgentRun, StudyItem
from crm_core.studies import definition_of, get_study, latest_ratings, ordinal_alpha, share_at_or_above
from crm_core.studies.export import response_rows
from crm_core.studio.workbench import is_workbench_run, submitted_sessions

HUMAN_MODEL = "human"
HUMAN_FRAMEWORK = "workbench"
BEST = "★"


def system_name(model: str, framework: str) -> str:
    """How a model × framework pair is labelled everywhere on the page."""
    return f"{model} · {framework}"


HUMAN = system_name(HUMAN_MODEL, HUMAN_FRAMEWORK)


def _light_episodes(session: Session, run_id: str) -> list[EpisodeRecord]:
    """The episodes of a run with the fields scoring reads (no messages), straight from columns."""
    e = AgentEpisode
    query = select(
        e.instance_idx,
        e.task,
        e.persona,
        e.trial,
        e.reward,
        e.record["reward_normalized"].as_float(),
        e.turns,
        e.input_tokens,
        e.output_tokens,
        e.cost_usd,
        e.end_reason,
    ).where(e.run_id == run_id)
    return [
        EpisodeRecord.model_construct(
            instance_idx=idx,
            task=task,
            persona=persona,
            trial=trial,
            reward=reward if reward is not None else 0.0,
            reward_normalized=normalized if normalized is not None else 0.0,
            turns=turns,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost,
            end_reason=end,
        )
        for idx, task, persona, trial, reward, normalized, turns, tokens_in, tokens_out, cost, end in session.execute(
            query
        )
    ]


def run_reports(store: sessionmaker[Session]) -> list[ScoreReport]:
    """:func:`score_run` of every run in the store (newest first), as ``crm_core score`` computes it."""
    reports = []
    summaries = list_runs(store)
    with store() as session:
        for summary in summaries:
            reports.append(score_run(summary.run, _light_episodes(session, summary.run.run_id), summary.planned))
    return reports


class RunRow(BaseModel):
    """A run as the Results page lists it, and whether it is left out by default."""

    run_id: str
    system: str
    episodes: int
    overall: float
    """As ``python -m crm_core score`` prints it."""
    practice: bool
    """Started from the Task Workbench."""
    single: bool
    """One episode only."""


def run_rows(store: sessionmaker[Session]) -> list[RunRow]:
    """Every run with at least one episode, newest first."""
    return [
        RunRow(
            run_id=r.run_id,
            system=system_name(r.model, r.framework),
            episodes=r.completed,
            overall=r.overall,
            practice=is_workbench_run(r.run_id),
            single=r.completed == 1,
        )
        for r in run_reports(store)
        if r.completed
    ]


def kept_runs(rows: list[RunRow], *, practice: bool = False, single: bool = False) -> list[RunRow]:
    """The runs compared: practice and one-episode runs only when asked for."""
    return [r for r in rows if (practice or not r.practice) and (single or not r.single)]


def agent_outcomes(store: sessionmaker[Session], run_ids: list[str], *, partial: bool = False) -> list[Outcome]:
    """The trials of these runs as outcomes of their ``model · framework`` system (columns only).

    `partial` scores each trial with partial credit (``reward_normalized``: the state-match F1 of a
    workflow task, the normalized score of the others) instead of the exact 0/1 reward.
    """
    e = AgentEpisode
    score = e.record["reward_normalized"].as_float() if partial else e.reward
    query = (
        select(AgentRun.model, AgentRun.framework, e.instance_idx, e.task, e.persona, e.trial, score)
        .add_columns(e.turns, e.cost_usd, e.run_id)
        .join(AgentRun, AgentRun.run_id == e.run_id)
        .where(e.run_id.in_(run_ids))
        .order_by(e.run_id, e.instance_idx, e.trial)
    )
    with store() as session:
        rows = session.execute(query).all()
    # trials of several runs of one system on one instance are numbered on after each other
    seen: Counter[tuple[str, int]] = Counter()
    outcomes = []
    for model, framework, idx, task, persona, _trial, reward, turns, cost, _run in rows:
        system = system_name(model, framework)
        outcomes.append(
            Outcome.model_construct(  # columns of the store: already typed
                system=system,
                idx=idx,
                task=task,
                persona=persona,
                trial=seen[(system, idx)],
                reward=reward or 0.0,
                turns=turns,
                cost_usd=cost,
            )
        )
        seen[(system, idx)] += 1
    return outcomes


def human_outcomes(session: Session, *, partial: bool = False) -> list[Outcome]:
    """The experts' submitted workbench answers, each a trial of the ``human · workbench`` system.

    Turns are the expert's queries and tool calls plus the answer; cost is unknown (None);
    `partial` as in :func:`agent_outcomes`.
    """
    seen: Counter[int] = Counter()
    outcomes = []
    for row in submitted_sessions(session):
        outcomes.append(
            Outcome(
                system=HUMAN,
                idx=row.instance_idx,
                task=row.task,
                persona=row.persona,
                trial=seen[row.instance_idx],
                reward=(row.reward_normalized if partial else row.reward) or 0.0,
                turns=len(row.steps) + 1,
            )
        )
        seen[row.instance_idx] += 1
    return outcomes


def human_baseline(agents: list[Outcome], humans: list[Outcome], systems: list[str]) -> Comparison:
    """The experts and every agent system on the instances the experts answered and all agents ran."""
    return compare([*agents, *humans], systems=[*systems, HUMAN])


# --- tables ---------------------------------------------------------------------------------------


def _cell(value: float, low: float | None = None, high: float | None = None, best: bool = False) -> str:
    text = f"{value:.3f}" if low is None or high is None else f"{value:.3f} [{low:.2f}, {high:.2f}]"
    return f"{BEST} {text}" if best else text


def best_table(comparison: Comparison) -> pd.DataFrame:
    """Task, persona and overall rows × systems: mean [95% interval], the best marked ★; n instances."""
    rows = []
    for name in comparison.rows:
        best = set(comparison.best(name))
        row: dict[str, Any] = {"task": name}
        for system in comparison.systems:
            score = comparison.score(system, name)
            row[system] = (
                "—"
                if score is None
                else _cell(score.interval.mean, score.interval.low, score.interval.high, system in best)
            )
        first = comparison.score(comparison.systems[0], name)
        row["n"] = first.interval.n if first else 0
        rows.append(row)
    return pd.DataFrame(rows, columns=["task", *comparison.systems, "n"])


def systems_table(comparison: Comparison, runs: list[RunRow]) -> pd.DataFrame:
    """One row per system: runs pooled, episodes, overall [interval], successes, turns and cost per success."""
    run_count = Counter(r.system for r in runs)
    best = set(comparison.best())
    rows = []
    for system in comparison.systems:
        score = comparison.score(system)
        if score is None:
            continue
        rows.append(
            {
                "system": system,
                "runs": run_count.get(system, 0),
                "instances": score.interval.n,
                "episodes": score.episodes,
                "overall [95% CI]": _cell(score.interval.mean, score.interval.low, score.interval.high, system in best),
                "successes": score.successes,
                "turns / success": "—" if score.turns_per_success is None else f"{score.turns_per_success:.1f}",
                "cost / success (USD)": "—" if score.cost_per_success is None else f"{score.cost_per_success:.4f}",
            }
        )
    columns = ["system", "runs", "instances", "episodes", "overall [95% CI]", "successes"]
    return pd.DataFrame(rows, columns=[*columns, "turns / success", "cost / success (USD)"])


def pass_table(comparison: Comparison) -> pd.DataFrame:
    """pass^k for k = 1 .. trials, per task and overall, systems as columns, the best marked ★."""
    rows = []
    for name in [*comparison.tasks, OVERALL]:
        ks = sorted({k for s in comparison.scores if s.task == name for k in s.pass_hat_k})
        for k in ks:
            best = set(comparison.best_pass(name, k))
            row: dict[str, Any] = {"task": name, "k": k}
            for system in comparison.systems:
                score = comparison.score(system, name)
                value = None if score is None else score.pass_hat_k.get(k)
                row[system] = "—" if value is None else _cell(value, best=system in best)
            rows.append(row)
    return pd.DataFrame(rows, columns=["task", "k", *comparison.systems])


def pass_frame(comparison: Comparison) -> pd.DataFrame:
    """Long frame: system, task (and ``overall``), k, pass^k."""
    rows = [
        {"system": s.system, "task": s.task, "k": k, "pass^k": value}
        for s in comparison.scores
        if s.task in comparison.tasks or s.task == OVERALL
        for k, value in s.pass_hat_k.items()
    ]
    return pd.DataFrame(rows, columns=["system", "task", "k", "pass^k"])


def interval_frame(comparison: Comparison, names: list[str] | None = None) -> pd.DataFrame:
    """Long frame: system, row (task, persona or overall), mean, low, high."""
    wanted = set(names) if names is not None else set(comparison.rows)
    rows = [
        {"system": s.system, "row": s.task, "mean": s.interval.mean, "low": s.interval.low, "high": s.interval.high}
        for s in comparison.scores
        if s.task in wanted
    ]
    return pd.DataFrame(rows, columns=["system", "row", "mean", "low", "high"])


def effort_frame(comparison: Comparison) -> pd.DataFrame:
    """One row per system: overall mean, turns per success, cost per success."""
    rows = [
        {
            "system": s.system,
            "overall": s.interval.mean,
            "turns / success": s.turns_per_success,
            "cost / success (USD)": s.cost_per_success,
        }
        for s in comparison.scores
        if s.task == OVERALL
    ]
    return pd.DataFrame(rows, columns=["system", "overall", "turns / success", "cost / success (USD)"])


# --- figures --------------------------------------------------------------------------------------


def _empty(title: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=f"{title} (no data yet)")
    return figure


def interval_bars(frame: pd.DataFrame, title: str) -> go.Figure:
    """Grouped bars of the means per row and system, the 95% interval as error bars."""
    if frame.empty:
        return _empty(title)
    data = frame.assign(plus=frame["high"] - frame["mean"], minus=frame["mean"] - frame["low"])
    figure = px.bar(
        data, x="row", y="mean", color="system", barmode="group", error_y="plus", error_y_minus="minus", title=title
    )
    figure.update_layout(xaxis_title="", yaxis_title="score", yaxis_range=[0, 1.05], legend_title="")
    return figure


def pass_curves(frame: pd.DataFrame) -> go.Figure:
    """pass^k against k, one line per system, one panel per task and one for overall."""
    title = "pass^k by task"
    if frame.empty:
        return _empty(title)
    figure = px.line(
        frame, x="k", y="pass^k", color="system", facet_col="task", facet_col_wrap=5, markers=True, title=title
    )
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[0, 1.05])
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    figure.update_layout(legend_title="")
    return figure


def effort_scatter(frame: pd.DataFrame, x: str) -> go.Figure:
    """Overall score against `x` (``turns / success`` or ``cost / success (USD)``), one point per system."""
    title = f"Overall score against {x}"
    data = frame.dropna(subset=[x])
    if data.empty:
        return _empty(title)
    figure = px.scatter(data, x=x, y="overall", color="system", range_y=[0, 1.05], title=title)
    figure.update_traces(marker_size=12)
    figure.update_layout(legend_title="")
    return figure


# --- ratings of agent trajectories (workbench studies) ---------------------------------------------


def trajectory_ratings(session: Session, study_id: str) -> pd.DataFrame:
    """Per rated system and dimension: ratings, mean rating and its 95% bootstrap interval."""
    rows = [r for r in response_rows(session, study_id) if r["latest"] and r.get("model")]
    by: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        by[(system_name(row["model"], row["framework"]), row["dimension"])].append(float(row["value"]))
    data = []
    for (system, dimension), values in sorted(by.items()):
        interval = bootstrap_interval({dimension: values})
        data.append(
            {
                "system": system,
                "dimension": dimension,
                "ratings": len(values),
                "mean [95% CI]": _cell(interval.mean, interval.low, interval.high),
            }
        )
    return pd.DataFrame(data, columns=["system", "dimension", "ratings", "mean [95% CI]"])


# --- realism --------------------------------------------------------------------------------------


class AgreementRow(BaseModel):
    """Agreement and headline figure of one dimension (or all, ``dimension`` = ``all``)."""

    dimension: str
    ratings: int
    alpha: float | None
    share_realistic: float | None


def realism_frame(session: Session, study_id: str) -> pd.DataFrame:
    """Latest ratings of a study: object (``org`` for org items), dimension, value, label."""
    definition = definition_of(get_study(session, study_id))
    rows = latest_ratings(session, study_id)
    objects = dict(
        session.execute(select(StudyItem.id, StudyItem.object_name).where(StudyItem.study_id == study_id)).all()
    )
    data = [
        {
            "object": objects.get(item_id) or "org",
            "dimension": dimension,
            "value": value,
            "label": definition.label_of(value),
        }
        for item_id, _user, dimension, value in rows
    ]
    return pd.DataFrame(data, columns=["object", "dimension", "value", "label"])


def realism_histogram(frame: pd.DataFrame, scale: list[str], by: str) -> go.Figure:
    """Stacked counts of ratings per value label, one bar per `by` (``object`` or ``dimension``)."""
    title = f"Realism ratings per {by}"
    if frame.empty:
        return _empty(title)
    counts = frame.groupby([by, "label"]).size().reset_index(name="ratings")
    return px.bar(
        counts,
        x=by,
        y="ratings",
        color="label",
        category_orders={"label": scale},
        color_discrete_sequence=px.colors.diverging.RdYlGn[1 :: max(1, 10 // len(scale))],
        title=title,
    )


def realism_agreement(session: Session, study_id: str, realistic_at: int = 4) -> list[AgreementRow]:
    """Per dimension and overall: ratings, Krippendorff's alpha (ordinal) and share at `realistic_at`+."""
    definition = definition_of(get_study(session, study_id))
    counts: Counter[str] = Counter(dim for *_, dim, _ in latest_ratings(session, study_id))
    rows = [
        AgreementRow(
            dimension=dim.id,
            ratings=counts.get(dim.id, 0),
            alpha=ordinal_alpha(session, study_id, dim.id),
            share_realistic=share_at_or_above(session, study_id, realistic_at, dim.id),
        )
        for dim in definition.dimensions
    ]
    rows.append(
        AgreementRow(
            dimension="all",
            ratings=sum(counts.values()),
            alpha=ordinal_alpha(session, study_id),
            share_realistic=share_at_or_above(session, study_id, realistic_at),
        )
    )
    return rows


def realistic_by_object(frame: pd.DataFrame, realistic_at: int = 4) -> pd.DataFrame:
    """Per rated object (``org`` for the org as a whole) and overall: ratings and the share at `realistic_at`+."""
    columns = ["object", "ratings", "share_realistic"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    good = frame.assign(realistic=frame["value"] >= realistic_at)
    rows = [
        {"object": name, "ratings": len(group), "share_realistic": float(group["realistic"].mean())}
        for name, group in good.groupby("object", sort=True)
    ]
    rows.append({"object": "all", "ratings": len(good), "share_realistic": float(good["realistic"].mean())})
    return pd.DataFrame(rows, columns=columns)


def org_realism_tables(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The org's realism report as two tables: figures per text field, and the consistency rules."""
    report = realism_report(engine)
    fields = pd.DataFrame([f.model_dump() for f in report.fields])
    rules = pd.DataFrame(
        [{"rule": r.rule, "violations": r.violations, "example": (r.examples or [""])[0]} for r in report.consistency]
    )
    return fields, rules
