"""The study widgets of the Realism Study and the Task Workbench: the study picker and the rating form.

The rating form keeps no state of its own: on every run it reads the rater's draft from the app
store and puts into the widgets what differs from what they show, and every widget change saves
that one field into the stored draft (merged, so the other fields stay). Leaving the page,
reloading it or opening it in another browser therefore always shows what is stored, and a click
never overwrites the rest.

Only differences are put into the widgets because a value put into a widget is sent to the browser
and replaces what the person sees there. A run that was under way when they clicked read the draft
before the click was saved; had it sent every stored value, it would have undone the click on the
screen, and their next click would have sent that undone value back to be saved.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from crm_core.errors import UserFacingError
from crm_core.store import Study, StudyItem
from crm_core.studies import StudyDefinition, answer_problems, get_draft, save_draft, submit
from crm_core.studies.definition import NOT_APPLICABLE, NOT_APPLICABLE_LABEL


def pick_study(studies: list[Study], key: str) -> Study | None:
    """The study to work on: the only one, or the one chosen in a select box (None when there is none)."""
    if len(studies) <= 1:
        return studies[0] if studies else None
    titles = {s.id: s.title for s in studies}
    chosen = st.selectbox("Study", list(titles), format_func=titles.__getitem__, key=key)
    return next(s for s in studies if s.id == chosen)


def value_key(item_id: int, dimension: str) -> str:
    """Widget key of a dimension's scale."""
    return f"rate-{item_id}-{dimension}"


def comment_key(item_id: int, dimension: str) -> str:
    """Widget key of a dimension's comment."""
    return f"comment-{item_id}-{dimension}"


def _error_key(item_id: int) -> str:
    return f"draft-error-{item_id}"


def _problems_key(item_id: int) -> str:
    return f"answer-problems-{item_id}"


def _save_field(
    sessions: sessionmaker[Session], study_id: str, item_id: int, username: str, dimension: str, comment: bool
) -> None:
    """Widget callback: save the one field that changed into the stored draft."""
    try:
        with sessions() as session:
            if comment:
                text = st.session_state.get(comment_key(item_id, dimension)) or ""
                save_draft(session, study_id, item_id, username, comments={dimension: text})
            else:
                value = st.session_state.get(value_key(item_id, dimension))
                if value is None:  # a scale cannot be emptied by a click: a stale value, not an answer
                    return
                save_draft(session, study_id, item_id, username, values={dimension: value})
    except UserFacingError as exc:
        st.session_state[_error_key(item_id)] = str(exc)
        return
    st.session_state.get(_problems_key(item_id), {}).pop(dimension, None)  # answered: re-checked on submit


def _restore(
    sessions: sessionmaker[Session], study_id: str, item: StudyItem, username: str, definition: StudyDefinition
) -> dt.datetime:
    """Open the item (its draft, created on first view), put the stored answer into the widgets; when it was saved."""
    with sessions() as session:
        draft = get_draft(session, item.id, username) or save_draft(session, study_id, item.id, username)
        values, comments, saved_at = dict(draft.values), dict(draft.comments), draft.updated_at
    for dim in definition.dimensions_for(item.kind):
        value = values.get(dim.id)
        _show(value_key(item.id, dim.id), int(value) if value is not None else None)
        _show(comment_key(item.id, dim.id), comments.get(dim.id) or "")
    return saved_at


def _show(key: str, stored: object) -> None:
    """Put the stored answer into widget `key` only when the widget shows something else (see above)."""
    if key not in st.session_state or st.session_state[key] != stored:
        st.session_state[key] = stored


def _submitted_key(item_id: int) -> str:
    return f"answer-submitted-{item_id}"


def _submit(
    sessions: sessionmaker[Session], username: str, study_id: str, definition: StudyDefinition, item: StudyItem
) -> None:
    """Button callback: submit the stored draft, or keep its problems to show next to their questions.

    What the widgets show is saved into the draft first: a click on a scale just before Submit
    reaches the server in the same run, and its own callback may come after this one.
    """
    submission = st.session_state.setdefault(f"submission-{item.id}", uuid.uuid4().hex)
    dimensions = [dim.id for dim in definition.dimensions_for(item.kind)]
    shown = {dim: st.session_state.get(value_key(item.id, dim)) for dim in dimensions}
    chosen = {dim: value for dim, value in shown.items() if value is not None}  # see _save_field
    comments_shown = {dim: st.session_state.get(comment_key(item.id, dim)) or "" for dim in dimensions}
    try:
        with sessions() as session:
            draft = save_draft(session, study_id, item.id, username, values=chosen, comments=comments_shown)
            values, comments = dict(draft.values), dict(draft.comments)
            problems = answer_problems(definition, item, values, comments)
            if not problems:
                submit(session, study_id, item.id, username, values, comments, submission_id=submission)
    except UserFacingError as exc:
        st.session_state[_error_key(item.id)] = str(exc)
        return
    if problems:
        st.session_state[_problems_key(item.id)] = {p.dimension: p.message for p in problems}
        return
    st.session_state.pop(f"submission-{item.id}", None)
    st.session_state.pop(_problems_key(item.id), None)
    st.session_state[_submitted_key(item.id)] = True


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


def rating_form(
    sessions: sessionmaker[Session],
    username: str,
    study_id: str,
    definition: StudyDefinition,
    item: StudyItem,
    *,
    submit_label: str = "Submit",
) -> bool:
    """Draw the scales and comments of `item`, autosaved; True in the run after the answer was submitted."""
    if st.session_state.pop(_submitted_key(item.id), False):
        return True
    saved_at = _restore(sessions, study_id, item, username, definition)
    problems: dict[str, str] = st.session_state.get(_problems_key(item.id), {})
    labels = dict(enumerate(definition.scale, start=1)) | {NOT_APPLICABLE: NOT_APPLICABLE_LABEL}
    for dim in definition.dimensions_for(item.kind):
        options = list(range(1, len(definition.scale) + 1)) + ([NOT_APPLICABLE] if dim.not_applicable else [])
        st.radio(
            dim.question,
            options=options,
            format_func=lambda v: labels[v] if v == NOT_APPLICABLE else f"{v} · {labels[v]}",
            horizontal=True,
            index=None,
            key=value_key(item.id, dim.id),
            on_change=_save_field,
            args=(sessions, study_id, item.id, username, dim.id, False),
        )
        threshold = dim.comment_required_at_or_below
        hint = f"required for {labels[threshold]} or lower" if threshold else "optional"
        st.text_area(
            f"Comment ({hint})",
            key=comment_key(item.id, dim.id),
            on_change=_save_field,
            args=(sessions, study_id, item.id, username, dim.id, True),
            height=68,
        )
        if dim.id in problems:  # next to its question
            st.error(_sentence(problems[dim.id]), icon=":material/arrow_upward:")
    if _error_key(item.id) in st.session_state:
        st.error(st.session_state.pop(_error_key(item.id)))
    if problems:
        questions = {d.id: d.question for d in definition.dimensions}
        listed = "; ".join(f"“{textwrap.shorten(questions.get(d, d), 70)}”" for d in problems)
        st.error(f"Not submitted yet: {len(problems)} question(s) need attention ({listed}).")
    st.caption(f"Draft saved {saved_at:%H:%M:%S} UTC.")
    st.button(
        submit_label, type="primary", key=f"submit-{item.id}", on_click=_submit,
        args=(sessions, username, study_id, definition, item),
    )  # fmt: skip
    return False
