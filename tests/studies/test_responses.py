"""Drafts, submissions (validated, idempotent, immutable, versioned) and progress."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from crm_core.store import ImmutableResponseError, Rating, Response, open_app_store
from crm_core.studies import (
    NOT_APPLICABLE,
    ResponseError,
    StudyError,
    answer_problems,
    definition_of,
    get_draft,
    latest_ratings,
    my_responses,
    next_item,
    progress,
    rater_progress,
    responses_frame,
    save_draft,
    share_at_or_above,
    start_revision,
    submit,
    submitted_version,
)


def test_a_draft_survives_a_new_session_and_a_new_process_store(app_db_url, sessions, make_study, make_users):
    study = make_study(cases=3)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        opened = save_draft(session, study.id, item.id, expert)  # the page opens the item
        save_draft(session, study.id, item.id, expert, {"data": 2}, {"data": "names look fake"})
        save_draft(session, study.id, item.id, expert, {"data": 2, "overall": 3}, {"data": "names look fake"})
    sessions.kw["bind"].dispose()

    elsewhere = open_app_store(app_db_url)  # another browser / replica: a brand-new engine
    with elsewhere() as session:
        assert next_item(session, study.id, expert.upper()).id == item.id
        draft = get_draft(session, item.id, expert)
        assert draft.values == {"data": 2, "overall": 3}
        assert draft.comments == {"data": "names look fake"}
        assert draft.started_at == opened.started_at  # time on item counts from the first view
    elsewhere.kw["bind"].dispose()


def test_saving_one_field_merges_into_the_draft_and_keeps_the_others(sessions, make_study, make_users):
    study = make_study(cases=1)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        save_draft(session, study.id, item.id, expert, {"data": 4}, {"data": "dates look right"})
        save_draft(session, study.id, item.id, expert, {"overall": 3})  # a form saving one field
        draft = get_draft(session, item.id, expert)
        assert (draft.values, draft.comments) == ({"data": 4, "overall": 3}, {"data": "dates look right"})
        save_draft(session, study.id, item.id, expert, {"data": None}, {"data": ""})  # cleared fields
        draft = get_draft(session, item.id, expert)
        assert (draft.values, draft.comments) == ({"overall": 3}, {})


def test_answers_are_validated_per_dimension(sessions, make_study, make_users):
    study = make_study(cases=1)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        with pytest.raises(ResponseError) as caught:
            submit(session, study.id, item.id, expert, {"data": 2})
        assert caught.value.problems == [
            "data: a comment is required for 'Unrealistic'",
            "overall: choose a value (or Not applicable)",
        ]
        with pytest.raises(ResponseError, match="value must be 1-5, not 6"):
            submit(session, study.id, item.id, expert, {"data": 3, "overall": 6})
        with pytest.raises(ResponseError, match="speed: not a dimension"):
            submit(session, study.id, item.id, expert, {"data": 3, "overall": 3, "speed": 1})
        # "overall" has no comment rule; a comment is optional above the threshold
        response = submit(session, study.id, item.id, expert, {"data": 2, "overall": 1}, {"data": " fake names "})
        values = {r.dimension: (r.value, r.label, r.comment) for r in response.ratings}
        assert values == {"data": (2, "Unrealistic", "fake names"), "overall": (1, "Very unrealistic", "")}


def test_submitted_responses_are_immutable_and_a_change_is_a_new_version(sessions, make_study, make_users):
    study = make_study(cases=2)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        save_draft(session, study.id, item.id, expert, {"data": 4})
        first = submit(session, study.id, item.id, expert, {"data": 4, "overall": 4}, submission_id="s-1")
        assert get_draft(session, item.id, expert) is None  # the draft is gone once submitted

        rating = session.scalars(select(Rating).where(Rating.response_id == first.id)).first()
        rating.value = 1
        with pytest.raises(ImmutableResponseError):
            session.commit()
        session.rollback()
        session.delete(session.get(Response, first.id))
        with pytest.raises(ImmutableResponseError):
            session.commit()
        session.rollback()

        second = submit(session, study.id, item.id, expert, {"data": 5, "overall": 3}, submission_id="s-2")
        assert (first.version, second.version) == (1, 2)
        stored = session.execute(
            text(
                "SELECT r.version, g.dimension, g.value FROM responses r JOIN ratings g ON g.response_id = r.id "
                "ORDER BY r.version, g.position"
            )
        ).all()
        assert stored == [(1, "data", 4), (1, "overall", 4), (2, "data", 5), (2, "overall", 3)]
        latest = my_responses(session, study.id, expert)
        assert [(r.item_id, r.version) for r in latest] == [(item.id, 2)]


def test_submit_is_idempotent_on_the_submission_id(sessions, make_study, make_users):
    study = make_study(cases=2, randomize=False)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        one = submit(session, study.id, item.id, expert, {"data": 4, "overall": 4}, submission_id="click-1")
        again = submit(session, study.id, item.id, expert, {"data": 4, "overall": 4}, submission_id="click-1")
        assert again.id == one.id
        assert session.scalar(text("SELECT count(*) FROM responses")) == 1
        other = next_item(session, study.id, expert)
        with pytest.raises(ResponseError, match="already used for another answer"):
            submit(session, study.id, other.id, expert, {"data": 4, "overall": 4}, submission_id="click-1")


def test_time_on_item_runs_from_first_view_to_submission(sessions, make_study, make_users):
    study = make_study(cases=1)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        opened = save_draft(session, study.id, item.id, expert)
        response = submit(session, study.id, item.id, expert, {"data": 4, "overall": 4})
        assert response.started_at == opened.started_at
        assert response.submitted_at >= response.started_at
        expected = (response.submitted_at - opened.started_at).total_seconds()
        assert response.time_on_item_seconds == pytest.approx(expected)


def test_progress_counts_distinct_raters_per_item(sessions, make_study, make_users):
    study = make_study(cases=3, ratings_per_item=2, randomize=False)
    a, b, c = make_users(3)
    items = [item.id for item in study.items]
    answer = {"data": 3, "overall": 3}
    with sessions() as session:
        submit(session, study.id, items[0], a, answer)
        submit(session, study.id, items[0], a, answer)  # a second version is not a second rater
        submit(session, study.id, items[0], b, answer)
        submit(session, study.id, items[1], a, answer)
        submit(session, study.id, items[0], c, answer)  # a third rater beyond the quota of 2
        save_draft(session, study.id, items[2], c, {"data": 1})
        state = progress(session, study.id)
    assert state.items == 3 and state.ratings_per_item == 2 and state.ratings_required == 6
    assert state.ratings_done == 3  # item 0 counts 2 (capped), item 1 counts 1
    assert state.items_complete == 1
    assert state.drafts_open == 1
    assert state.submitted_by_rater == {a: 2, b: 1, c: 1}


def test_a_refused_write_leaves_no_lock_behind(app_db_url, sessions, make_study, make_users):
    """After an error the session holds no write transaction: another writer gets in at once."""
    from sqlalchemy.exc import OperationalError

    from crm_core.store import make_store_engine
    from crm_core.studies import close_study

    study = make_study(cases=2)
    (expert,) = make_users(1)
    other = make_store_engine(app_db_url)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        with pytest.raises(ResponseError):
            submit(session, study.id, item.id, expert, {"data": 9})
        assert not session.in_transaction()
        close_study(session, study.id)
        with pytest.raises(Exception, match="closed"):
            save_draft(session, study.id, item.id, expert, {"data": 3})
        assert not session.in_transaction()
        with other.connect() as conn:  # would wait for the busy timeout if a lock were still held
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            try:
                conn.execute(text("UPDATE studies SET title = 'x' WHERE id = :i"), {"i": study.id})
                conn.commit()
            except OperationalError as exc:  # pragma: no cover - the failure this test guards against
                pytest.fail(f"the store is still locked: {exc}")
    other.dispose()


def test_not_applicable_is_stored_without_a_value_and_left_out_of_the_figures(sessions, make_study, make_users):
    study = make_study(cases=1, ratings_per_item=2)
    first, second = make_users(2)
    with sessions() as session:
        item = next_item(session, study.id, first)
        with pytest.raises(ResponseError, match="data: this question has no 'Not applicable'"):
            save_draft(session, study.id, item.id, first, {"data": NOT_APPLICABLE})
        problems = answer_problems(definition_of(study), item, {"data": 3}, {})
        assert [(p.dimension, p.question, p.message) for p in problems] == [
            ("overall", "Overall?", "choose a value (or Not applicable)")
        ]
        response = submit(session, study.id, item.id, first, {"data": 3, "overall": NOT_APPLICABLE})
        assert [(r.dimension, r.value, r.label) for r in response.ratings] == [
            ("data", 3, "Neutral"),
            ("overall", None, "Not applicable"),
        ]
        submit(session, study.id, item.id, second, {"data": 5, "overall": 4})
        assert sorted((dim, value) for _item, _user, dim, value in latest_ratings(session, study.id)) == [
            ("data", 3),
            ("data", 5),
            ("overall", 4),
        ]
        assert share_at_or_above(session, study.id, 4, "overall") == 1.0  # 1 of 1 rating, not 1 of 2
        frame = responses_frame(session, study.id)
        assert frame.loc[frame["dimension"] == "overall", "value_label"].tolist() == ["Not applicable", "Realistic"]
        assert frame["value"].isna().sum() == 1


def test_a_submitted_answer_is_revised_through_a_draft_into_the_next_version(sessions, make_study, make_users):
    study = make_study(cases=2, ratings_per_item=1)
    (expert,) = make_users(1)
    with sessions() as session:
        item = next_item(session, study.id, expert)
        submit(session, study.id, item.id, expert, {"data": 2, "overall": NOT_APPLICABLE}, {"data": "odd dates"})
        assert rater_progress(session, study.id, expert).total == 2
        with pytest.raises(StudyError, match="no submitted answer"):
            start_revision(session, study.id, item.id + 1000, expert)

        draft = start_revision(session, study.id, item.id, expert)
        assert (draft.values, draft.comments) == ({"data": 2, "overall": NOT_APPLICABLE}, {"data": "odd dates"})
        assert next_item(session, study.id, expert).id == item.id  # the revision is offered first
        assert rater_progress(session, study.id, expert).total == 2  # and is not a new item
        save_draft(session, study.id, item.id, expert, {"data": 4})
        revised = submit(session, study.id, item.id, expert, get_draft(session, item.id, expert).values)
        assert revised.version == 2 and submitted_version(session, item.id, expert) == 2
        assert [(r.version, [x.value for x in r.ratings]) for r in my_responses(session, study.id, expert)] == [
            (2, [4, None])
        ]
        assert session.scalar(select(func.count()).select_from(Response)) == 2  # version 1 is kept
