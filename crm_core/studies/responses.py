"""Raters' work on a study: assignment, drafts (autosave), immutable submissions, progress.

Assignment: a rater first gets back the item they have a draft on; otherwise, among the items
they have not answered and that still have fewer than ``ratings_per_item`` raters (submitted or
drafting), the least-rated one, ties broken by an order that is random per rater but stable
(a hash of study, username and item) or by file order when ``randomize_order`` is off.

Submitting is idempotent on a client-supplied ``submission_id``: sending the same submission
twice (a double click, a retried request) stores it once. A rater who answers an item again
creates the next version; stored responses are never changed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Subquery, func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_core.errors import UserFacingError
from crm_core.store.engine import write_transaction
from crm_core.store.models import AppUser, Draft, Rating, Response, Study, StudyItem, utc_now
from crm_core.studies.definition import NOT_APPLICABLE, Dimension, StudyDefinition
from crm_core.studies.loading import StudyError, definition_of, get_study

_SUBMIT_ATTEMPTS = 8


class ResponseError(UserFacingError):
    """An answer that cannot be stored; ``problems`` names each dimension at fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class RaterProgress(BaseModel):
    """One rater's progress in a study."""

    username: str
    submitted: int
    """Items this rater has answered."""
    remaining: int
    """Items still assignable to this rater (including one with a draft)."""

    @property
    def total(self) -> int:
        return self.submitted + self.remaining


class StudyProgress(BaseModel):
    """A study's progress across raters (for researchers and admins)."""

    study_id: str
    status: str
    items: int
    ratings_per_item: int
    ratings_required: int
    ratings_done: int
    """Distinct (item, rater) answers, counting at most ``ratings_per_item`` per item."""
    items_complete: int
    drafts_open: int
    submitted_by_rater: dict[str, int]


def _user(session: Session, username: str) -> AppUser:
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip().lower()))
    if user is None:
        raise StudyError(f"no user {username!r}")
    return user


def _open_study(session: Session, study_id: str) -> Study:
    study = get_study(session, study_id)
    if study.status != "open":
        raise StudyError(f"study {study_id!r} is closed")
    return study


def _item(session: Session, study_id: str, item_id: int) -> StudyItem:
    item = session.get(StudyItem, item_id)
    if item is None or item.study_id != study_id:
        raise StudyError(f"study {study_id!r} has no item {item_id}")
    return item


def _order_key(study_id: str, username: str, item: StudyItem, randomize: bool) -> tuple[str, int]:
    if not randomize:
        return ("", item.position)
    digest = hashlib.sha256(f"{study_id}\0{username}\0{item.key}".encode()).hexdigest()
    return (digest, item.position)


def _raters_per_item(session: Session, study_id: str) -> Counter[int]:
    """Distinct raters per item, counting both submitted responses and open drafts."""
    pairs = union(
        select(Response.item_id, Response.user_id).where(Response.study_id == study_id),
        select(Draft.item_id, Draft.user_id).where(Draft.study_id == study_id),
    ).subquery()
    rows = session.execute(select(pairs.c.item_id, func.count()).group_by(pairs.c.item_id))
    return Counter({item_id: count for item_id, count in rows})


def _assignable(session: Session, study: Study, user: AppUser) -> list[StudyItem]:
    """Items `user` may still take, in the order they will be offered."""
    definition = definition_of(study)
    answered = set(
        session.scalars(select(Response.item_id).where(Response.study_id == study.id, Response.user_id == user.id))
    )
    drafting = set(session.scalars(select(Draft.item_id).where(Draft.study_id == study.id, Draft.user_id == user.id)))
    counts = _raters_per_item(session, study.id)
    items = session.scalars(select(StudyItem).where(StudyItem.study_id == study.id))
    candidates = [
        item
        for item in items
        if item.id in drafting or (item.id not in answered and counts[item.id] < definition.ratings_per_item)
    ]
    return sorted(
        candidates,
        key=lambda item: (
            item.id not in drafting,
            item.id not in answered,  # among drafts, a revision the rater asked for comes first
            counts[item.id],
            _order_key(study.id, user.username, item, definition.randomize_order),
        ),
    )


def next_item(session: Session, study_id: str, username: str) -> StudyItem | None:
    """The item to show `username` next (their draft first), or None when they are done."""
    study = get_study(session, study_id)
    if study.status != "open":
        return None
    candidates = _assignable(session, study, _user(session, username))
    return candidates[0] if candidates else None


def claim_next_item(session: Session, study_id: str, username: str) -> StudyItem | None:
    """Like :func:`next_item`, but atomically reserves the item with a draft (commits).

    Claims are serialized per study (SQLite's write lock, a PostgreSQL advisory lock), so an
    item never gets more than ``ratings_per_item`` raters even when experts arrive together.
    """
    with write_transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(f"claim:{study_id}".encode()).digest()[:8], "big", signed=True)
            session.execute(select(func.pg_advisory_xact_lock(key)))
        study = get_study(session, study_id)
        user = _user(session, username)
        candidates = _assignable(session, study, user) if study.status == "open" else []
        item = candidates[0] if candidates else None
        if item is not None and get_draft(session, item.id, user.username) is None:
            session.add(Draft(study_id=study_id, item_id=item.id, user_id=user.id, values={}, comments={}))
        session.commit()
    return item


def get_draft(session: Session, item_id: int, username: str, *, for_update: bool = False) -> Draft | None:
    """`username`'s draft on the item, or None (row-locked on PostgreSQL with `for_update`)."""
    name = username.strip().lower()
    query = select(Draft).join(AppUser).where(Draft.item_id == item_id, AppUser.username == name)
    return session.scalar(query.with_for_update(of=Draft) if for_update else query)


def _merged(stored: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """`stored` with `change` applied: a None in `change` removes that key."""
    merged = dict(stored or {})
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _value_problem(definition: StudyDefinition, dim: Dimension | None, value: Any) -> str | None:
    """Why `value` is not an answer on the scale (None when it is one)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        return f"value must be 1-{len(definition.scale)}, not {value!r}"
    if value == NOT_APPLICABLE:
        return None if dim is not None and dim.not_applicable else "this question has no 'Not applicable'"
    if not 1 <= value <= len(definition.scale):
        return f"value must be 1-{len(definition.scale)}, not {value!r}"
    return None


def _check_values(definition: StudyDefinition, item: StudyItem, values: Mapping[str, int | None]) -> None:
    dims = {d.id: d for d in definition.dimensions_for(item.kind)}
    problems = [f"{name}: not a dimension of this item" for name in values if name not in dims]
    for name, value in values.items():
        problem = None if value is None else _value_problem(definition, dims.get(name), value)
        if problem:
            problems.append(f"{name}: {problem}")
    if problems:
        raise ResponseError(problems)


def save_draft(
    session: Session,
    study_id: str,
    item_id: int,
    username: str,
    values: Mapping[str, int | None] | None = None,
    comments: Mapping[str, str] | None = None,
) -> Draft:
    """Create `username`'s draft of the item or merge a change into it (commits); call on every change.

    `values` and `comments` are merged into the stored draft dimension by dimension, so a form
    that saves one field at a time never drops the others; a None value or an empty comment
    clears that dimension. With neither it just opens the item: the draft's ``started_at`` is
    when the rater first saw it (used for time on item) and it reserves the item for them.
    """
    for attempt in range(2):
        try:
            with write_transaction(session):
                study = _open_study(session, study_id)
                item = _item(session, study_id, item_id)
                user = _user(session, username)
                draft = get_draft(session, item_id, user.username, for_update=True)
                now = utc_now()
                if draft is None:
                    draft = Draft(
                        study_id=study_id, item_id=item_id, user_id=user.id, values={}, comments={}, started_at=now
                    )
                    session.add(draft)
                if values is not None:
                    _check_values(definition_of(study), item, values)
                    draft.values = _merged(draft.values, values)
                if comments is not None:
                    draft.comments = _merged(draft.comments, {k: v or None for k, v in comments.items()})
                draft.updated_at = now
                session.commit()
                return draft
        except IntegrityError:  # the same rater's other tab created it first: update that one
            if attempt:
                raise
    raise AssertionError("unreachable")


class AnswerProblem(BaseModel):
    """What keeps one question of an answer from being submitted."""

    dimension: str
    question: str
    """The question's words (empty for a dimension the item does not have)."""
    message: str

    def __str__(self) -> str:
        return f"{self.dimension}: {self.message}"


def answer_problems(
    definition: StudyDefinition, item: StudyItem, values: Mapping[str, int | None], comments: Mapping[str, str]
) -> list[AnswerProblem]:
    """What is missing or wrong in an answer, per question (empty when it can be submitted)."""
    problems: list[AnswerProblem] = []
    for dim in definition.dimensions_for(item.kind):
        value = values.get(dim.id)
        if value is None:
            message = "choose a value" + (" (or Not applicable)" if dim.not_applicable else "")
        elif (wrong := _value_problem(definition, dim, value)) is not None:
            message = wrong
        elif (
            value != NOT_APPLICABLE
            and value <= dim.comment_required_at_or_below
            and not (comments.get(dim.id) or "").strip()
        ):
            message = f"a comment is required for '{definition.label_of(value)}'"
        else:
            continue
        problems.append(AnswerProblem(dimension=dim.id, question=dim.question, message=message))
    dims = {d.id for d in definition.dimensions_for(item.kind)}
    problems += [
        AnswerProblem(dimension=name, question="", message="not a dimension of this item")
        for name in values
        if name not in dims
    ]
    return problems


def _store_submission(
    session: Session,
    study_id: str,
    item_id: int,
    username: str,
    values: Mapping[str, int | None],
    comments: Mapping[str, str],
    submission_id: str,
) -> Response:
    """One attempt of :func:`submit`, inside a write transaction (commits)."""
    user = _user(session, username)
    existing = session.scalar(select(Response).where(Response.submission_id == submission_id))
    if existing is not None:
        if existing.user_id != user.id or existing.item_id != item_id:
            raise ResponseError([f"submission_id {submission_id!r} was already used for another answer"])
        session.commit()
        return existing
    study = _open_study(session, study_id)
    item = _item(session, study_id, item_id)
    definition = definition_of(study)
    problems = answer_problems(definition, item, values, comments)
    if problems:
        raise ResponseError([str(problem) for problem in problems])
    draft = get_draft(session, item_id, user.username)
    latest = session.scalar(
        select(func.max(Response.version)).where(Response.item_id == item_id, Response.user_id == user.id)
    )
    now = utc_now()
    started = draft.started_at if draft is not None else now
    response = Response(
        submission_id=submission_id,
        study_id=study_id,
        item_id=item_id,
        user_id=user.id,
        version=(latest or 0) + 1,
        started_at=started,
        submitted_at=now,
        time_on_item_seconds=(now - started).total_seconds(),
    )
    response.ratings = [
        Rating(
            dimension=dim.id,
            position=position,
            value=None if int(values[dim.id] or 0) == NOT_APPLICABLE else int(values[dim.id] or 0),
            label=definition.label_of(int(values[dim.id] or 0)),
            comment=(comments.get(dim.id) or "").strip(),
        )
        for position, dim in enumerate(definition.dimensions_for(item.kind))
    ]
    session.add(response)
    if draft is not None:
        session.delete(draft)
    session.commit()
    return response


def submit(
    session: Session,
    study_id: str,
    item_id: int,
    username: str,
    values: Mapping[str, int | None],
    comments: Mapping[str, str] | None = None,
    *,
    submission_id: str | None = None,
) -> Response:
    """Store `username`'s answer to the item (commits) and drop their draft.

    Idempotent on `submission_id` (generate one when the rater opens the form and send it with
    every retry). A rater's second answer to the same item becomes version 2, and so on.
    """
    comments = dict(comments or {})
    submission_id = submission_id or uuid.uuid4().hex
    if not 1 <= len(submission_id) <= 64:
        raise ResponseError(["submission_id: use 1-64 characters"])
    for _attempt in range(_SUBMIT_ATTEMPTS):
        try:
            with write_transaction(session):
                return _store_submission(session, study_id, item_id, username, values, comments, submission_id)
        except IntegrityError:  # same submission stored concurrently, or a version race: look again
            continue
    raise StudyError(f"could not store submission {submission_id!r}: too much contention, try again")


def latest_versions(study_id: str) -> Subquery:
    """A subquery of ``(item_id, user_id, version)``: each rater's newest version of each item."""
    return (
        select(Response.item_id, Response.user_id, func.max(Response.version).label("version"))
        .where(Response.study_id == study_id)
        .group_by(Response.item_id, Response.user_id)
        .subquery()
    )


def is_latest(latest: Subquery) -> ColumnElement[bool]:
    """Join condition of :class:`Response` rows with :func:`latest_versions`."""
    return (
        (latest.c.item_id == Response.item_id)
        & (latest.c.user_id == Response.user_id)
        & (latest.c.version == Response.version)
    )


def my_responses(session: Session, study_id: str, username: str) -> list[Response]:
    """`username`'s latest version of each answered item, oldest first (with ratings loaded)."""
    user = _user(session, username)
    latest = latest_versions(study_id)
    query = (
        select(Response)
        .join(latest, is_latest(latest))
        .where(Response.user_id == user.id)
        .options(selectinload(Response.ratings), selectinload(Response.item))
        .order_by(Response.submitted_at, Response.id)
    )
    return list(session.scalars(query))


def rater_progress(session: Session, study_id: str, username: str) -> RaterProgress:
    """How many items `username` has answered and how many are still open to them."""
    study = get_study(session, study_id)
    user = _user(session, username)
    submitted = session.scalar(
        select(func.count(func.distinct(Response.item_id))).where(
            Response.study_id == study_id, Response.user_id == user.id
        )
    )
    answered = set(
        session.scalars(select(Response.item_id).where(Response.study_id == study_id, Response.user_id == user.id))
    )
    assignable = _assignable(session, study, user) if study.status == "open" else []
    remaining = sum(1 for item in assignable if item.id not in answered)  # a revision is not a new item
    return RaterProgress(username=user.username, submitted=submitted or 0, remaining=remaining)


def progress(session: Session, study_id: str) -> StudyProgress:
    """The study's progress over all raters."""
    study = get_study(session, study_id)
    definition = definition_of(study)
    items = session.scalar(select(func.count()).select_from(StudyItem).where(StudyItem.study_id == study_id)) or 0
    pairs = session.execute(
        select(Response.item_id, AppUser.username).join(AppUser).where(Response.study_id == study_id).distinct()
    ).all()
    per_item = Counter(item_id for item_id, _ in pairs)
    k = definition.ratings_per_item
    drafts = session.scalar(select(func.count()).select_from(Draft).where(Draft.study_id == study_id)) or 0
    return StudyProgress(
        study_id=study_id,
        status=study.status,
        items=items,
        ratings_per_item=k,
        ratings_required=items * k,
        ratings_done=sum(min(n, k) for n in per_item.values()),
        items_complete=sum(1 for n in per_item.values() if n >= k),
        drafts_open=drafts,
        submitted_by_rater=dict(sorted(Counter(username for _, username in pairs).items())),
    )


def start_revision(session: Session, study_id: str, item_id: int, username: str) -> Draft:
    """Reopen `username`'s submitted answer to the item as a draft holding it (commits).

    The draft is offered next (drafts come first), and submitting it stores the next version;
    the submitted versions stay as they are. An existing draft on the item is kept as it is.
    """
    with write_transaction(session):
        _open_study(session, study_id)
        user = _user(session, username)
        latest = session.scalar(
            select(Response)
            .where(Response.item_id == item_id, Response.user_id == user.id)
            .order_by(Response.version.desc())
            .options(selectinload(Response.ratings))
        )
        if latest is None or latest.study_id != study_id:
            raise StudyError(f"you have no submitted answer to item {item_id} of study {study_id!r} to revise")
        draft = get_draft(session, item_id, user.username)
        if draft is None:
            draft = Draft(
                study_id=study_id,
                item_id=item_id,
                user_id=user.id,
                values={r.dimension: NOT_APPLICABLE if r.value is None else r.value for r in latest.ratings},
                comments={r.dimension: r.comment for r in latest.ratings if r.comment},
                started_at=utc_now(),
                updated_at=utc_now(),
            )
            session.add(draft)
        session.commit()
        return draft


def submitted_version(session: Session, item_id: int, username: str) -> int:
    """The newest version `username` submitted for the item (0 when none)."""
    user = _user(session, username)
    latest = session.scalar(
        select(func.max(Response.version)).where(Response.item_id == item_id, Response.user_id == user.id)
    )
    return latest or 0
