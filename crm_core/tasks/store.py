"""The task set inside the org database: a hidden ``task_instance`` table beside the objects.

The task set belongs to the org it was computed from, so it lives in the same database (SQLite
file or PostgreSQL) and the studio finds it by the org URL. Like the ``latent_*`` tables it is
not an object: no SOQL or SOSL query reaches it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Integer, String, Text, delete, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_core.db import make_engine, make_readonly_engine
from crm_core.errors import UserFacingError, first_line

TABLE = "task_instance"


class TaskBase(DeclarativeBase):
    """Declarative base of the task set's table (separate from the org's objects)."""


class StoredTask(TaskBase):
    """One task instance, its JSON record stored as text (ordered by ``idx``)."""

    __tablename__ = TABLE
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    task: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    persona: Mapped[str] = mapped_column(String(20), nullable=False)
    record: Mapped[str] = mapped_column(Text, nullable=False)


def replace_rows(url: str, rows: Iterable[tuple[int, str, str, str]], *, tasks: Iterable[str] | None = None) -> int:
    """Replace the org's task set with `rows` (idx, task, persona, JSON record); returns how many.

    With `tasks`, only the rows of those tasks are replaced (one suite of the task set)."""
    try:
        engine = make_engine(url)
    except (ValueError, OSError) as exc:
        raise UserFacingError(f"cannot open the org database: {exc}") from None
    try:
        TaskBase.metadata.create_all(engine)
        columns = ("idx", "task", "persona", "record")
        values = [dict(zip(columns, row, strict=True)) for row in rows]
        with engine.begin() as conn:
            conn.execute(
                delete(StoredTask) if tasks is None else delete(StoredTask).where(StoredTask.task.in_(list(tasks)))
            )
            if values:
                conn.execute(StoredTask.__table__.insert(), values)
        return len(values)
    except SQLAlchemyError as exc:
        raise UserFacingError(f"cannot store the task set: {first_line(exc)}") from None
    finally:
        engine.dispose()


def read_rows(url: str) -> list[tuple[int, str]]:
    """(idx, JSON record) of the org's task set in idx order, read-only; a clear error if there is none."""
    try:
        engine = make_readonly_engine(url)
    except ValueError as exc:
        raise UserFacingError(str(exc)) from None
    try:
        if not inspect(engine).has_table(TABLE):
            raise UserFacingError("the org has no task set: run `python -m crm_core tasks build`")
        with engine.connect() as conn:
            rows = conn.execute(select(StoredTask.idx, StoredTask.record).order_by(StoredTask.idx)).all()
    except SQLAlchemyError as exc:
        raise UserFacingError(f"cannot read the task set: {exc.__class__.__name__}") from None
    finally:
        engine.dispose()
    return [(idx, record) for idx, record in rows]
