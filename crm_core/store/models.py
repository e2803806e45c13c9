"""SQLAlchemy models of the app store: users, settings, studies, items, drafts and responses.

All timestamps are naive UTC ``datetime`` values (see :func:`utc_now`). Responses are immutable
once written: a changed answer is a new :class:`Response` with the next ``version``. Other
packages add their own tables on :class:`AppBase` and their own migration under
``crm_core/store/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> dt.datetime:
    """The current time as a naive UTC datetime (the store's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class AppBase(DeclarativeBase):
    """Declarative base of the app store (constraint names fixed for migrations)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class AppSetting(AppBase):
    """A named value of the installation (e.g. the pseudonymization key)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class AppUser(AppBase):
    """A studio user: lower-case username, bcrypt hash and one role."""

    __tablename__ = "app_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now, onupdate=utc_now)


class Study(AppBase):
    """A loaded study definition; ``definition`` is the validated YAML as JSON."""

    __tablename__ = "studies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open | closed
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False, default="")
    org_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    items: Mapped[list[StudyItem]] = relationship(back_populates="study", order_by="StudyItem.position")


class StudyItem(AppBase):
    """One thing to rate: a record (object + id), a whole object, or the org."""

    __tablename__ = "study_items"
    __table_args__ = (UniqueConstraint("study_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False)  # "record:Case:500...", "object:Case", "org"
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # record | object | org
    object_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    study: Mapped[Study] = relationship(back_populates="items")


class Draft(AppBase):
    """A rater's unsubmitted answer to one item, saved on every change."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("item_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("study_items.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id"), nullable=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    comments: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)


class Response(AppBase):
    """One submitted answer of one rater to one item (immutable; changes are new versions)."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("item_id", "user_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("study_items.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    time_on_item_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)

    ratings: Mapped[list[Rating]] = relationship(back_populates="response", order_by="Rating.position")
    item: Mapped[StudyItem] = relationship()
    user: Mapped[AppUser] = relationship()


class Rating(AppBase):
    """The value (and comment) a response gives on one dimension."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("response_id", "dimension"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), nullable=False, index=True)
    dimension: Mapped[str] = mapped_column(String(64), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    value: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")

    response: Mapped[Response] = relationship(back_populates="ratings")


class ImmutableResponseError(RuntimeError):
    """Raised when code tries to change or delete a stored response or rating."""


@event.listens_for(Response, "before_update")
@event.listens_for(Rating, "before_update")
@event.listens_for(Response, "before_delete")
@event.listens_for(Rating, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: AppBase) -> None:
    raise ImmutableResponseError(f"{type(target).__name__} rows are immutable: submit a new version instead")
