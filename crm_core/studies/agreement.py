"""Agreement and headline figures over the latest version of each rater's answers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.store.models import Rating, Response
from crm_core.studies.loading import definition_of, get_study
from crm_core.studies.responses import is_latest, latest_versions


def latest_ratings(session: Session, study_id: str, dimension: str | None = None) -> list[tuple[int, int, str, int]]:
    """``(item_id, user_id, dimension, value)`` of each rater's latest answer to each item (values on the scale)."""
    latest = latest_versions(study_id)
    query = (
        select(Response.item_id, Response.user_id, Rating.dimension, Rating.value)
        .join(Rating, Rating.response_id == Response.id)
        .join(latest, is_latest(latest))
        .where(Rating.value.is_not(None))  # "Not applicable" is no rating on the scale
        .order_by(Response.item_id, Response.user_id)
    )
    if dimension is not None:
        query = query.where(Rating.dimension == dimension)
    return [tuple(row) for row in session.execute(query)]


def ordinal_alpha(session: Session, study_id: str, dimension: str | None = None) -> float | None:
    """Krippendorff's alpha (ordinal) over (item, dimension) units; None without paired ratings."""
    import krippendorff  # heavy (numpy): imported when agreement is asked for
    import numpy as np

    study = get_study(session, study_id)
    scale = len(definition_of(study).scale)
    rows = latest_ratings(session, study_id, dimension)
    units = sorted({(item, dim) for item, _, dim, _ in rows})
    raters = sorted({user for _, user, _, _ in rows})
    if len(raters) < 2 or not units:
        return None
    unit_index = {unit: i for i, unit in enumerate(units)}
    rater_index = {user: i for i, user in enumerate(raters)}
    data = np.full((len(raters), len(units)), np.nan)
    for item, user, dim, value in rows:
        data[rater_index[user], unit_index[(item, dim)]] = value
    if not any(np.count_nonzero(~np.isnan(data[:, j])) >= 2 for j in range(len(units))):
        return None
    if len(np.unique(data[~np.isnan(data)])) < 2:
        return None  # a single observed value: alpha is undefined
    return float(
        krippendorff.alpha(
            reliability_data=data, value_domain=list(range(1, scale + 1)), level_of_measurement="ordinal"
        )
    )


def share_at_or_above(session: Session, study_id: str, value: int = 4, dimension: str | None = None) -> float | None:
    """Share of latest ratings at `value` or higher (4 = "Realistic" or better on realism.yaml)."""
    rows = latest_ratings(session, study_id, dimension)
    if not rows:
        return None
    return sum(1 for *_, v in rows if v >= value) / len(rows)
