"""The state scorer on hand-made diffs: worked examples, then properties (hypothesis)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.org.ids import make_id
from crm_core.org.metadata import AUTO_NUMBERS
from crm_core.sandbox import RecordChange
from crm_core.scoring.state import (
    CreatedRecord,
    DeletedRecord,
    StateDiff,
    UpdatedRecord,
    diff_from_changes,
    score_state,
)

CASE = make_id("Case", 3)
OTHER_CASE = make_id("Case", 4)
AGENT = make_id("User", 1)
AGENT_2 = make_id("User", 2)
CONTACT = make_id("Contact", 9)


def test_the_same_changes_are_exact() -> None:
    diff = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"Status": "Closed", "OwnerId": AGENT})])
    score = score_state(diff, diff)
    assert score.exact and score.f1 == 1.0 and score.reward == 1.0


def test_half_of_the_changed_fields() -> None:
    expected = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"Status": "Closed", "OwnerId": AGENT})])
    actual = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"Status": "Closed"})])
    score = score_state(expected, actual)
    # precision 1/1, recall 1/2 -> F1 = 2/3
    assert not score.exact
    assert (score.precision, score.recall) == (1.0, 0.5)
    assert score.f1 == pytest.approx(2 / 3)
    assert score.missing == [f"Case {CASE}: OwnerId = '{AGENT}'"]
    assert score.reward == 0.0


def test_a_wrong_value_and_an_extra_record() -> None:
    expected = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"OwnerId": AGENT})])
    actual = StateDiff(
        updated=[UpdatedRecord(object="Case", id=CASE, fields={"OwnerId": AGENT_2})],
        deleted=[DeletedRecord(object="Contact", id=CONTACT)],
    )
    score = score_state(expected, actual)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)
    assert len(score.unexpected) == 2


def test_created_records_compare_by_values_not_ids() -> None:
    expected = StateDiff(
        created=[CreatedRecord(object="CaseHistory__c", fields={"CaseId__c": CASE, "Field__c": "Owner Assignment"})]
    )
    actual = StateDiff(
        created=[
            CreatedRecord(
                object="CaseHistory__c",
                fields={"CaseId__c": CASE, "Field__c": "Owner Assignment", "CreatedDate": "2026-01-01T00:00:00"},
            )
        ]
    )
    assert score_state(expected, actual).exact  # CreatedDate is the platform's
    # one record with both facts vs. two records with one fact each: same facts, not the same state
    split = StateDiff(
        created=[
            CreatedRecord(object="CaseHistory__c", fields={"CaseId__c": CASE}),
            CreatedRecord(object="CaseHistory__c", fields={"Field__c": "Owner Assignment"}),
        ]
    )
    score = score_state(expected, split)
    assert not score.exact
    # facts: expected {record, CaseId, Field} (3); actual {record x2, CaseId, Field} (4); common 3
    assert score.recall == 1.0 and score.precision == pytest.approx(3 / 4)


def test_text_compares_without_case_and_spacing_but_ids_exactly() -> None:
    expected = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"Subject": "Refund  issued"})])
    actual = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"Subject": "refund issued "})])
    assert score_state(expected, actual).exact
    lower_id = StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"OwnerId": AGENT.lower()})])
    assert not score_state(
        StateDiff(updated=[UpdatedRecord(object="Case", id=CASE, fields={"OwnerId": AGENT})]), lower_id
    ).exact


def test_nothing_expected_and_nothing_done_is_exact() -> None:
    assert score_state(StateDiff(), StateDiff()).exact
    assert score_state(StateDiff(), StateDiff(deleted=[DeletedRecord(object="Case", id=CASE)])).f1 == 0.0


def test_sandbox_changes_become_a_diff_without_system_fields() -> None:
    history_id = make_id("CaseHistory__c", 10**12 + 1)
    issue_id = make_id("Issue__c", 10**12 + 2)
    changes = [
        RecordChange("Case", CASE, "updated", {"OwnerId": AGENT, "ClosedDate": None}, {"OwnerId": AGENT_2}),
        RecordChange("Issue__c", issue_id, "created", {"Id": issue_id, "Name": "Zip", "CreatedDate": 1}),
        RecordChange("Case", OTHER_CASE, "updated", {"IssueId__c": issue_id}, {"IssueId__c": None}),
        RecordChange("CaseHistory__c", history_id, "created", {"Id": history_id, "CaseId__c": CASE}),
        RecordChange("Contact", CONTACT, "deleted", {}, {"Id": CONTACT}),
    ]
    diff = diff_from_changes(changes)
    assert diff.updated == [
        UpdatedRecord(object="Case", id=CASE, fields={"OwnerId": AGENT}),
        UpdatedRecord(object="Case", id=OTHER_CASE, fields={"IssueId__c": "new:Issue__c"}),
    ]
    assert diff.created == [
        CreatedRecord(object="Issue__c", fields={"Name": "Zip"}),
        CreatedRecord(object="CaseHistory__c", fields={"CaseId__c": CASE}),
    ]
    assert diff.deleted == [DeletedRecord(object="Contact", id=CONTACT)]


# --- properties ------------------------------------------------------------------------------------

objects = st.sampled_from(["Case", "Contact", "OrderItem", "CaseHistory__c"])
ids = st.integers(0, 6).map(lambda n: make_id("Case", n))
field_names = st.sampled_from(["Status", "OwnerId", "Quantity", "Subject", "Priority"])
values = st.one_of(st.sampled_from(["New", "Closed", "High", AGENT, AGENT_2]), st.integers(0, 5), st.none())
updated = st.builds(UpdatedRecord, object=objects, id=ids, fields=st.dictionaries(field_names, values, max_size=3))
created = st.builds(CreatedRecord, object=objects, fields=st.dictionaries(field_names, values, max_size=3))
deleted = st.builds(DeletedRecord, object=objects, id=ids)
diffs = st.builds(
    StateDiff,
    created=st.lists(created, max_size=3),
    updated=st.lists(updated, max_size=3),
    deleted=st.lists(deleted, max_size=3),
)


@given(diffs)
def test_a_diff_matches_itself(diff: StateDiff) -> None:
    score = score_state(diff, diff)
    assert score.exact and score.f1 == 1.0 and score.missing == score.unexpected == []


@given(diffs, diffs)
def test_f1_is_symmetric_and_bounded(a: StateDiff, b: StateDiff) -> None:
    ab, ba = score_state(a, b), score_state(b, a)
    assert 0.0 <= ab.f1 <= 1.0
    assert ab.f1 == pytest.approx(ba.f1)
    assert (ab.precision, ab.recall) == pytest.approx((ba.recall, ba.precision))
    assert ab.exact == ba.exact
    if ab.exact:
        assert ab.f1 == 1.0


@given(diffs, st.randoms())
def test_order_does_not_matter(diff: StateDiff, rng: random.Random) -> None:
    shuffled = diff.model_copy(deep=True)
    for items in (shuffled.created, shuffled.updated, shuffled.deleted):
        rng.shuffle(items)
    assert score_state(diff, shuffled).exact


@given(diffs, deleted)
def test_an_unexpected_deletion_costs_precision(diff: StateDiff, extra: DeletedRecord) -> None:
    more = diff.model_copy(deep=True)
    more.deleted.append(extra)
    score = score_state(diff, more)
    assert not score.exact
    assert score.recall == 1.0 or diff.is_empty()
    assert score.precision < 1.0


@given(diffs, st.sampled_from(["Id", "CreatedDate", "LastModifiedDate", "ClosedDate", "auto-number"]))
def test_system_fields_are_ignored(diff: StateDiff, system_field: str) -> None:
    noisy = diff.model_copy(deep=True)
    for record in noisy.updated + noisy.created:
        auto_number = AUTO_NUMBERS.get(record.object, ("Id",))[0]  # CaseNumber, OrderNumber, ...
        record.fields[auto_number if system_field == "auto-number" else system_field] = "2031-01-01T00:00:00"
    assert score_state(diff, noisy).exact
