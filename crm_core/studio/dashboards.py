"""Results dashboards: score tables and plotly figures from the app store (no Streamlit).

Agent scores come from :func:`crm_core.agents.results.score_run`, the function behind
``python -m crm_core score``, so the dashboard shows the numbers the CLI prints. Episodes are
read column by column (not their whole trajectories), which keeps the page fast on many runs.
Workbench answers are the human baseline (model ``human``, framework ``workbench``), scored with
the same :func:`crm_core.scoring.summarize`. Realism figures read the latest version of each
rater's answers, with Krippendorff's alpha (ordinal) and the share at "Realistic" or better.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.records import EpisodeRecord
from crm_core.agents.results import ScoreReport, score_run
from crm_core.scoring import ScoredAnswer, summarize
from crm_core.store.models import StudyItem

HUMAN_MODEL = "human"
HUMAN_FRAMEWORK = "workbench"


class SourceScores(BaseModel):
    """The scores of one run, or of the experts' workbench answers (the human baseline)."""

    label: str
    run_id: str | None
    model: str
    framework: str
    kind: str
    """``agent`` or ``human``."""
    episodes: int
    per_task: dict[str, float]
    per_persona: dict[str, float]
    overall: float
    pass_hat_k: dict[int, float] = {}
    mean_turns: float | None = None
    tokens: int | None = None
    cost_usd: float | None = None


def _light_episodes(session: Session, run_id: str) -> list[EpisodeRecord]:
    """The episodes of a run with the fields scoring reads (no messages), straight from columns."""
    from crm_core.store.runs import AgentEpisode

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
    from crm_core.store.runs import list_runs

    reports = []
    summaries = list_runs(store)
    with store() as session:
        for summary in summaries:
            reports.append(score_run(summary.run, _light_episodes(session, summary.run.run_id), summary.planned))
    return reports


def human_scores(session: Session) -> SourceScores | None:
    """The experts' submitted workbench answers scored like a run (None when there are none)."""
    from crm_core.studio.workbench import submitted_sessions

    rows = submitted_sessions(session)
    if not rows:
        return None
    summary = summarize(
        ScoredAnswer(idx=r.instance_idx, task=r.task, persona=r.persona, reward=r.reward or 0.0) for r in rows
    )
    return SourceScores(
        label=f"{HUMAN_MODEL} · {HUMAN_FRAMEWORK}",
        run_id=None,
        model=HUMAN_MODEL,
        framework=HUMAN_FRAMEWORK,
        kind="human",
        episodes=summary.count,
        per_task=summary.per_task,
        per_persona=summary.per_persona,
        overall=summary.overall,
        mean_turns=sum(len(r.steps) + 1 for r in rows) / len(rows),
    )


def source_of(report: ScoreReport) -> SourceScores:
    """A run's report as a dashboard source, labelled ``model · framework (run)``."""
    return SourceScores(
        label=f"{report.model} · {report.framework} ({report.run_id})",
        run_id=report.run_id,
        model=report.model,
        framework=report.framework,
        kind="agent",
        episodes=report.completed,
        per_task=report.per_task,
        per_persona=report.per_persona,
        overall=report.overall,
        pass_hat_k=report.pass_hat_k,
        mean_turns=report.mean_turns,
        tokens=report.input_tokens + report.output_tokens,
        cost_usd=report.cost_usd,
    )


def load_sources(store: sessionmaker[Session]) -> list[SourceScores]:
    """Every run's scores, then the human baseline when experts have submitted answers."""
    sources = [source_of(report) for report in run_reports(store) if report.completed]
    with store() as session:
        human = human_scores(session)
    return [*sources, human] if human is not None else sources


# --- frames ---------------------------------------------------------------------------------------


def overview_frame(sources: list[SourceScores]) -> pd.DataFrame:
    """One row per source: overall score, episodes, turns, tokens and cost."""
    return pd.DataFrame(
        [
            {
                "source": s.label,
                "model": s.model,
                "framework": s.framework,
                "kind": s.kind,
                "episodes": s.episodes,
                "overall": s.overall,
                "mean turns": s.mean_turns,
                "tokens": s.tokens,
                "cost (USD)": s.cost_usd,
            }
            for s in sources
        ],
        columns=["source", "model", "framework", "kind", "episodes", "overall", "mean turns", "tokens", "cost (USD)"],
    )


def task_frame(sources: list[SourceScores]) -> pd.DataFrame:
    """Long frame: source, model, framework, task, score."""
    rows = [
        {"source": s.label, "model": s.model, "framework": s.framework, "kind": s.kind, "task": task, "score": value}
        for s in sources
        for task, value in s.per_task.items()
    ]
    return pd.DataFrame(rows, columns=["source", "model", "framework", "kind", "task", "score"])


def persona_frame(sources: list[SourceScores]) -> pd.DataFrame:
    """Long frame: source, persona, score."""
    rows = [
        {"source": s.label, "kind": s.kind, "persona": persona, "score": value}
        for s in sources
        for persona, value in s.per_persona.items()
    ]
    return pd.DataFrame(rows, columns=["source", "kind", "persona", "score"])


def pass_frame(sources: list[SourceScores]) -> pd.DataFrame:
    """Long frame: source, k, pass^k (agents only)."""
    rows = [{"source": s.label, "k": k, "pass^k": value} for s in sources for k, value in s.pass_hat_k.items()]
    return pd.DataFrame(rows, columns=["source", "k", "pass^k"])


# --- figures --------------------------------------------------------------------------------------


def _empty(title: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=f"{title} (no data yet)")
    return figure


def score_heatmap(frame: pd.DataFrame) -> go.Figure:
    """Task × source heatmap of scores (0..1), the values written in the cells."""
    title = "Score by task × model × framework"
    if frame.empty:
        return _empty(title)
    table = frame.pivot_table(index="task", columns="source", values="score", aggfunc="mean")
    figure = px.imshow(table, text_auto=".3f", zmin=0, zmax=1, color_continuous_scale="Blues", aspect="auto")
    figure.update_layout(title=title, xaxis_title="", yaxis_title="")
    return figure


def persona_bars(frame: pd.DataFrame) -> go.Figure:
    """Grouped bars: score per persona for each source."""
    title = "Score by persona"
    if frame.empty:
        return _empty(title)
    figure = px.bar(frame, x="persona", y="score", color="source", barmode="group", range_y=[0, 1], title=title)
    return figure


def pass_curves(frame: pd.DataFrame) -> go.Figure:
    """pass^k against k, one line per run."""
    title = "pass^k"
    if frame.empty:
        return _empty(title)
    figure = px.line(frame, x="k", y="pass^k", color="source", markers=True, range_y=[0, 1], title=title)
    figure.update_xaxes(dtick=1)
    return figure


def efficiency_scatter(frame: pd.DataFrame, x: str) -> go.Figure:
    """Overall score against `x` (``mean turns``, ``tokens`` or ``cost (USD)``), one point per source."""
    title = f"Score against {x}"
    data = frame.dropna(subset=[x])
    if data.empty:
        return _empty(title)
    return px.scatter(data, x=x, y="overall", color="source", symbol="kind", range_y=[0, 1.05], title=title)


# --- realism --------------------------------------------------------------------------------------


class AgreementRow(BaseModel):
    """Agreement and headline figure of one dimension (or all, ``dimension`` = ``all``)."""

    dimension: str
    ratings: int
    alpha: float | None
    share_realistic: float | None


def realism_frame(session: Session, study_id: str) -> pd.DataFrame:
    """Latest ratings of a study: object (``org`` for org items), dimension, value, label."""
    from crm_core.studies import definition_of, get_study, latest_ratings

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
    from crm_core.studies import definition_of, get_study, latest_ratings, ordinal_alpha, share_at_or_above

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


def scores_by(frame: pd.DataFrame, column: str) -> dict[str, dict[str, float]]:
    """``{source: {column value: score}}`` from a long frame (for text beside the charts)."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for row in frame.itertuples(index=False):
        record: dict[str, Any] = row._asdict()
        out[record["source"]][record[column]] = record["score"]
    return dict(out)
