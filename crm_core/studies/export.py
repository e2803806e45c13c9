"""Exporting study responses: one row per (response, dimension) as CSV, JSON or Parquet.

Rater ids are pseudonymized by default with a keyed hash (HMAC-SHA256 under a random key kept
in the app store), so a rater keeps the same pseudonym across exports of the same store but it
cannot be reversed without the store. Every version of every answer is exported; ``latest``
marks the version that counts. Ratings of task items (workbench studies) also carry the rated
agent run (id, model, framework) and the rater's own answer, its score and time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core.errors import UserFacingError
from crm_core.store.engine import write_transaction
from crm_core.store.models import AppSetting, AppUser, Rating, Response, StudyItem
from crm_core.studies.loading import definition_of, get_study
from crm_core.studies.rated_runs import item_instance, rated_trajectory
from crm_core.studies.responses import latest_versions

if TYPE_CHECKING:
    import pandas as pd

ExportFormat = Literal["csv", "json", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")
EXPORT_COLUMNS: tuple[str, ...] = (
    "study_id",
    "item_id",
    "item_key",
    "item_kind",
    "object_name",
    "record_id",
    "item_label",
    "rater",
    "submission_id",
    "version",
    "latest",
    "dimension",
    "value",
    "value_label",
    "comment",
    "started_at",
    "submitted_at",
    "time_on_item_seconds",
    "run_id",
    "model",
    "framework",
    "expert_answer",
    "expert_score",
    "expert_seconds",
)
RATED_COLUMNS = ("run_id", "model", "framework", "expert_answer", "expert_score", "expert_seconds")
"""Columns of task items (workbench studies): the rated agent run and the rater's own answer."""
_KEY_SETTING = "pseudonym_key"


def pseudonym_key(session: Session) -> bytes:
    """The store's pseudonymization key, created (and committed) on first use."""
    stored = session.get(AppSetting, _KEY_SETTING)
    if stored is None:
        try:
            with write_transaction(session):
                stored = session.get(AppSetting, _KEY_SETTING)
                if stored is None:
                    stored = AppSetting(key=_KEY_SETTING, value=secrets.token_hex(32))
                    session.add(stored)
                session.commit()
        except IntegrityError:  # created concurrently by another process
            stored = session.get(AppSetting, _KEY_SETTING)
            assert stored is not None
    return bytes.fromhex(stored.value)


def pseudonymize(key: bytes, username: str) -> str:
    """The stable pseudonym of `username` under `key` (``rater-`` and 12 hex digits)."""
    return "rater-" + hmac.new(key, username.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def response_rows(session: Session, study_id: str, *, pseudonymize_raters: bool = True) -> list[dict[str, Any]]:
    """The export rows of a study, in submission order (timestamps as naive UTC datetimes)."""
    definition = definition_of(get_study(session, study_id))
    key = pseudonym_key(session) if pseudonymize_raters else b""
    latest = latest_versions(study_id)
    query = (
        select(Response, Rating, StudyItem, AppUser.username, latest.c.version)
        .join(Rating, Rating.response_id == Response.id)
        .join(StudyItem, StudyItem.id == Response.item_id)
        .join(AppUser, AppUser.id == Response.user_id)
        .join(latest, (latest.c.item_id == Response.item_id) & (latest.c.user_id == Response.user_id))
        .where(Response.study_id == study_id)
        .order_by(Response.submitted_at, Response.id, Rating.position)
    )
    rows = []
    rated: dict[int, dict[str, Any]] = {}
    for response, rating, item, username, latest_version in session.execute(query).all():
        if item.kind == "task" and response.id not in rated:
            found = rated_trajectory(session, definition, username, item_instance(item), response.submitted_at)
            rated[response.id] = found.model_dump()
        rows.append(
            {
                "study_id": study_id,
                "item_id": item.id,
                "item_key": item.key,
                "item_kind": item.kind,
                "object_name": item.object_name,
                "record_id": item.record_id,
                "item_label": item.label,
                "rater": pseudonymize(key, username) if pseudonymize_raters else username,
                "submission_id": response.submission_id,
                "version": response.version,
                "latest": response.version == latest_version,
                "dimension": rating.dimension,
                "value": rating.value,
                "value_label": rating.label,
                "comment": rating.comment,
                "started_at": response.started_at,
                "submitted_at": response.submitted_at,
                "time_on_item_seconds": response.time_on_item_seconds,
            }
            | rated.get(response.id, dict.fromkeys(RATED_COLUMNS))
        )
    return rows


def responses_frame(session: Session, study_id: str, *, pseudonymize_raters: bool = True) -> pd.DataFrame:
    """The export rows as a DataFrame (timestamps UTC-aware), columns in :data:`EXPORT_COLUMNS` order."""
    import pandas as pd  # heavy: imported only when a frame is built

    frame = pd.DataFrame(
        response_rows(session, study_id, pseudonymize_raters=pseudonymize_raters), columns=list(EXPORT_COLUMNS)
    )
    for column in ("started_at", "submitted_at"):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    types = {
        "item_id": "int64",
        "version": "int64",
        "value": "Int64",
        "latest": "bool",
    }  # Int64: "Not applicable" is empty
    return frame.astype(types | {"expert_score": "float64", "expert_seconds": "float64"})


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="microseconds") + "Z"


def export_bytes(session: Session, study_id: str, fmt: str, *, pseudonymize_raters: bool = True) -> bytes:
    """The study's responses as a CSV, JSON or Parquet file's bytes (for downloads)."""
    if fmt not in EXPORT_FORMATS:
        raise UserFacingError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "json":
        rows = response_rows(session, study_id, pseudonymize_raters=pseudonymize_raters)
        for row in rows:
            row["started_at"], row["submitted_at"] = _iso(row["started_at"]), _iso(row["submitted_at"])
        return (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    frame = responses_frame(session, study_id, pseudonymize_raters=pseudonymize_raters)
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, engine="pyarrow")
        return buffer.getvalue()
    for column in ("started_at", "submitted_at"):
        frame[column] = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame.to_csv(index=False).encode("utf-8")


def export_responses(
    session: Session, study_id: str, fmt: str, out: str | Path, *, pseudonymize_raters: bool = True
) -> int:
    """Write the study's responses to `out` in `fmt`; returns the number of rows written."""
    data = export_bytes(session, study_id, fmt, pseudonymize_raters=pseudonymize_raters)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return (
        session.scalar(select(func.count()).select_from(Rating).join(Response).where(Response.study_id == study_id))
        or 0
    )
